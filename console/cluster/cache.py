"""The shared cluster cache: one informer per kind, indexes, GPU ledger, change feed.

    cache = ClusterCache(connection).start()
    unsubscribe = cache.subscribe(lambda changes: app.post_message(ClusterChanged(changes)))
    ...
    cache.stop()

Threads: one per kind (list+watch) plus one notifier. The notifier coalesces changes
and calls subscribers at most every `notify_interval` seconds, from its own thread,
with a `Changes` summary (per kind: version, changed keys or None for "many", sync
state). Subscribers must be quick (post a message and return).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial

from console.cluster import records
from console.cluster.accounting import GpuLedger
from console.cluster.connection import Connection
from console.cluster.decode_core import node_record
from console.cluster.informer import Informer, Key, SyncState
from console.cluster.kinds import KINDS

log = logging.getLogger(__name__)

DEFAULT_KINDS = tuple(KINDS)
DEFERRED_KINDS = ("pods", "events")
"""Kinds that list only after nodes did (or `DEFER_TIMEOUT` s): the GPU-node view is
the first frame, and a 200,000-pod list would slow the node list down."""
DEFER_TIMEOUT = 3.0


@dataclass(frozen=True, slots=True)
class KindChange:
    version: int
    keys: frozenset[Key] | None  # None: many or unknown keys changed (redraw all)
    state: SyncState


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed since the last notification (only kinds with changes appear)."""

    kinds: dict[str, KindChange]

    def __contains__(self, kind: str) -> bool:
        return kind in self.kinds


def _pod_gpu(pod: records.PodRecord) -> Iterable[str]:
    return ("gpu",) if pod.gpu_request else ()


def _pod_node(pod: records.PodRecord) -> Iterable[str]:
    return (pod.node,) if pod.node else ()


def _pod_owner(pod: records.PodRecord) -> Iterable[str]:
    return (pod.owner_uid,) if pod.owner_uid else ()


def _pod_workload(pod: records.PodRecord) -> Iterable[tuple[str, str, str]]:
    kind, name = pod.workload
    return ((pod.namespace, kind, name),) if name else ()


def _pod_job(pod: records.PodRecord) -> Iterable[tuple[str, str]]:
    labels = pod.labels
    # A JobSet's pods also carry their child Job's name in batch.kubernetes.io/job-name:
    # the JobSet (and the TrainJob of the same name that runs it) is the job they belong to.
    name = (
        labels.get("jobset.sigs.k8s.io/jobset-name")
        or labels.get("training.kubeflow.org/job-name")
        or labels.get("batch.kubernetes.io/job-name")
        or labels.get("job-name")
    )
    return ((pod.namespace, name),) if name else ()


def _event_object(event: records.EventRecord) -> Iterable[str]:
    return (event.object_uid,) if event.object_uid else ()


def _node_gpu(node: records.NodeRecord) -> Iterable[str]:
    return ("gpu",) if node.has_gpus else ()


# Index names: pods "node" → node name, "owner" → controller uid, "workload" →
# (ns, kind, name), "job" → (ns, job name label), "gpu" → "gpu"; events "object" →
# involved object uid; nodes "gpu" → "gpu".
INDEXES = {
    "pods": {
        "node": _pod_node,
        "owner": _pod_owner,
        "workload": _pod_workload,
        "job": _pod_job,
        "gpu": _pod_gpu,
    },
    "events": {"object": _event_object},
    "nodes": {"gpu": _node_gpu},
}


class ClusterCache:
    """All informers of one connection, shared by every view."""

    def __init__(
        self,
        connection: Connection,
        kinds: Iterable[str] = DEFAULT_KINDS,
        namespace: str | None = None,
        pool_label: str | None = None,
        notify_interval: float = 0.25,
        fallback_namespaces: Iterable[str] = (),
    ) -> None:
        self.connection = connection
        self.namespace = namespace
        self.notify_interval = notify_interval
        self.ledger = GpuLedger()
        self._dirty = threading.Event()
        self._seen: dict[str, int] = {}
        self.informers: dict[str, Informer] = {}
        fallback = tuple(fallback_namespaces)
        for name in kinds:
            kind = KINDS[name]
            if name == "nodes" and pool_label:
                kind = replace(kind, to_record=partial(node_record, pool_label=pool_label))
            informer = Informer(
                connection,
                kind,
                namespace,
                on_dirty=self._dirty.set,
                fallback_namespaces=fallback,
            )
            for index, fn in INDEXES.get(name, {}).items():
                informer.add_index(index, fn)
            if name in ("pods", "nodes"):
                informer.add_handler(self.ledger)
            self.informers[name] = informer
        # Nodes first: the big kinds start listing once nodes are listed (or after a while).
        self._nodes_listed = threading.Event()
        if "nodes" in self.informers:
            for name in DEFERRED_KINDS:
                if name in self.informers:
                    self.informers[name].start_after(self._nodes_listed, DEFER_TIMEOUT)
        else:
            self._nodes_listed.set()
        self._subscribers: list[Callable[[Changes], None]] = []
        self._stopping = threading.Event()
        self._notifier = threading.Thread(target=self._notify_loop, name="kmc-notify", daemon=True)

    def __getitem__(self, kind: str) -> Informer:
        return self.informers[kind]

    def __contains__(self, kind: str) -> bool:
        return kind in self.informers

    def start(self) -> ClusterCache:
        self._notifier.start()
        for informer in self.informers.values():
            informer.start()
        return self

    def stop(self, timeout: float = 1.0, interrupt: Callable[[], None] | None = None) -> None:
        """Stop every thread in parallel: signal them all, cut their requests (`interrupt`,
        e.g. the connection's `abort`: a request waiting for headers hears no signal), then
        wait at most `timeout` s in all. Threads still running then are daemons that end on
        their next check. Idempotent."""
        self._stopping.set()
        self._dirty.set()
        for informer in self.informers.values():
            informer.halt()
        if interrupt is not None:
            interrupt()
        deadline = time.monotonic() + timeout
        for informer in self.informers.values():
            informer.join(max(0.0, deadline - time.monotonic()))
        if self._notifier.is_alive():
            self._notifier.join(max(0.0, deadline - time.monotonic()))

    def subscribe(self, callback: Callable[[Changes], None]) -> Callable[[], None]:
        """Register `callback(changes)`, called from the notifier thread; returns unsubscribe."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def namespaces_listed(self) -> list[str] | None:
        """The namespaces watched one by one because a cluster-wide list was forbidden (those
        whose list works, for any kind), or None when every kind watches the whole cluster."""
        found: dict[str, None] = {}
        fell_back = False
        for informer in self.informers.values():
            names = informer.namespaces_listed()
            if names is not None:
                fell_back = True
                found.update(dict.fromkeys(names))
        return sorted(found) if fell_back else None

    def states(self) -> dict[str, SyncState]:
        return {name: informer.state for name, informer in self.informers.items()}

    def wait_synced(self, timeout: float = 30.0, kinds: Iterable[str] | None = None) -> bool:
        """Block until the kinds are past syncing/stale (for tests and headless commands)."""
        names = list(kinds or self.informers)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.informers[n].state.state not in ("syncing", "stale") for n in names):
                return True
            time.sleep(0.02)
        return False

    def _notify_loop(self) -> None:
        while not self._stopping.is_set():
            self._dirty.wait()
            if self._stopping.is_set():
                return
            self._stopping.wait(self.notify_interval)  # coalesce a burst into one call
            self._dirty.clear()
            changes: dict[str, KindChange] = {}
            if not self._nodes_listed.is_set() and self.informers["nodes"].state.state != "syncing":
                self._nodes_listed.set()
            for name, informer in self.informers.items():
                version, keys = informer.drain()
                if version != self._seen.get(name):
                    self._seen[name] = version
                    frozen = frozenset(keys) if keys is not None else None
                    changes[name] = KindChange(version, frozen, informer.state)
            if not changes:
                continue
            summary = Changes(changes)
            for callback in list(self._subscribers):
                try:
                    callback(summary)
                except Exception:
                    log.exception("cache subscriber failed")
