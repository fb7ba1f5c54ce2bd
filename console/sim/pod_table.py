"""The pod row of the server-side Table: READY, STATUS and RESTARTS as the API server prints them.

Written from kubectl's `printPod` (kubernetes/kubernetes pkg/printers/internalversion/
printers.go, 1.32) over plain JSON dicts: `status.reason` or the phase to start with
(`SchedulingGated` from the PodScheduled condition); the init containers in order until one
that neither exited 0 nor is a started sidecar (`Init:<reason>`, `Init:Signal:N`,
`Init:ExitCode:N`, `Init:N/M`); then, unless that happened on a pod not yet Initialized, the
app containers from last to first (waiting reason, terminated reason, `Signal:N`,
`ExitCode:N`); `Completed` with a container running reads `Running` or `NotReady`; deleted
pods read `Unknown` (NodeLost) or `Terminating` (phase not terminal).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .clock import parse_rfc3339


class PodCells(NamedTuple):
    ready: str
    status: str
    restarts: int
    last_restart: float  # epoch seconds, 0.0 when none


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _finished(cs: dict[str, Any]) -> float:
    stamp = _d(_d(cs.get("lastState")).get("terminated")).get("finishedAt")
    if not isinstance(stamp, str):
        return 0.0
    try:
        return parse_rfc3339(stamp)
    except ValueError:
        return 0.0


def _exited(term: dict[str, Any], prefix: str) -> str:
    if term.get("reason"):
        return prefix + str(term["reason"])
    if _int(term.get("signal")):
        return f"{prefix}Signal:{_int(term.get('signal'))}"
    return f"{prefix}ExitCode:{_int(term.get('exitCode'))}"


def _initialized(status: dict[str, Any]) -> bool:
    """The first Initialized condition is True (kubectl's isPodInitializedConditionTrue)."""
    conds = [_d(c) for c in _l(status.get("conditions"))]
    return next((c.get("status") == "True" for c in conds if c.get("type") == "Initialized"), False)


def _ready(status: dict[str, Any]) -> bool:
    """Any Ready condition is True (kubectl's hasPodReadyCondition)."""
    conds = [_d(c) for c in _l(status.get("conditions"))]
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def pod_cells(obj: dict[str, Any]) -> PodCells:
    """READY, STATUS, RESTARTS (count) and the latest restart time of pod `obj`."""
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    reason = str(status.get("reason") or status.get("phase") or "")
    for cond in _l(status.get("conditions")):
        if _d(cond).get("type") == "PodScheduled" and _d(cond).get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_specs = _l(spec.get("initContainers"))
    sidecars = {_d(c).get("name") for c in init_specs if _d(c).get("restartPolicy") == "Always"}
    total = len(_l(spec.get("containers"))) + len(sidecars)
    ready = restarts = sidecar_restarts = 0
    last = sidecar_last = 0.0
    initializing = False
    for index, cs in enumerate(map(_d, _l(status.get("initContainerStatuses")))):
        restarts += _int(cs.get("restartCount"))
        last = max(last, _finished(cs))
        sidecar = cs.get("name") in sidecars
        if sidecar:
            sidecar_restarts += _int(cs.get("restartCount"))
            sidecar_last = max(sidecar_last, _finished(cs))
        state = _d(cs.get("state"))
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if isinstance(terminated, dict) and not _int(terminated.get("exitCode")):
            continue
        if sidecar and cs.get("started") is True:
            ready += 1 if cs.get("ready") is True else 0
            continue
        initializing = True
        if isinstance(terminated, dict):
            reason = _exited(terminated, "Init:")
        elif _d(waiting).get("reason") and _d(waiting)["reason"] != "PodInitializing":
            reason = "Init:" + str(_d(waiting)["reason"])
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        break
    if not initializing or _initialized(status):
        restarts, last = sidecar_restarts, sidecar_last
        running = False
        for cs in reversed([_d(c) for c in _l(status.get("containerStatuses"))]):
            restarts += _int(cs.get("restartCount"))
            last = max(last, _finished(cs))
            state = _d(cs.get("state"))
            terminated = state.get("terminated")
            if _d(state.get("waiting")).get("reason"):
                reason = str(state["waiting"]["reason"])
            elif isinstance(terminated, dict):
                reason = _exited(terminated, "")
            elif cs.get("ready") is True and isinstance(state.get("running"), dict):
                running = True
                ready += 1
        if reason == "Completed" and running:
            reason = "Running" if _ready(status) else "NotReady"
    if _d(obj.get("metadata")).get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif status.get("phase") not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return PodCells(f"{ready}/{total}", reason, restarts, last)
