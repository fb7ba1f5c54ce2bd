"""`NodeGpus`: the GPU tab of a GPU node's detail screen — one row per GPU.

Index, UUID (shortened), utilization and memory sparklines from the telemetry store's
history (oldest → newest, `·` where a sample is missing), utilization %, memory %, framebuffer
used / total, temperature, power, SM clock, last XID, and the pod(s) holding the GPU.
Enter on a row opens the holding pod. Rows come from `TelemetryStore.gpu_rows(node)`;
while the screen is visible the app focuses the poller on this node, so a Prometheus
source fetches its per-GPU detail and seeds history. Columns drop by priority when narrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from console.metrics import GpuRow
from console.screens.telemetry import HOT_C, hint_styles, pct, short_uuid, temp_cell
from console.screens.viewbase import Column, Item, measure, visible_columns
from themes import UtilScale, util_scale
from widgets.gpu_bar import util_style, util_text
from widgets.resource_table import ColumnSpec, ResourceTable
from widgets.sparkline import sparkline_text

if TYPE_CHECKING:
    from console.app import KmcApp

COLUMNS = (
    Column("gpu", "GPU", 0, 3, numeric=True),
    Column("uuid", "UUID", 6, 12),
    Column("util_hist", "UTIL HISTORY", 1, 10),
    Column("util", "UTIL", 0, 4, numeric=True),
    Column("mem_hist", "MEM HISTORY", 4, 10),
    Column("mem", "MEM", 1, 4, numeric=True),
    Column("fb", "FB USED", 7, 9),
    Column("temp", "TEMP", 2, 4, numeric=True),
    Column("power", "POWER", 3, 6, numeric=True),
    Column("sm", "SM CLK", 5, 8, numeric=True),
    Column("xid", "XID", 1, 3, numeric=True),
    Column("pod", "POD", 0, 12),
)


def spark_width(width: int) -> int:
    """Sparkline cells for a terminal `width` columns wide."""
    return 30 if width >= 150 else 20 if width >= 120 else 16 if width >= 100 else 10


def _gib(mib: float | None) -> str:
    return "-" if mib is None else f"{mib / 1024:.0f}"


def gpu_items(
    rows: list[GpuRow], width: int, scale: UtilScale, warn: Style, error: Style
) -> list[Item]:
    """The table items of a node's GPUs."""
    spark = spark_width(width)
    out = []
    for r in rows:
        hot = r.temp is not None and r.temp >= HOT_C
        hint = "error" if r.xid else "warn" if hot or (r.idle and r.pods) else None
        fb = (
            f"{_gib(r.mem_used_mib)}/{_gib(r.mem_total_mib)} GiB"
            if r.mem_total_mib is not None
            else "-"
        )
        cells = (
            r.index,
            short_uuid(r.uuid),
            sparkline_text(r.util_history, spark, style=util_style(r.util, scale)),
            util_text(r.util, scale=scale),
            sparkline_text(r.mem_history, spark, style="italic"),
            pct(r.mem_pct),
            fb,
            temp_cell(r.temp, warn),
            "-" if r.power is None else f"{r.power:.0f} W",
            "-" if r.sm_clock is None else f"{r.sm_clock:.0f} MHz",
            Text(str(r.xid), style=error, justify="right") if r.xid else "",
            Text(", ".join(r.pods) if r.pods else "(free)", end=""),
        )
        out.append(Item(str(r.index), cells, hint, {}, r))
    return out


class NodeGpus(Vertical):
    """A summary line and the per-GPU table of one node."""

    DEFAULT_CSS = """
    NodeGpus { height: 1fr; }
    NodeGpus > #gpu-summary { height: auto; padding: 0 1; }
    """

    def __init__(self, node: str, select: int | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.node = node
        self.select = select
        self.columns: list[Column] = []
        self.rows: list[GpuRow] = []
        self._serial = 0
        self._widths: dict[str, int] | None = None

    @property
    def kmc(self) -> KmcApp:
        return self.app  # type: ignore[return-value]

    @property
    def table(self) -> ResourceTable:
        return self.query_one(ResourceTable)

    def compose(self) -> ComposeResult:
        yield Static(id="gpu-summary", markup=False)
        self.columns = visible_columns(COLUMNS, self.kmc.size.width)
        yield self._new_table()

    def _new_table(self) -> ResourceTable:
        self._serial += 1
        specs = [ColumnSpec(c.key, c.label, None, c.numeric) for c in self.columns]
        return ResourceTable(specs, id=f"gpu-table-{self._serial}")

    async def on_resize(self, event: events.Resize) -> None:
        await self._relayout()

    async def _relayout(self) -> None:
        columns = visible_columns(COLUMNS, self.kmc.size.width, (), self._widths)
        if columns == self.columns or not self.is_mounted:
            return
        self.columns = columns
        old = self.table
        had_focus, cursor = old.has_focus, old.current_row_key
        table = self._new_table()
        await self.mount(table, after=old)
        await old.remove()
        self.refresh_data()
        if cursor:
            table.move_to_key(cursor)
        if had_focus:
            table.focus()

    def refresh_data(self) -> None:
        """Read the node's GPUs from the telemetry store and update the table (UI thread)."""
        if not self.is_mounted:
            return
        link = self.kmc.telemetry
        store = link.store
        self.rows = store.gpu_rows(self.node) if store is not None and link.has_data() else []
        width = self.kmc.size.width
        scale = util_scale(self.kmc.current_theme)
        warn, error = hint_styles(self.kmc.current_theme)
        items = gpu_items(self.rows, width, scale, warn, error)
        self.query_one("#gpu-summary", Static).update(self._summary(store))
        if items:
            self._widths = measure(COLUMNS, items)
            if visible_columns(COLUMNS, width, (), self._widths) != self.columns:
                self.call_later(self._relayout)
        indexes = [COLUMNS.index(c) for c in self.columns]
        table = self.table
        table.set_rows((i.key, [i.cells[j] for j in indexes], i.hint) for i in items)
        if self.select is not None and table.move_to_key(str(self.select)):
            self.select = None

    def _summary(self, store: Any) -> Text:
        link = self.kmc.telemetry
        text = Text(end="")
        figures = link.nodes().get(self.node)
        if figures is None:
            failed = store.failed().get(self.node) if store is not None else None
            label, _hint = link.label()
            text.append(f"no GPU telemetry for this node: {failed or label}")
            return text
        scale = util_scale(self.kmc.current_theme)
        model = self.rows[0].model if self.rows else ""
        text.append(f"{figures.gpus} GPUs" + (f" {model}" if model else "") + "  mean ")
        text.append_text(util_text(figures.mean_util, scale=scale, width=0))
        text.append("  max ")
        text.append_text(util_text(figures.max_util, scale=scale, width=0))
        if figures.mem_pct is not None:
            text.append(f"  mem {figures.mem_pct:.0f}%")
        if figures.hottest is not None:
            text.append(f"  hottest {figures.hottest:.0f}°C")
        if figures.power is not None:
            text.append(f"  power {figures.power:.0f} W")
        text.append(f"  allocated-idle {figures.idle_gpus}")
        if figures.last_xid:
            gpus = ",".join(str(i) for i in figures.xid_gpus)
            text.append(
                f"  XID {figures.last_xid} on GPU {gpus}", hint_styles(self.kmc.current_theme)[1]
            )
        if store is not None:
            period = link.poller.period if link.poller else 0
            text.append(f"  · history {store.history} samples ~{period:.0f}s apart", "dim")
        return text

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a GPU: the detail of the pod holding it."""
        event.stop()
        row = next((r for r in self.rows if str(r.index) == event.row_key.value), None)
        session = self.kmc.session
        if row is None or not row.pods or session is None:
            return
        namespace, _, name = row.pods[0].partition("/")
        record = session.get("pods", (namespace, name))
        if record is None:
            self.kmc.notify(f"pod {row.pods[0]} is not in the cache", markup=False)
            return
        from console.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen("pods", record))
