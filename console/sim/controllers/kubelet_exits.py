"""How the simulated kubelets fail containers: exit codes and reasons, back-off, init containers.

The `sim.kmc.dev/*` annotations (see `console.sim.podspec`) script it:

- `exit-code` / `exit-reason` with `fail-after`: the container exits with that code and the
  runtime's reason — `137` + `OOMKilled` for an OOM kill, `""` for a runtime that gives no
  reason (kubectl then prints `ExitCode:N`). Default: 1, `Error`.
- `restart-hold: N`: a container that will be restarted stays `terminated` N seconds before
  the kubelet's back-off (`CrashLoopBackOff`), as between a kill and the kubelet's next sync:
  kubectl prints the termination reason (`OOMKilled`) meanwhile.
- `init-fail-after: N`: the first init container exits (with the code and reason above) N
  seconds after each start: `Init:Error`, then `Init:CrashLoopBackOff` and a restart with
  back-off (restartPolicy Always/OnFailure), or the pod Failed (Never). The pod stays
  Pending and its app containers `PodInitializing`, as on a real node.
"""

from __future__ import annotations

from typing import Any

from ..podspec import EXIT_CODE, EXIT_REASON, INIT_FAIL_AFTER, RESTART_HOLD

BACKOFF_START, BACKOFF_MAX = 10.0, 300.0


def _condition(type_: str, status: str, now: str, reason: str | None = None) -> dict[str, Any]:
    cond: dict[str, Any] = {
        "type": type_,
        "status": status,
        "lastProbeTime": None,
        "lastTransitionTime": now,
    }
    if reason:
        cond["reason"] = reason
    return cond


def set_conditions(status: dict[str, Any], now: str, **values: str | tuple[str, str]) -> None:
    """Set pod conditions by type (value "True"/"False" or (value, reason)), keeping the
    transition time of a condition whose status did not change, in the kubelet's order."""
    order = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
    current = {c.get("type"): c for c in status.get("conditions") or ()}
    for type_, value in values.items():
        value, reason = value if isinstance(value, tuple) else (value, None)
        old = current.get(type_)
        cond = _condition(type_, value, now, reason)
        if old is not None and old.get("status") == value:
            cond["lastTransitionTime"] = old.get("lastTransitionTime", now)
        current[type_] = cond
    status["conditions"] = [current[t] for t in order if t in current] + [
        c for t, c in current.items() if t not in order
    ]


def _seconds(annotations: dict[str, str], name: str) -> float | None:
    try:
        value = float(annotations[name])
    except (KeyError, ValueError):
        return None
    return value if 0 <= value < 1e9 else None


def exit_code(annotations: dict[str, str]) -> int:
    """The failing exit code a pod's annotations ask for (1 unless a valid 1–255 is set)."""
    try:
        code = int(annotations.get(EXIT_CODE, "1"))
    except ValueError:
        return 1
    return code if 1 <= code <= 255 else 1


def exit_reason(annotations: dict[str, str], code: int) -> str:
    """`Completed` for 0; else the annotated reason ("" allowed), else `Error`."""
    if code == 0:
        return "Completed"
    return annotations.get(EXIT_REASON, "Error")


def restart_hold(annotations: dict[str, str]) -> float:
    return _seconds(annotations, RESTART_HOLD) or 0.0


def init_fail_after(pod: dict[str, Any]) -> float | None:
    """Seconds after which the pod's first init container fails, None when it does not."""
    if not (pod.get("spec") or {}).get("initContainers"):
        return None
    return _seconds(pod["metadata"].get("annotations") or {}, INIT_FAIL_AFTER)


def backoff_after(restarts: int, ran: float) -> float:
    """The kubelet's crash back-off: 10 s doubling to 300 s; reset after 10 minutes of running."""
    if ran >= 600:
        return BACKOFF_START
    return min(BACKOFF_START * 2 ** min(restarts, 16), BACKOFF_MAX)


def terminated(code: int, reason: str, started: str, now: str, container_id: str) -> dict[str, Any]:
    state: dict[str, Any] = {"exitCode": code}
    if reason:
        state["reason"] = reason
    state.update({"startedAt": started, "finishedAt": now, "containerID": container_id})
    return state


def crash_loop(cs: dict[str, Any], backoff: float, meta: dict[str, Any]) -> dict[str, Any]:
    """`cs` in back-off: its current termination becomes its last state."""
    ended = (cs.get("state") or {}).get("terminated")
    pod = f"{meta['name']}_{meta['namespace']}({meta.get('uid', '')})"
    out = {**cs, "ready": False, "started": False}
    if ended:
        out["lastState"] = {"terminated": ended}
    out["state"] = {
        "waiting": {
            "reason": "CrashLoopBackOff",
            "message": f"back-off {int(backoff)}s restarting failed container={cs['name']} pod={pod}",
        }
    }
    return out


def pod_conditions_pending_init() -> dict[str, str | tuple[str, str]]:
    """The kubelet's conditions while an init container has not completed."""
    return {
        "PodReadyToStartContainers": "True",
        "Initialized": ("False", "ContainersNotInitialized"),
        "Ready": ("False", "ContainersNotReady"),
        "ContainersReady": ("False", "ContainersNotReady"),
        "PodScheduled": "True",
    }


class ContainerFailures:
    """The `Kubelet`'s failure paths (a mixin: it uses the kubelet's `ctx`, `_mutate`,
    `_status` and `_run`)."""

    ctx: Any

    def _mutate(self, key: Any, uid: str, change: Any) -> dict[str, Any] | None:
        raise NotImplementedError

    def _status(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _run(self, key: Any, uid: str, first: bool = False) -> None:
        raise NotImplementedError

    def _back_off(self, key: Any, uid: str, backoff: float, init: bool) -> None:
        """A failed container that will restart enters back-off; restarted when it ends."""
        field = "initContainerStatuses" if init else "containerStatuses"
        names: list[str] = []

        def change(pod: dict[str, Any]) -> Any:
            status = pod.setdefault("status", {})
            if status.get("phase") != ("Pending" if init else "Running"):
                return False
            statuses = []
            for cs in status.get(field) or ():
                if (cs.get("state") or {}).get("terminated") and not (init and names):
                    cs = crash_loop(cs, backoff, pod["metadata"])
                    names.append(cs["name"])
                statuses.append(cs)
            status[field] = statuses
            return None if names else False

        pod = self._mutate(key, uid, change)
        if pod is None:
            return
        meta = pod["metadata"]
        for name in names:
            self.ctx.record_event(
                pod,
                "BackOff",
                f"Back-off restarting failed container {name} in pod {meta['name']}_{meta['namespace']}({meta.get('uid', '')})",
                "Warning",
                component="kubelet",
            )
        restart = (lambda: self._init_start(key, uid)) if init else (lambda: self._run(key, uid))
        self.ctx.after(backoff, restart)

    def _init_start(self, key: Any, uid: str) -> None:
        """(Re)start the pod's first init container; the others and the app containers wait."""
        now = self.ctx.clock.iso()
        started: list[str] = []

        def change(pod: dict[str, Any]) -> Any:
            status, spec = pod.setdefault("status", {}), pod["spec"]
            if status.get("phase") not in ("Pending", None, ""):
                return False
            old = (status.get("initContainerStatuses") or [{}])[0]
            first, *rest = spec["initContainers"]
            restarts = old.get("restartCount", -1) + 1
            running = {"running": {"startedAt": now}}
            initializing = {"waiting": {"reason": "PodInitializing"}}
            status["initContainerStatuses"] = [
                self._status(first, running, False, restarts, uid, old.get("lastState")),
                *(self._status(c, initializing, False, 0, None) for c in rest),
            ]
            status["containerStatuses"] = [
                self._status(c, initializing, False, 0, None) for c in spec.get("containers") or ()
            ]
            set_conditions(status, now, **pod_conditions_pending_init())
            started.append(first.get("name", ""))
            return None

        pod = self._mutate(key, uid, change)
        if pod is None:
            return
        for name in started:
            self.ctx.record_event(pod, "Created", f"Created container {name}", component="kubelet")
            self.ctx.record_event(pod, "Started", f"Started container {name}", component="kubelet")
        seconds = init_fail_after(pod) or 0.0
        self.ctx.after(seconds, lambda: self._init_exit(key, uid, seconds))

    def _init_exit(self, key: Any, uid: str, ran: float) -> None:
        """The first init container fails: the pod fails (Never) or the container backs off."""
        now = self.ctx.clock.iso()
        outcome: dict[str, float] = {}

        def change(pod: dict[str, Any]) -> Any:
            status, spec = pod.setdefault("status", {}), pod["spec"]
            statuses = status.get("initContainerStatuses") or []
            if status.get("phase") != "Pending" or not statuses:
                return False
            annotations = pod["metadata"].get("annotations") or {}
            code = exit_code(annotations)
            cs = statuses[0]
            running = (cs.get("state") or {}).get("running") or {}
            ended = terminated(
                code,
                exit_reason(annotations, code),
                running.get("startedAt", now),
                now,
                cs.get("containerID", ""),
            )
            statuses[0] = {**cs, "ready": False, "started": False, "state": {"terminated": ended}}
            if spec.get("restartPolicy", "Always") == "Never":
                status["phase"] = "Failed"
                set_conditions(status, now, Ready=("False", "PodFailed"))
                return None
            outcome["backoff"] = backoff_after(cs.get("restartCount", 0), ran)
            outcome["hold"] = restart_hold(annotations)
            return None

        if self._mutate(key, uid, change) is None or "backoff" not in outcome:
            return
        backoff = outcome["backoff"]
        self.ctx.after(outcome["hold"], lambda: self._back_off(key, uid, backoff, init=True))
