"""The resource views: GPU nodes and GPU pods here, training jobs and model servers in
`console.screens.workload_views`; their columns and how the cluster layer's rows (and the
telemetry figures) become cells. `VIEWS` names all four.

The shared shapes (`Item`, `Column`, `Scope`, `RowContext`, `View`, `visible_columns`,
`measure`) live in `console.screens.viewbase` and are re-exported here.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from console.cluster import views as cv
from console.cluster.records import NodeRecord, PodRecord
from console.cluster.session import ClusterSession
from console.screens.fmt import age, gpus, short_product
from console.screens.telemetry import HOT_C, pct, power_cell, temp_cell, xid_cell
from console.screens.viewbase import (
    AGE,
    NAMESPACE,
    UTIL,
    CellValue,
    Column,
    Item,
    ItemCache,
    RowContext,
    Scope,
    View,
    age_key,
    measure,
    visible_columns,
)
from console.screens.workload_views import JOBS, SERVERS
from widgets.gpu_bar import gpu_bar, util_text

__all__ = [
    "AGE",
    "NAMESPACE",
    "NODES",
    "PODS",
    "VIEWS",
    "CellValue",
    "Column",
    "Item",
    "ItemCache",
    "RowContext",
    "Scope",
    "View",
    "measure",
    "visible_columns",
]

# ---------------------------------------------------------------- nodes


def _node_status(row: cv.NodeRow) -> tuple[str, str | None]:
    parts = [row.ready]
    hint = None if row.ready == "Ready" else "error"
    if row.cordoned:
        parts.append("SchedulingDisabled")
        hint = hint or "warn"
    if row.pressures:
        parts.extend(row.pressures)
        hint = hint or "warn"
    return ",".join(parts), hint


def _node_item(
    row: cv.NodeRow, record: NodeRecord, figures: Any, synced: bool, ctx: RowContext
) -> Item:
    status, hint = _node_status(row)
    total, used = row.gpus_allocatable, row.gpus_requested
    has_gpus = total > 0 or bool(row.product)
    if has_gpus:
        numbers = f"{gpus(used) if synced else '…'}/{gpus(total)} "
        alloc: CellValue = Text(numbers.rjust(8), end="")
        alloc.append_text(gpu_bar(used, total, 8, scale=ctx.scale, numbers=False))
    else:
        alloc, hint = "", hint or "dim"
    taints = [t for t in row.taints if not t.startswith("nvidia.com/gpu")]
    if figures is not None:
        hot = figures.hottest is not None and figures.hottest >= HOT_C
        hint = "error" if figures.last_xid else hint or ("warn" if hot else None)
        gauges: tuple[CellValue, ...] = (
            util_text(figures.mean_util, scale=ctx.scale),
            util_text(figures.max_util, scale=ctx.scale),
            pct(figures.mem_pct),
            temp_cell(figures.hottest, ctx.warn),
            power_cell(figures.power),
            xid_cell(figures.last_xid, len(figures.xid_gpus), ctx.error),
        )
    else:
        gauges = (util_text(None, scale=ctx.scale),) * 2 if has_gpus else ("", "")
        gauges += ("", "", "", "")
    cells = (
        row.name,
        status,
        row.pool,
        short_product(row.product),
        alloc,
        gpus(max(0.0, total - used)) if has_gpus else "",
        *gauges[:2],
        row.gpu_pods if has_gpus else "",
        *gauges[2:],
        row.sharing,
        ",".join(taints),
        age(row.age),
    )
    return Item(row.name, cells, hint, record.labels, record, {"age": age_key(row.age, ctx.now)})


def _nodes(session: ClusterSession, ctx: RowContext) -> list[Item]:
    return _nodes_cached(session, ctx, ItemCache(NODES.columns))


def _nodes_cached(session: ClusterSession, ctx: RowContext, cache: ItemCache) -> list[Item]:
    """The node rows; a row is rebuilt only when its node record, its GPU usage (the
    ledger's, replaced when a pod on it changes), its telemetry figures (once per sample) or
    the pods' sync state changed; a ticking AGE rewrites that one cell."""
    scope = ctx.scope
    synced = session.state("pods").state != "syncing"
    informer = session.cache["nodes"]
    include_cpu = ctx.show_cpu_nodes or bool(scope)
    nodes = informer.items() if include_cpu else informer.by_index("gpu", "gpu")
    telemetry = ctx.telemetry.nodes() if ctx.telemetry is not None else {}
    ledger = session.ledger
    now = ctx.now
    cache.begin((include_cpu, scope, ctx.scale, ctx.warn, ctx.error))
    out = []
    for node in nodes:
        name = node.name
        if scope and scope.name and name != scope.name:
            continue
        usage = ledger.node(name)
        figures = telemetry.get(name)
        inputs = (node, usage, figures, synced)
        item = cache.get(name, inputs)
        if item is None:
            row = cv.gpu_node_row(node, usage, now)
            item = cache.put(name, inputs, _node_item(row, node, figures, synced, ctx))
        else:
            item = cache.with_cell(name, item, _NODE_AGE, age(cv.age_seconds(node.created, now)))
        out.append(item)
    cache.end()
    return out


NODES = View(
    "nodes",
    "GPU nodes",
    (
        Column("name", "NAME", 0, 16),
        Column("status", "STATUS", 0, 8),
        Column("pool", "POOL", 5, 10),
        Column("gpu", "GPU", 3, 10),
        Column("alloc", "ALLOC", 0, 16, numeric=True),
        Column("free", "FREE", 2, 4, numeric=True),
        UTIL,
        Column("max", "MAX", 3, 4, numeric=True, telemetry=True),
        Column("pods", "GPU PODS", 6, 8, numeric=True),
        Column("mem", "MEM", 4, 4, numeric=True, telemetry=True),
        Column("temp", "TEMP", 4, 4, numeric=True, telemetry=True),
        Column("power", "POWER", 5, 6, numeric=True, telemetry=True),
        Column("xid", "XID", 1, 3, numeric=True, telemetry=True),
        Column("sharing", "SHARING", 6, 9),
        Column("taints", "TAINTS", 7, 10),
        Column("age", "AGE", 4, 5, by_value=True),
    ),
    _nodes,
    lambda node: ("pods", Scope(f"pods on node {node.name}", node=node.name)),
    lambda _node: "nodes",
    _nodes_cached,
)
_NODE_AGE = len(NODES.columns) - 1


# ---------------------------------------------------------------- pods

_BAD_POD = {
    "CrashLoopBackOff", "Error", "OOMKilled", "ImagePullBackOff", "ErrImagePull",
    "CreateContainerConfigError", "Evicted", "UnexpectedAdmissionError", "Failed",
}  # fmt: skip


def _pod_hint(row: cv.PodRow) -> str | None:
    if row.status == "Terminating" or row.phase == "Succeeded":
        return "dim"
    if row.status in _BAD_POD or row.phase == "Failed":
        return "error"
    if row.phase == "Pending" or row.status != "Running":
        return "warn"
    ready, _, total = row.ready.partition("/")
    return "warn" if ready != total else None


def _pod_item(pod: PodRecord, ctx: RowContext) -> Item:
    row = cv.pod_row(pod, ctx.now)
    status = row.status if row.status != "Succeeded" else "Completed"
    cells = (
        row.namespace,
        row.name,
        row.ready,
        status,
        row.restarts,
        gpus(row.gpus) if row.gpu_request else "",
        row.node,
        f"{row.workload[0]}/{row.workload[1]}" if row.workload[1] else "",
        age(row.age),
    )
    key = f"{row.namespace}/{row.name}"
    return Item(key, cells, _pod_hint(row), pod.labels, pod, {"age": age_key(row.age, ctx.now)})


def _pods(session: ClusterSession, ctx: RowContext) -> list[Item]:
    return _pods_cached(session, ctx, ItemCache(PODS.columns))


def _pods_cached(session: ClusterSession, ctx: RowContext, cache: ItemCache) -> list[Item]:
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
    cache.begin((ctx.namespace, scope))
    now = ctx.now
    out = []
    for pod in source:
        if ctx.namespace and pod.namespace != ctx.namespace and not (scope and scope.node):
            continue
        key = f"{pod.namespace}/{pod.name}"
        inputs = (pod,)
        item = cache.get(key, inputs)
        if item is None:
            item = cache.put(key, inputs, _pod_item(pod, ctx))
        else:
            item = cache.with_cell(key, item, _POD_AGE, age(cv.age_seconds(pod.created, now)))
        out.append(item)
    cache.end()
    return out


PODS = View(
    "pods",
    "GPU pods",
    (
        NAMESPACE,
        Column("name", "NAME", 0, 20),
        Column("ready", "READY", 1, 5),
        Column("status", "STATUS", 0, 9),
        Column("restarts", "RESTARTS", 4, 8, numeric=True),
        Column("gpus", "GPUS", 1, 4, numeric=True),
        Column("node", "NODE", 2, 12),
        Column("workload", "WORKLOAD", 5, 14),
        AGE,
    ),
    _pods,
    lambda pod: ("nodes", Scope(f"node {pod.node}", name=pod.node)) if pod.node else None,
    lambda _pod: "pods",
    _pods_cached,
)
_POD_AGE = len(PODS.columns) - 1


VIEWS: dict[str, View] = {v.name: v for v in (NODES, JOBS, SERVERS, PODS)}
