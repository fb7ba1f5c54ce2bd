"""`kmc gpus`: one row per GPU of every GPU node, from the telemetry store — the node detail
screen's GPU rows (`console.render.gpus.gpu_row`) with the node and model in front and
without the sparklines (one reading has no history worth drawing). With a namespace, only
the GPUs its pods hold. No Textual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.render.base import Column, Row, RowCache, RowContext, View, capped
from console.render.gpus import GPU_COLUMNS, gpu_row

if TYPE_CHECKING:
    from console.cluster.session import ClusterSession

_DROPPED = ("util_hist", "mem_hist")
_KEPT = [i for i, c in enumerate(GPU_COLUMNS) if c.key not in _DROPPED]

COLUMNS = (
    Column("node", "NODE", 0, 16, cut="middle"),
    Column("model", "MODEL", 2, 12),
    *(GPU_COLUMNS[i] for i in _KEPT),
)


def gpu_rows_all(store: Any, nodes: list[str], namespace: str | None = None) -> list[Row]:
    """Every GPU (and MIG instance) of `nodes` that the store has readings for."""
    out = []
    for node in nodes:
        for reading in store.gpu_rows(node):
            if namespace and not any(p.startswith(f"{namespace}/") for p in reading.pods):
                continue
            row = gpu_row(reading, 10)
            cells = capped((node, reading.model or "-", *(row.cells[i] for i in _KEPT)))
            styles = None
            if row.styles is not None:
                styles = (row.hint, None, *(row.styles[i] for i in _KEPT))
            out.append(Row(f"{node}/{row.key}", cells, row.hint, styles, record=reading))
    return out


def build_gpus(session: ClusterSession, ctx: RowContext, cache: RowCache) -> list[Row]:
    store = getattr(ctx.telemetry, "store", None)
    if store is None or "nodes" not in session.cache:
        return []
    nodes = sorted(n.name for n in session.cache["nodes"].by_index("gpu", "gpu"))
    return gpu_rows_all(store, nodes, ctx.namespace)


GPUS = View("gpus", "GPUs", COLUMNS, build_gpus, lambda _r: None, lambda _r: "nodes")
