"""`DetailScreen`: describe / YAML / events of one object, as tabs; GPU nodes add a GPUs tab.

`d`, `y`, `e`, `g` (or 1, 2, 3, 4) switch tabs, Esc goes back, `r` reloads YAML and events.
The summary is built from the cache record; YAML and events are fetched once per
open in a thread worker and shown as plain text. The GPUs tab (`console.screens.gpus`)
shows one row per GPU from the telemetry store; while it is open the poller is focused
on the node (`telemetry_focus`).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Log, Static, TabbedContent, TabPane

from console.cluster.detail import describe, events_for, object_yaml
from console.host import Host
from console.render.base import Row
from console.render.fmt import age, one_line
from console.screens.gpus import NodeGpus
from console.text import clean
from widgets.header import ClusterHeader
from widgets.virtual_table import TableColumn, VirtualTable

TABS = ("describe", "yaml", "events", "gpus")

EVENT_COLUMNS = (
    TableColumn("type", "TYPE", 7, 0, 2),
    TableColumn("reason", "REASON", 16, 1, 1),
    TableColumn("age", "LAST SEEN", 9, 2, 1),
    TableColumn("count", "COUNT", 5, 3, 3, "right"),
    TableColumn("source", "FROM", 16, 4, 4),
    TableColumn("message", "MESSAGE", 200, 5, 0, min_width=20),
)


def is_gpu_node(record: Any) -> bool:
    """A node record with GPUs (the ones that get a GPUs tab)."""
    return bool(getattr(record, "has_gpus", False) or getattr(record, "gpu_count", 0))


class DetailScreen(Screen[None]):
    """Everything about one object."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="back"),
        Binding("d,1", "tab('describe')", "Describe", tooltip="describe tab"),
        Binding("y,2", "tab('yaml')", "YAML", tooltip="YAML tab"),
        Binding("e,3", "tab('events')", "Events", tooltip="events tab"),
        Binding("g,4", "tab('gpus')", "GPUs",
                tooltip="GPUs tab of a GPU node: per-GPU sparklines, temperature, XID; "
                "enter on a GPU opens the pod holding it"),
        Binding("r", "reload", "Reload", tooltip="reload YAML and events"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this help"),
    ]  # fmt: skip

    CSS = """
    DetailScreen #title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    DetailScreen TabbedContent { height: 1fr; }
    DetailScreen TabPane { padding: 0; }
    DetailScreen #describe-body { padding: 0 1; }
    DetailScreen Log { height: 1fr; }
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

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header", clock=self.kmc.header_clock)
        yield Static(Text(self.title_text), id="title", markup=False)
        with TabbedContent(initial=self.initial_tab):
            with TabPane("Describe", id="describe"), VerticalScroll():
                yield Static(id="describe-body", markup=False)
            with TabPane("YAML", id="yaml"):
                yield Log(id="yaml-log", auto_scroll=False)
            with TabPane("Events", id="events"):
                yield Static(Text("loading…"), id="events-note", markup=False)
                yield VirtualTable(EVENT_COLUMNS, id="events-table")
            if self.gpu_node:
                with TabPane("GPUs", id="gpus"):
                    yield NodeGpus(self.record.name, self.gpu, id="node-gpus")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_data()
        self.load()
        self.kmc.update_telemetry_focus()
        if self.initial_tab == "gpus":
            self.call_after_refresh(self.query_one(NodeGpus).table.focus)

    def refresh_data(self) -> None:
        """Re-read the record from the cache and redraw the summary (app refresh tick)."""
        session = self.kmc.session
        if session is not None:
            fresh = session.get(self.kind_name, self.record.key)
            if fresh is not None:
                self.record = fresh
        self.query_one(ClusterHeader).data = self.kmc.header_data("")
        try:
            body = describe(self.record, session.cache if session else None, self.kmc.now())
        except TypeError:
            body = repr(self.record)
        self.query_one("#describe-body", Static).update(Text(body))
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
        log = self.query_one("#yaml-log", Log)
        try:
            text = await asyncio.to_thread(object_yaml, connection, kind, namespace, name)
            self.yaml_text = clean(text)
        except Exception as exc:  # ClusterError, or the object is gone
            self.yaml_text = f"# cannot load: {one_line(str(exc))}\n"
        log.clear()
        log.write_lines(self.yaml_text.splitlines())
        log.scroll_home(animate=False)
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The GPUs tab exists only for GPU nodes (its key hides elsewhere)."""
        return not (action == "tab" and parameters == ("gpus",) and not self.gpu_node)

    def action_tab(self, tab: str) -> None:
        if tab == "gpus" and not self.gpu_node:
            return
        self.query_one(TabbedContent).active = tab
        if tab == "gpus":
            self.query_one(NodeGpus).table.focus()

    def action_reload(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_help(self) -> None:
        self.kmc.show_help("detail")
