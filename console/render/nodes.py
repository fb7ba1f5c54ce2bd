"""The GPU nodes view (`NODES`): one row per GPU node (CPU nodes on request or in a scope),
from the node record, its GPU usage in the ledger and its telemetry figures.

GPUs are counted in honest units: ALLOC and FREE count the node's schedulable unit — whole
GPUs, else MIG slices (`3/56 MIG`), else shared replicas (`5/16 ×4`) — and GPUS says what
the node has (`8 GPUs`, `8 GPUs · 56 MIG slices`, `4 GPUs ×4 shared`).

Column priorities follow what on-call needs first: at 80 columns a node keeps its name
(the distinguishing part, `console.render.names`), a compact status (`Ready ⊘ !M`: see
`node_state`), ALLOC, FREE, UTIL, TEMP and XID; GPU product, memory and pods come with
the width, then pool, power, sharing, taints and age.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.cluster import gpu as g
from console.cluster import views as cv
from console.cluster.accounting import GpuUsage
from console.cluster.records import NodeRecord
from console.render.base import UTIL, Column, Hint, Row, RowCache, RowContext, Scope, View, age_key
from console.render.fmt import (
    HOT_C,
    INVALID,
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
from console.render.names import node_short_names

if TYPE_CHECKING:
    from console.cluster.session import ClusterSession

BAR_WIDTH = 8
"""Glyphs of the ALLOC bar."""


EXPECTED_TAINTS = ("nvidia.com/gpu", "node.kubernetes.io/unschedulable")
"""Taints TAINTS leaves out: GPU nodes are expected to have the GPU one, and STATUS already
says cordoned."""

CORDONED = "⊘"
"""The compact STATUS marker of a cordoned node (`SchedulingDisabled`)."""
PRESSURE = "!"
PRESSURE_LETTERS = {"MemoryPressure": "M", "DiskPressure": "D", "PIDPressure": "P"}
"""The compact STATUS marker of pressure conditions: `!` and a letter each (`!MD`)."""


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


def node_state(row: cv.NodeRow) -> str:
    """The compact STATUS (its narrow form): `Ready`, `NotReady` or `Unknown`, then `⊘` when
    cordoned and `!` with a letter per pressure condition: `Ready ⊘ !M`."""
    parts = [row.ready]
    if row.cordoned:
        parts.append(CORDONED)
    if row.pressures:
        parts.append(PRESSURE + "".join(PRESSURE_LETTERS.get(p, "?") for p in row.pressures))
    return " ".join(parts)


def alloc(used: float, total: float, synced: bool = True, unit: str = "") -> tuple[str, Hint]:
    """The ALLOC cell: `   3/8 ▇▇▇▁▁▁▁▁` (`…` for used while pods sync), hint bar:<used %>;
    `unit` follows the numbers when they are not whole GPUs (`3/56 MIG`, `5/16 ×4`)."""
    numbers = f"{gpus(used) if synced else '…'}/{gpus(total)}{' ' + unit if unit else ''} "
    bar, hint = gpu_bar(used, total, BAR_WIDTH)
    return numbers.rjust(8) + bar, hint


def node_units(record: NodeRecord, usage: GpuUsage) -> tuple[float, float, str, str]:
    """(used, total, unit suffix, GPUS text) of a node: ALLOC counts its whole GPUs, else its
    MIG slices, else its shared replicas; GPUS says `8 GPUs · 56 MIG slices`."""
    kinds = g.resource_kinds(record.labels, usage.allocatable.keys() | usage.requested.keys())
    total: dict[str, float] = {}
    used: dict[str, float] = {}
    for name, value in usage.allocatable.items():
        total[kinds[name]] = total.get(kinds[name], 0.0) + value
    for name, value in usage.requested.items():
        used[kinds[name]] = used.get(kinds[name], 0.0) + value
    replicas = g.gpu_replicas(record.labels)
    text = g.units_text(record.gpu_count, total, replicas)
    for kind, unit in ((g.WHOLE, ""), (g.MIG, "MIG"), (g.SHARED, f"×{replicas}")):
        if total.get(kind) or used.get(kind):
            return used.get(kind, 0.0), total.get(kind, 0.0), unit, text
    return 0.0, 0.0, "", text


def node_row(
    row: cv.NodeRow,
    record: NodeRecord,
    figures: Any,
    synced: bool,
    now: float,
    short_name: str | None = None,
) -> Row:
    """The row of one node (`figures`: its `NodeTelemetry`, or None; `short_name`: its
    distinguishing part, the full name when None)."""
    status, hint = node_status(row)
    used, total, unit, units = node_units(record, row.usage)
    has_gpus = row.gpus_allocatable > 0 or bool(row.product) or record.gpu_count > 0
    alloc_hint: Hint = None
    if record.invalid:  # a malformed or absurd quantity (counted as 0): say so, in full
        alloc_text, alloc_hint = INVALID, "bad"
        hint = hint or "warn"
    elif has_gpus:
        alloc_text, alloc_hint = alloc(used, total, synced, unit)
    else:
        alloc_text, hint = "", hint or "dim"
    taints = [t for t in row.taints if not t.startswith(EXPECTED_TAINTS)]
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
        (units if has_gpus else "", None),
        (alloc_text, alloc_hint),
        (gpus(max(0.0, total - used)) if has_gpus else "", None),
        *gauges[:2],
        (str(row.gpu_pods) if has_gpus else "", None),
        *gauges[2:],
        (row.sharing, None),
        (",".join(taints), None),
        (age(row.age), None),
        (short_name or row.name, None),
        (node_state(row), None),
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
    short = node_short_names(session)
    now = ctx.now
    cache.begin((include_cpu, scope, short))  # the same object while no short name changes
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
            built = node_row(row, node, figures, synced, now, short.get(name))
            row = cache.put(name, inputs, built)
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
        Column("name", "NAME", 0, 16, narrow="short", cut="middle"),
        Column("status", "STATUS", 0, 8, narrow="state"),
        Column("pool", "POOL", 6, 10),
        Column("gpu", "GPU", 4, 10),
        Column("gpus", "GPUS", 5, 6),
        _right("alloc", "ALLOC", 0, 16),
        _right("free", "FREE", 1, 4),
        UTIL,
        _right("max", "MAX", 3, 4, telemetry=True),
        _right("pods", "GPU PODS", 5, 8),
        _right("mem", "MEM", 4, 4, telemetry=True),
        _right("temp", "TEMP", 2, 4, telemetry=True),
        _right("power", "POWER", 6, 6, telemetry=True),
        _right("xid", "XID", 1, 3, telemetry=True),
        Column("sharing", "SHARING", 5, 9),
        Column("taints", "TAINTS", 7, 10),
        Column("age", "AGE", 8, 5, sort="value"),
        # narrow forms, shown in the place of NAME and STATUS when those do not fit
        Column("short", "NAME", 6, 8, cut="middle"),
        Column("state", "STATUS", 6, 5),
    ),
    build_nodes,
    lambda node: ("pods", Scope(f"pods on node {node.name}", node=node.name)),
    lambda _node: "nodes",
)
AGE_INDEX = [c.key for c in NODES.columns].index("age")
