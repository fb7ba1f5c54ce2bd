"""The kubelets of every simulated node: start bound pods, run them, exit and restart containers.

A bound Pending pod shows `ContainerCreating` shortly after binding and turns Running 1–3 sim
seconds later (deterministic per pod). Containers exit on the annotations the workload
controllers put on pods (the contract):

- `sim.kmc.dev/run-seconds: "N"` — every app container exits 0 N sim-seconds after it started:
  restartPolicy Never/OnFailure → pod Succeeded; Always → restarted (with back-off).
- `sim.kmc.dev/fail-after: "N"` — exits 1 after N sim-seconds: Never → pod Failed;
  OnFailure/Always → `CrashLoopBackOff` (10 s doubling to 300 s), then restarted with
  restartCount + 1 and `lastState.terminated {exitCode, reason: Error, startedAt, finishedAt}`.
- `sim.kmc.dev/exit-code`, `exit-reason`, `restart-hold`, `init-fail-after`: OOM kills,
  runtime exits without a reason, init-container crash loops (see `kubelet_exits`).
- `sim.kmc.dev/profile` is for the GPU telemetry; the kubelet ignores it.

Pods the presets write already Running get a timer only if they carry an exit annotation.
Nothing starts on a node that is missing or NotReady; when the node comes back, its pods resume.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

import orjson

from ..clock import parse_rfc3339
from ..kinds import by_kind
from ..runtime import SimContext
from ..store import Entry
from .kubelet_exits import (
    ContainerFailures,
    backoff_after,
    crash_loop,
    exit_code,
    exit_reason,
    init_fail_after,
    restart_hold,
    set_conditions,
    terminated,
)

__all__ = ["Kubelet", "image_id", "qos_class", "set_conditions", "start"]

RUN_SECONDS = "sim.kmc.dev/run-seconds"
FAIL_AFTER = "sim.kmc.dev/fail-after"
CREATE_DELAY = 0.5  # binding → ContainerCreating
_EXIT_MARKERS = (RUN_SECONDS.encode(), FAIL_AFTER.encode())

Key = tuple[str, str]


def _digest(*parts: str) -> str:
    return hashlib.blake2b("/".join(parts).encode(), digest_size=32).hexdigest()


def image_id(image: str) -> str:
    """A repo digest for `image`, like containerd reports it."""
    repo = image.rsplit("@", 1)[0]
    if ":" in repo.rsplit("/", 1)[-1]:
        repo = repo.rsplit(":", 1)[0]
    return f"{repo}@sha256:{_digest('image', image)}"


def qos_class(spec: dict[str, Any]) -> str:
    """Guaranteed when every container has cpu and memory limits equal to requests; BestEffort
    when none sets any; Burstable otherwise."""
    containers = [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]
    seen, guaranteed = False, True
    for container in containers:
        res = container.get("resources") or {}
        requests, limits = res.get("requests") or {}, res.get("limits") or {}
        seen = seen or bool(requests or limits)
        for name in ("cpu", "memory"):
            if name not in limits or str(requests.get(name, limits[name])) != str(limits[name]):
                guaranteed = False
    if not seen:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


class Kubelet(ContainerFailures):
    """All nodes' kubelets in one controller: per-pod transitions are `ctx.after` timers."""

    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.pod_rt = by_kind("Pod")
        self.node_rt = by_kind("Node")
        self.nodes: dict[str, tuple[str, str, bool]] = {}  # name → (hostIP, pod IP prefix, ready)
        self.tracked: dict[Key, str] = {}  # pods with a transition timer outstanding → uid
        self.next_ip: dict[str, int] = {}
        self.waiting: dict[str, dict[Key, None]] = {}  # node not (yet) Ready → its pods to resume

    def start(self) -> None:
        for entry in self.ctx.store.entries(self.node_rt):
            self._on_node("ADDED", self.node_rt, entry)
        for entry in self.ctx.store.entries(self.pod_rt):
            self._on_pod("ADDED", self.pod_rt, entry)
        self.ctx.store.listen(self.node_rt, self._on_node)
        self.ctx.store.listen(self.pod_rt, self._on_pod)

    # ----- listeners (never write here: defer) --------------------------------------------
    def _on_node(self, kind: str, _rt: Any, entry: Entry) -> None:
        name = entry.fields["metadata.name"]
        was = self.nodes.get(name)
        if kind == "DELETED":
            self.nodes.pop(name, None)
            return
        node = entry.obj()
        status = node.get("status") or {}
        host_ip = next(
            (a["address"] for a in status.get("addresses") or () if a.get("type") == "InternalIP"),
            "10.0.0.1",
        )
        cidr = (node.get("spec") or {}).get("podCIDR") or "10.64.0.0/24"
        prefix = cidr.split("/")[0].rsplit(".", 1)[0] + "."
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or ()
        )
        self.nodes[name] = (host_ip, prefix, ready)
        if ready and (was is None or not was[2]) and name in self.waiting:
            self.ctx.soon(lambda: self._resume(name))

    def _on_pod(self, kind: str, _rt: Any, entry: Entry) -> None:
        fields = entry.fields
        key = (fields["metadata.namespace"], fields["metadata.name"])
        if kind == "DELETED":
            self.tracked.pop(key, None)
            return
        node, phase = fields["spec.nodeName"], fields["status.phase"]
        if not node or key in self.tracked:
            return
        if phase in ("Pending", ""):
            if not self._node_ready(node):
                self.waiting.setdefault(node, {})[key] = None
                return
            uid = orjson.loads(entry.raw)["metadata"].get("uid", "")
            self.tracked[key] = uid
            self.ctx.after(CREATE_DELAY, lambda: self._create(key, uid))
        elif phase == "Running" and any(m in entry.raw for m in _EXIT_MARKERS):
            self._adopt_running(key, orjson.loads(entry.raw))

    def _node_ready(self, node: str) -> bool:
        facts = self.nodes.get(node)
        return facts is not None and facts[2]

    def _resume(self, node: str) -> None:
        for key in self.waiting.pop(node, {}):
            entry = self.ctx.store.entry(self.pod_rt, *key)
            if entry is not None and entry.fields["spec.nodeName"] == node:
                self._on_pod("MODIFIED", self.pod_rt, entry)

    def _adopt_running(self, key: Key, pod: dict[str, Any]) -> None:
        """A Running pod this kubelet did not start (a preset wrote it): time its exit."""
        started = None
        for cs in (pod.get("status") or {}).get("containerStatuses") or ():
            running = (cs.get("state") or {}).get("running")
            if running and running.get("startedAt"):
                started = parse_rfc3339(running["startedAt"])
                break
        if started is None:
            return
        uid = pod["metadata"].get("uid", "")
        self.tracked[key] = uid
        self._schedule_exit(key, uid, pod, started)

    # ----- transitions --------------------------------------------------------------------
    def _mutate(self, key: Key, uid: str, change: Any) -> dict[str, Any] | None:
        """Apply `change` to the pod if it is still the one (uid) this timer was for."""
        if self.tracked.get(key) != uid:
            return None
        result: list[dict[str, Any]] = []

        def guarded(pod: dict[str, Any]) -> Any:
            if pod["metadata"].get("uid", "") != uid:
                return False
            node = pod["spec"].get("nodeName", "")
            if not self._node_ready(node):  # the kubelet is down: nothing moves until it is back
                self.waiting.setdefault(node, {})[key] = None
                return False
            if change(pod) is False:
                return False
            result.append(pod)
            return None

        self.ctx.store.mutate(self.pod_rt, key[0], key[1], guarded)
        if not result:
            self.tracked.pop(key, None)
        return result[0] if result else None

    def _create(self, key: Key, uid: str) -> None:
        now = self.ctx.clock.iso()

        def change(pod: dict[str, Any]) -> Any:
            status = pod.setdefault("status", {})
            if status.get("phase") not in ("Pending", None, ""):
                return False
            spec = pod["spec"]
            host_ip = self.nodes[spec["nodeName"]][0]
            status.update(
                {"phase": "Pending", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}]},
            )
            status.setdefault("startTime", now)
            status.setdefault("qosClass", qos_class(spec))
            waiting = {"waiting": {"reason": "ContainerCreating"}}
            status["containerStatuses"] = [
                self._status(c, waiting, False, 0, None) for c in spec.get("containers") or ()
            ]
            names = ", ".join(c.get("name", "") for c in spec.get("containers") or ())
            set_conditions(
                status,
                now,
                PodReadyToStartContainers="False",
                Initialized="True",
                Ready=("False", "ContainersNotReady"),
                ContainersReady=("False", "ContainersNotReady"),
                PodScheduled="True",
            )
            for cond in status["conditions"]:
                if cond["type"] in ("Ready", "ContainersReady"):
                    cond["message"] = f"containers with unready status: [{names}]"
            return None

        pod = self._mutate(key, uid, change)
        if pod is not None:
            delay = 1.0 + (zlib.crc32(f"{self.ctx.seed}/{key[0]}/{key[1]}".encode()) % 2001) / 1000
            if init_fail_after(pod) is not None:
                self.ctx.after(delay, lambda: self._init_start(key, uid))
            else:
                self.ctx.after(delay, lambda: self._run(key, uid, first=True))

    def _status(
        self,
        container: dict[str, Any],
        state: dict[str, Any],
        ready: bool,
        restarts: int,
        uid: str | None,
        last: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        image = container.get("image", "")
        cs: dict[str, Any] = {
            "name": container.get("name", ""),
            "image": image,
            "imageID": image_id(image) if uid else "",
            "ready": ready,
            "restartCount": restarts,
            "started": "running" in state,
            "state": state,
            "lastState": last or {},
        }
        if uid:
            cs["containerID"] = "containerd://" + _digest(uid, cs["name"], str(restarts))
        return cs

    def _run(self, key: Key, uid: str, first: bool = False) -> None:
        now = self.ctx.clock.iso()
        started_containers: list[dict[str, Any]] = []

        def change(pod: dict[str, Any]) -> Any:
            status, spec = pod.setdefault("status", {}), pod["spec"]
            if status.get("phase") not in ("Pending", "Running"):
                return False
            node = spec["nodeName"]
            if not status.get("podIP"):
                index = self.next_ip.get(node, 2)
                self.next_ip[node] = index % 253 + 2
                ip = self.nodes[node][1] + str(index)
                status["podIP"], status["podIPs"] = ip, [{"ip": ip}]
            old = {cs.get("name"): cs for cs in status.get("containerStatuses") or ()}
            statuses = []
            for c in spec.get("containers") or ():
                prev = old.get(c.get("name")) or {}
                restarts = prev.get("restartCount", 0) + (0 if first else 1)
                running = {"running": {"startedAt": now}}
                statuses.append(
                    self._status(c, running, True, restarts, uid, prev.get("lastState"))
                )
            status["containerStatuses"] = statuses
            if spec.get("initContainers") and first:
                done = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": status.get("startTime", now), "finishedAt": now}}  # fmt: skip
                status["initContainerStatuses"] = [
                    {**self._status(c, done, True, 0, uid), "started": False}
                    for c in spec["initContainers"]
                ]
            status["phase"] = "Running"
            set_conditions(
                status,
                now,
                PodReadyToStartContainers="True",
                Initialized="True",
                Ready="True",
                ContainersReady="True",
                PodScheduled="True",
            )
            started_containers.extend(spec.get("containers") or ())
            return None

        pod = self._mutate(key, uid, change)
        if pod is None:
            return
        for c in started_containers:
            name = c.get("name", "")
            if first:
                self.ctx.record_event(
                    pod,
                    "Pulled",
                    f'Container image "{c.get("image", "")}" already present on machine',
                    component="kubelet",
                )
            self.ctx.record_event(pod, "Created", f"Created container {name}", component="kubelet")
            self.ctx.record_event(pod, "Started", f"Started container {name}", component="kubelet")
        if not self._schedule_exit(key, uid, pod, self.ctx.clock.now()):
            self.tracked.pop(key, None)

    def _schedule_exit(self, key: Key, uid: str, pod: dict[str, Any], started: float) -> bool:
        annotations = pod["metadata"].get("annotations") or {}
        for name, code in ((FAIL_AFTER, exit_code(annotations)), (RUN_SECONDS, 0)):
            if name in annotations:
                try:
                    seconds = float(annotations[name])
                except ValueError:
                    continue
                due = max(started + seconds - self.ctx.clock.now(), 0.0)
                self.ctx.after(due, lambda c=code, s=seconds: self._exit(key, uid, c, s))
                return True
        self.tracked.pop(key, None)
        return False

    def _exit(self, key: Key, uid: str, code: int, ran: float) -> None:
        now = self.ctx.clock.iso()
        outcome: dict[str, Any] = {}

        def change(pod: dict[str, Any]) -> Any:
            status, spec = pod.setdefault("status", {}), pod["spec"]
            if status.get("phase") != "Running":
                return False
            policy = spec.get("restartPolicy", "Always")
            restart = policy == "Always" or (policy == "OnFailure" and code != 0)
            annotations = pod["metadata"].get("annotations") or {}
            reason = exit_reason(annotations, code)
            hold = restart_hold(annotations) if restart else 0.0
            statuses = []
            for cs in status.get("containerStatuses") or ():
                running = (cs.get("state") or {}).get("running") or {}
                started = running.get("startedAt", now)
                ended = terminated(code, reason, started, now, cs.get("containerID", ""))
                cs = {**cs, "ready": False, "started": False, "state": {"terminated": ended}}
                if restart:
                    backoff = backoff_after(cs.get("restartCount", 0), ran)
                    outcome["backoff"] = backoff
                    if not hold:
                        cs = crash_loop(cs, backoff, pod["metadata"])
                statuses.append(cs)
            status["containerStatuses"] = statuses
            if restart:
                outcome["hold"] = hold
                set_conditions(
                    status,
                    now,
                    Ready=("False", "ContainersNotReady"),
                    ContainersReady=("False", "ContainersNotReady"),
                )
            else:
                status["phase"] = "Succeeded" if code == 0 else "Failed"
                set_conditions(
                    status,
                    now,
                    PodReadyToStartContainers="False",
                    Ready=("False", "PodCompleted"),
                    ContainersReady=("False", "PodCompleted"),
                )
            outcome["names"] = [cs["name"] for cs in statuses]
            return None

        pod = self._mutate(key, uid, change)
        if pod is None:
            return
        if "backoff" not in outcome:
            self.tracked.pop(key, None)
            return
        backoff = outcome["backoff"]
        if outcome["hold"]:  # terminated for a while (kubectl: OOMKilled), then back-off
            self.ctx.after(outcome["hold"], lambda: self._back_off(key, uid, backoff, init=False))
            return
        meta = pod["metadata"]
        for name in outcome["names"]:
            self.ctx.record_event(
                pod,
                "BackOff",
                f"Back-off restarting failed container {name} in pod {meta['name']}_{meta['namespace']}({meta.get('uid', '')})",
                "Warning",
                component="kubelet",
            )
        self.ctx.after(backoff, lambda: self._run(key, uid))


def start(ctx: SimContext) -> Kubelet:
    """Start the kubelets: adopt the pods already stored, then follow every change."""
    kubelet = Kubelet(ctx)
    kubelet.start()
    return kubelet
