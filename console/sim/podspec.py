"""Build Pod objects from pod templates, the way the API server's defaulting leaves them.

Every workload controller creates its pods through `pod_from_template`: owner reference,
labels, the `sim.kmc.dev/*` annotations the kubelet and the telemetry read, and every field
the official Python client's models require (its deserializer rejects objects without them).
Also here: the deterministic template hash used for `pod-template-hash` and revision names.
"""

from __future__ import annotations

import copy
import zlib
from typing import Any

import orjson

from .clock import parse_rfc3339

SIM_PREFIX = "sim.kmc.dev/"
PROFILE = SIM_PREFIX + "profile"
RUN_SECONDS = SIM_PREFIX + "run-seconds"
FAIL_AFTER = SIM_PREFIX + "fail-after"
EXIT_CODE = SIM_PREFIX + "exit-code"
"""With `fail-after` / `init-fail-after`: the exit code (default 1; 137 for an OOM kill)."""
EXIT_REASON = SIM_PREFIX + "exit-reason"
"""With an exit code: the runtime's reason (default `Error`; `OOMKilled`; "" for a runtime that
gives none, which kubectl prints as `ExitCode:N`)."""
RESTART_HOLD = SIM_PREFIX + "restart-hold"
"""Seconds a failed container shows `terminated` before the kubelet's back-off (default 0)."""
INIT_FAIL_AFTER = SIM_PREFIX + "init-fail-after"
"""The first init container exits (see `exit-code`) N seconds after it started, every time."""
LOG_KIND = SIM_PREFIX + "log-kind"

SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""Letters and digits Kubernetes uses in generated names (no vowels, no look-alikes)."""

DEFAULT_TOLERATIONS = (
    {
        "key": "node.kubernetes.io/not-ready",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
    {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
)


def template_hash(template: Any) -> str:
    """A short deterministic hash of `template`, spelled like Kubernetes' `pod-template-hash`
    (FNV-style 32-bit hash, decimal digits mapped onto the "safe" alphabet)."""
    data = orjson.dumps(template, option=orjson.OPT_SORT_KEYS)
    value = _fnv32a(data) ^ zlib.crc32(data)
    return "".join(SAFE_ALPHABET[int(d) % len(SAFE_ALPHABET)] for d in str(value))[:10]


def _fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    """The controller owner reference pointing at `owner` (a full object)."""
    meta = owner.get("metadata", {})
    return {
        "apiVersion": owner.get("apiVersion", ""),
        "kind": owner.get("kind", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def sim_annotations(obj: dict[str, Any]) -> dict[str, str]:
    """The `sim.kmc.dev/*` annotations of an object (what pods inherit from their owner)."""
    annotations = obj.get("metadata", {}).get("annotations") or {}
    return {k: v for k, v in annotations.items() if k.startswith(SIM_PREFIX)}


def pod_from_template(
    ctx: Any,
    template: dict[str, Any],
    name: str,
    namespace: str,
    owner: dict[str, Any],
    extra_labels: dict[str, str],
    annotations: dict[str, str],
    *,
    default_profile: str | None = None,
    default_log_kind: str | None = None,
) -> dict[str, Any]:
    """A new Pod (not stored) built from `template` (a PodTemplateSpec), owned by `owner`.

    Annotations, lowest precedence first: the owner's `sim.kmc.dev/*` annotations, the
    template's annotations, `annotations`. `default_profile` / `default_log_kind` fill
    `sim.kmc.dev/profile` / `sim.kmc.dev/log-kind` only when none of those set them.
    `ctx` is the SimContext (its clock dates a gated pod's condition; may be None).
    """
    tmeta = template.get("metadata") or {}
    labels = {**(tmeta.get("labels") or {}), **extra_labels}
    merged = {**sim_annotations(owner), **(tmeta.get("annotations") or {}), **annotations}
    if default_profile and PROFILE not in merged:
        merged[PROFILE] = default_profile
    if default_log_kind and LOG_KIND not in merged:
        merged[LOG_KIND] = default_log_kind
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": labels,
        "annotations": merged,
        "ownerReferences": [owner_reference(owner)],
    }
    spec = default_pod_spec(copy.deepcopy(template.get("spec") or {}))
    conditions = []
    if spec.get("schedulingGates"):
        # The API server's create strategy marks a gated pod; the scheduler leaves it alone
        # until its gates are removed (kueue's admission gate, a user's own).
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "False",
                "lastProbeTime": None,
                "lastTransitionTime": ctx.clock.iso() if ctx is not None else None,
                "reason": "SchedulingGated",
                "message": "Scheduling is blocked due to non-empty scheduling gates",
            }
        )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": spec,
        "status": {"phase": "Pending", "conditions": conditions, "qosClass": qos_class(spec)},
    }


def default_pod_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Apply the API server's pod defaulting to `spec` in place and return it."""
    spec.setdefault("containers", [])
    if not spec["containers"]:
        spec["containers"].append({"name": "main", "image": "busybox:1.36"})
    for index, container in enumerate(spec["containers"]):
        _default_container(container, index)
    for index, container in enumerate(spec.get("initContainers") or []):
        _default_container(container, index)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    sa = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = spec["serviceAccount"] = sa
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    tolerations = list(spec.get("tolerations") or [])
    present = {(t.get("key"), t.get("effect")) for t in tolerations}
    for toleration in DEFAULT_TOLERATIONS:
        if (toleration["key"], toleration["effect"]) not in present:
            tolerations.append(dict(toleration))
    spec["tolerations"] = tolerations
    return spec


def _default_container(container: dict[str, Any], index: int) -> None:
    container.setdefault("name", f"container-{index}")
    image = container.setdefault("image", "busybox:1.36")
    tag = image.rsplit("/", 1)[-1]
    pinned = "@" in tag or (":" in tag and not tag.endswith(":latest"))
    container.setdefault("imagePullPolicy", "IfNotPresent" if pinned else "Always")
    resources = container.setdefault("resources", {})
    limits = resources.get("limits") or {}
    if limits:
        requests = resources.setdefault("requests", {})
        for key, value in limits.items():
            requests.setdefault(key, value)  # requests default to limits
    ports = container.get("ports")
    if ports:
        for port in ports:
            port.setdefault("protocol", "TCP")
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")


def qos_class(spec: dict[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' requests and limits."""
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for container in containers:
        resources = container.get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        if requests or limits:
            any_set = True
        for key in ("cpu", "memory"):
            if key not in limits or str(requests.get(key, limits[key])) != str(limits[key]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


BACKOFF_REASONS = frozenset(
    ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError")
)
CRASHING_DAEMONSETS = SIM_PREFIX + "crashing-daemonsets"
"""Node annotation: comma-separated DaemonSet names whose pod on this node crash-loops."""


def container_down(pod: dict[str, Any], min_up: float = 0.0, now: float | None = None) -> bool:
    """True when the pod's first container is crash-looping or failing to start: not running
    after a start (restarts, a back-off, terminated), or (with `min_up` and `now`) running for
    less than `min_up` seconds since a restart. A first start still being created is not down."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Succeeded", "Failed"):
        return True
    statuses = status.get("containerStatuses") or []
    if not statuses:
        return False
    cs = statuses[0]
    state = cs.get("state") or {}
    restarts = int(cs.get("restartCount") or 0)
    if "running" in state:
        if restarts and min_up and now is not None:
            started = (state.get("running") or {}).get("startedAt")
            return started is None or now - parse_rfc3339(started) < min_up
        return False
    if "terminated" in state:
        return True
    return restarts > 0 or (state.get("waiting") or {}).get("reason") in BACKOFF_REASONS


def gpu_request(spec: dict[str, Any]) -> int:
    """Whole `nvidia.com/gpu*` units the pod's app containers ask for (limits, else requests)."""
    total = 0
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        amounts = resources.get("limits") or resources.get("requests") or {}
        for key, value in amounts.items():
            if key.startswith("nvidia.com/"):
                try:
                    total += int(str(value))
                except ValueError:
                    continue
    return total
