"""Direct exporter scrape: every DCGM exporter pod's /metrics through the API server's pod proxy.

Exporter pods are found in the cluster cache (or, without one, by a labelled pod list
every `list_every` seconds): label `app=nvidia-dcgm-exporter` (GPU Operator) or
`app.kubernetes.io/name=dcgm-exporter` (standalone chart). The cache has no index by
that label, so `ExporterPods` keeps the list itself: one walk over every pod at the
start (and when the cache reports "many changed"), then only the pods the cache's change
feed names, plus a `get` per known exporter, so a refresh at 200,000 pods costs about
one lookup per exporter instead of a walk of every pod. Each is read at
`/api/v1/namespaces/<ns>/pods/<pod>:9400/proxy/metrics` with the connection's
credentials, at most `workers` at a time, and parsed on the worker thread. A GPU
belongs to the node its exporter pod runs on.

Trust: any tenant can create a pod with the exporter's labels and serve made-up numbers
(or garbage) from it. An exporter is trusted only when its pod is owned by a DaemonSet in
one of the GPU operator's namespaces (`Settings.dcgm_exporter_namespaces`); other labelled
pods are never scraped and are named in a note of the telemetry status. When a node has
more than one trusted exporter, the first (by the namespaces' order, then name) is read and
the node is flagged in a note rather than one silently winning. Each exporter is parsed on
its own: its parse errors become that node's failure reason and its dropped samples (not
finite, malformed) a note, while the others keep reporting.

Cost grows with the cluster: every refresh reads every exporter (~40 KB per 8-GPU
node). See `benchmarks/telemetry.py`; at thousands of nodes prefer Prometheus.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from console.cluster.cache import Changes, ClusterCache
from console.cluster.connection import ClusterError, Connection
from console.config import Settings
from console.metrics.model import Frame, GpuReading, label_names
from console.metrics.parse import PARSERS, ParseError
from console.metrics.source import SourceError
from console.text import clean_line

EXPORTER_LABELS = (("app", "nvidia-dcgm-exporter"), ("app.kubernetes.io/name", "dcgm-exporter"))
EXPORTER_PORT = 9400
OPERATOR_NAMESPACES = ("gpu-operator", "nvidia-gpu-operator", "dcgm-exporter")
"""The default of `Settings.dcgm_exporter_namespaces`."""
NOTE_NAMES = 3
"""Pods named in one note; the rest are counted."""


@dataclass(frozen=True, slots=True)
class Exporter:
    namespace: str
    pod: str
    node: str
    running: bool = True
    owner_kind: str = "DaemonSet"
    """The kind of the pod's controller (only a DaemonSet's pod can be trusted)."""

    @property
    def path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/pods/{self.pod}:{EXPORTER_PORT}/proxy/metrics"

    @property
    def name(self) -> str:
        return f"{self.namespace}/{self.pod}"

    def trusted(self, namespaces: tuple[str, ...]) -> bool:
        """Owned by a DaemonSet in one of the GPU operator's `namespaces`."""
        return self.owner_kind == "DaemonSet" and self.namespace in namespaces


def exporter_namespaces(settings: Settings) -> tuple[str, ...]:
    """The trusted exporter namespaces of `settings` (comma-separated there)."""
    value = getattr(settings, "dcgm_exporter_namespaces", "") or ""
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    return names or OPERATOR_NAMESPACES


def is_exporter(labels: dict[str, str]) -> bool:
    return any(labels.get(k) == v for k, v in EXPORTER_LABELS)


def _exporter(pod: Any) -> Exporter | None:
    if pod is None or not pod.node or not is_exporter(pod.labels):
        return None
    owner = getattr(pod, "owner_kind", "")
    return Exporter(pod.namespace, pod.name, pod.node, pod.phase == "Running", owner)


def _listed_exporter(item: Any) -> Exporter | None:
    """An exporter from one raw pod of a labelled list (None: not bound, or not a pod)."""
    if not isinstance(item, dict):
        return None
    meta, spec = item.get("metadata") or {}, item.get("spec") or {}
    node = clean_line(spec.get("nodeName") or "")
    if not node or not isinstance(meta, dict):
        return None
    owners = [o for o in meta.get("ownerReferences") or [] if isinstance(o, dict)]
    owner = next((o for o in owners if o.get("controller")), owners[0] if owners else {})
    running = (item.get("status") or {}).get("phase") == "Running"
    return Exporter(
        clean_line(meta.get("namespace", "")),
        clean_line(meta.get("name", "")),
        node,
        running,
        clean_line(owner.get("kind", "")),
    )


def _names(exporters: list[Exporter]) -> str:
    shown = ", ".join(e.name for e in exporters[:NOTE_NAMES])
    more = len(exporters) - NOTE_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


class ExporterPods:
    """The exporter pods of a cache's pods informer, kept without walking every pod.

    The cache indexes pods by node, owner, workload, job and GPU request, not by the
    exporter label, so this keeps its own list: it walks every pod once (and again
    when the cache's change feed says "many changed", or the cache has no feed), then
    looks up only the pods the feed names. Each call also re-reads every known
    exporter with `get`, so a deleted or stopped exporter shows at once even before the
    feed (≤ `notify_interval` behind the cache) names it; a new exporter shows once the
    feed names it.
    """

    RESCAN_ABOVE = 20_000
    """Pending changed pods beyond which one walk is cheaper than the lookups (and the
    pending set of a source nobody refreshes stops growing)."""

    def __init__(self, cache: ClusterCache) -> None:
        self._pods = cache["pods"]
        self._lock = threading.Lock()  # guards _pending (the notifier thread adds to it)
        self._refreshing = threading.Lock()  # one caller at a time updates _known
        self._pending: set[Any] | None = None  # None: walk every pod
        self._known: dict[tuple[str, str], Exporter] = {}
        self.walks = 0
        """Full walks so far (for tests and benchmarks)."""
        subscribe = getattr(cache, "subscribe", None)
        self._unsubscribe = subscribe(self._on_changes) if subscribe is not None else None

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_changes(self, changes: Changes) -> None:
        """The cache's notifier thread: note which pods changed, nothing more."""
        change = changes.kinds.get("pods")
        if change is None:
            return
        with self._lock:
            if self._pending is None:
                return
            if change.keys is None or len(self._pending) + len(change.keys) > self.RESCAN_ABOVE:
                self._pending = None
            else:
                self._pending.update(change.keys)

    def __call__(self) -> list[Exporter]:
        with self._refreshing:
            with self._lock:
                pending, self._pending = self._pending, set()
            if pending is None or self._unsubscribe is None:
                self.walks += 1
                found = (_exporter(p) for p in self._pods.items())
                self._known = {(e.namespace, e.pod): e for e in found if e is not None}
            else:
                known, get = self._known, self._pods.get
                for key in pending.union(known):
                    exporter = _exporter(get(key))
                    if exporter is None:
                        known.pop(key, None)
                    else:
                        known[key] = exporter
            return list(self._known.values())


class DcgmSource:
    """Scrapes the exporters concurrently; `refresh` returns a full `Frame`."""

    name = "dcgm"

    def __init__(
        self,
        connection: Connection,
        cache: ClusterCache | None = None,
        label_mode: str = "auto",
        parser: str = "fast",
        workers: int = 16,
        timeout: float = 10.0,
        list_every: float = 30.0,
        namespaces: tuple[str, ...] = OPERATOR_NAMESPACES,
    ) -> None:
        self.connection = connection
        self.namespaces = tuple(namespaces) or OPERATOR_NAMESPACES
        self.cache = cache if cache is not None and "pods" in cache else None
        self._from_cache = ExporterPods(self.cache) if self.cache is not None else None
        self.names = label_names(label_mode)
        self.parse = PARSERS[parser]
        self.timeout = timeout
        self.list_every = list_every
        self._workers = max(1, workers)
        self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="kmc-dcgm")
        self._listed: list[Exporter] = []
        self._listed_at = 0.0
        self._list_requests = 0
        self.where = "exporters via the API server"

    def close(self) -> None:
        if self._from_cache is not None:
            self._from_cache.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ discovery

    def exporters(self) -> list[Exporter]:
        """The exporter pods now (from the cache, or a labelled list at most every `list_every`)."""
        if self._from_cache is not None:
            return self._from_cache()
        if time.monotonic() - self._listed_at > self.list_every or not self._listed:
            found: dict[tuple[str, str], Exporter] = {}
            for key, value in EXPORTER_LABELS:
                body = self.connection.get("/api/v1/pods", {"labelSelector": f"{key}={value}"})
                listed = json.loads(body)
                items = listed.get("items") if isinstance(listed, dict) else None
                for item in items if isinstance(items, list) else []:
                    exporter = _listed_exporter(item)
                    if exporter is not None:
                        found[(exporter.namespace, exporter.pod)] = exporter
                self._list_requests += 1
            self._listed, self._listed_at = list(found.values()), time.monotonic()
        return self._listed

    def _split(self, exporters: list[Exporter]) -> tuple[list[Exporter], list[Exporter]]:
        """(trusted, untrusted) exporters; the trusted ones in the namespaces' order, then by
        name (the first on a node is the one read)."""
        rank = {ns: i for i, ns in enumerate(self.namespaces)}
        trusted = sorted(
            (e for e in exporters if e.trusted(self.namespaces)),
            key=lambda e: (rank.get(e.namespace, len(rank)), e.pod),
        )
        untrusted = sorted(
            (e for e in exporters if not e.trusted(self.namespaces)), key=lambda e: e.name
        )
        return trusted, untrusted

    def _gpu_nodes(self) -> list[str]:
        if self.cache is None or "nodes" not in self.cache:
            return []
        # nodes the GPU operator runs on (GFD's count): a cloud-labelled node without it has
        # no operator exporter to miss
        nodes = self.cache["nodes"].by_index("gpu", "gpu")
        return [n.name for n in nodes if n.labels.get("nvidia.com/gpu.count")]

    # ------------------------------------------------------------------ scraping

    def _scrape_all(
        self, exporters: list[Exporter]
    ) -> list[tuple[list[GpuReading] | None, str, int, int]]:
        """Every exporter's scrape, in order, by the pool's workers pulling from one list.

        One task per worker, not one per exporter: at 10,000 exporters, per-exporter futures
        (each with its lock, condition and work item) were the bulk of what the cycle
        collector walked."""
        results: list[tuple[list[GpuReading] | None, str, int, int]] = [(None, "", 0, 0)] * len(
            exporters
        )
        indexes = iter(range(len(exporters)))
        lock = threading.Lock()

        def work() -> None:
            while True:
                with lock:
                    i = next(indexes, None)
                if i is None:
                    return
                results[i] = self._scrape(exporters[i])

        workers = min(self._workers, len(exporters))
        for future in [self._pool.submit(work) for _ in range(workers)]:
            future.result()
        return results

    def _scrape(self, exporter: Exporter) -> tuple[list[GpuReading] | None, str, int, int]:
        """(readings or None, failure reason, bytes read, samples dropped). Whatever one
        exporter serves fails only that exporter."""
        try:
            body = self.connection.get(exporter.path, timeout=self.timeout)
        except ClusterError as exc:
            return None, f"exporter {exporter.pod}: {exc}", 0, 0
        dropped: list[int] = []
        try:
            text = body.decode("utf-8", "replace")
            readings = self.parse(text, self.names, exporter.node, dropped)
            return readings, "", len(body), dropped[0] if dropped else 0
        except ParseError as exc:
            return None, f"exporter {exporter.pod}: {exc}", len(body), 0
        except Exception as exc:  # a parser bug on hostile text must not fail the others
            reason = f"{type(exc).__name__}: {clean_line(exc)[:120]}"
            return None, f"exporter {exporter.pod}: unparsable output ({reason})", len(body), 0

    def refresh(self, focus: frozenset[str] = frozenset()) -> Frame:
        self._list_requests = 0
        try:
            exporters = self.exporters()
        except (ClusterError, ValueError, KeyError) as exc:
            raise SourceError(f"cannot list DCGM exporter pods: {clean_line(exc)}") from None
        frame = Frame(readings={}, full=True, requests=self._list_requests)
        trusted, untrusted = self._split(exporters)
        if untrusted:
            count = (
                "untrusted exporter"
                if len(untrusted) == 1
                else f"{len(untrusted)} untrusted exporters"
            )
            frame.notes.append(
                f"{count} ignored: {_names(untrusted)} "
                f"(only DaemonSet pods in {','.join(self.namespaces)} are read)"
            )
        by_node: dict[str, Exporter] = {}
        doubles: dict[str, list[Exporter]] = {}
        for e in trusted:
            if not e.running:
                continue
            if e.node in by_node:
                doubles.setdefault(e.node, [by_node[e.node]]).append(e)
            else:
                by_node[e.node] = e
        for node, found in sorted(doubles.items()):
            frame.notes.append(
                f"{len(found)} exporters on {node}: reading {found[0].name}, "
                f"ignoring {_names(found[1:])}"
            )
        for e in trusted:
            if not e.running and e.node not in by_node:
                frame.failed[e.node] = f"exporter {e.pod} is not running"
        for node in self._gpu_nodes():
            if node not in by_node and node not in frame.failed:
                frame.failed[node] = "no DCGM exporter pod on this node"
        if not by_node:
            hint = f" ({frame.notes[0]})" if untrusted else ""
            raise SourceError(
                "no DCGM exporter pods found (app=nvidia-dcgm-exporter or "
                f"app.kubernetes.io/name=dcgm-exporter, owned by a DaemonSet in "
                f"{','.join(self.namespaces)}){hint}"
            )
        results = self._scrape_all(list(by_node.values()))
        for (node, exporter), (readings, reason, size, dropped) in zip(
            by_node.items(), results, strict=True
        ):
            frame.requests += 1
            frame.bytes += size
            if readings is None:
                frame.failed[node] = reason
            else:
                frame.readings[node] = readings
            if dropped:
                frame.notes.append(
                    f"exporter {exporter.name} dropped {dropped} bad sample(s) "
                    "(not finite or malformed)"
                )
        self.where = f"{len(by_node)} exporters via the API server"
        if not frame.readings:
            first = next(iter(frame.failed.values()), "no data")
            raise SourceError(f"all {len(by_node)} DCGM exporters failed; {first}")
        return frame
