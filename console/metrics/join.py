"""Telemetry joined to the cluster cache: per job / per server figures and the GPU map.

A GPU is tied to a pod by the exporter's pod labels; the pod's record in the cluster
cache names its workload (`PodRecord.workload`: PyTorchJob, Job, JobSet,
InferenceService, Deployment, ...). Keys are `(kind, namespace, name)`, the same as
`JobRow.key` and `ServerRow.key` in `console.cluster.views`.
"""

from __future__ import annotations

from collections.abc import Iterable

from console.cluster.cache import ClusterCache
from console.metrics.model import MapGroup, MapRow, PodKey, WorkloadTelemetry
from console.metrics.store import TelemetryStore

WorkloadKey = tuple[str, str, str]


def workload_telemetry(
    store: TelemetryStore, cache: ClusterCache
) -> dict[WorkloadKey, WorkloadTelemetry]:
    """Figures for every workload whose pods hold reporting GPUs (one pass over those pods)."""
    pods = cache["pods"]

    def key_of(pod_key: PodKey) -> WorkloadKey | None:
        pod = pods.get(pod_key)
        if pod is None or not pod.workload[1]:
            return None
        return (pod.workload[0], pod.namespace, pod.workload[1])

    return store.workloads(key_of)


def workload_detail(
    store: TelemetryStore, cache: ClusterCache, key: WorkloadKey
) -> WorkloadTelemetry:
    """One job's or server's figures with its mean-utilization history (for its detail)."""
    kind, namespace, name = key
    pods = cache["pods"].by_index("workload", (namespace, kind, name))
    return store.workload(key, [p.key for p in pods], with_history=True)


def pods_telemetry(
    store: TelemetryStore, key: WorkloadKey, pods: Iterable[PodKey]
) -> WorkloadTelemetry:
    """Figures over an explicit set of pods (e.g. `views.job_pods`)."""
    return store.workload(key, pods, with_history=True)


def gpu_map(store: TelemetryStore, cache: ClusterCache) -> tuple[MapGroup, ...]:
    """The map's layout: node pools → GPU nodes → one cell key per GPU, sorted by name.

    Values come from `store.map_values()` (cheap, per refresh); rebuild the layout only when
    the node list changes. A node not yet reporting gets cells for its `gpu.count` GPUs."""
    pools: dict[str, list[MapRow]] = {}
    for node in cache["nodes"].by_index("gpu", "gpu"):
        indices = store.node_gpus(node.name) or list(range(node.gpu_count))
        keys = tuple(f"{node.name}/{i}" for i in sorted(indices))
        pools.setdefault(node.pool or "(no pool)", []).append(MapRow(node.name, keys))
    return tuple(
        MapGroup(pool, tuple(sorted(rows, key=lambda r: r.node)))
        for pool, rows in sorted(pools.items())
    )
