"""Scale: Deployments and StatefulSets (scale subresource), PyTorchJob workers (its scale
subresource, within `elasticPolicy`), InferenceService `minReplicas` / `maxReplicas`.

    Scale(ref, "8")            # the text as typed; parse_replicas validates it
    Scale(isvc_ref, "2..6")    # an InferenceService: minReplicas..maxReplicas

The confirmation says replicas before → after and the GPUs the pods request before →
after; notes warn when a HorizontalPodAutoscaler or KEDA ScaledObject manages the target
(it would undo a manual scale) and when a PyTorchJob has no `elasticPolicy` (changing its
workers restarts it). `capacity(template, more)` (optional, from the UI's cache) adds a
line such as "node pool a100 has 12 GPUs free (6 more asked)".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import msgspec

from console.cluster import wire
from console.cluster.actions import MERGE_PATCH, ActionError, Change, ObjectRef, Plan, dig
from console.cluster.actions_single import SingleWrite
from console.cluster.connection import ClusterError, Connection
from console.cluster.gpu import template_request
from console.cluster.rbac import Access
from console.text import clean_line

MAX_REPLICAS = 1000
"""The most replicas `:scale` accepts: more is a typo (an extra 0), not a plan."""

SCALABLE = ("deployments", "statefulsets", "pytorchjobs", "inferenceservices")
_WHOLE = re.compile(r"[0-9]{1,9}")  # ASCII only: int() would take "٣"
_RANGE = re.compile(r"\s*(\S+?)\s*(?:\.\.|-|\s)\s*(\S+)\s*")

Capacity = Callable[[dict[str, Any], float], str]
"""Given a pod template and the GPUs more that scaling asks for, a line about where such
pods fit (or "")."""


def parse_replicas(text: str, what: str = "replicas") -> int:
    """A replica count as typed: a whole number 0..MAX_REPLICAS, else ActionError."""
    value = text.strip()
    if not value:
        raise ActionError(f"{what}: give a number, e.g. :scale 4")
    if not _WHOLE.fullmatch(value):
        if value.startswith("-") and _WHOLE.fullmatch(value[1:]):
            raise ActionError(f"{what} cannot be negative: {clean_line(value)[:20]}")
        if value.isascii() and value.isdigit():
            raise ActionError(
                f"{what} {clean_line(value)[:20]} is too many (at most {MAX_REPLICAS})"
            )
        raise ActionError(f"{what} must be a whole number, got {clean_line(value)[:20]!r}")
    number = int(value)
    if number > MAX_REPLICAS:
        raise ActionError(f"{what} {number} is too many (at most {MAX_REPLICAS})")
    return number


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def template_gpus(template: Any) -> float:
    """GPUs one pod made from `template` (a dict) requests; 0 when none or unreadable."""
    if not isinstance(template, dict):
        return 0.0
    try:
        typed = msgspec.convert(template, wire.Template)
    except (msgspec.ValidationError, TypeError):
        return 0.0
    return sum(template_request(typed).values())


def _gpus(n: float) -> str:
    return f"{n:g}"


def _autoscalers(connection: Connection, ref: ObjectRef) -> list[str]:
    """Notes about an HPA or a KEDA ScaledObject whose target is `ref` (not installed or
    not readable: nothing to say)."""
    notes: list[str] = []
    sources = (
        (
            "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers",
            "HorizontalPodAutoscaler",
        ),
        ("/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects", "KEDA ScaledObject"),
    )
    for template, what in sources:
        try:
            items = json.loads(connection.get(template.format(ns=ref.namespace))).get("items")
        except (ClusterError, ValueError, AttributeError):
            continue
        for item in items if isinstance(items, list) else []:
            target = dig(item, "spec", "scaleTargetRef")
            if not isinstance(target, dict):
                continue
            kind = target.get("kind") or "Deployment"  # KEDA's default target kind
            if target.get("name") == ref.name and kind == ref.kind:
                low = dig(item, "spec", "minReplicas") or dig(item, "spec", "minReplicaCount")
                high = dig(item, "spec", "maxReplicas") or dig(item, "spec", "maxReplicaCount")
                name = clean_line(dig(item, "metadata", "name") or "?")
                notes.append(
                    f"{what} {name} manages it ({low if low is not None else 1}..{high}):"
                    " it will undo a manual scale"
                )
    return notes


class Scale(SingleWrite):
    """Set the replicas of a scalable object (`SCALABLE`)."""

    verb = "scale"

    def __init__(self, ref: ObjectRef, text: str, capacity: Capacity | None = None) -> None:
        self.take(ref, SCALABLE, f" cannot be scaled (only {', '.join(SCALABLE)})")
        self.text = text
        self.capacity = capacity
        if ref.resource == "inferenceservices":
            match = _RANGE.fullmatch(text) if not text.strip().isdigit() else None
            if match:
                self.low = parse_replicas(match.group(1), "minReplicas")
                self.high: int | None = parse_replicas(match.group(2), "maxReplicas")
                if self.low > self.high:
                    raise ActionError(f"minReplicas {self.low} is above maxReplicas {self.high}")
            else:
                self.low, self.high = parse_replicas(text, "minReplicas"), None
        else:
            self.replicas = parse_replicas(text)

    def needs(self) -> tuple[Access, ...]:
        if self.target.resource == "inferenceservices":
            return (self.target.access("patch"),)
        return (self.target.access("patch", "scale"),)

    def plan(self, connection: Connection) -> Plan:
        if self.target.resource == "inferenceservices":
            return self._plan_isvc(connection)
        obj = self.read(connection)
        label = self.target.label()
        notes: list[str] = []
        if self.target.resource == "pytorchjobs":
            worker = dig(obj, "spec", "pytorchReplicaSpecs", "Worker")
            if not isinstance(worker, dict):
                raise ActionError(f"{label} has no Worker replicas to scale")
            before = _count(worker.get("replicas"))
            template = worker.get("template")
            elastic = dig(obj, "spec", "elasticPolicy")
            if isinstance(elastic, dict):
                low, high = _count(elastic.get("minReplicas")), _count(elastic.get("maxReplicas"))
                if high is not None and self.replicas > high:
                    raise ActionError(
                        f"{label}: {self.replicas} workers is beyond elasticPolicy.maxReplicas {high}"
                    )
                if low is not None and self.replicas < low:
                    raise ActionError(
                        f"{label}: {self.replicas} workers is below elasticPolicy.minReplicas {low}"
                    )
            else:
                notes.append("no elasticPolicy: the job is not elastic, its pods restart")
            what = "worker replicas"
        else:
            before = _count(dig(obj, "spec", "replicas"))
            template = dig(obj, "spec", "template")
            what = "replicas"
        before = 1 if before is None else before
        if before == self.replicas:
            return self.unchanged(f"{label} already has {before} {what}")
        changes = [Change(what, str(before), str(self.replicas))]
        per_pod = template_gpus(template)
        if per_pod:
            changes.append(
                Change(
                    "GPUs requested",
                    _gpus(per_pod * before),
                    _gpus(per_pod * self.replicas),
                    derived=True,
                )
            )
        more = per_pod * (self.replicas - before)
        if self.capacity and more > 0 and isinstance(template, dict):
            fit = self.capacity(template, more)
            if fit:
                notes.append(fit)
        notes.extend(_autoscalers(connection, self.target))
        return self.single_write(
            "PATCH",
            {"spec": {"replicas": self.replicas}},
            changes=changes,
            notes=notes,
            done=f"scaled {label}: {what} {before} → {self.replicas}",
            subresource="scale",
            content_type=MERGE_PATCH,
        )

    def _plan_isvc(self, connection: Connection) -> Plan:
        obj = self.read(connection)
        label = self.target.label()
        predictor = dig(obj, "spec", "predictor")
        if not isinstance(predictor, dict):
            raise ActionError(f"{label} has no spec.predictor to scale")
        low_before = _count(predictor.get("minReplicas"))
        high_before = _count(predictor.get("maxReplicas"))
        high = self.high if self.high is not None else high_before
        if high is not None and self.high is None and self.low > high:
            raise ActionError(
                f"{label}: minReplicas {self.low} is beyond maxReplicas {high}"
                f" (to raise both: :scale {self.low}..{self.low})"
            )
        changes: list[Change] = []
        patch: dict[str, int] = {}
        if self.low != low_before:
            changes.append(Change("minReplicas", _shown(low_before), str(self.low)))
            patch["minReplicas"] = self.low
        if self.high is not None and self.high != high_before:
            changes.append(Change("maxReplicas", _shown(high_before), str(self.high)))
            patch["maxReplicas"] = self.high
        if not patch:
            return self.unchanged(f"{label} already has these min/max replicas")
        per_pod = template_gpus({"spec": {"containers": [predictor.get("model") or {}]}})
        if per_pod:
            changes.append(
                Change(
                    "GPUs requested at least",
                    _gpus(per_pod * (low_before or 0)),
                    _gpus(per_pod * self.low),
                    derived=True,
                )
            )
        notes = ["minReplicas 0 lets KServe scale the model to zero"] if self.low == 0 else []
        return self.single_write(
            "PATCH",
            {"spec": {"predictor": patch}},
            changes=changes,
            notes=notes,
            done=f"scaled {label}: " + "; ".join(c.line() for c in changes[:2]),
            content_type=MERGE_PATCH,
        )


def _shown(value: int | None) -> str:
    return "unset" if value is None else str(value)
