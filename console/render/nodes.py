"""The GPU nodes view (`NODES`): one row per GPU node (CPU nodes on request or in a scope),
from the node record, its GPU usage in the ledger and its telemetry figures."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.cluster import views as cv
from console.cluster.records import NodeRecord
from console.render.base import UTIL, Column, Hint, Row, RowCache, RowContext, Scope, View, age_key
from console.render.fmt import (
    HOT_C,
    age,
    gpu_bar,
    gpus,
    pct,
    power,
    short_product,
    temp,
    util,
    xid,
)

if TYPE_CHECKING:
    from console.cluster.session import ClusterSession

BAR_WIDTH = 8
"""Glyphs of the ALLOC bar."""


def node_status(row: cv.NodeRow) -> tuple[str, Hint]:
    """STATUS text (`Ready,SchedulingDisabled,MemoryPressure`) and the row hint it gives."""
    parts = [row.ready]
    hint: Hint = None if row.ready == "Ready" else "bad"
    if row.cordoned:
        parts.append("SchedulingDisabled")
        hint = hint or "warn"
    if row.pressures:
        parts.extend(row.pressures)
        hint = hint or "warn"
    return ",".join(parts), hint


def alloc(used: float, total: float, synced: bool = True) -> tuple[str, Hint]:
    """The ALLOC cell: `   3/8 ▇▇▇▁▁▁▁▁` (`…` for used while pods sync), hint bar:<used %>."""
    numbers = f"{gpus(used) if synced else '…'}/{gpus(total)} "
    bar, hint = gpu_bar(used, total, BAR_WIDTH)
    return numbers.rjust(8) + bar, hint


def node_row(row: cv.NodeRow, record: NodeRecord, figures: Any, synced: bool, now: float) -> Row:
    """The row of one node (`figures`: its `NodeTelemetry`, or None)."""
    status, hint = node_status(row)
    total, used = row.gpus_allocatable, row.gpus_requested
    has_gpus = total > 0 or bool(row.product)
    alloc_hint: Hint = None
    if has_gpus:
        alloc_text, alloc_hint = alloc(used, total, synced)
    else:
        alloc_text, hint = "", hint or "dim"
    taints = [t for t in row.taints if not t.startswith("nvidia.com/gpu")]
    gauges: tuple[tuple[str, Hint], ...]
    if figures is not None:
        hot = figures.hottest is not None and figures.hottest >= HOT_C
        hint = "bad" if figures.last_xid else hint or ("warn" if hot else None)
        gauges = (
            util(figures.mean_util),
            util(figures.max_util),
            (pct(figures.mem_pct), None),
            temp(figures.hottest),
            (power(figures.power), None),
            xid(figures.last_xid, len(figures.xid_gpus)),
        )
    else:
        gauges = (util(None),) * 2 if has_gpus else (("", None),) * 2
        gauges += (("", None),) * 4
    cells = (
        (row.name, None),
        (status, None),
        (row.pool, None),
        (short_product(row.product), None),
        (alloc_text, alloc_hint),
        (gpus(max(0.0, total - used)) if has_gpus else "", None),
        *gauges[:2],
        (str(row.gpu_pods) if has_gpus else "", None),
        *gauges[2:],
        (row.sharing, None),
        (",".join(taints), None),
        (age(row.age), None),
    )
    styles = tuple(s for _, s in cells)
    return Row(
        row.name,
        tuple(c for c, _ in cells),
        hint,
        styles if any(styles) else None,
        record.labels,
        record,
        {"age": age_key(row.age, now)},
    )


def build_nodes(session: ClusterSession, ctx: RowContext, cache: RowCache) -> list[Row]:
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
    cache.begin((include_cpu, scope))
    out = []
    for node in nodes:
        name = node.name
        if scope and scope.name and name != scope.name:
            continue
        usage = ledger.node(name)
        figures = telemetry.get(name)
        inputs = (node, usage, figures, synced)
        row = cache.get(name, inputs)
        if row is None:
            row = cv.gpu_node_row(node, usage, now)
            row = cache.put(name, inputs, node_row(row, node, figures, synced, now))
        else:
            row = cache.with_cell(name, row, AGE_INDEX, age(cv.age_seconds(node.created, now)))
        out.append(row)
    cache.end()
    return out


def _right(key: str, label: str, priority: int, width: int, telemetry: bool = False) -> Column:
    return Column(key, label, priority, width, "right", "number", telemetry)


NODES = View(
    "nodes",
    "GPU nodes",
    (
        Column("name", "NAME", 0, 16),
        Column("status", "STATUS", 0, 8),
        Column("pool", "POOL", 5, 10),
        Column("gpu", "GPU", 3, 10),
        _right("alloc", "ALLOC", 0, 16),
        _right("free", "FREE", 2, 4),
        UTIL,
        _right("max", "MAX", 3, 4, telemetry=True),
        _right("pods", "GPU PODS", 6, 8),
        _right("mem", "MEM", 4, 4, telemetry=True),
        _right("temp", "TEMP", 4, 4, telemetry=True),
        _right("power", "POWER", 5, 6, telemetry=True),
        _right("xid", "XID", 1, 3, telemetry=True),
        Column("sharing", "SHARING", 6, 9),
        Column("taints", "TAINTS", 7, 10),
        Column("age", "AGE", 4, 5, sort="value"),
    ),
    build_nodes,
    lambda node: ("pods", Scope(f"pods on node {node.name}", node=node.name)),
    lambda _node: "nodes",
)
AGE_INDEX = len(NODES.columns) - 1
