"""`ResourceScreen`: one resource view (GPU nodes, training jobs, model servers, GPU pods).

Composes the cluster header, a title line, the diff-updating `ResourceTable`, a status
line, the `:` / `/` command bar and the footer. It never fetches: the app calls
`refresh_data()` (at most every ~250 ms, only on the visible screen) and the screen
reads the session's caches, filters, and hands the table a snapshot of rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static

from console.screens.filter import RowFilter, parse_filter
from console.screens.telemetry import hint_styles
from console.screens.views import (
    VIEWS,
    Column,
    Item,
    ItemCache,
    RowContext,
    Scope,
    measure,
    visible_columns,
)
from themes import util_scale
from widgets.command_bar import CommandBar
from widgets.header import ClusterHeader
from widgets.resource_table import Cell, ColumnSpec, ResourceTable, SortableCell

if TYPE_CHECKING:
    from console.app import KmcApp

KEYS_HELP: dict[str, str] = {
    "enter": "drill down (node → pods, job → pods, server → pods, pod → node)",
    "g": "the selected node's GPUs (nodes view)",
    "d": "describe the selected row",
    "y": "YAML of the selected row",
    "e": "events of the selected row",
    "s / S": "sort by the next column / reverse the sort",
    "N / A": "sort by name / by age",
    "c": "show or hide CPU-only nodes (nodes view)",
    "/": "filter: regex, -l key=value label selector, ! inverts",
    ":": "command: nodes jobs servers pods gpumap ctx ns q",
    "esc": "clear the filter, else back",
    "?": "this help",
    "ctrl+p": "command palette",
    "q / ctrl+c": "quit",
}


FILTER_DEBOUNCE = 0.08
"""Seconds after the last key of a filter before it is applied."""


def _text(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell or "")


class ResourceScreen(Screen[None]):
    """A table of one kind of resource, optionally scoped by a drill-down."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("colon", "command", "Cmd", key_display=":"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("enter", "drill", "Drill", show=False),
        Binding("d", "detail('describe')", "Describe"),
        Binding("g", "gpus", "GPUs", show=False),
        Binding("y", "detail('yaml')", "YAML"),
        Binding("e", "detail('events')", "Events"),
        Binding("s", "sort_next", "Sort"),
        Binding("S", "sort_reverse", "Reverse", show=False),
        Binding("N", "sort_column('name')", "Sort name", show=False),
        Binding("A", "sort_column('age')", "Sort age", show=False),
        Binding("c", "toggle_cpu", "CPU nodes", show=False),
        Binding("escape", "back", "Back"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    CSS = """
    ResourceScreen #title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    ResourceScreen #notes { height: auto; padding: 0 1; color: $text-warning; display: none; }
    ResourceScreen #empty { height: auto; padding: 1 2; color: $text-muted; display: none; }
    ResourceScreen #bottom { dock: bottom; height: auto; }
    ResourceScreen #bottom > .status-line { dock: none; }
    ResourceScreen #bottom > CommandBar { dock: none; }
    ResourceScreen #bottom > Footer { dock: none; }
    """

    def __init__(self, view: str, scope: Scope | None = None) -> None:
        super().__init__()
        self.view = VIEWS[view]
        self.scope = scope
        self.row_filter: RowFilter = parse_filter("")
        self._filter_before = ""
        self.sort: tuple[str, bool] = ("name", False)
        self.show_cpu_nodes = False
        self.columns: list[Column] = []
        self.items: list[Item] = []
        self.shown = 0
        self._table_serial = 0
        self._widths: dict[str, int] | None = None
        self._relayout_pending = False
        self._cache = ItemCache(self.view.columns)
        self._rows: dict[str, tuple[Item, list[Cell], list[str] | None]] = {}
        """Per row key: the item, its cells in `self.columns`, their texts (for the filter,
        made on first use); valid while the item is the same object and the columns hold."""
        self._rows_columns: list[Column] = []
        self._filter_timer: Timer | None = None

    @property
    def kmc(self) -> KmcApp:
        return self.app  # type: ignore[return-value]

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header", clock=self.kmc.header_clock)
        yield Static(id="title", markup=False)
        yield Static(id="notes", markup=False)
        self.columns = self._fit_columns(self.kmc.size.width)
        yield self._new_table()
        yield Static(id="empty", markup=False)
        with Vertical(id="bottom"):
            yield Static(classes="status-line", id="status", markup=False)
            yield CommandBar(self.kmc.command_words(), id="bar")
            yield Footer()

    def on_mount(self) -> None:
        self.show_cpu_nodes = self.kmc.settings.show_cpu_nodes
        self.refresh_data()

    def on_screen_resume(self) -> None:
        self.refresh_data()
        self.kmc.update_telemetry_focus()
        self.table.focus()

    @property
    def view_name(self) -> str:
        return self.view.name

    @property
    def table(self) -> ResourceTable:
        return self.query_one(ResourceTable)

    def _fit_columns(self, width: int) -> list[Column]:
        skip = ["namespace"] if self._single_namespace() else []
        if not self.kmc.telemetry.enabled:
            skip += [c.key for c in self.view.columns if c.telemetry]
        return visible_columns(self.view.columns, width, skip, self._widths)

    def _single_namespace(self) -> bool:
        return bool(self.kmc.namespace) and not (self.scope and self.scope.node)

    def _new_table(self) -> ResourceTable:
        self._table_serial += 1
        specs = [ColumnSpec(c.key, c.label, None, c.numeric) for c in self.columns]
        table = ResourceTable(specs, id=f"table-{self._table_serial}")
        if self.sort[0] in {c.key for c in self.columns}:
            table.sort_by(*self.sort)
        return table

    async def on_resize(self, event: events.Resize) -> None:
        await self._relayout()

    async def _relayout(self) -> None:
        self._relayout_pending = False
        columns = self._fit_columns(self.size.width or self.kmc.size.width)
        if columns == self.columns or not self.is_mounted:
            return
        self.columns = columns
        old = self.table
        had_focus = old.has_focus
        cursor = old.current_row_key
        table = self._new_table()
        await self.mount(table, after=old)
        await old.remove()
        self.refresh_data()
        if cursor:
            table.move_to_key(cursor)
        if had_focus:
            table.focus()

    # ------------------------------------------------------------ data

    def refresh_data(self) -> None:
        """Read the caches and update every part of the screen (UI thread)."""
        if not self.is_mounted:
            return
        app = self.kmc
        session = app.session
        self.query_one(ClusterHeader).data = app.header_data(self.view.name)
        self._update_title()
        if session is None:
            return
        warn, error = hint_styles(app.current_theme)
        ctx = RowContext(
            now=app.now(),
            namespace=app.namespace,
            show_cpu_nodes=self.show_cpu_nodes,
            scale=util_scale(app.current_theme),
            scope=self.scope,
            telemetry=app.telemetry,
            warn=warn,
            error=error,
        )
        cached = self.view.build_cached
        if cached is not None:
            self.items = cached(session, ctx, self._cache)
        else:
            self.items = self.view.build(session, ctx)
        if self.items:
            # Kept up to date as items are built (a pass over every row would cost as much).
            self._widths = (
                self._cache.widths() if cached else measure(self.view.columns, self.items)
            )
            fit = self._fit_columns(self.size.width or app.size.width)
            if fit != self.columns and not self._relayout_pending:
                self._relayout_pending = True
                self.call_later(self._relayout)
        self._show()
        self._update_notes(session.notes(self.view.name))
        if self.shown:
            app.first_rows_shown(self.view.name, self.shown)

    def _show(self) -> None:
        """Hand the table the items that pass the filter (cells of unchanged items reused)."""
        if self._rows_columns != self.columns:
            self._rows.clear()
            self._rows_columns = list(self.columns)
        indexes = [self.view.columns.index(c) for c in self.columns]
        # Columns like AGE sort by a record field (seconds), not by their text ("3d").
        by_value = [(n, c.key) for n, c in enumerate(self.columns) if c.by_value]
        active = self.row_filter.active
        cached = self._rows
        fresh: dict[str, tuple[Item, list[Cell], list[str] | None]] = {}
        rows = []
        for item in self.items:
            entry = cached.get(item.key)
            if entry is None or entry[0] is not item:
                cells: list[Cell] = [item.cells[i] for i in indexes]
                for n, key in by_value:
                    cells[n] = SortableCell(cells[n], item.sort_values.get(key))
                entry = (item, cells, None)
            if active:
                texts = entry[2]
                if texts is None:
                    texts = [_text(item.cells[i]) for i in indexes]
                    entry = (item, entry[1], texts)
                fresh[item.key] = entry
                if not self.row_filter.matches(texts, item.labels):
                    continue
            else:
                fresh[item.key] = entry
            rows.append((item.key, entry[1], item.hint))
        self._rows = fresh
        self.table.set_rows(rows)
        self.shown = len(rows)
        self._update_status()

    def _update_title(self) -> None:
        title = Text(self.view.title, end="")
        if self.scope:
            title.append(" · " + self.scope.title)
        if self.view.name == "nodes" and self.show_cpu_nodes:
            title.append(" (+ CPU nodes)")
        if self.row_filter.active:
            title.append(f"  /{self.row_filter.text}", "italic")
        self.query_one("#title", Static).update(title)

    def _update_notes(self, notes: list[str]) -> None:
        widget = self.query_one("#notes", Static)
        widget.display = bool(notes)
        widget.update(Text("\n".join(notes)))
        empty = self.query_one("#empty", Static)
        empty.display = self.shown == 0
        if self.shown == 0:
            what = "rows match the filter" if self.row_filter.active else self.view.title.lower()
            state = self.kmc.session.state(self.view.name) if self.kmc.session else None
            if state is not None and state.state == "syncing":
                message = "loading…"
            elif notes and not self.row_filter.active:
                message = notes[0]
            else:
                message = f"no {what}"
            empty.update(Text(message))

    def _update_status(self) -> None:
        total = len(self.items)
        text = Text(end="")
        text.append(f"{self.shown}" if self.shown == total else f"{self.shown} of {total}")
        text.append(f" {self.view.name}")
        key, reverse = self.sort
        label = next((c.label for c in self.view.columns if c.key == key), key)
        text.append(f"  sort {label} {'↓' if reverse else '↑'}")
        if self.row_filter.literal:
            text.append("  (filter is not a valid regex: matched literally)")
        label, hint = self.kmc.telemetry.label()
        if hint in ("warn", "error"):
            text.append("  · " + label, hint_styles(self.kmc.current_theme)[hint == "error"])
        self.query_one("#status", Static).update(text)

    # ------------------------------------------------------------ actions

    def _selected(self) -> Item | None:
        key = self.table.current_row_key
        return next((item for item in self.items if item.key == key), None)

    def action_command(self) -> None:
        self.query_one(CommandBar).open(":")

    def action_filter(self) -> None:
        self._filter_before = self.row_filter.text
        self.query_one(CommandBar).open("/")

    def set_filter(self, text: str) -> None:
        """Filter the rows already built (no rebuild) and update title, notes and status."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        self.row_filter = parse_filter(text)
        if not self.is_mounted:
            return
        self._update_title()
        self._show()
        session = self.kmc.session
        self._update_notes(session.notes(self.view.name) if session else [])

    def on_input_changed(self, event: Input.Changed) -> None:
        """While typing a filter, apply it `FILTER_DEBOUNCE` s after the last key."""
        bar = self.query_one(CommandBar)
        if event.input is bar and bar.mode == "/" and bar.display:
            if self._filter_timer is not None:
                self._filter_timer.stop()
            text = event.value
            self._filter_timer = self.set_timer(FILTER_DEBOUNCE, lambda: self.set_filter(text))

    async def on_command_bar_submitted(self, event: CommandBar.Submitted) -> None:
        self.table.focus()
        if event.mode == "/":
            self.set_filter(event.text)
        elif event.text:
            await self.kmc.run_kmc_command(event.text)

    def on_command_bar_cancelled(self, event: CommandBar.Cancelled) -> None:
        if event.mode == "/":
            self.set_filter(self._filter_before)
        self.table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_drill()

    def action_drill(self) -> None:
        item = self._selected()
        if item is None:
            return
        target = self.view.drill(item.record)
        if target is None:
            self.kmc.notify("not scheduled on a node", severity="warning", markup=False)
            return
        view, scope = target
        self.app.push_screen(ResourceScreen(view, scope))

    def action_detail(self, tab: str) -> None:
        item = self._selected()
        if item is None:
            return
        from console.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen(self.view.kind_of(item.record), item.record, tab))

    def action_gpus(self) -> None:
        """The GPU tab of the selected node's detail (nodes view only)."""
        item = self._selected()
        if self.view.name != "nodes" or item is None:
            return
        from console.screens.detail import DetailScreen, is_gpu_node

        if not is_gpu_node(item.record):
            self.kmc.notify("not a GPU node", severity="warning", markup=False)
            return
        self.app.push_screen(DetailScreen("nodes", item.record, "gpus"))

    def _sortable(self) -> list[str]:
        return [c.key for c in self.columns]

    def action_sort_column(self, key: str, reverse: bool | None = None) -> None:
        if key not in self._sortable():
            return
        if reverse is None:
            reverse = not self.sort[1] if self.sort[0] == key else False
        self.sort = (key, reverse)
        self.table.sort_by(key, reverse)
        self._update_status()

    def action_sort_next(self) -> None:
        keys = self._sortable()
        index = keys.index(self.sort[0]) + 1 if self.sort[0] in keys else 0
        self.action_sort_column(keys[index % len(keys)], False)

    def action_sort_reverse(self) -> None:
        self.action_sort_column(self.sort[0], not self.sort[1])

    def action_toggle_cpu(self) -> None:
        if self.view.name != "nodes":
            return
        self.show_cpu_nodes = not self.show_cpu_nodes
        self.refresh_data()

    def action_back(self) -> None:
        if self.row_filter.active:
            self.set_filter("")
        elif len(self.app.screen_stack) > 2:  # above Textual's default screen and the base view
            self.app.pop_screen()

    def action_help(self) -> None:
        self.kmc.show_help(self.view.name)
