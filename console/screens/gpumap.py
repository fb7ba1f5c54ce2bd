"""`GpuMapScreen` (`:gpumap`, `:map`): every GPU of the cluster as one heatmap cell.

Per-GPU mode: node pools → nodes → one cell per GPU (`console.metrics.gpu_map`), coloured
and shaped by utilization on the theme's colour-blind-safe scale. Per-node mode: one
cell per node (its mean utilization), nodes packed per pool — 10,000 nodes fit on two
screens where 80,000 GPU cells take 10,000 lines. The map opens per node above
`PER_NODE_ABOVE` GPUs; `a` toggles.

Cost: the layout is rebuilt only when the node list changes (the session's node version)
or new GPUs first report; each telemetry sample costs one `store.map_values()` and one
`GpuHeatmap.update_values` (no relayout), and the heatmap renders only visible lines.
Cluster changes that do not touch nodes cost nothing here.

Keys: arrows / PgUp / PgDn / Home / End move the cursor; Enter opens the node's GPU tab
(on that GPU); `p` the pod holding the cursor GPU; `d` describes the node; `a` per GPU
↔ per node; `:` commands; Esc back; `?` help.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from console.commands import completion_words
from console.host import Host
from console.metrics import MapGroup, TelemetryStore, gpu_map
from console.text import clean_line
from widgets.command_bar import CommandBar
from widgets.gpu_bar import util_text
from widgets.header import ClusterHeader
from widgets.heatmap import GpuHeatmap, HeatCell, HeatGroup, HeatRow
from widgets.status_line import Part, StatusLine

PER_NODE_ABOVE = 2000
"""GPUs above which the map opens with one cell per node."""


LABEL = 28
"""Row label cells; longer node names keep their distinguishing tail (`…2265b1f5-5sl6`)."""


def node_label(name: str, width: int = LABEL) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def build_groups(layout: Sequence[MapGroup], per_node: bool) -> list[HeatGroup]:
    """Heatmap groups of a `gpu_map` layout: per pool, one row per node with one cell per
    GPU (`<node>/<index>`), or — `per_node` — one row per pool with one cell per node."""
    if per_node:
        return [
            HeatGroup(g.pool, [HeatRow("nodes", [HeatCell(r.node) for r in g.rows])])
            for g in layout
        ]
    return [
        HeatGroup(
            g.pool, [HeatRow(node_label(r.node), [HeatCell(k) for k in r.keys]) for r in g.rows]
        )
        for g in layout
    ]


class GpuMapScreen(Screen[None]):
    """The cluster's GPUs as a heatmap with a cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("colon", "command", "Cmd", key_display=":", tooltip="command (see below)"),
        Binding("a", "toggle_mode", "Per node/GPU",
                tooltip="one cell per GPU ↔ one cell per node (mean utilization)"),
        Binding("p", "pod", "Pod", tooltip="the pod holding the cursor GPU"),
        Binding("d", "describe", "Describe", tooltip="describe the cursor's node"),
        Binding("escape", "back", "Back", tooltip="back"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this help"),
    ]  # fmt: skip

    CSS = """
    GpuMapScreen #title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    GpuMapScreen #bottom { dock: bottom; height: auto; }
    GpuMapScreen #bottom > .status-line { dock: none; }
    GpuMapScreen #bottom > CommandBar { dock: none; }
    GpuMapScreen #bottom > Footer { dock: none; }
    """

    view_name = "gpumap"

    def __init__(self, per_node: bool | None = None) -> None:
        super().__init__()
        self.per_node = per_node
        """None: choose by size on the first layout."""
        self._layout_key: tuple[Any, ...] | None = None
        self._samples = -2
        self.gpus = 0
        self.nodes = 0

    @property
    def kmc(self) -> Host:
        return cast(Host, self.app)

    @property
    def heatmap(self) -> GpuHeatmap:
        return self.query_one(GpuHeatmap)

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header", clock=self.kmc.header_clock)
        yield Static(id="title", markup=False)
        yield GpuHeatmap(id="heatmap")
        with Vertical(id="bottom"):
            yield StatusLine(classes="status-line", id="status")
            yield CommandBar(completion_words(), id="bar")
            yield Footer()

    def on_mount(self) -> None:
        self.refresh_data()
        self.heatmap.focus()

    def on_screen_resume(self) -> None:
        self.refresh_data()
        self.kmc.update_telemetry_focus()
        self.heatmap.focus()

    def telemetry_focus(self) -> tuple[str, ...]:
        return ()

    # ------------------------------------------------------------ data

    def refresh_data(self) -> None:
        """Relayout when nodes changed, new values when telemetry sampled (UI thread)."""
        if not self.is_mounted:
            return
        app = self.kmc
        self.query_one(ClusterHeader).data = app.header_data("gpumap")
        session, link = app.session, app.telemetry
        if session is None:
            return
        store = link.store if link.store is not None else TelemetryStore(2)
        samples = store.samples if link.has_data() else -1
        nodes_version = session.kind_version("nodes")
        unchanged = self._layout_key is not None and self._layout_key[0] == nodes_version
        if samples == self._samples and unchanged:
            return
        self._samples = samples
        values = store.map_values() if samples >= 0 else {}
        layout_key = (nodes_version, len(values), self.per_node)
        if layout_key != self._layout_key:
            self._relayout(store, session.cache, len(values))
            self._layout_key = (nodes_version, len(values), self.per_node)
        if self.per_node:
            means = {name: f.mean_util for name, f in link.nodes().items()}
            self.heatmap.update_values(means)
        else:
            self.heatmap.update_values(values)
        self._update_title()
        self._update_status()

    def _relayout(self, store: TelemetryStore, cache: Any, seen: int) -> None:
        groups = gpu_map(store, cache)
        self.nodes = sum(len(g.rows) for g in groups)
        self.gpus = sum(len(r.keys) for g in groups for r in g.rows)
        if self.per_node is None:
            self.per_node = self.gpus > PER_NODE_ABOVE
        heatmap = self.heatmap
        heatmap.unit = "nodes" if self.per_node else "GPUs"
        heatmap.set_groups(build_groups(groups, self.per_node))

    def _update_title(self) -> None:
        mode = "one cell per node (mean)" if self.per_node else "one cell per GPU"
        other = "per GPU" if self.per_node else "per node"
        title = Text(f"GPU map · {self.gpus} GPUs on {self.nodes} nodes · {mode}", end="")
        title.append(f"  (a: {other})", "dim")
        self.query_one("#title", Static).update(title)

    def _cursor(self) -> tuple[str, int | None] | None:
        """(node, GPU index or None in per-node mode) under the cursor."""
        key = self.heatmap.cursor_key
        if key is None:
            return None
        node, _, index = key.rpartition("/")
        if not node:
            return key, None
        return node, int(index) if index.isdigit() else None

    def _update_status(self) -> None:
        """The cursor's node (in full) and GPU or node figures, XID and telemetry trouble;
        fitted to the width by importance: the counts go first, the node, GPU, its
        utilization and an XID stay."""
        parts: list[Part] = []
        where = self._cursor()
        link = self.kmc.telemetry

        def add(text: str | Text, importance: int = 0, cut: str = "none") -> None:
            item = Text("· ", end="")
            item.append_text(text if isinstance(text, Text) else Text(text, end=""))
            parts.append(Part((item,), importance, cut, gap=1))

        if where is None:
            parts.append(Part.of("no GPU nodes", gap=0))
        else:
            node, index = where
            parts.append(Part.of(clean_line(node), cut="middle", gap=0))
            figures = link.nodes().get(node)
            if index is None:
                if figures is not None:
                    add(f"{figures.gpus} GPUs", 3)
                    add(Text("mean ", end="") + util_text(figures.mean_util, width=0), 1)
                    add(Text("max ", end="") + util_text(figures.max_util, width=0), 2)
                    add(f"idle {figures.idle_gpus}", 2)
                    if figures.last_xid:
                        add(f"XID {figures.last_xid}")
            else:
                add(f"GPU {index}")
                key = f"{node}/{index}"
                value = self.heatmap.value_of(key) if key else None
                add(Text("util ", end="") + util_text(value, width=0))
                row = self._gpu_row(node, index)
                if row is not None:
                    pods = clean_line(", ".join(row.pods)) if row.pods else "free"
                    add(pods, 1, "middle")
                    if row.xid:
                        add(f"XID {row.xid}")
        label, hint = link.label()
        if hint in ("warn", "error"):
            label = clean_line(label)
            forms = (f"· {label}", f"· {label.partition(': ')[0]}")
            parts.append(Part.of(*forms, importance=1 if hint == "error" else 2))
        self.query_one("#status", StatusLine).set_parts(parts)

    def _gpu_row(self, node: str, index: int) -> Any:
        store = self.kmc.telemetry.store
        if store is None:
            return None
        return next((r for r in store.gpu_rows(node) if r.index == index), None)

    def on_gpu_heatmap_cell_highlighted(self, event: GpuHeatmap.CellHighlighted) -> None:
        self._update_status()

    def on_gpu_heatmap_cell_selected(self, event: GpuHeatmap.CellSelected) -> None:
        event.stop()
        where = self._cursor()
        if where is not None:
            self._open_node(where[0], "gpus", where[1])

    # ------------------------------------------------------------ actions

    def _open_node(self, node: str, tab: str, gpu: int | None = None) -> None:
        session = self.kmc.session
        record = session.get("nodes", ("", node)) if session else None
        if record is None:
            self.kmc.notify(f"node {node} is gone", severity="warning", markup=False)
            return
        from console.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen("nodes", record, tab, gpu))

    def action_describe(self) -> None:
        where = self._cursor()
        if where is not None:
            self._open_node(where[0], "describe")

    def action_pod(self) -> None:
        where = self._cursor()
        session = self.kmc.session
        if where is None or where[1] is None or session is None:
            return
        row = self._gpu_row(*where)  # type: ignore[arg-type]
        if row is None or not row.pods:
            self.kmc.notify("no pod holds this GPU", markup=False)
            return
        namespace, _, name = row.pods[0].partition("/")
        record = session.get("pods", (namespace, name))
        if record is None:
            self.kmc.notify(f"pod {row.pods[0]} is not in the cache", markup=False)
            return
        from console.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen("pods", record))

    def action_toggle_mode(self) -> None:
        where = self._cursor()
        self.per_node = not self.per_node
        self._layout_key = None
        self._samples = -2
        self.refresh_data()
        if where is not None:  # keep the cursor on the same node
            key = where[0] if self.per_node else f"{where[0]}/{where[1] or 0}"
            if not self.heatmap.move_to_key(key):
                self.heatmap.move_to_key(where[0])
        self._update_status()

    def action_command(self) -> None:
        self.query_one(CommandBar).open(":")

    async def on_command_bar_submitted(self, event: CommandBar.Submitted) -> None:
        self.heatmap.focus()
        if event.text:
            await self.kmc.run_command(event.text)

    def on_command_bar_cancelled(self, event: CommandBar.Cancelled) -> None:
        self.heatmap.focus()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def action_help(self) -> None:
        self.kmc.show_help("gpumap")
