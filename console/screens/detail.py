"""`DetailScreen`: describe / YAML / events of one object, as tabs; GPU nodes add a GPUs tab.

`d`, `y`, `e` (or 1, 2, 3; 4 for GPUs) switch tabs, Esc clears the search, else goes
back, `r` reloads YAML and events. Every tab reads from the keyboard like k9s/less:
↑/↓ `j`/`k`, PageUp/PageDown (space), `ctrl+d`/`ctrl+u`, Home/End, `g`/`G` (the text
panes are `widgets.text_view.TextView`s, the tables `VirtualTable`s; the screen's own
`g`/`G`/`ctrl+d`/`ctrl+u` reach a table). `/` searches describe and YAML (a regex,
case-insensitive, highlighted as typed), `n`/`N` go to the next/previous match.

The summary is built from the cache record, plus the annotations of the fetched object;
YAML and events are fetched once per open in a thread worker and shown as plain text.
The GPUs tab (`console.screens.gpus`) shows one row per GPU from the telemetry store;
while it is open the poller is focused on the node (`telemetry_focus`).

To add a tab (a subclass, or a screen of its own built the same way): yield a `TabPane`
from `extra_panes()`, and `scroller()` finds a `TextView` or `VirtualTable` in it for the
keys; `TextView.set_lines` takes plain lines. The search is `console.screens.text_search`'s
mixin, for any screen with a `TextView`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static, TabbedContent, TabPane

from console.cluster.detail import (
    annotations_of,
    as_yaml,
    describe,
    events_for,
    fetch_object,
)
from console.host import Host
from console.render.base import Row
from console.render.fmt import age, one_line
from console.screens.gpus import NodeGpus
from console.screens.text_search import TextSearch
from widgets.command_bar import CommandBar
from widgets.header import ClusterHeader
from widgets.text_view import TextView
from widgets.virtual_table import TableColumn, VirtualTable

TABS = ("describe", "yaml", "events", "gpus")
SEARCHABLE = ("describe", "yaml")

EVENT_COLUMNS = (
    TableColumn("type", "TYPE", 7, 0, 2),
    TableColumn("reason", "REASON", 16, 1, 1),
    TableColumn("age", "LAST SEEN", 9, 2, 1),
    TableColumn("count", "COUNT", 5, 3, 3, "right"),
    TableColumn("source", "FROM", 16, 4, 4),
    # the message gives up its width first (down to 30 cells), so at 80 columns the
    # reason and age stay beside it
    TableColumn("message", "MESSAGE", 200, 5, 0, min_width=20, soft_width=30, soft_priority=5),
)


def is_gpu_node(record: Any) -> bool:
    """A node record with GPUs (the ones that get a GPUs tab)."""
    return bool(getattr(record, "has_gpus", False) or getattr(record, "gpu_count", 0))


class DetailScreen(TextSearch, Screen[None]):
    """Everything about one object."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="clear the search, else back"),
        Binding("d,1", "tab('describe')", "Describe", tooltip="describe tab"),
        Binding("y,2", "tab('yaml')", "YAML", tooltip="YAML tab"),
        Binding("e,3", "tab('events')", "Events", tooltip="events tab"),
        Binding("4", "tab('gpus')", "GPUs",
                tooltip="GPUs tab of a GPU node: per-GPU sparklines, temperature, XID; "
                "enter on a GPU opens the pod holding it"),
        Binding("slash", "search", "Search", key_display="/",
                tooltip="search describe or YAML (regex, case-insensitive)"),
        Binding("r", "reload", "Reload", tooltip="reload YAML and events"),
        Binding("g", "scroll('top')", "Top", show=False),
        Binding("G", "scroll('bottom')", "Bottom", show=False),
        Binding("ctrl+u", "scroll('half_up')", "Half up", show=False),
        Binding("ctrl+d", "scroll('half_down')", "Half down", show=False),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this help"),
    ]  # fmt: skip
    """`g`/`G`/`ctrl+u`/`ctrl+d` here reach a table (a `TextView` has its own, described)."""

    CSS = """
    DetailScreen #title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    DetailScreen TabbedContent { height: 1fr; }
    DetailScreen TabPane { padding: 0; }
    DetailScreen #bottom { dock: bottom; height: auto; }
    DetailScreen #bottom > CommandBar { dock: none; }
    DetailScreen #bottom > Footer { dock: none; }
    DetailScreen #search-note { height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(
        self, kind_name: str, record: Any, tab: str = "describe", gpu: int | None = None
    ) -> None:
        super().__init__()
        self.kind_name = kind_name
        self.record = record
        self.gpu_node = kind_name == "nodes" and is_gpu_node(record)
        self.initial_tab = tab if tab in TABS and (tab != "gpus" or self.gpu_node) else "describe"
        self.gpu = gpu
        self.yaml_text: str | None = None
        self.annotations: dict[str, str] | None = None
        self.events: list[Any] | None = None

    @property
    def kmc(self) -> Host:
        return cast(Host, self.app)

    @property
    def title_text(self) -> str:
        namespace = getattr(self.record, "namespace", "")
        kind = self.kmc.session.kinds[self.kind_name].kind if self.kmc.session else self.kind_name
        name = f"{namespace}/{self.record.name}" if namespace else self.record.name
        return f"{kind} {name}"

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header", clock=self.kmc.header_clock)
        yield Static(Text(self.title_text), id="title", markup=False)
        with TabbedContent(initial=self.initial_tab):
            with TabPane("Describe", id="describe"):
                yield TextView(id="describe-body")
            with TabPane("YAML", id="yaml"):
                yield TextView(["loading…"], id="yaml-body")
            with TabPane("Events", id="events"):
                yield Static(Text("loading…"), id="events-note", markup=False)
                yield VirtualTable(EVENT_COLUMNS, id="events-table")
            if self.gpu_node:
                with TabPane("GPUs", id="gpus"):
                    yield NodeGpus(self.record.name, self.gpu, id="node-gpus")
            yield from self.extra_panes()
        with Vertical(id="bottom"):
            yield Static(id="search-note", markup=False)
            yield CommandBar(id="search")
            yield Footer()

    def extra_panes(self) -> Iterator[TabPane]:
        """More tabs after the standard ones (none here; the seam for richer details)."""
        yield from ()

    def on_mount(self) -> None:
        self.query_one("#search-note").display = False
        self.refresh_data()
        self.load()
        self.kmc.update_telemetry_focus()
        self.call_after_refresh(self._focus_pane)

    def scroller(self, tab: str | None = None) -> Widget | None:
        """The widget of `tab` (default: the active one) that scrolls: a text or a table."""
        tab = tab or self.active_tab
        pane = self.query_one(f"TabPane#{tab}", TabPane)
        for widget in pane.query("TextView, VirtualTable"):
            return widget
        return None

    def _focus_pane(self) -> None:
        widget = self.scroller()
        if widget is not None:
            widget.focus()
        self.show_search_note()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.call_after_refresh(self._focus_pane)

    def refresh_data(self) -> None:
        """Re-read the record from the cache and redraw the summary (app refresh tick)."""
        session = self.kmc.session
        if session is not None:
            fresh = session.get(self.kind_name, self.record.key)
            if fresh is not None:
                self.record = fresh
        self.query_one(ClusterHeader).data = self.kmc.header_data("")
        try:
            body = describe(
                self.record, session.cache if session else None, self.kmc.now(), self.annotations
            )
        except TypeError:
            body = repr(self.record)
        self.query_one("#describe-body", TextView).set_lines(body.splitlines())
        if self.events is not None:
            self._show_events()
        if self.gpu_node:
            self.query_one(NodeGpus).refresh_data()

    def on_screen_resume(self) -> None:
        self.kmc.update_telemetry_focus()

    def on_node_gpus_pod_chosen(self, event: NodeGpus.PodChosen) -> None:
        """Enter on a GPU in the GPUs tab: the detail of the pod holding it."""
        session = self.kmc.session
        namespace, _, name = event.pod.partition("/")
        record = session.get("pods", (namespace, name)) if session else None
        if record is None:
            self.app.notify(f"pod {event.pod} is not in the cache", markup=False)
            return
        self.app.push_screen(DetailScreen("pods", record))

    def telemetry_focus(self) -> tuple[str, ...]:
        """The nodes whose per-GPU telemetry this screen shows."""
        return (self.record.name,) if self.gpu_node else ()

    @work(exclusive=True, group="detail-load", exit_on_error=False)
    async def load(self) -> None:
        session = self.kmc.session
        if session is None:
            return
        kind = session.kinds[self.kind_name]
        namespace = getattr(self.record, "namespace", "")
        name = self.record.name
        connection = session.connection
        try:
            body = await asyncio.to_thread(fetch_object, connection, kind, namespace, name)
            self.yaml_text = await asyncio.to_thread(as_yaml, body)
            self.annotations = annotations_of(body)
        except Exception as exc:  # ClusterError, or the object is gone
            self.yaml_text = f"# cannot load: {one_line(str(exc))}\n"
        self.query_one("#yaml-body", TextView).set_lines(self.yaml_text.splitlines())
        self.refresh_data()  # the annotations join the summary
        try:
            uid = getattr(self.record, "uid", "")
            self.events = await asyncio.to_thread(
                events_for, session.cache, uid, connection, namespace or None
            )
            note = ""
        except Exception as exc:
            self.events = []
            note = f"cannot load events: {one_line(str(exc))}"
        self._show_events(note)

    def _show_events(self, note: str | None = None) -> None:
        events = self.events or []
        now = self.kmc.now()
        rows = [
            Row(
                e.uid or e.name,
                (
                    e.type,
                    e.reason,
                    age(now - e.last_seen) if e.last_seen else "",
                    str(e.count),
                    e.source,
                    one_line(e.message, 500),
                ),
                "warn" if e.type == "Warning" else None,
            )
            for e in events
        ]
        table = self.query_one("#events-table", VirtualTable)
        table.set_rows(rows, {row.key: i for i, row in enumerate(rows)})
        label = self.query_one("#events-note", Static)
        if note is None:
            note = "" if rows else "no events"
        label.display = bool(note)
        label.update(Text(note))

    # ------------------------------------------------------------ search

    def searchable_view(self) -> TextView | None:
        """The active tab's text, when it is describe or YAML."""
        widget = self.scroller() if self.active_tab in SEARCHABLE else None
        return widget if isinstance(widget, TextView) else None

    # ------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The GPUs tab exists only for GPU nodes; search only in describe and YAML."""
        if action == "tab" and parameters == ("gpus",) and not self.gpu_node:
            return False
        if action == "search" and self.is_mounted:
            return self.active_tab in SEARCHABLE
        return True

    def action_tab(self, tab: str) -> None:
        if tab == "gpus" and not self.gpu_node:
            return
        self.query_one(TabbedContent).active = tab
        self.call_after_refresh(self._focus_pane)

    def action_scroll(self, where: str) -> None:
        """`g`/`G`/`ctrl+u`/`ctrl+d` on the active tab's table (or text, when not focused)."""
        widget = self.scroller()
        if isinstance(widget, TextView):
            actions = {"top": widget.action_top, "bottom": widget.action_bottom}
            half = {"half_up": -1, "half_down": 1}
            if where in half:
                widget.action_half_page(half[where])
            else:
                actions[where]()
        elif isinstance(widget, VirtualTable):
            page = max(1, widget.scrollable_content_region.height - 1) // 2 or 1
            moves = {
                "top": 0,
                "bottom": widget.row_count - 1,
                "half_up": widget.cursor_row - page,
                "half_down": widget.cursor_row + page,
            }
            widget.move_cursor(max(0, min(moves[where], widget.row_count - 1)))

    def action_reload(self) -> None:
        self.load()

    def action_back(self) -> None:
        if not self.clear_search():
            self.app.pop_screen()

    def action_help(self) -> None:
        self.kmc.show_help("detail")
