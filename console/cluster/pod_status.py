"""A pod's STATUS, READY and RESTARTS exactly as `kubectl get pods` prints them.

The rules are kubectl's `printPod` (kubernetes/kubernetes pkg/printers/internalversion/
printers.go, 1.32), re-written here over our wire structs:

1. `status.reason` if set, else the phase; a `PodScheduled` condition with reason
   `SchedulingGated` overrides both.
2. Init containers in order: one that exited 0, or a started sidecar (restartPolicy
   Always), is passed; the first other one decides and stops the walk: terminated →
   `Init:<reason>` (`Init:Signal:N` / `Init:ExitCode:N` without a reason), waiting with a
   reason other than PodInitializing → `Init:<reason>`, else `Init:N/M`.
3. Unless an init container decided (and the pod is not `Initialized`), the app containers
   in *reverse* order — so the first container's state wins: a waiting reason, a terminated
   reason, `Signal:N` / `ExitCode:N`; a ready running container counts as ready.
   `Completed` with a container still running reads `Running` (or `NotReady` without a
   True `Ready` condition).
4. Deleted: `Unknown` when `status.reason` is NodeLost, else `Terminating` unless the phase
   is terminal.

RESTARTS counts the restarts of the containers kubectl looked at, and the time of the latest
`lastState.terminated.finishedAt` among them gives kubectl's `3 (5m ago)`.
"""

from __future__ import annotations

from typing import NamedTuple

from console.cluster import wire
from console.cluster.decode_fields import iline, parse_time

NODE_LOST = "NodeLost"  # node.NodeUnreachablePodReason


class KubectlStatus(NamedTuple):
    status: str
    ready: int
    total: int
    restarts: int
    last_restart: float  # epoch seconds of the latest restart counted, 0.0 if none


def _exited(detail: wire.StateDetail, prefix: str) -> str:
    if detail.reason:
        return prefix + iline(detail.reason)
    if detail.signal:
        return f"{prefix}Signal:{detail.signal}"
    return f"{prefix}ExitCode:{detail.exit_code or 0}"


def _conditions(status: wire.PodStatus) -> tuple[bool, bool, bool]:
    """(scheduling gated, Initialized, Ready) in one pass: kubectl reads any PodScheduled
    condition with reason SchedulingGated, the first Initialized condition
    (isPodInitializedConditionTrue) and any True Ready condition (hasPodReadyCondition)."""
    gated = initialized = ready = seen_initialized = False
    for c in status.conditions:
        kind = c.type
        if kind == "Ready":
            ready = ready or c.status == "True"
        elif kind == "Initialized":
            if not seen_initialized:
                seen_initialized, initialized = True, c.status == "True"
        elif kind == "PodScheduled":
            gated = gated or c.reason == "SchedulingGated"
    return gated, initialized, ready


def _finished(cs: wire.ContainerStatus) -> float:
    last = cs.last_state.terminated
    return parse_time(last.finished_at) if last is not None else 0.0


def kubectl_status(pod: wire.Pod) -> KubectlStatus:
    """STATUS, READY (ready/total), RESTARTS and the last restart time of `pod`, by kubectl's
    rules (see the module docstring)."""
    spec, status = pod.spec, pod.status
    gated, initialized, pod_ready = _conditions(status)
    reason = "SchedulingGated" if gated else iline(status.reason or status.phase)
    sidecars = (
        {c.name for c in spec.init_containers if c.restart_policy == "Always"}
        if spec.init_containers
        else ()
    )
    total = len(spec.containers) + len(sidecars)
    ready = restarts = sidecar_restarts = 0
    last = sidecar_last = 0.0
    initializing = False
    for index, cs in enumerate(status.init_container_statuses):  # in order, up to the first
        # that neither exited 0 nor is a started sidecar
        restarts += cs.restart_count
        last = max(last, _finished(cs))
        sidecar = cs.name in sidecars
        if sidecar:
            sidecar_restarts += cs.restart_count
            sidecar_last = max(sidecar_last, _finished(cs))
        state = cs.state
        if state.terminated is not None and not state.terminated.exit_code:
            continue
        if sidecar and cs.started:
            ready += 1 if cs.ready else 0
            continue
        initializing = True
        if state.terminated is not None:
            reason = _exited(state.terminated, "Init:")
        elif (
            state.waiting is not None
            and state.waiting.reason
            and state.waiting.reason != "PodInitializing"
        ):
            reason = "Init:" + iline(state.waiting.reason)
        else:
            reason = f"Init:{index}/{len(spec.init_containers)}"
        break
    if not initializing or initialized:
        restarts, last = sidecar_restarts, sidecar_last
        running = False
        for cs in reversed(status.container_statuses):
            restarts += cs.restart_count
            last = max(last, _finished(cs))
            state = cs.state
            if state.waiting is not None and state.waiting.reason:
                reason = iline(state.waiting.reason)
            elif state.terminated is not None:
                reason = _exited(state.terminated, "")
            elif cs.ready and state.running is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            reason = "Running" if pod_ready else "NotReady"
    deleted = pod.metadata.deletion_timestamp is not None
    if deleted and status.reason == NODE_LOST:
        reason = "Unknown"
    elif deleted and status.phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return KubectlStatus(reason, ready, total, restarts, last)
