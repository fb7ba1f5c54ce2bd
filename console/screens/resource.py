"""`ResourceScreen`: one resource view (GPU nodes, training jobs, model servers, GPU pods).

Composes the cluster header, a title line, a `VirtualTable`, a status line, the `:` / `/`
command bar and the footer. It never builds rows: it tells the host what it shows (a
`ViewRequest`: view, scope, namespace, filter, sort) and swaps each `ViewResult` the
refresh pipeline sends back into its table (`apply_result`).
"""

from __future__ import annotations

from typing import ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from console.commands import argument_words, completion_words, read_only
from console.host import Host
from console.render import VIEWS
from console.render.base import Row, Scope
from console.render.pipeline import ViewRequest, ViewResult
from console.screens.actions import ActionKeys
from console.screens.lines import messages_sections, status_parts, table_columns, title_parts
from widgets.command_bar import CommandBar
from widgets.header import ClusterHeader
from widgets.help import HelpScreen
from widgets.status_line import StatusLine
from widgets.virtual_table import TableColumn, VirtualTable


class ResourceScreen(ActionKeys, Screen[None]):
    """A table of one kind of resource, optionally scoped by a drill-down."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("colon", "command", "Cmd", key_display=":", tooltip="command (see below)"),
        Binding("slash", "filter", "Filter", key_display="/",
                tooltip="filter: regex, -l key=value label selector, ! inverts"),
        Binding("d", "detail('describe')", "Describe", tooltip="describe the selected row"),
        Binding("g", "gpus", "GPUs", show=False, tooltip="the selected node's GPUs"),
        Binding("y", "detail('yaml')", "YAML", tooltip="YAML of the selected row"),
        Binding("e", "detail('events')", "Events", tooltip="events of the selected row"),
        Binding("l", "logs(False)", "Logs",
                tooltip="logs of the selected pod, or of every pod of a job / server merged"),
        Binding("p", "logs(True)", "Previous", show=False,
                tooltip="logs of the previous (crashed) container"),
        Binding("r", "run", "Run", tooltip="the selected job's MLflow run: metrics and plot"),
        Binding("greater_than_sign", "sort_step(1)", "Sort", key_display=">",
                tooltip="sort by the next column"),
        Binding("less_than_sign", "sort_step(-1)", "Sort back", show=False, key_display="<",
                tooltip="sort by the previous column"),
        Binding("R", "sort_reverse", "Reverse", show=False, tooltip="reverse the sort"),
        Binding("N", "sort_column('name')", "Sort name", show=False,
                tooltip="sort by name (again: reversed)"),
        Binding("A", "sort_column('age')", "Sort age", show=False,
                tooltip="sort by age (again: reversed)"),
        Binding("h", "toggle_cpu", "CPU nodes", show=False,
                tooltip="hide or show CPU-only nodes (:cpu)"),
        Binding("c", "act('cordon')", "Cordon", show=False,
                tooltip="cordon the selected node (confirmed)"),
        Binding("u", "act('uncordon')", "Uncordon", show=False,
                tooltip="uncordon the selected node (confirmed)"),
        Binding("s", "act('scale')", "Scale", show=False,
                tooltip="scale the selected job's workers or server (asks how many)"),
        Binding("ctrl+d", "act('delete')", "Delete", show=False,
                tooltip="delete the selected training job; on a pod: restart it (confirmed)"),
        Binding("r", "drain", "Drain", show=False,
                tooltip="drain the selected node: cordon, evict its pods (k9s's r; confirmed)"),
        Binding("t", "timeslice", "Time-slice", show=False,
                tooltip="GPU time-slicing of the selected node: choose a device-plugin config"),
        Binding("escape", "back", "Back", tooltip="clear the filter, else back"),
        Binding("m", "messages", "Messages", show=False,
                tooltip="the title, status and header lines in full, and the legend"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this help"),
    ]  # fmt: skip

    KEYS_DESCRIBED: ClassVar[dict[str, str]] = {
        "select_cursor": "drill down (node → pods, job → pods, server → pods, pod → node)"
    }
    """What Enter on the table does here, for the generated key help."""

    CSS = """
    ResourceScreen #title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    ResourceScreen #notes { height: auto; padding: 0 1; color: $text-warning; display: none; }
    ResourceScreen #empty { height: auto; padding: 1 2; color: $text-muted; display: none; }
    ResourceScreen VirtualTable { height: 1fr; }
    ResourceScreen #bottom { dock: bottom; height: auto; }
    ResourceScreen #bottom > .status-line { dock: none; }
    ResourceScreen #bottom > CommandBar { dock: none; }
    ResourceScreen #bottom > Footer { dock: none; }
    """

    def __init__(self, view: str, scope: Scope | None = None) -> None:
        super().__init__()
        self.view = VIEWS[view]
        self.scope = scope
        self.owner = id(self)
        self.filter_text = ""
        self._filter_before = ""
        self.sort: tuple[str, bool] = ("name", False)
        self.show_cpu_nodes = False
        self.rows: list[Row] | tuple[Row, ...] = ()
        self.total = 0
        self.shown = 0
        self.applied: ViewRequest | None = None
        """The request of the rows on screen."""
        self.serial = 0
        """The pipeline's serial number of the rows on screen."""
        self._columns: list[TableColumn] = []
        self._widths: dict[str, int] = {}
        self._texts: dict[str, Text] = {}
        self._literal = False

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    @property
    def view_name(self) -> str:
        return self.view.name

    @property
    def table(self) -> VirtualTable:
        return self.query_one(VirtualTable)

    @property
    def applied_filter(self) -> str:
        return self.applied.filter_text if self.applied else ""

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header", clock=self.host.header_clock)
        yield StatusLine(id="title")
        yield Static(id="notes", markup=False)
        self._columns = self._table_columns()
        yield VirtualTable(self._columns)
        yield Static(id="empty", markup=False)
        with Vertical(id="bottom"):
            yield StatusLine(classes="status-line", id="status")
            yield CommandBar(completion_words(), id="bar")
            yield Footer()

    def on_mount(self) -> None:
        self.show_cpu_nodes = self.host.settings.show_cpu_nodes
        self.table.set_columns(self._columns, self.sort)
        self.refresh_data()
        self._publish()

    def on_screen_resume(self) -> None:
        self._publish()
        self.refresh_data()
        self.host.update_telemetry_focus()
        self.table.focus()

    def on_screen_suspend(self) -> None:
        """A modal or another screen covers this one: its table is not built meanwhile."""
        self.host.hide_rows(self.owner)

    def _table_columns(self) -> list[TableColumn]:
        skip = {"namespace"} if self._single_namespace() else set()
        if not self.host.telemetry.enabled:
            skip |= {c.key for c in self.view.columns if c.telemetry}
        if not self.host.tracking.enabled:
            skip |= {c.key for c in self.view.columns if c.tracking}
        return table_columns(self.view.columns, self._widths, skip)

    def _single_namespace(self) -> bool:
        return bool(self.host.namespace) and not (self.scope and self.scope.node)

    # ------------------------------------------------------------ data

    @property
    def request(self) -> ViewRequest:
        return ViewRequest(
            self.view.name,
            self.scope,
            self.host.namespace,
            self.show_cpu_nodes,
            self.host.telemetry.enabled,
            self.filter_text,
            self.sort,
            self.owner,
        )

    def _publish(self) -> None:
        """Tell the host what this table shows (the pipeline answers with its rows)."""
        if self.is_mounted:
            self.host.show_rows(self.request)

    def namespace_changed(self) -> None:
        """A single namespace hides the NAMESPACE column; the rows are asked for again."""
        self._columns = self._table_columns()
        if self.is_mounted:
            self.table.set_columns(self._columns, self.sort)
        if self.is_current:
            self._publish()

    def refresh_data(self) -> None:
        """The header (the app's slow tick); rows come from `apply_result`."""
        if self.is_mounted:
            self.query_one(ClusterHeader).data = self.host.header_data(self.view.name)
            self._update_title()

    def apply_result(self, result: ViewResult) -> None:
        """Swap the pipeline's rows into the table and update the lines around it."""
        self.applied = result.request
        self.serial = result.serial
        self.rows = result.rows
        self.total = result.total
        self.shown = len(result.rows)
        if result.widths != self._widths:
            self._widths = dict(result.widths)
            columns = self._table_columns()
            if columns != self._columns:
                self._columns = columns
                self.table.set_columns(columns, self.sort)
        self.table.set_rows(result.rows, result.index)
        self.refresh_data()
        self._update_notes(result)
        self._update_status(result.literal)

    def _update_title(self) -> None:
        parts = title_parts(self.view, self.scope, self.show_cpu_nodes, self.filter_text)
        self.query_one("#title", StatusLine).set_parts(parts)

    def _update_notes(self, result: ViewResult) -> None:
        notes = result.notes
        self.query_one("#notes", Static).display = bool(notes)
        self._show_text("#notes", Text("\n".join(notes)))
        self.query_one("#empty", Static).display = self.shown == 0
        if self.shown == 0:
            filtered = bool(result.request.filter_text)
            if result.syncing:
                message = "loading…"
            elif notes and not filtered:
                message = notes[0]
            else:
                message = "no " + ("rows match the filter" if filtered else self.view.title.lower())
            self._show_text("#empty", Text(message))

    def _update_status(self, literal: bool | None = None) -> None:
        """Row count, the full name of the cursor's row, sort, filter and telemetry trouble
        (`status_parts`). `literal`: the filter was matched literally (None: as before)."""
        if literal is not None:
            self._literal = literal
        row = self.table.current_row if self.is_mounted else None
        telemetry = self.host.telemetry.label()
        parts = status_parts(
            self.view, self.shown, self.total, row, self.sort, self._literal, telemetry
        )
        self.query_one("#status", StatusLine).set_parts(parts)

    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        """The full name of the row under the cursor goes to the status line."""
        self._update_status()

    def _show_text(self, selector: str, text: Text) -> None:
        """Update a line only when its text changed (the notes and the empty-table text)."""
        if self._texts.get(selector) != text:
            self._texts[selector] = text
            self.query_one(selector, Static).update(text)

    def action_messages(self) -> None:
        """The lines shortened to fit, in full, and the legend of this view's markers."""
        title = self.query_one("#title", StatusLine).full_text
        status = self.query_one("#status", StatusLine).full_text
        header = self.query_one(ClusterHeader).full_lines()
        sections = messages_sections(self.view.name, title, status, header)
        self.app.push_screen(HelpScreen(sections, title=f"{self.view.title} · in full"))

    # ------------------------------------------------------------ actions

    def _selected(self) -> Row | None:
        return self.table.current_row

    def action_command(self) -> None:
        bar = self.query_one(CommandBar)
        bar.set_commands([*completion_words(), *argument_words(self.host, self.view.name)])
        bar.open(":")

    def action_filter(self) -> None:
        self._filter_before = self.filter_text
        self.query_one(CommandBar).open("/")

    def set_filter(self, text: str) -> None:
        """Ask the pipeline for the rows that pass `text` (answered from the built rows)."""
        self.filter_text = text.strip()
        if self.is_mounted:
            self._update_title()
            self._publish()

    def on_input_changed(self, event: Input.Changed) -> None:
        """While typing a filter, every key narrows the rows."""
        bar = self.query_one(CommandBar)
        if event.input is bar and bar.mode == "/" and bar.display:
            self.set_filter(event.value)

    async def on_command_bar_submitted(self, event: CommandBar.Submitted) -> None:
        self.table.focus()
        if event.mode == "/":
            self.set_filter(event.text)
        elif event.text:
            await self.host.run_command(event.text)

    def on_command_bar_cancelled(self, event: CommandBar.Cancelled) -> None:
        if event.mode == "/":
            self.set_filter(self._filter_before)
        self.table.focus()

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        self.action_drill()

    def action_drill(self) -> None:
        row = self._selected()
        if row is None:
            return
        target = self.view.drill(row.record)
        if target is None:
            self.app.notify("not scheduled on a node", severity="warning", markup=False)
            return
        view, scope = target
        self.app.push_screen(ResourceScreen(view, scope))

    def action_detail(self, tab: str) -> None:
        row = self._selected()
        if row is None:
            return
        from console.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen(self.view.kind_of(row.record), row.record, tab))

    def action_logs(self, previous: bool) -> None:
        row = self._selected()
        if row is None:
            return
        from console.screens.logs_open import open_logs, request_for_row

        request = request_for_row(self.view, row.record, previous)
        open_logs(self.host, request or "logs: choose a pod, a training job or a model server")

    def action_run(self) -> None:
        """The MLflow run of the selected training job (jobs view only)."""
        row = self._selected()
        if self.view.name != "jobs" or row is None:
            return
        if not self.host.tracking.enabled:
            self.app.notify("no MLflow tracking URI (--mlflow-uri)", severity="warning")
            return
        from console.screens.run import RunScreen

        record = row.record
        key = (record.kind, record.namespace, record.name)
        self.app.push_screen(RunScreen(key, getattr(record, "state", "")))

    def action_gpus(self) -> None:
        """The GPU tab of the selected node's detail (nodes view only)."""
        row = self._selected()
        if self.view.name != "nodes" or row is None:
            return
        from console.screens.detail import DetailScreen, is_gpu_node

        if not is_gpu_node(row.record):
            self.app.notify("not a GPU node", severity="warning", markup=False)
            return
        self.app.push_screen(DetailScreen("nodes", row.record, "gpus"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Node-only keys are not offered (nor listed in help) elsewhere; write actions
        only where they apply and never in read-only mode (`ActionKeys`)."""
        if action == "act":
            return self.act_offered(str(parameters[0]) if parameters else "")
        if action in ("drain", "timeslice"):
            return self.view.name == "nodes" and not read_only(self.host)
        if action == "logs":
            return self.view.name != "nodes"
        if action == "run":
            return self.view.name == "jobs"
        return not (action in ("gpus", "toggle_cpu") and self.view.name != "nodes")

    def _sortable(self) -> list[str]:
        return [c.key for c in self.table.visible_columns] or [c.key for c in self._columns]

    def action_sort_column(self, key: str, reverse: bool | None = None) -> None:
        if key not in self._sortable():
            return
        if reverse is None:
            reverse = not self.sort[1] if self.sort[0] == key else False
        self.sort = (key, reverse)
        self.table.set_columns(self._columns, self.sort)
        self._update_status()
        self._publish()

    def action_sort_step(self, step: int) -> None:
        """Sort by the next (`step` 1) or previous (-1) column."""
        keys = self._sortable()
        index = keys.index(self.sort[0]) + step if self.sort[0] in keys else 0
        self.action_sort_column(keys[index % len(keys)], False)

    def action_sort_reverse(self) -> None:
        self.action_sort_column(self.sort[0], not self.sort[1])

    def action_toggle_cpu(self) -> None:
        if self.view.name != "nodes":
            return
        self.show_cpu_nodes = not self.show_cpu_nodes
        self._update_title()
        self._publish()

    def action_back(self) -> None:
        if self.filter_text:
            self.set_filter("")
        elif len(self.app.screen_stack) > 2:  # above Textual's default screen and the base view
            self.app.pop_screen()

    def action_drain(self) -> None:
        self.host.open_drain()

    def action_timeslice(self) -> None:
        self.host.open_timeslice()

    def action_help(self) -> None:
        self.host.show_help(self.view.name)
