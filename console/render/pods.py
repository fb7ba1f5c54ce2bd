"""The GPU pods view (`PODS`): pods requesting accelerators, or every pod of a drill-down
scope (on a node, of a job, of a workload).

At 80 columns a pod keeps its name (cut in the middle when long), status, GPUs and node
(its distinguishing part, `console.render.names`); namespace and READY come next with the
width, then age, restarts, the last exit (the latest previous termination: `OOMKilled
(137)`) and workload. STATUS and RESTARTS are kubectl's, to the character."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from console.cluster import views as cv
from console.cluster.gpu import GPU_SHARED, MIG_PREFIX
from console.cluster.records import PodRecord
from console.render.base import (
    AGE,
    NAMESPACE,
    Column,
    Hint,
    Row,
    RowCache,
    RowContext,
    Scope,
    View,
    age_key,
)
from console.render.fmt import INVALID, age, gpus
from console.render.names import node_short_names

if TYPE_CHECKING:
    from console.cluster.session import ClusterSession

_BAD_POD = {
    "CrashLoopBackOff", "Error", "OOMKilled", "ImagePullBackOff", "ErrImagePull",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
    "InvalidImageName", "ContainerCannotRun", "DeadlineExceeded", "Evicted",
    "UnexpectedAdmissionError", "Failed", "Unknown", "StartError",
}  # fmt: skip


def _failing(status: str) -> bool:
    """A STATUS that says something broke: a bad reason, `ExitCode:N`/`Signal:N`, or an
    init container's (`Init:CrashLoopBackOff`, `Init:ExitCode:1`; not the `Init:1/2` count)."""
    if status.startswith("Init:"):
        status = status[5:]
        if status[:1].isdigit():
            return False
    return status in _BAD_POD or status.startswith(("ExitCode:", "Signal:"))


def pod_hint(row: cv.PodRow) -> Hint:
    """dim: terminating or done; bad: failing; warn: pending, not running or not ready."""
    if row.status in ("Terminating", "Completed") or row.phase == "Succeeded":
        return "dim"
    if _failing(row.status) or row.phase == "Failed":
        return "bad"
    if row.phase == "Pending" or row.status != "Running":
        return "warn"
    ready, _, total = row.ready.partition("/")
    return "warn" if ready != total else None


def restarts_cell(pod: PodRecord, now: float) -> str:
    """kubectl's RESTARTS: `3`, or `3 (5m ago)` when it knows when the last one was."""
    if pod.restarts and pod.last_restart:
        return f"{pod.restarts} ({age(now - pod.last_restart)} ago)"
    return str(pod.restarts)


def gpu_cell(request: Mapping[str, float]) -> str:
    """What the pod holds, in its unit: `8` whole GPUs, `1g.10gb` / `2×1g.10gb` MIG slices,
    `1 shared` time-sliced replicas (a MIG slice or a replica is not a GPU)."""
    parts = []
    for resource, count in sorted(request.items()):
        if resource.startswith(MIG_PREFIX):
            profile = resource.removeprefix(MIG_PREFIX)
            parts.append(profile if count == 1 else f"{gpus(count)}×{profile}")
        elif resource == GPU_SHARED:
            parts.append(f"{gpus(count)} shared")
        else:
            parts.append(gpus(count))
    return ",".join(parts)


def pod_key(pod: PodRecord) -> str:
    """`namespace/name`."""
    return f"{pod.namespace}/{pod.name}"


def pod_row(pod: PodRecord, now: float, short_node: str | None = None) -> Row:
    """The row of one pod (`short_node`: the distinguishing part of its node's name)."""
    row = cv.pod_row(pod, now)
    cells = (
        row.namespace,
        row.name,
        row.ready,
        row.status,
        restarts_cell(pod, now),
        pod.last_termination,
        INVALID if pod.invalid else gpu_cell(row.gpu_request),
        row.node,
        f"{row.workload[0]}/{row.workload[1]}" if row.workload[1] else "",
        age(row.age),
        short_node or row.node,
        str(pod.restarts),
    )
    return Row(
        pod_key(pod),
        cells,
        "bad" if pod.invalid else pod_hint(row),
        None,
        pod.labels,
        pod,
        {"age": age_key(row.age, now)},
    )


def build_pods(session: ClusterSession, ctx: RowContext, cache: RowCache) -> list[Row]:
    """The pod rows; a row is rebuilt only when its pod record changed (records are
    immutable, replaced on each update); a ticking AGE rewrites that one cell."""
    scope = ctx.scope
    if scope and scope.node:
        source = session.pods_on_node(scope.node)
    elif scope and scope.job:
        source = session.pods_of_job(*scope.job)
    elif scope and scope.workload:
        source = session.pods_of(*scope.workload)
    else:
        source = cv.gpu_pods(session.cache, ctx.namespace)
    namespace = ctx.namespace if not (scope and scope.node) else None
    short = node_short_names(session)  # the same object while no short name changes
    cache.begin((ctx.namespace, scope, short))
    now = ctx.now
    out = []
    for pod in source:
        if namespace and pod.namespace != namespace:
            continue
        key = f"{pod.namespace}/{pod.name}"
        inputs = (pod,)
        row = cache.get(key, inputs)
        if row is None:
            row = cache.put(key, inputs, pod_row(pod, now, short.get(pod.node)))
        else:
            row = cache.with_cell(key, row, AGE_INDEX, age(cv.age_seconds(pod.created, now)))
            if pod.last_restart:
                row = cache.with_cell(key, row, RESTARTS_INDEX, restarts_cell(pod, now))
        out.append(row)
    cache.end()
    return out


PODS = View(
    "pods",
    "GPU pods",
    (
        NAMESPACE,
        Column("name", "NAME", 0, 20, cut="middle"),
        Column("ready", "READY", 2, 5),
        Column("status", "STATUS", 0, 9),
        Column("restarts", "RESTARTS", 4, 8, "right", "number", narrow="restarts_count"),
        # before WORKLOAD goes (the same priority, further left): why it keeps restarting
        Column("last", "LAST EXIT", 5, 9),
        Column("gpus", "GPUS", 1, 4, "right", "number"),
        Column("node", "NODE", 1, 12, narrow="node_short", cut="middle"),
        Column("workload", "WORKLOAD", 5, 14, cut="middle"),
        AGE,
        # the narrow forms, shown in the place of NODE / RESTARTS when those do not fit
        Column("node_short", "NODE", 3, 8, cut="middle"),
        Column("restarts_count", "RESTARTS", 4, 8, "right", "number"),  # 3, not 3 (5m ago)
    ),
    build_pods,
    lambda pod: ("nodes", Scope(f"node {pod.node}", name=pod.node)) if pod.node else None,
    lambda _pod: "pods",
)
AGE_INDEX = [c.key for c in PODS.columns].index("age")
RESTARTS_INDEX = [c.key for c in PODS.columns].index("restarts")
