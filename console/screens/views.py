"""The four resource views: their columns and how the cluster layer's rows become cells.

A `View` turns `console.cluster.views` rows into `Item`s (row key, every column's cell,
a health hint, the labels for `-l` filters, the cache record for the detail screen)
and knows where Enter leads. Columns carry a priority: on a narrow terminal the least
important are dropped (`visible_columns`). Plain data only; no widget is touched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

from console.cluster import views as cv
from console.screens.data import PLURAL_OF_KIND, ClusterSession
from console.screens.fmt import age, gpus, short_product
from themes import UtilScale
from widgets.gpu_bar import gpu_bar

CellValue = str | int | float | Text | None


@dataclass(frozen=True)
class Item:
    key: str
    cells: tuple[CellValue, ...]
    hint: str | None
    labels: Mapping[str, str]
    record: Any
    sort_values: Mapping[str, float] = field(default_factory=dict)
    """Numbers that columns with `by_value` sort on (e.g. "age": seconds)."""


@dataclass(frozen=True)
class Column:
    """A column; `priority` 0 is never dropped, higher numbers go first when narrow."""

    key: str
    label: str
    priority: int
    min_width: int
    numeric: bool = False
    by_value: bool = False
    """Sort on `Item.sort_values[key]` instead of the cell text (AGE: seconds, not "3d")."""


@dataclass(frozen=True)
class Scope:
    """A drill-down: pods on a node, of a job, of a workload; or one node by name."""

    title: str
    node: str | None = None
    job: tuple[str, str] | None = None  # (namespace, name)
    workload: tuple[str, str, str] | None = None  # (namespace, kind, name)
    name: str | None = None


@dataclass
class RowContext:
    now: float
    namespace: str | None = None  # None: all namespaces
    show_cpu_nodes: bool = False
    scale: UtilScale | None = None
    scope: Scope | None = None


@dataclass(frozen=True)
class View:
    name: str
    title: str
    columns: tuple[Column, ...]
    build: Callable[[ClusterSession, RowContext], list[Item]] = field(repr=False)
    drill: Callable[[Any], tuple[str, Scope] | None] = field(repr=False)
    kind_of: Callable[[Any], str] = field(repr=False)
    """The cache name of a record (for YAML and events): "nodes", "pytorchjobs", …"""


def visible_columns(
    columns: Sequence[Column],
    width: int,
    skip: Sequence[str] = (),
    widths: Mapping[str, int] | None = None,
) -> list[Column]:
    """The columns that fit `width` (by measured `widths`, else `min_width`), dropping the
    highest priority numbers first."""
    chosen = [c for c in columns if c.key not in skip]
    measured = widths or {}

    def need(c: Column) -> int:
        return measured.get(c.key, c.min_width) + 2  # DataTable pads each cell by one

    while len(chosen) > 1:
        if sum(need(c) for c in chosen) + 3 <= width:  # focus bar and scrollbar
            break
        worst = max(chosen, key=lambda c: (c.priority, columns.index(c)))
        if worst.priority == 0:
            break
        chosen.remove(worst)
    return chosen


def measure(columns: Sequence[Column], items: Sequence[Item], cap: int = 48) -> dict[str, int]:
    """The width each column needs for `items` (header included), capped at `cap`."""
    widths = {c.key: len(c.label) for c in columns}
    for item in items:
        for column, cell in zip(columns, item.cells, strict=True):
            size = cell.cell_len if isinstance(cell, Text) else len(str(cell or ""))
            if size > widths[column.key]:
                widths[column.key] = min(size, cap)
    return widths


AGE = Column("age", "AGE", 3, 5, by_value=True)
NAMESPACE = Column("namespace", "NAMESPACE", 2, 12)


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


def _nodes(session: ClusterSession, ctx: RowContext) -> list[Item]:
    scope = ctx.scope
    pods_synced = session.state("pods").state != "syncing"
    rows = cv.gpu_node_rows(session.cache, ctx.show_cpu_nodes or bool(scope), ctx.now)
    out = []
    for row in rows:
        if scope and scope.name and row.name != scope.name:
            continue
        record = session.get("nodes", row.key)
        status, hint = _node_status(row)
        total, used = row.gpus_allocatable, row.gpus_requested
        has_gpus = total > 0 or bool(row.product)
        if has_gpus:
            numbers = f"{gpus(used) if pods_synced else '…'}/{gpus(total)} "
            alloc: CellValue = Text(numbers.rjust(8), end="")
            alloc.append_text(gpu_bar(used, total, 8, scale=ctx.scale, numbers=False))
        else:
            alloc, hint = "", hint or "dim"
        taints = [t for t in row.taints if not t.startswith("nvidia.com/gpu")]
        cells = (
            row.name,
            status,
            row.pool,
            short_product(row.product),
            alloc,
            gpus(max(0.0, total - used)) if has_gpus else "",
            row.gpu_pods if has_gpus else "",
            row.sharing,
            ",".join(taints),
            age(row.age),
        )
        labels = record.labels if record else {}
        out.append(Item(row.name, cells, hint, labels, record or row, {"age": row.age}))
    return out


NODES = View(
    "nodes",
    "GPU nodes",
    (
        Column("name", "NAME", 0, 16),
        Column("status", "STATUS", 0, 8),
        Column("pool", "POOL", 4, 10),
        Column("gpu", "GPU", 2, 10),
        Column("alloc", "ALLOC", 0, 16, numeric=True),
        Column("free", "FREE", 1, 4, numeric=True),
        Column("pods", "GPU PODS", 5, 8, numeric=True),
        Column("sharing", "SHARING", 3, 9),
        Column("taints", "TAINTS", 6, 10),
        AGE,
    ),
    _nodes,
    lambda node: ("pods", Scope(f"pods on node {node.name}", node=node.name)),
    lambda _node: "nodes",
)


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


def _pods(session: ClusterSession, ctx: RowContext) -> list[Item]:
    scope = ctx.scope
    if scope and scope.node:
        source = session.pods_on_node(scope.node)
    elif scope and scope.job:
        source = session.pods_of_job(*scope.job)
    elif scope and scope.workload:
        source = session.pods_of(*scope.workload)
    else:
        source = cv.gpu_pods(session.cache, ctx.namespace)
    out = []
    for pod in source:
        if ctx.namespace and pod.namespace != ctx.namespace and not (scope and scope.node):
            continue
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
        out.append(Item(key, cells, _pod_hint(row), pod.labels, pod, {"age": row.age}))
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
)


# ---------------------------------------------------------------- jobs

_JOB_HINTS = {
    "Failed": "error",
    "Succeeded": "dim",
    "Complete": "dim",
    "Completed": "dim",
    "Restarting": "warn",
    "Created": "warn",
    "Pending": "warn",
    "Suspended": "dim",
}


def _jobs(session: ClusterSession, ctx: RowContext) -> list[Item]:
    out = []
    for row in cv.job_rows(session.cache, ctx.namespace, now=ctx.now):
        record = session.get(PLURAL_OF_KIND[row.kind], (row.namespace, row.name))
        state = row.state or "-"
        if record is not None and record.suspended and state != "Failed":
            state = "Suspended"
        replicas = " ".join(
            f"{r.name} {r.ready}/{r.desired}" if r.name else f"{r.ready}/{r.desired}"
            for r in row.roles
        )
        cells = (
            row.namespace,
            row.name,
            row.kind,
            state,
            replicas,
            gpus(row.gpus),
            row.restarts,
            row.queue,
            age(row.duration) if row.duration else "",
            age(row.age),
        )
        key = f"{row.kind}/{row.namespace}/{row.name}"
        labels = record.labels if record else {}
        hint = _JOB_HINTS.get(state) or ("warn" if row.pending_pods else None)
        sorts = {"age": row.age, "duration": row.duration}
        out.append(Item(key, cells, hint, labels, record or row, sorts))
    return out


JOBS = View(
    "jobs",
    "Training jobs",
    (
        NAMESPACE,
        Column("name", "NAME", 0, 18),
        Column("kind", "KIND", 3, 10),
        Column("state", "STATE", 0, 9),
        Column("replicas", "REPLICAS", 4, 14),
        Column("gpus", "GPUS", 1, 4, numeric=True),
        Column("restarts", "RESTARTS", 6, 8, numeric=True),
        Column("queue", "QUEUE", 7, 8),
        Column("duration", "DURATION", 5, 8, by_value=True),
        AGE,
    ),
    _jobs,
    lambda job: (
        "pods",
        Scope(f"pods of {job.kind} {job.namespace}/{job.name}", job=(job.namespace, job.name)),
    ),
    lambda job: PLURAL_OF_KIND[job.kind],
)


# ---------------------------------------------------------------- servers


def _model(record: Any) -> str:
    fmt = getattr(record, "model_format", "")
    if fmt or getattr(record, "runtime", ""):
        return "/".join(x for x in (fmt, record.runtime) if x)
    images = getattr(record, "images", ())
    return images[0].rsplit("/", 1)[-1] if images else ""


def _servers(session: ClusterSession, ctx: RowContext) -> list[Item]:
    out = []
    for row in cv.server_rows(session.cache, ctx.namespace, ctx.now):
        record = session.get(PLURAL_OF_KIND[row.kind], (row.namespace, row.name))
        ok = row.ready == "True"
        hint = None if ok else ("warn" if row.ready == "Unknown" or row.ready_replicas else "error")
        cells = (
            row.namespace,
            row.name,
            row.kind,
            "True" if ok else (row.reason or row.ready),
            f"{row.ready_replicas}/{row.desired_replicas}",
            gpus(row.gpus),
            _model(record),
            row.url,
            age(row.age),
        )
        key = f"{row.kind}/{row.namespace}/{row.name}"
        labels = record.labels if record else {}
        out.append(Item(key, cells, hint, labels, record or row, {"age": row.age}))
    return out


def _server_kind(record: Any) -> str:
    return getattr(record, "kind", "") or "InferenceService"


SERVERS = View(
    "servers",
    "Model servers",
    (
        NAMESPACE,
        Column("name", "NAME", 0, 18),
        Column("kind", "KIND", 4, 10),
        Column("ready", "READY", 0, 6),
        Column("replicas", "REPLICAS", 1, 8),
        Column("gpus", "GPUS", 1, 4, numeric=True),
        Column("model", "MODEL", 3, 12),
        Column("url", "URL", 5, 20),
        AGE,
    ),
    _servers,
    lambda rec: (
        "pods",
        Scope(
            f"pods of {_server_kind(rec)} {rec.namespace}/{rec.name}",
            workload=(rec.namespace, _server_kind(rec), rec.name),
        ),
    ),
    lambda rec: PLURAL_OF_KIND[_server_kind(rec)],
)

VIEWS: dict[str, View] = {v.name: v for v in (NODES, JOBS, SERVERS, PODS)}
