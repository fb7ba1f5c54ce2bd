"""Draining a node as `kubectl drain` does, the plan: options, which pods go, which stay,
and which refuse the drain.

    options = parse_drain_args("--force --timeout=5m")       # DrainError on bad input
    plan = plan_drain(connection, "gpu-node-3", options)     # GETs only
    if plan.refused: print(plan.refusal())                   # nothing was sent

kubectl's rules, in its order: DaemonSet pods stay (`--ignore-daemonsets`, the default
here) or refuse the drain; mirror (static) pods stay; a running pod with an emptyDir
refuses it unless `--delete-emptydir-data`; a running pod without a controller refuses it
unless `--force`. Pods that already finished always go. `console.cluster.drain_run`
carries the plan out. Blocking (HTTP): call off the UI thread. No Textual here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from console.cluster.connection import ClusterError, Connection
from console.cluster.kinds import quote_segment
from console.text import clean_line

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
FINISHED = ("Succeeded", "Failed")
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(h|m|s|ms)?)+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)?")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, None: 1.0}
MAX_GRACE = 24 * 3600
MAX_TIMEOUT = 7 * 24 * 3600.0


class DrainError(Exception):
    """A drain that cannot start (bad option, unknown node, forbidden list): one line."""


@dataclass(frozen=True)
class DrainOptions:
    """kubectl drain's options. `grace_period` None: each pod's own; `timeout` 0: none."""

    force: bool = False
    delete_emptydir_data: bool = False
    ignore_daemonsets: bool = True
    grace_period: int | None = None
    timeout: float = 0.0

    def describe(self) -> str:
        """The options as flags (empty for the defaults)."""
        flags = []
        if self.force:
            flags.append("--force")
        if self.delete_emptydir_data:
            flags.append("--delete-emptydir-data")
        if not self.ignore_daemonsets:
            flags.append("--ignore-daemonsets=false")
        if self.grace_period is not None:
            flags.append(f"--grace-period={self.grace_period}")
        if self.timeout:
            flags.append(f"--timeout={_seconds(self.timeout)}")
        return " ".join(flags)


def _seconds(value: float) -> str:
    return f"{value:g}s"


def parse_duration(text: str) -> float:
    """kubectl's durations: `90s`, `5m`, `1h30m`, `0`; a bare number is seconds."""
    if not _DURATION.match(text):
        raise DrainError(f"invalid duration {clean_line(text)!r} (e.g. 90s, 5m, 1h30m)")
    total = sum(float(n) * _UNIT[u] for n, u in _PART.findall(text))
    if total > MAX_TIMEOUT:
        raise DrainError(f"timeout {clean_line(text)} is longer than a week")
    return total


def parse_drain_args(text: str) -> tuple[str, DrainOptions]:
    """`[NODE] [--force] [--delete-emptydir-data] [--ignore-daemonsets[=false]]
    [--grace-period=N] [--timeout=DURATION]` → (node or "", options); DrainError on a
    word it does not know or a value out of range."""
    node = ""
    values: dict[str, Any] = {}
    words = text.split()
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not word.startswith("-"):
            if node:
                raise DrainError(f"drain takes one node, got {clean_line(node)} and more")
            node = word
            continue
        name, has_value, value = word.lstrip("-").partition("=")
        if name in ("grace-period", "timeout") and not has_value:
            if index >= len(words):
                raise DrainError(f"--{name} needs a value")
            value, index = words[index], index + 1
        if name == "force":
            values["force"] = _flag(name, value, has_value)
        elif name in ("delete-emptydir-data", "delete-local-data"):
            values["delete_emptydir_data"] = _flag(name, value, has_value)
        elif name == "ignore-daemonsets":
            values["ignore_daemonsets"] = _flag(name, value, has_value)
        elif name == "grace-period":
            values["grace_period"] = _grace(value)
        elif name == "timeout":
            values["timeout"] = parse_duration(value)
        else:
            raise DrainError(
                f"unknown drain option {clean_line(word)} (--force, --delete-emptydir-data,"
                " --ignore-daemonsets, --grace-period=N, --timeout=5m)"
            )
    return node, DrainOptions(**values)


def _flag(name: str, value: str, has_value: bool) -> bool:
    if not has_value or value.lower() == "true":
        return True
    if value.lower() == "false":
        return False
    raise DrainError(f"--{name} takes true or false, not {clean_line(value)!r}")


def _grace(value: str) -> int | None:
    if not re.fullmatch(r"-?\d{1,6}", value):
        raise DrainError(
            f"--grace-period must be a whole number of seconds, not {clean_line(value)!r}"
        )
    seconds = int(value)
    if seconds < -1 or seconds > MAX_GRACE:
        raise DrainError(f"--grace-period {seconds} is out of range (-1 … {MAX_GRACE})")
    return None if seconds == -1 else seconds


@dataclass(frozen=True)
class DrainPod:
    """One pod on the node, cleaned: what the drain does with it and why."""

    namespace: str
    name: str
    uid: str
    owner: str  # "ReplicaSet/api-7d9", "" without a controller
    phase: str
    gpus: float
    labels: dict[str, str] = field(default_factory=dict, compare=False)
    note: str = ""
    """Why it stays or refuses (empty for a plain eviction)."""
    terminating: bool = False
    """Already being deleted: the drain waits for it to go instead of evicting it."""

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class DrainPlan:
    """What a drain of `node` will do, from one list of its pods."""

    node: str
    cordoned: bool  # already unschedulable
    evict: tuple[DrainPod, ...]
    stay: tuple[DrainPod, ...]  # DaemonSet and mirror pods
    refusals: tuple[str, ...] = ()  # kubectl's error lines: non-empty refuses the drain
    warnings: tuple[str, ...] = ()
    refused_pods: tuple[DrainPod, ...] = ()

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    def refusal(self) -> str:
        """One line: why the drain will not start."""
        return f"cannot drain {self.node}: " + "; ".join(self.refusals)


def plan_drain(connection: Connection, node: str, options: DrainOptions) -> DrainPlan:
    """List `node`'s pods and sort them by kubectl's rules. DrainError when the node does
    not exist, the user may not list pods, or the cluster cannot be reached; the
    read-only refusal comes first, before any request."""
    if not node:
        raise DrainError("drain: no node selected (name one: :drain NODE)")
    path = f"/api/v1/nodes/{quote_segment(node)}"
    try:
        connection.check_write("PATCH", path)
        raw = json.loads(connection.get(path))
        pods = json.loads(
            connection.get("/api/v1/pods", {"fieldSelector": f"spec.nodeName={node}"})
        )
    except ClusterError as exc:
        if exc.status == 404:
            raise DrainError(f"node {clean_line(node)} not found") from None
        raise DrainError(str(exc)) from None
    except ValueError:
        raise DrainError(f"node {clean_line(node)}: the server sent malformed JSON") from None
    spec = raw.get("spec") if isinstance(raw, dict) else None
    cordoned = isinstance(spec, dict) and spec.get("unschedulable") is True
    items = pods.get("items") if isinstance(pods, dict) else None
    return classify(node, cordoned, items if isinstance(items, list) else [], options)


def classify(node: str, cordoned: bool, items: list[Any], options: DrainOptions) -> DrainPlan:
    """Sort pod objects (as the API sends them) by kubectl drain's filters."""
    evict: list[DrainPod] = []
    stay: list[DrainPod] = []
    refused: dict[str, list[DrainPod]] = {}
    warned: dict[str, list[str]] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        pod = pod_of(item)
        if pod.name == "":
            continue
        finished = pod.phase in FINISHED
        if pod.owner.startswith("DaemonSet/"):
            if options.ignore_daemonsets:
                stay.append(_with(pod, "DaemonSet pod: stays"))
                warned.setdefault("ignoring DaemonSet-managed Pods", []).append(pod.ref)
            else:
                refused.setdefault(
                    "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)", []
                ).append(pod)
            continue
        annotations = (item.get("metadata") or {}).get("annotations") or {}
        if isinstance(annotations, dict) and MIRROR_ANNOTATION in annotations:
            stay.append(_with(pod, "mirror (static) pod: stays"))
            continue
        if not finished and _has_emptydir(item):
            if not options.delete_emptydir_data:
                refused.setdefault(
                    "cannot delete Pods with local storage (use --delete-emptydir-data to override)",
                    [],
                ).append(pod)
                continue
            warned.setdefault("deleting Pods with local storage", []).append(pod.ref)
        if not finished and not pod.owner:
            if not options.force:
                refused.setdefault(
                    "cannot delete Pods that declare no controller (use --force to override)", []
                ).append(pod)
                continue
            warned.setdefault("deleting Pods that declare no controller", []).append(pod.ref)
        evict.append(pod)
    return DrainPlan(
        node,
        cordoned,
        tuple(evict),
        tuple(stay),
        tuple(f"{why}: {_refs([p.ref for p in pods])}" for why, pods in refused.items()),
        tuple(f"{why}: {_refs(refs)}" for why, refs in warned.items()),
        tuple(p for pods in refused.values() for p in pods),
    )


def _refs(refs: list[str], most: int = 5) -> str:
    shown = ", ".join(refs[:most])
    return shown + (f" and {len(refs) - most} more" if len(refs) > most else "")


def _with(pod: DrainPod, note: str) -> DrainPod:
    return replace(pod, note=note)


def _has_emptydir(item: dict[str, Any]) -> bool:
    volumes = (item.get("spec") or {}).get("volumes") or ()
    return any(isinstance(v, dict) and "emptyDir" in v for v in volumes)


def pod_of(item: dict[str, Any]) -> DrainPod:
    """The cleaned facts of one pod object (a malformed one yields empty strings)."""
    meta = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
    owner = ""
    for ref in meta.get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller") is True:
            owner = f"{clean_line(ref.get('kind', ''))}/{clean_line(ref.get('name', ''))}"
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    status = item.get("status") if isinstance(item.get("status"), dict) else {}
    return DrainPod(
        clean_line(meta.get("namespace", "")),
        clean_line(meta.get("name", "")),
        clean_line(meta.get("uid", "")),
        owner,
        clean_line(status.get("phase", "")),
        0.0 if status.get("phase") in FINISHED else _gpus(item),  # a finished pod holds none
        {str(k): str(v) for k, v in labels.items()},
        terminating=bool(meta.get("deletionTimestamp")),
    )


def _gpus(item: dict[str, Any]) -> float:
    """GPUs the pod's containers ask for (limits, as the device plugin counts them)."""
    total = 0.0
    for container in (item.get("spec") or {}).get("containers") or ():
        limits = ((container or {}).get("resources") or {}).get("limits") or {}
        for name, value in limits.items() if isinstance(limits, dict) else ():
            text = str(value)
            if str(name).startswith("nvidia.com/") and text.isascii() and text.isdigit():
                total += int(text[:6])
    return total
