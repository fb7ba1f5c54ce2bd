"""A GPU node's GPUs (the GPU tab of its detail screen): one row per GPU from the telemetry
store's `GpuRow`s — index, short UUID, utilization and memory sparklines (oldest → newest,
`·` for a missing sample), utilization, memory, framebuffer, temperature, power, SM clock,
last XID and the pods holding the GPU. A MIG GPU (`MIG ×4`) is followed by one row per
instance (`0/9`, its `GPU_I_PROFILE`, its own utilization and pod); an instance's
utilization is the graphics engine's active ratio (`DCGM_FI_PROF_GR_ENGINE_ACTIVE`), the
parent's the slice-weighted mean of its instances (`summary_source` says so)."""

from __future__ import annotations

from collections.abc import Sequence

from console.metrics.model import GR_METRIC, GpuRow
from console.render.base import EMPTY, Column, Hint, Row, capped, styles_of
from console.render.fmt import HOT_C, pct, short_uuid, sparkline, temp, util, util_hint


def _right(key: str, label: str, priority: int, width: int) -> Column:
    return Column(key, label, priority, width, "right", "number")


GPU_COLUMNS = (
    _right("gpu", "GPU", 0, 3),
    Column("mig", "MIG", 2, 7),
    Column("uuid", "UUID", 6, 12),
    Column("util_hist", "UTIL HISTORY", 1, 10),
    _right("util", "UTIL", 0, 4),
    Column("mem_hist", "MEM HISTORY", 4, 10),
    _right("mem", "MEM", 1, 4),
    Column("fb", "FB USED", 7, 9, sort="number"),
    _right("temp", "TEMP", 2, 4),
    _right("power", "POWER", 3, 6),
    _right("sm", "SM CLK", 5, 8),
    _right("xid", "XID", 1, 3),
    Column("pod", "POD", 0, 12),
)


def spark_width(width: int) -> int:
    """Sparkline cells for a terminal `width` columns wide."""
    return 30 if width >= 150 else 20 if width >= 120 else 16 if width >= 100 else 10


def _gib(mib: float | None) -> str:
    return "-" if mib is None else f"{mib / 1024:.0f}"


def gpu_row(r: GpuRow, spark: int) -> Row:
    """The row of one GPU, its sparklines `spark` cells wide."""
    hot = r.temp is not None and r.temp >= HOT_C
    hint: Hint = "bad" if r.xid else "warn" if hot or (r.idle and r.pods) else None
    fb = (
        f"{_gib(r.mem_used_mib)}/{_gib(r.mem_total_mib)} GiB"
        if r.mem_total_mib is not None
        else "-"
    )
    util_text, util_style = util(r.util)
    temp_text, temp_style = temp(r.temp)
    if r.mig_id is not None:
        mig = r.profile or "instance"
    else:
        mig = f"MIG ×{r.instances}" if r.instances else ""
    cells = (
        (str(r.index) if r.mig_id is None else f"{r.index}/{r.mig_id}", None),
        (mig, None),
        (short_uuid(r.uuid) if r.mig_id is None else "", None),
        (sparkline(r.util_history, spark), util_hint(r.util)),
        (util_text, util_style),
        (sparkline(r.mem_history, spark), None),
        (pct(r.mem_pct), None),
        (fb, None),
        (temp_text, temp_style),
        ("-" if r.power is None else f"{r.power:.0f} W", None),
        ("-" if r.sm_clock is None else f"{r.sm_clock:.0f} MHz", None),
        (str(r.xid) if r.xid else "", "bad" if r.xid else None),
        (", ".join(r.pods) if r.pods else "(free)", None),
    )
    return Row(
        r.key,
        capped(tuple(c for c, _ in cells)),
        hint,
        styles_of([s for _, s in cells]),
        EMPTY,
        r,
    )


def gpu_rows(rows: Sequence[GpuRow], width: int) -> list[Row]:
    """The rows of a node's GPUs for a terminal `width` columns wide."""
    spark = spark_width(width)
    return [gpu_row(r, spark) for r in rows]


def summary_source(rows: Sequence[GpuRow]) -> str:
    """Where the utilization figures come from, when not all from DCGM_FI_DEV_GPU_UTIL:
    `util: DCGM_FI_PROF_GR_ENGINE_ACTIVE (MIG: 2 GPUs, 7 instances)`, else ""."""
    if not any(r.util_metric == GR_METRIC for r in rows):
        return ""
    parents = sum(1 for r in rows if r.instances)
    instances = sum(1 for r in rows if r.mig_id is not None)
    mig = f" (MIG: {parents} GPUs, {instances} instances)" if instances else ""
    return f"util: {GR_METRIC}{mig}"
