"""The scheduler: binds Pending pods to nodes, GPU-aware, with the real scheduler's failure messages.

Free resources are kept in memory per node and maintained from Pod and Node listener events
(a pod's effective request is decoded once, when it first holds resources), so only Pending pods
are ever scanned. Filters run in the default profile's order: NodeUnschedulable, TaintToleration,
NodeAffinity (nodeSelector + required node affinity), NodeResourcesFit. Among nodes that fit, the
one with the fewest free `nvidia.com/gpu` wins (bin-packing), ties in a stable order. Nodes are
bucketed by free GPUs so a bind looks at few nodes; only a pod that fits nowhere costs a full scan,
and pods with the same constraints share that result within a pass.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from ..kinds import by_kind
from ..runtime import SimContext
from ..store import Entry
from .placement import node_matcher, tolerates

GPU = "nvidia.com/gpu"
SCHEDULER_NAME = "default-scheduler"
RETRY_DELAY = 1.0  # sim seconds between a freeing change and the retry of unschedulable pods
RETRY_PERIOD = 30.0  # unschedulable pods are retried at least this often
EVENT_REPEAT = 60.0  # a repeated FailedScheduling event is recorded at most this often per pod

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"

_SUFFIXES = {
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "Pi": 1024**5,
    "Ei": 1024**6,
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
}

Requests = tuple[tuple[str, int], ...]
Key = tuple[str, str]


def parse_quantity(resource: str, value: Any) -> int:
    """A resource quantity as an integer: millicores for `cpu`, base units (bytes, counts) else.
    Rounds up, as the scheduler does."""
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        number = None
        for suffix in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"):
            if text.endswith(suffix):
                number = float(text[:-2]) * _SUFFIXES[suffix]
                break
        if number is None:
            if text and text[-1] in _SUFFIXES and not text[-1].isdigit():
                number = float(text[:-1]) * _SUFFIXES[text[-1]]
            else:
                number = float(text)
    if resource == "cpu":
        number *= 1000
    whole = int(number)
    return whole if whole >= number else whole + 1


def _container_requests(container: dict[str, Any]) -> dict[str, int]:
    resources = container.get("resources") or {}
    merged = dict(resources.get("limits") or {})
    merged.update(resources.get("requests") or {})  # missing requests default to the limits
    return {name: parse_quantity(name, value) for name, value in merged.items()}


def pod_requests(spec: dict[str, Any]) -> dict[str, int]:
    """A pod's effective requests: max(largest init container, Σ app containers + sidecars) +
    overhead. Sidecar init containers (restartPolicy Always) count with the app containers."""
    total: Counter[str] = Counter()
    for container in spec.get("containers") or ():
        total.update(_container_requests(container))
    init_peak: Counter[str] = Counter()
    sidecars: Counter[str] = Counter()
    for container in spec.get("initContainers") or ():
        req = _container_requests(container)
        if container.get("restartPolicy") == "Always":
            sidecars.update(req)
            for name in sidecars:
                init_peak[name] = max(init_peak[name], sidecars[name])
        else:
            for name in set(req) | set(sidecars):
                init_peak[name] = max(init_peak[name], req.get(name, 0) + sidecars[name])
    total.update(sidecars)
    result = {name: max(total[name], init_peak[name]) for name in set(total) | set(init_peak)}
    for name, value in (spec.get("overhead") or {}).items():
        result[name] = result.get(name, 0) + parse_quantity(name, value)
    return {name: value for name, value in result.items() if value}


def unschedulable_message(nodes: int, reasons: Counter[str], preemption: Counter[str]) -> str:
    """The scheduler's FitError text: reasons as "<count> <reason>" sorted as strings."""
    if nodes == 0:
        return "no nodes available to schedule pods"
    parts = sorted(f"{count} {reason}" for reason, count in reasons.items())
    message = f"0/{nodes} nodes are available: {', '.join(parts)}."
    if preemption:
        tail = sorted(f"{count} {reason}" for reason, count in preemption.items())
        message += f" preemption: 0/{nodes} nodes are available: {', '.join(tail)}."
    return message


class _Node:
    __slots__ = ("alloc", "bucket", "labels", "name", "taints", "unschedulable")

    def __init__(self, obj: dict[str, Any]) -> None:
        self.name: str = obj["metadata"]["name"]
        self.labels: dict[str, str] = obj["metadata"].get("labels") or {}
        spec = obj.get("spec") or {}
        self.unschedulable = bool(spec.get("unschedulable"))
        self.taints = tuple(
            (t.get("key", ""), t.get("value") or "", t["effect"])
            for t in spec.get("taints") or ()
            if t.get("effect") in ("NoSchedule", "NoExecute")
        )
        alloc = (obj.get("status") or {}).get("allocatable") or {}
        self.alloc = {name: parse_quantity(name, value) for name, value in alloc.items()}
        self.alloc.setdefault("pods", 110)
        self.bucket: int | None = None


class _Pod:
    """A pending pod's scheduling constraints, decoded once per attempt."""

    __slots__ = ("matcher", "req", "signature", "taint_cache", "tolerations")

    def __init__(self, obj: dict[str, Any]) -> None:
        spec = obj.get("spec") or {}
        self.req = pod_requests(spec)
        self.req["pods"] = 1
        self.tolerations = spec.get("tolerations") or []
        self.matcher = node_matcher(spec)
        self.taint_cache: dict[tuple, str | None] = {}
        self.signature = orjson.dumps(
            [sorted(self.req.items()), self.tolerations, spec.get("nodeSelector"), spec.get("affinity")],
            option=orjson.OPT_SORT_KEYS,
        )  # fmt: skip

    def untolerated(self, taints: tuple) -> str | None:
        if not taints:
            return None
        if taints not in self.taint_cache:
            found = None
            for key, value, effect in taints:
                if not tolerates(self.tolerations, key, value, effect):
                    found = f"node(s) had untolerated taint {{{key}: {value}}}"
                    break
            self.taint_cache[taints] = found
        return self.taint_cache[taints]


class Scheduler:
    """In-memory scheduling state plus the bind/retry loop. One per SimContext."""

    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.pod_rt = by_kind("Pod")
        self.node_rt = by_kind("Node")
        self.nodes: dict[str, _Node] = {}
        self.used: dict[str, dict[str, int]] = {}  # node → Σ requests of pods holding resources
        self.held: dict[Key, tuple[str, Requests]] = {}  # pod → (node, requests) it holds
        self.buckets: dict[int, dict[str, None]] = {}  # free nvidia.com/gpu → nodes (ordered)
        self.pending: dict[Key, None] = {}  # to try at the next pass
        self.unschedulable: dict[Key, None] = {}  # tried and failed; retried on changes
        self._interned: dict[Requests, Requests] = {}
        self._last_failure: dict[Key, tuple[str, float]] = {}
        self._pass_queued = False
        self._retry_queued = False

    def start(self) -> None:
        store = self.ctx.store
        for entry in store.entries(self.node_rt):
            self._on_node("ADDED", self.node_rt, entry)
        for entry in store.entries(self.pod_rt):
            self._on_pod("ADDED", self.pod_rt, entry)
        store.listen(self.node_rt, self._on_node)
        store.listen(self.pod_rt, self._on_pod)
        self.ctx.every(RETRY_PERIOD, self._retry)

    # ----- accounting ---------------------------------------------------------------------
    def free(self, node: str, resource: str = GPU) -> int:
        info = self.nodes.get(node)
        if info is None:
            return 0
        return info.alloc.get(resource, 0) - self.used.get(node, {}).get(resource, 0)

    def _rebucket(self, info: _Node) -> None:
        bucket = max(self.free(info.name), 0) if GPU in info.alloc else 0
        if bucket == info.bucket:
            return
        if info.bucket is not None:
            self.buckets[info.bucket].pop(info.name, None)
        self.buckets.setdefault(bucket, {})[info.name] = None
        info.bucket = bucket

    def _charge(self, node: str, req: Requests, sign: int) -> None:
        used = self.used.setdefault(node, {})
        for name, amount in req:
            used[name] = used.get(name, 0) + sign * amount
        info = self.nodes.get(node)
        if info is not None:
            self._rebucket(info)

    def _on_node(self, kind: str, _rt: Any, entry: Entry) -> None:
        name = entry.fields["metadata.name"]
        old = self.nodes.pop(name, None)
        if old is not None and old.bucket is not None:
            self.buckets[old.bucket].pop(name, None)
        if kind != "DELETED":
            info = _Node(entry.obj())
            self.nodes[name] = info
            self._rebucket(info)
        self._queue_retry()

    def _on_pod(self, kind: str, _rt: Any, entry: Entry) -> None:
        fields = entry.fields
        key = (fields["metadata.namespace"], fields["metadata.name"])
        node, phase = fields["spec.nodeName"], fields["status.phase"]
        alive = kind != "DELETED"
        holds = alive and node and phase not in ("Succeeded", "Failed")
        prev = self.held.get(key)
        if prev is not None and not (holds and prev[0] == node):
            del self.held[key]
            self._charge(prev[0], prev[1], -1)
            self._queue_retry()
        if holds and (prev is None or prev[0] != node):
            spec = orjson.loads(entry.raw).get("spec") or {}
            req = (*tuple(sorted(pod_requests(spec).items())), ("pods", 1))
            req = self._interned.setdefault(req, req)
            self.held[key] = (node, req)
            self._charge(node, req, 1)
        if alive and not node and phase in ("Pending", ""):
            if fields.get("spec.schedulerName", "") in ("", SCHEDULER_NAME) and (
                key not in self.unschedulable
            ):
                self.pending[key] = None
                self._queue_pass()
        else:
            self.pending.pop(key, None)
            if self.unschedulable.pop(key, None) is not None or not alive:
                self._last_failure.pop(key, None)

    # ----- the scheduling loop ------------------------------------------------------------
    def _queue_pass(self) -> None:
        if not self._pass_queued:
            self._pass_queued = True
            self.ctx.soon(self.run_pass)

    def _queue_retry(self) -> None:
        if not self._retry_queued and self.unschedulable:
            self._retry_queued = True
            self.ctx.after(RETRY_DELAY, self._retry)

    def _retry(self) -> None:
        self._retry_queued = False
        if self.unschedulable:
            self.pending.update(self.unschedulable)
            self.unschedulable.clear()
            self.run_pass()

    def run_pass(self) -> int:
        """Try every queued pod once. Returns how many were bound."""
        self._pass_queued = False
        failed: dict[bytes, tuple[Counter[str], Counter[str]]] = {}
        bound = 0
        while self.pending:
            key = next(iter(self.pending))
            del self.pending[key]
            entry = self.ctx.store.entry(self.pod_rt, *key)
            if entry is None or entry.fields["spec.nodeName"]:
                continue
            obj = entry.obj()
            if (obj.get("spec") or {}).get("schedulingGates"):
                continue  # gated (PreEnqueue): back in the queue when an update removes its gates
            pod = _Pod(obj)
            verdict = failed.get(pod.signature)
            node = None if verdict else self._pick(pod)
            if node is not None:
                self._bind(obj, node)
                bound += 1
                continue
            if verdict is None:
                verdict = self._diagnose(pod)
                failed[pod.signature] = verdict
            self.unschedulable[key] = None
            self._fail(obj, unschedulable_message(len(self.nodes), *verdict))
        return bound

    def _reasons(self, info: _Node, pod: _Pod) -> list[str] | str | None:
        """None if the pod fits; a str for a reason preemption cannot fix; else Insufficient list."""
        if info.unschedulable and not tolerates(
            pod.tolerations, "node.kubernetes.io/unschedulable", "", "NoSchedule"
        ):
            return "node(s) were unschedulable"
        taint = pod.untolerated(info.taints)
        if taint:
            return taint
        if pod.matcher is not None and not pod.matcher(info.name, info.labels):
            return "node(s) didn't match Pod's node affinity/selector"
        used = self.used.get(info.name) or {}
        short = None
        for name, amount in pod.req.items():
            if info.alloc.get(name, 0) - used.get(name, 0) < amount:
                short = short or []
                short.append("Too many pods" if name == "pods" else f"Insufficient {name}")
        return short

    def _pick(self, pod: _Pod) -> str | None:
        want = pod.req.get(GPU, 0)
        for bucket in sorted(b for b in self.buckets if b >= want):
            for name in self.buckets[bucket]:
                if self._reasons(self.nodes[name], pod) is None:
                    return name
        return None

    def _diagnose(self, pod: _Pod) -> tuple[Counter[str], Counter[str]]:
        reasons: Counter[str] = Counter()
        preemption: Counter[str] = Counter()
        for info in self.nodes.values():
            found = self._reasons(info, pod)
            if found is None:  # fits after all (a node outside the buckets' order): no diagnosis
                continue
            if isinstance(found, str):
                reasons[found] += 1
                preemption[NOT_HELPFUL] += 1
            else:
                reasons.update(found)
                preemption[NO_VICTIMS] += 1
        return reasons, preemption

    def _bind(self, obj: dict[str, Any], node: str) -> None:
        now = self.ctx.clock.iso()
        meta = obj["metadata"]

        def bind(pod: dict[str, Any]) -> Any:
            if pod.get("spec", {}).get("nodeName") or pod["metadata"].get("uid") != meta.get("uid"):
                return False
            pod["spec"]["nodeName"] = node
            status = pod.setdefault("status", {})
            status["phase"] = "Pending"
            _set_condition(status, "PodScheduled", "True", None, None, now)
            return None

        self.ctx.store.mutate(self.pod_rt, meta["namespace"], meta["name"], bind)
        self._last_failure.pop((meta["namespace"], meta["name"]), None)
        self.ctx.record_event(
            obj,
            "Scheduled",
            f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}",
            component=SCHEDULER_NAME,
        )

    def _fail(self, obj: dict[str, Any], message: str) -> None:
        meta = obj["metadata"]
        key = (meta["namespace"], meta["name"])
        now_t = self.ctx.clock.now()
        now = self.ctx.clock.iso(now_t)

        def mark(pod: dict[str, Any]) -> Any:
            status = pod.setdefault("status", {})
            for cond in status.get("conditions") or ():
                if cond.get("type") == "PodScheduled" and cond.get("message") == message:
                    return False
            status["phase"] = "Pending"
            _set_condition(status, "PodScheduled", "False", "Unschedulable", message, now)
            return None

        self.ctx.store.mutate(self.pod_rt, meta["namespace"], meta["name"], mark)
        last = self._last_failure.get(key)
        if last is None or last[0] != message or now_t - last[1] >= EVENT_REPEAT:
            self._last_failure[key] = (message, now_t)
            self.ctx.record_event(
                obj, "FailedScheduling", message, "Warning", component=SCHEDULER_NAME
            )


def _set_condition(
    status: dict[str, Any],
    type_: str,
    value: str,
    reason: str | None,
    message: str | None,
    now: str,
) -> None:
    conditions = status.setdefault("conditions", [])
    cond = {"type": type_, "status": value, "lastProbeTime": None, "lastTransitionTime": now}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    for i, old in enumerate(conditions):
        if old.get("type") == type_:
            if old.get("status") == value:
                cond["lastTransitionTime"] = old.get("lastTransitionTime", now)
            conditions[i] = cond
            return
    conditions.append(cond)


def start(ctx: SimContext) -> Scheduler:
    """Start the scheduler on `ctx`: it adopts what the store holds, then follows every change."""
    scheduler = Scheduler(ctx)
    scheduler.start()
    return scheduler
