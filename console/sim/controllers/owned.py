"""What the workload controllers share: an index of children by owner uid and a dirty-set loop.

Pods (and ReplicaSets, Deployments, Services) are indexed by the uid of their controller
owner reference, maintained from store listener events, so a reconcile looks only at its own
children — never at all 200,000 pods of the `huge` preset. Each pod is summarised once per
write into a small `PodInfo`; its owner is reconciled only when that summary changed.

A `Controller` reconciles one owner kind. Owners are marked dirty when they or one of their
children change, and processed in a `ctx.soon` batch; a slow periodic resync marks them all.
Deleting an owner deletes its children (the garbage collector's foreground work, simplified).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..clock import parse_rfc3339
from ..errors import ApiError
from ..kinds import by_kind
from ..runtime import SimContext
from ..store import Entry, Store

log = logging.getLogger("kmc.sim.controllers")

Key = tuple[str, str]  # (namespace, name)
TERMINAL = ("Succeeded", "Failed")


@dataclass(slots=True)
class PodInfo:
    """What controllers need to know about one pod, without decoding it again."""

    name: str
    uid: str
    phase: str
    ready: bool
    ready_since: str  # lastTransitionTime of Ready=True, "" when not ready
    restarts: int
    created: str
    node: str
    labels: dict[str, str] = field(default_factory=dict)
    exit_code: int | None = None  # of a terminated container (current state), if any
    waiting: str = ""  # reason of a waiting container, e.g. CrashLoopBackOff

    @property
    def active(self) -> bool:
        return self.phase not in TERMINAL

    @property
    def running(self) -> bool:
        return self.phase == "Running"

    def available(self, now: float, min_ready_seconds: int = 0) -> bool:
        if not self.ready:
            return False
        if min_ready_seconds <= 0 or not self.ready_since:
            return True
        return now - parse_rfc3339(self.ready_since) >= min_ready_seconds


def pod_info(obj: dict[str, Any]) -> PodInfo:
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    ready, since = False, ""
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            ready, since = True, cond.get("lastTransitionTime") or ""
    restarts = 0
    exit_code = None
    waiting = ""
    for cs in status.get("containerStatuses") or []:
        restarts += cs.get("restartCount") or 0
        state = cs.get("state") or {}
        if state.get("waiting") and not waiting:
            waiting = state["waiting"].get("reason") or "Waiting"
        terminated = state.get("terminated")
        if terminated and (exit_code is None or terminated.get("exitCode")):
            exit_code = terminated.get("exitCode", 0)
    return PodInfo(
        meta.get("name", ""),
        meta.get("uid", ""),
        status.get("phase") or "Pending",
        ready,
        since,
        restarts,
        meta.get("creationTimestamp", ""),
        (obj.get("spec") or {}).get("nodeName") or "",
        dict(meta.get("labels") or {}),
        exit_code,
        waiting,
    )


def controller_ref(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


class ChildIndex:
    """Objects of one kind grouped by their controller owner's uid: {owner uid: {name: info}}.

    `info` is a `PodInfo` for pods, the decoded object for other kinds. Owner kinds register a
    handler; it is called with the owner uid whenever one of its children changes."""

    def __init__(self, store: Store, kind: str) -> None:
        self.kind = kind
        self.rt = by_kind(kind)
        self.by_owner: dict[str, dict[str, Any]] = {}
        self.owner_of: dict[Key, tuple[str, str] | None] = {}
        self.handlers: dict[str, Callable[[str], None]] = {}
        self._summarize: Callable[[dict[str, Any]], Any] = (
            pod_info if kind == "Pod" else (lambda obj: obj)
        )
        store.listen(self.rt, self._on_event)
        for entry in store.entries(self.rt):
            self._adopt(entry)

    def _adopt(self, entry: Entry) -> None:
        """Index an object that exists at start-up, reading only its owner references."""
        key = (entry.fields.get("metadata.namespace", ""), entry.fields.get("metadata.name", ""))
        owner = _owner_from_raw(entry.raw)
        self.owner_of[key] = owner
        if owner is not None:
            self.by_owner.setdefault(owner[1], {})[key[1]] = entry

    def children(self, owner_uid: str) -> dict[str, Any]:
        group = self.by_owner.get(owner_uid, {})
        for name, info in group.items():
            if isinstance(info, Entry):  # indexed at start-up, summarised on first use
                group[name] = self._summarize(info.obj())
        return group

    def _on_event(self, type_: str, _rt: Any, entry: Entry) -> None:
        key = (entry.fields.get("metadata.namespace", ""), entry.fields.get("metadata.name", ""))
        if type_ == "DELETED":
            owner = self.owner_of.pop(key, None)
            if owner:
                group = self.by_owner.get(owner[1])
                if group is not None:
                    group.pop(key[1], None)
                    if not group:
                        del self.by_owner[owner[1]]
                self._notify(owner)
            return
        if key in self.owner_of:
            owner = self.owner_of[key]
            if owner is None or owner[0] not in self.handlers:
                return  # nobody here reconciles this object's owner: skip the decode
            obj = entry.obj()
        else:
            obj = entry.obj()
            ref = controller_ref(obj)
            owner = (ref.get("kind", ""), ref.get("uid", "")) if ref else None
            self.owner_of[key] = owner
            if owner is None:
                return
        info = self._summarize(obj)
        group = self.by_owner.setdefault(owner[1], {})
        if group.get(key[1]) != info:
            group[key[1]] = info
            self._notify(owner)

    def _notify(self, owner: tuple[str, str]) -> None:
        handler = self.handlers.get(owner[0])
        if handler:
            handler(owner[1])


_REFS = b'"ownerReferences":['


def _owner_from_raw(raw: bytes) -> tuple[str, str] | None:
    """(kind, uid) of the controller owner, decoding only the ownerReferences list (its
    entries hold no brackets), which keeps indexing the `huge` preset's pods cheap."""
    start = raw.find(_REFS)
    if start < 0:
        return None
    start += len(_REFS) - 1
    end = raw.find(b"]", start)
    try:
        refs = orjson.loads(raw[start : end + 1])
    except orjson.JSONDecodeError:
        refs = (orjson.loads(raw).get("metadata") or {}).get("ownerReferences") or []
    ref = next((r for r in refs if r.get("controller")), None)
    return (ref.get("kind", ""), ref.get("uid", "")) if ref else None


_INDEXES: weakref.WeakKeyDictionary[SimContext, dict[str, ChildIndex]] = weakref.WeakKeyDictionary()


def child_index(ctx: SimContext, kind: str) -> ChildIndex:
    """The shared index of `kind` objects by owner uid for this simulated cluster."""
    per_ctx = _INDEXES.setdefault(ctx, {})
    if kind not in per_ctx:
        per_ctx[kind] = ChildIndex(ctx.store, kind)
    return per_ctx[kind]


class Controller:
    """Reconciles every object of `kind` whose own state or children changed."""

    kind: str = ""
    child_kinds: tuple[str, ...] = ("Pod",)
    resync_seconds: float = 30.0

    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.rt = by_kind(self.kind)
        self.dirty: set[Key] = set()
        self.keys: dict[str, Key] = {}  # owner uid → key
        self.uids: dict[Key, str] = {}
        self.indexes = {kind: child_index(ctx, kind) for kind in self.child_kinds}
        for index in self.indexes.values():
            index.handlers[self.kind] = self._on_child
        self.store.listen(self.rt, self._on_owner)
        for entry in self.store.entries(self.rt):
            self._on_owner("ADDED", self.rt, entry)
        ctx.every(self.resync_seconds, self.resync)

    # ----- change tracking ------------------------------------------------------------------
    def _on_owner(self, type_: str, _rt: Any, entry: Entry) -> None:
        key = (entry.fields.get("metadata.namespace", ""), entry.fields.get("metadata.name", ""))
        if type_ == "DELETED":
            uid = self.uids.pop(key, None)
            if uid:
                self.keys.pop(uid, None)
                self.ctx.soon(lambda: self.collect(uid, key[0]))
            return
        if key not in self.uids:
            uid = entry.obj()["metadata"].get("uid", "")
            self.uids[key], self.keys[uid] = uid, key
        self.mark(key)

    def _on_child(self, owner_uid: str) -> None:
        key = self.keys.get(owner_uid)
        if key is not None:
            self.mark(key)

    def mark(self, key: Key) -> None:
        if not self.dirty:
            self.ctx.soon(self._flush)
        self.dirty.add(key)

    def mark_later(self, key: Key, seconds: float) -> None:
        self.ctx.after(max(seconds, 0.0), lambda: self.mark(key) if key in self.uids else None)

    def resync(self) -> None:
        for key in list(self.uids):
            self.mark(key)

    def _flush(self) -> None:
        batch, self.dirty = sorted(self.dirty), set()
        for ns, name in batch:
            obj = self.store.get(self.rt, ns, name)
            if obj is None:
                continue
            try:
                self.reconcile(obj)
            except ApiError as exc:  # a conflict or a vanished child: try again shortly
                log.debug("reconcile %s %s/%s: %s", self.kind, ns, name, exc.message)
                self.mark_later((ns, name), 1.0)

    def reconcile(self, obj: dict[str, Any]) -> None:
        raise NotImplementedError

    # ----- helpers --------------------------------------------------------------------------
    def children(self, obj: dict[str, Any], kind: str = "Pod") -> dict[str, Any]:
        return self.indexes[kind].children(obj["metadata"]["uid"])

    def collect(self, uid: str, namespace: str) -> None:
        """Delete what the deleted owner `uid` controlled (cascading through their own owners)."""
        for kind, index in self.indexes.items():
            for name in list(index.children(uid)):
                self.delete_quietly(kind, namespace, name)

    def delete_quietly(self, kind: str, namespace: str, name: str) -> bool:
        try:
            self.store.delete(by_kind(kind), namespace, name)
        except ApiError:
            return False
        return True

    def create_child(self, kind: str, obj: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return self.store.create(by_kind(kind), obj)
        except ApiError as exc:
            if exc.code == 409:
                return None
            raise

    def write_status(self, obj: dict[str, Any], status: dict[str, Any]) -> None:
        """Store `status` unless it is what the object already has."""
        if obj.get("status") == status:
            return
        meta = obj["metadata"]

        def change(current: dict[str, Any]) -> bool | None:
            if current.get("status") == status:
                return False
            current["status"] = status
            return None

        self.store.mutate(self.rt, meta.get("namespace", ""), meta["name"], change)

    def event(self, obj: dict[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
        self.ctx.record_event(obj, reason, message, type_, component=self.component)

    component: str = "kmc-sim"


def set_condition(
    conditions: list[dict[str, Any]],
    type_: str,
    status: str,
    reason: str,
    message: str,
    now: str,
    *,
    update_time: bool = True,
) -> bool:
    """Set condition `type_` in place (kept where it is); lastTransitionTime moves only when the
    status flips. Returns True when anything changed."""
    for cond in conditions:
        if cond.get("type") == type_:
            if (cond.get("status"), cond.get("reason"), cond.get("message")) == (
                status,
                reason,
                message,
            ):
                return False
            if cond.get("status") != status:
                cond["lastTransitionTime"] = now
            cond.update(status=status, reason=reason, message=message)
            if update_time:
                cond["lastUpdateTime"] = now
            return True
    cond = {"type": type_, "status": status}
    if update_time:
        cond["lastUpdateTime"] = now
    cond.update(lastTransitionTime=now, reason=reason, message=message)
    conditions.append(cond)
    return True


def find_condition(conditions: Iterable[dict[str, Any]], type_: str) -> dict[str, Any] | None:
    for cond in conditions:
        if cond.get("type") == type_:
            return cond
    return None


def match_labels_selector(selector: dict[str, Any] | None) -> Callable[[dict[str, str]], bool]:
    """A matcher for a metav1.LabelSelector (matchLabels + matchExpressions). None matches none;
    an empty selector matches everything."""
    if selector is None:
        return lambda _labels: False
    wanted = dict(selector.get("matchLabels") or {})
    exprs = list(selector.get("matchExpressions") or [])

    def matches(labels: dict[str, str]) -> bool:
        for k, v in wanted.items():
            if labels.get(k) != v:
                return False
        for expr in exprs:
            key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
            if op == "In" and labels.get(key) not in values:
                return False
            if op == "NotIn" and key in labels and labels[key] in values:
                return False
            if op == "Exists" and key not in labels:
                return False
            if op == "DoesNotExist" and key in labels:
                return False
        return True

    return matches


def selector_string(match_labels: dict[str, str]) -> str:
    """`k=v,k2=v2` (sorted by key), the form scale subresources and kubectl show."""
    return ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))
