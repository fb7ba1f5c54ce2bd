"""`NodeGpus`: the GPU tab of a GPU node's detail screen — one row per GPU, and per MIG instance after its GPU.

Rows come from `console.render.gpus.gpu_rows` over `TelemetryStore.gpu_rows(node)` (a
node has a handful of GPUs, so they are built here on each telemetry sample); while the
screen is visible the app focuses the poller on this node, so a Prometheus source
fetches its per-GPU detail and seeds history. Enter on a GPU posts `PodChosen` with the
pod holding it (the detail screen opens it). Columns drop by priority when narrow.
"""

from __future__ import annotations

from typing import Any, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from console.host import Host
from console.metrics import GpuRow
from console.render.base import measure
from console.render.fmt import util
from console.render.gpus import GPU_COLUMNS, gpu_rows, summary_source
from console.screens.resource import table_columns
from themes import health_color
from widgets.virtual_table import VirtualTable


class NodeGpus(Vertical):
    """A summary line and the per-GPU table of one node."""

    DEFAULT_CSS = """
    NodeGpus { height: 1fr; }
    NodeGpus > #gpu-summary { height: auto; padding: 0 1; }
    NodeGpus > VirtualTable { height: 1fr; }
    """

    class PodChosen(Message):
        """Enter on a GPU held by `pod` ("namespace/name")."""

        def __init__(self, pod: str) -> None:
            super().__init__()
            self.pod = pod

    def __init__(self, node: str, select: int | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.node = node
        self.select = select
        self.rows: list[GpuRow] = []
        self._widths: dict[str, int] = {}
        self._skip: set[str] = set()

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    @property
    def table(self) -> VirtualTable:
        return self.query_one(VirtualTable)

    def compose(self) -> ComposeResult:
        yield Static(id="gpu-summary", markup=False)
        yield VirtualTable(table_columns(GPU_COLUMNS, None, {"mig"}))

    def refresh_data(self) -> None:
        """Read the node's GPUs from the telemetry store and update the table (UI thread)."""
        if not self.is_mounted:
            return
        link = self.host.telemetry
        store = link.store
        self.rows = store.gpu_rows(self.node) if store is not None and link.has_data() else []
        rows = gpu_rows(self.rows, self.app.size.width)
        self.query_one("#gpu-summary", Static).update(self._summary(store))
        table = self.table
        widths = measure(GPU_COLUMNS, rows)
        # the MIG column only on a node with MIG GPUs
        skip = set() if any(r.instances or r.mig_id is not None for r in self.rows) else {"mig"}
        if (widths, skip) != (self._widths, self._skip):
            self._widths, self._skip = widths, skip
            table.set_columns(table_columns(GPU_COLUMNS, widths, skip))
        table.set_rows(rows, {row.key: i for i, row in enumerate(rows)})
        if self.select is not None and table.move_to_key(str(self.select)):
            self.select = None

    def _summary(self, store: Any) -> Text:
        link = self.host.telemetry
        text = Text(end="")
        figures = link.nodes().get(self.node)
        if figures is None:
            failed = store.failed().get(self.node) if store is not None else None
            label, _hint = link.label()
            text.append(f"no GPU telemetry for this node: {failed or label}")
            return text
        model = self.rows[0].model if self.rows else ""
        text.append(f"{figures.gpus} GPUs" + (f" {model}" if model else ""))
        instances = sum(1 for r in self.rows if r.mig_id is not None)
        if instances:
            text.append(f" · {instances} MIG instances")
        text.append(f"  mean {util(figures.mean_util)[0].strip()}")
        text.append(f"  max {util(figures.max_util)[0].strip()}")
        if figures.mem_pct is not None:
            text.append(f"  mem {figures.mem_pct:.0f}%")
        if figures.hottest is not None:
            text.append(f"  hottest {figures.hottest:.0f}°C")
        if figures.power is not None:
            text.append(f"  power {figures.power:.0f} W")
        text.append(f"  allocated-idle {figures.idle_gpus}")
        if figures.last_xid:
            gpus = ",".join(str(i) for i in figures.xid_gpus)
            xid = health_color("error", self.app.current_theme) or "red"
            text.append(f"  XID {figures.last_xid} on GPU {gpus}", f"bold {xid}")
        source = summary_source(self.rows)
        if source:
            text.append(f"  · {source}", "dim")
        if store is not None:
            period = link.poller.period if link.poller else 0
            text.append(f"  · history {store.history} samples ~{period:.0f}s apart", "dim")
        return text

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        """Enter on a GPU: the detail of the pod holding it."""
        event.stop()
        row = next((r for r in self.rows if r.key == event.key), None)
        if row is not None and row.pods:
            self.post_message(self.PodChosen(row.pods[0]))
