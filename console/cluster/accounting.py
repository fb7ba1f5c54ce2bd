"""GPU accounting per node, the scheduler's way, maintained incrementally.

Only pods bound to a node and not Succeeded/Failed hold resources (facts §7); a
pod's effective request is computed once when it is decoded (`PodRecord.gpu_request`).
The ledger is fed pod and node changes by the caches (`on_upsert` / `on_delete`), so a
refresh reads ready sums instead of walking nodes × pods. Each accelerator resource
is kept under its own name (`nvidia.com/gpu`, `nvidia.com/gpu.shared`,
`nvidia.com/mig-1g.10gb`, …); time-sliced allocatable is already × replicas.

Alongside, the cluster's sums per kind of unit (`gpu.resource_kinds`: whole GPUs, MIG
slices, shared replicas; a resource's kind depends on its node's labels, so a node's change
re-files what its pods hold) and its physical GPUs (`NodeRecord.gpu_count`), so the header
says GPUs only for GPUs (`units`).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from console.cluster import gpu
from console.cluster.records import NodeRecord, PodRecord

Resources = dict[str, float]


@dataclass(frozen=True, slots=True)
class GpuUsage:
    """Allocatable / requested / free per accelerator resource (and summed)."""

    allocatable: Mapping[str, float]
    requested: Mapping[str, float]
    pods: int  # pods holding any accelerator on the node (or cluster)

    @property
    def free(self) -> dict[str, float]:
        names = self.allocatable.keys() | self.requested.keys()
        return {n: self.allocatable.get(n, 0.0) - self.requested.get(n, 0.0) for n in names}

    @property
    def total_allocatable(self) -> float:
        return sum(self.allocatable.values())

    @property
    def total_requested(self) -> float:
        return sum(self.requested.values())

    @property
    def total_free(self) -> float:
        return self.total_allocatable - self.total_requested


@dataclass(frozen=True, slots=True)
class Units:
    """The cluster's GPUs in honest units: physical GPUs, and per kind of schedulable unit
    (`gpu.WHOLE`, `gpu.MIG`, `gpu.SHARED`) what is allocatable and requested."""

    physical: int
    allocatable: Mapping[str, float]
    requested: Mapping[str, float]
    shared_by: int = 1
    """Replicas per shared GPU when every shared node has the same (else 1)."""

    def of(self, kind: str) -> tuple[float, float]:
        """(requested, allocatable) of one kind."""
        return self.requested.get(kind, 0.0), self.allocatable.get(kind, 0.0)


def _add(into: dict[str, float], delta: Mapping[str, float], sign: float) -> None:
    for name, value in delta.items():
        result = into.get(name, 0.0) + sign * value
        if abs(result) < 1e-9:
            into.pop(name, None)
        else:
            into[name] = result


class GpuLedger:
    """Per-node and cluster GPU sums, updated per pod/node change in O(resources)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[str, str], tuple[str, Resources]] = {}  # pod key → (node, request)
        self._requested: dict[str, Resources] = defaultdict(dict)
        self._pods: dict[str, int] = defaultdict(int)
        self._allocatable: dict[str, Resources] = {}
        self._cluster_requested: Resources = {}
        self._cluster_allocatable: Resources = {}
        self._usage: dict[str, GpuUsage] = {}  # per node, built on read, dropped on change
        self._kinds: dict[str, dict[str, str]] = {}  # node → resource → unit kind
        self._physical: dict[str, int] = {}
        self._replicas: dict[str, int] = {}  # shared nodes' replicas per GPU
        self._kind_allocatable: Resources = {}
        self._kind_requested: Resources = {}

    def _by_kind(self, node: str, request: Mapping[str, float]) -> Resources:
        kinds = self._kinds.get(node, {})
        out: Resources = {}
        for name, value in request.items():
            kind = kinds.get(name) or gpu.default_kind(name)
            out[kind] = out.get(kind, 0.0) + value
        return out

    # ------------------------------------------------------------ pod / node feed

    def on_upsert(self, old: object, new: object) -> None:
        """Cache handler: a pod or node was added or changed."""
        if isinstance(new, PodRecord):
            self._pod(new.key, new)
        elif isinstance(new, NodeRecord):
            resources = new.gpu_allocatable.keys() | new.gpu_capacity.keys()
            self._node(
                new.name,
                new.gpu_allocatable,
                gpu.resource_kinds(new.labels, resources),
                new.gpu_count if new.has_gpus else 0,
                gpu.gpu_replicas(new.labels),
            )

    def on_delete(self, old: object) -> None:
        """Cache handler: a pod or node is gone."""
        if isinstance(old, PodRecord):
            self._pod(old.key, None)
        elif isinstance(old, NodeRecord):
            self._node(old.name, None)

    def _pod(self, key: tuple[str, str], pod: PodRecord | None) -> None:
        holds = pod is not None and pod.holds_resources and bool(pod.gpu_request)
        with self._lock:
            previous = self._held.pop(key, None)
            if previous is not None:
                node, request = previous
                self._usage.pop(node, None)
                _add(self._requested[node], request, -1)
                _add(self._cluster_requested, request, -1)
                _add(self._kind_requested, self._by_kind(node, request), -1)
                self._pods[node] -= 1
                if not self._requested[node]:
                    del self._requested[node]
                if self._pods[node] <= 0:
                    del self._pods[node]
            if holds and pod is not None:
                self._usage.pop(pod.node, None)
                self._held[key] = (pod.node, pod.gpu_request)
                _add(self._requested[pod.node], pod.gpu_request, +1)
                _add(self._cluster_requested, pod.gpu_request, +1)
                _add(self._kind_requested, self._by_kind(pod.node, pod.gpu_request), +1)
                self._pods[pod.node] += 1

    def _node(
        self,
        name: str,
        allocatable: Mapping[str, float] | None,
        kinds: Mapping[str, str] | None = None,
        physical: int = 0,
        replicas: int = 1,
    ) -> None:
        with self._lock:
            self._usage.pop(name, None)
            previous = self._allocatable.pop(name, None)
            held = self._requested.get(name, {})
            if previous:
                _add(self._cluster_allocatable, previous, -1)
                _add(self._kind_allocatable, self._by_kind(name, previous), -1)
            _add(self._kind_requested, self._by_kind(name, held), -1)
            self._physical.pop(name, None)
            self._replicas.pop(name, None)
            self._kinds.pop(name, None)
            if allocatable is not None:
                self._kinds[name] = dict(kinds or {})
                self._allocatable[name] = dict(allocatable)
                _add(self._cluster_allocatable, allocatable, +1)
                _add(self._kind_allocatable, self._by_kind(name, allocatable), +1)
                if physical:
                    self._physical[name] = physical
                if gpu.SHARED in self._kinds[name].values():
                    self._replicas[name] = replicas
            _add(self._kind_requested, self._by_kind(name, held), +1)

    # ------------------------------------------------------------ reads

    def node(self, name: str) -> GpuUsage:
        """Usage of one node (zeros for an unknown node); read-only, shared until it changes.

        A refresh reads every GPU node's usage (10,000 at scale), so an unchanged node's
        `GpuUsage` is kept and returned again: no lock and no copies on that path.
        """
        usage = self._usage.get(name)
        if usage is not None:
            return usage
        with self._lock:
            usage = GpuUsage(
                dict(self._allocatable.get(name, {})),
                dict(self._requested.get(name, {})),
                self._pods.get(name, 0),
            )
            if len(self._usage) < 100_000:
                self._usage[name] = usage
            return usage

    def cluster(self, nodes: set[str] | None = None) -> GpuUsage:
        """Cluster totals; with `nodes`, only those nodes (e.g. the GPU nodes shown)."""
        with self._lock:
            if nodes is None:
                return GpuUsage(
                    dict(self._cluster_allocatable),
                    dict(self._cluster_requested),
                    sum(self._pods.values()),
                )
            allocatable: Resources = {}
            requested: Resources = {}
            pods = 0
            for name in nodes:
                _add(allocatable, self._allocatable.get(name, {}), +1)
                _add(requested, self._requested.get(name, {}), +1)
                pods += self._pods.get(name, 0)
            return GpuUsage(allocatable, requested, pods)

    def units(self) -> Units:
        """The cluster in honest units: physical GPUs, and per kind what is allocatable and
        requested (a pod on a node not (yet) known is filed by its resource's name)."""
        with self._lock:
            shared = set(self._replicas.values())
            return Units(
                sum(self._physical.values()),
                dict(self._kind_allocatable),
                dict(self._kind_requested),
                shared.pop() if len(shared) == 1 else 1,
            )

    def requested_by_node(self) -> dict[str, Resources]:
        """A copy of the per-node requested sums (nodes with no GPU pods are absent)."""
        with self._lock:
            return {node: dict(req) for node, req in self._requested.items()}
