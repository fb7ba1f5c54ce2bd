"""PodDisruptionBudgets: the disruption controller's status, and the eviction check.

The controller keeps, per namespace that has PDBs, which pods each PDB selects (from pod
listener events, label matching without decoding) and recomputes a PDB's status only when
one of its pods or the PDB itself changed. `evict` is what `POST pods/{p}/eviction` runs.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

from ..errors import ApiError, not_found
from ..kinds import by_kind
from ..runtime import SimContext
from ..store import Entry
from .owned import Key, match_labels_selector, set_condition

_CONTROLLERS: weakref.WeakKeyDictionary[SimContext, DisruptionController] = (
    weakref.WeakKeyDictionary()
)


def start(ctx: SimContext) -> None:
    """Start the PodDisruptionBudget status controller."""
    _CONTROLLERS[ctx] = DisruptionController(ctx)


def _healthy(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") != "Running" or pod["metadata"].get("deletionTimestamp"):
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def _scaled(value: Any, total: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def budget_status(pdb: dict[str, Any], pods: list[dict[str, Any]], now: str) -> dict[str, Any]:
    """The status the disruption controller computes for `pdb` over its selected pods."""
    spec = pdb.get("spec") or {}
    live = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    expected = len(live)
    healthy = sum(_healthy(p) for p in live)
    if spec.get("maxUnavailable") is not None:
        desired = max(0, expected - _scaled(spec["maxUnavailable"], expected))
    elif spec.get("minAvailable") is not None:
        desired = _scaled(spec["minAvailable"], expected)
    else:
        desired = expected
    allowed = max(0, healthy - desired)
    old = pdb.get("status") or {}
    names = {p["metadata"]["name"] for p in live}
    disrupted = {k: v for k, v in (old.get("disruptedPods") or {}).items() if k in names}
    conditions = [dict(c) for c in old.get("conditions") or []]
    generation = pdb["metadata"].get("generation", 1)
    if allowed > 0:
        set_condition(
            conditions, "DisruptionAllowed", "True", "SufficientPods", "", now, update_time=False
        )
    else:
        set_condition(
            conditions, "DisruptionAllowed", "False", "InsufficientPods", "", now, update_time=False
        )
    for cond in conditions:
        cond["observedGeneration"] = generation
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": conditions,
    }
    if disrupted:
        status["disruptedPods"] = disrupted
    return status


class DisruptionController:
    """Keeps every PodDisruptionBudget's status current."""

    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.pdb_rt, self.pod_rt = by_kind("PodDisruptionBudget"), by_kind("Pod")
        self.matchers: dict[Key, Any] = {}  # pdb key → label matcher
        self.by_ns: dict[str, set[str]] = {}  # namespace → pdb names
        self.selected: dict[Key, set[str]] = {}  # pdb key → selected pod names
        self.dirty: set[Key] = set()
        self.store.listen(self.pdb_rt, self._on_pdb)
        self.store.listen(self.pod_rt, self._on_pod)
        for entry in self.store.entries(self.pdb_rt):
            self._on_pdb("ADDED", self.pdb_rt, entry)
        ctx.every(30.0, self._resync)

    def _on_pdb(self, type_: str, _rt: Any, entry: Entry) -> None:
        key = (entry.fields["metadata.namespace"], entry.fields["metadata.name"])
        if type_ == "DELETED":
            self.matchers.pop(key, None)
            self.selected.pop(key, None)
            self.by_ns.get(key[0], set()).discard(key[1])
            return
        pdb = entry.obj()
        matcher = match_labels_selector((pdb.get("spec") or {}).get("selector"))
        self.matchers[key] = matcher
        self.by_ns.setdefault(key[0], set()).add(key[1])
        self.selected[key] = {
            e.fields["metadata.name"]
            for e in self.store.entries(self.pod_rt, key[0])
            if matcher(e.labels)
        }
        self._mark(key)

    def _on_pod(self, type_: str, _rt: Any, entry: Entry) -> None:
        ns = entry.fields["metadata.namespace"]
        names = self.by_ns.get(ns)
        if not names:
            return
        pod = entry.fields["metadata.name"]
        for name in names:
            key = (ns, name)
            chosen = self.selected.setdefault(key, set())
            if type_ != "DELETED" and self.matchers[key](entry.labels):
                chosen.add(pod)
                self._mark(key)
            elif pod in chosen:
                chosen.discard(pod)
                self._mark(key)

    def _mark(self, key: Key) -> None:
        if not self.dirty:
            self.ctx.soon(self._flush)
        self.dirty.add(key)

    def _resync(self) -> None:
        for key in list(self.matchers):
            self._mark(key)

    def _flush(self) -> None:
        batch, self.dirty = sorted(self.dirty), set()
        for key in batch:
            self.refresh(*key)

    def pods_of(self, namespace: str, name: str) -> list[dict[str, Any]]:
        pods = []
        for pod_name in sorted(self.selected.get((namespace, name), ())):
            pod = self.store.get(self.pod_rt, namespace, pod_name)
            if pod is not None:
                pods.append(pod)
        return pods

    def refresh(self, namespace: str, name: str) -> dict[str, Any] | None:
        """Recompute and store one PDB's status; returns the PDB."""
        pdb = self.store.get(self.pdb_rt, namespace, name)
        if pdb is None:
            return None
        status = budget_status(pdb, self.pods_of(namespace, name), self.ctx.clock.iso())
        if pdb.get("status") != status:
            pdb["status"] = status
            pdb = self.store.replace(self.pdb_rt, pdb)
        return pdb


def _budgets_for(ctx: SimContext, pod: dict[str, Any]) -> list[dict[str, Any]]:
    ns = pod["metadata"]["namespace"]
    labels = pod["metadata"].get("labels") or {}
    controller = _CONTROLLERS.get(ctx)
    found = []
    for pdb in ctx.store.objects(by_kind("PodDisruptionBudget"), ns):
        if match_labels_selector((pdb.get("spec") or {}).get("selector"))(labels):
            if controller is not None:
                pdb = controller.refresh(ns, pdb["metadata"]["name"]) or pdb
            found.append(pdb)
    return found


def _too_many(message: str) -> ApiError:
    return ApiError(
        429,
        "Cannot evict pod as it would violate the pod's disruption budget.",
        "TooManyRequests",
        details={"causes": [{"reason": "DisruptionBudget", "message": message}]},
    )


MAX_GRACE = 30.0
"""Sim seconds at most that an evicted pod takes to terminate."""


def evict(
    ctx: SimContext,
    namespace: str,
    pod_name: str,
    dry_run: bool = False,
    delete_options: Any = None,
) -> None:
    """Evict a pod as `POST pods/{name}/eviction` does: delete it unless a PodDisruptionBudget
    forbids it (429 TooManyRequests). 404 when the pod does not exist. With
    `deleteOptions.gracePeriodSeconds` > 0 the pod terminates first (deletionTimestamp set)
    and is gone that many sim seconds later (at most `MAX_GRACE`); without it, at once."""
    grace = _grace(delete_options)
    rt = by_kind("Pod")
    pod = ctx.store.get(rt, namespace, pod_name)
    if pod is None:
        raise not_found("pods", pod_name)
    phase = (pod.get("status") or {}).get("phase")
    budgets = [] if phase in ("Succeeded", "Failed", "Pending") else _budgets_for(ctx, pod)
    if len(budgets) > 1:
        raise ApiError(
            500,
            "This pod has more than one PodDisruptionBudget, which the eviction subresource "
            "does not support.",
            "InternalError",
        )
    if budgets:
        pdb = budgets[0]
        status = pdb.get("status") or {}
        name = pdb["metadata"]["name"]
        if status.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
            raise _too_many(f"The disruption budget {name} is still being processed by the server.")
        healthy, desired = status.get("currentHealthy", 0), status.get("desiredHealthy", 0)
        unhealthy_ok = not _healthy(pod) and healthy >= desired
        if not unhealthy_ok:
            if status.get("disruptionsAllowed", 0) <= 0:
                raise _too_many(
                    f"The disruption budget {name} needs {desired} healthy pods "
                    f"and has {healthy} currently"
                )
            if not dry_run:
                status["disruptionsAllowed"] -= 1
                status.setdefault("disruptedPods", {})[pod_name] = ctx.clock.iso()
                pdb["status"] = status
                ctx.store.replace(by_kind("PodDisruptionBudget"), pdb)
    if not dry_run:
        if grace:
            _terminate(ctx, pod, grace)
        elif not pod["metadata"].get("deletionTimestamp"):
            ctx.store.delete(rt, namespace, pod_name)
        ctx.record_event(
            pod, "Killing", f"Stopping container {_first_container(pod)}", component="kubelet"
        )


def _grace(delete_options: Any) -> int:
    """`deleteOptions.gracePeriodSeconds` (0 when absent); 400 when it is not a number ≥ 0."""
    value = delete_options.get("gracePeriodSeconds") if isinstance(delete_options, dict) else None
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ApiError(400, "gracePeriodSeconds must be a non-negative integer", "BadRequest")
    return value


def _terminate(ctx: SimContext, pod: dict[str, Any], grace: int) -> None:
    """Mark the pod terminating now; delete it when its grace period ends."""
    rt, meta = by_kind("Pod"), pod["metadata"]
    namespace, name, uid = meta["namespace"], meta["name"], meta.get("uid")
    if meta.get("deletionTimestamp"):
        return  # already terminating: the first deletion's deadline stands
    now = ctx.clock.now()

    def mark(obj: dict[str, Any]) -> Any:
        obj["metadata"]["deletionTimestamp"] = ctx.clock.iso(now + grace)
        obj["metadata"]["deletionGracePeriodSeconds"] = grace
        return None

    ctx.store.mutate(rt, namespace, name, mark)

    def gone() -> None:
        current = ctx.store.get(rt, namespace, name)
        if current is not None and current["metadata"].get("uid") == uid:
            ctx.store.delete(rt, namespace, name)

    ctx.after(min(float(grace), MAX_GRACE), gone)


def _first_container(pod: dict[str, Any]) -> str:
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return containers[0].get("name", "")
