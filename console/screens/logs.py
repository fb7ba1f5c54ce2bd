"""`LogScreen`: the logs of one pod, or of every pod of a training job / model server merged.

Streams are read by `console.cluster.logs.LogTail` threads; the screen is told a batch is
ready (`LogScreen.BatchReady`, at most a few times a second) and takes it all at once into
its `LogBuffer` (bounded by the `log_line_cap` setting) and its `LogView`, which draws only
the visible lines. Merged views prefix each line with a short coloured pod label and list
the pods with their line and error counts; pods that appear later join, pods that go away
are struck out. Keys: see BINDINGS (their tooltips are the `?` help).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from console.cluster.logs import LogOptions, LogTail, LogTarget
from console.host import Host
from console.render.logs import (
    DEFAULT_LINE_CAP,
    LogBuffer,
    SourceStats,
    compile_pattern,
    parse_line_filter,
    short_label,
)
from console.screens.logs_actions import LogScreenActions
from console.screens.logs_open import LogRequest, targets_of
from console.screens.logs_support import (
    duration_seconds,
    pods_panel,
    status_parts,
    title_parts,
)
from widgets.log_view import PREFIX_COLOURS, LogView
from widgets.status_line import StatusLine

PROMPTS = {
    "filter": "filter (regex, ! inverts): ",
    "search": "search (regex): ",
    "save": "save to: ",
    "tail": "tail lines (0 = all): ",
    "since": "since (e.g. 90s, 10m, 2h; empty = any time): ",
}


class LogScreen(LogScreenActions, Screen[None]):
    """Logs of a pod, or of a job's / server's pods merged."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="close the prompt, clear search, else back"),
        Binding("slash", "prompt('filter')", "Filter", key_display="/",
                tooltip="filter lines: regex (smart case), ! inverts"),
        Binding("f", "prompt('search')", "Find", tooltip="search: highlight matches"),
        Binding("n", "match(True)", "Next", tooltip="next search match"),
        Binding("N", "match(False)", "Prev", show=False, tooltip="previous search match"),
        Binding("e", "error(True)", "Next error",
                tooltip="next error line (traceback, NCCL, CUDA OOM, ERROR/FATAL, exit code)"),
        Binding("E", "error(False)", "Prev error", show=False, tooltip="previous error line"),
        Binding("space,s", "pause", "Pause", tooltip="pause / resume following (lines keep buffering)"),
        Binding("G,end", "end", "End", tooltip="jump to the newest line and follow"),
        Binding("w", "toggle('wrap')", "Wrap", tooltip="wrap long lines on / off"),
        Binding("t", "toggle('show_timestamps')", "Time", tooltip="timestamps on / off"),
        Binding("J", "toggle('pretty')", "JSON", tooltip="JSON lines pretty-printed on / off"),
        Binding("c", "container", "Container", tooltip="choose the container (one pod)"),
        Binding("p", "previous", "Previous", tooltip="previous (crashed) container on / off"),
        Binding("T", "prompt('tail')", "Tail", show=False, tooltip="tail N lines (re-reads)"),
        Binding("S", "prompt('since')", "Since", show=False, tooltip="since a duration (re-reads)"),
        Binding("P", "pods", "Pods", tooltip="choose which pods to show (merged view)"),
        Binding("ctrl+s", "prompt('save')", "Save", tooltip="save the lines to a file"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this help"),
    ]  # fmt: skip

    CSS = """
    LogScreen #title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    LogScreen #pods { height: auto; max-height: 6; padding: 0 1; display: none; }
    LogScreen LogView { height: 1fr; }
    LogScreen #bottom { dock: bottom; height: auto; }
    LogScreen #bottom > .status-line { dock: none; }
    LogScreen #prompt { height: 1; border: none; padding: 0 1; background: $panel; display: none; }
    LogScreen #bottom > Footer { dock: none; }
    """

    class BatchReady(Message):
        """Posted from the tail's thread: lines are waiting (`LogTail.drain`)."""

    def __init__(self, request: LogRequest) -> None:
        super().__init__()
        self.request = request
        self.previous = request.previous
        self.container = ""
        self.containers: list[str] = []
        self.tail_lines: int | None = 200 if not request.merged else 100
        self.since_seconds: int | None = None
        self.paused = False
        self.new_while_paused = 0
        self.reconnects = 0
        self.last_event = ""
        self.prompt_mode = ""
        self.search_text = ""
        try:
            cap = getattr(self.app.settings, "log_line_cap", None)
        except Exception:  # built outside a running app (tests of the screen alone)
            cap = None
        self.buffer = LogBuffer(cap=int(cap or DEFAULT_LINE_CAP))
        self.tail: LogTail | None = None
        self._states: dict[int, str] = {}
        self._pods_drawn = 0.0

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    # ------------------------------------------------------------ layout and life

    def compose(self) -> ComposeResult:
        yield StatusLine(id="title")
        yield Static(id="pods", markup=False)
        yield LogView(max_lines=self.buffer.cap)
        with Vertical(id="bottom"):
            yield StatusLine(classes="status-line", id="status")
            yield Input(id="prompt", select_on_focus=False)
            yield Footer()

    def on_mount(self) -> None:
        view = self.log_view
        view.configure(show_prefix=self.request.merged)
        if self.request.merged:
            self.query_one("#pods").display = True
        self.start()
        view.focus()

    def on_unmount(self) -> None:
        if self.tail is not None:
            self.tail.stop()

    def start(self) -> None:
        """(Re)start reading with the current container, previous, tail and since."""
        if self.tail is not None:
            self.tail.stop()
        session = self.host.session
        if session is None:
            self.app.notify("logs: not connected", severity="error", markup=False)
            return
        self.buffer.clear()
        self.buffer.sources.clear()
        self._states.clear()
        self.new_while_paused = 0
        self.log_view.set_sources([])
        self.log_view.clear()
        options = LogOptions(
            tail_lines=self.tail_lines, since_seconds=self.since_seconds, previous=self.previous,
            follow=not self.previous,
        )  # fmt: skip
        notify = self._notify
        if self.request.scope is not None:
            self.tail = LogTail(
                session.connection, notify, options,
                targets=targets_of(session, self.request.scope), max_pending=self.buffer.cap,
            )  # fmt: skip
        else:
            target = LogTarget(self.request.namespace, self.request.pod, self.container)
            self.tail = LogTail(
                session.connection, notify, options, fixed=[target], max_pending=self.buffer.cap
            )
        self.tail.start()
        self._redraw_lines()

    def _notify(self) -> None:
        self.post_message(self.BatchReady())

    # ------------------------------------------------------------ batches

    def on_log_screen_batch_ready(self, _message: BatchReady) -> None:
        tail = self.tail
        if tail is None:
            return
        batch = tail.drain()
        for event in batch.events:
            self._event(event)
        if batch.events:
            self._update_sources()
            self._pods_drawn = 0.0
        rewind, shown = self.buffer.add(batch.lines, batch.dropped)
        if self.paused:
            self.new_while_paused += len(shown) - rewind
        else:
            self.log_view.retract(rewind)
            self.log_view.append(shown, batch.dropped)
        self._redraw_lines()

    def _event(self, event: Any) -> None:
        buffer = self.buffer
        if event.pod:  # a new source
            while len(buffer.sources) <= event.source:
                buffer.add_source(SourceStats("", "", ""))
            stats = buffer.sources[event.source]
            stats.name, stats.container = event.pod, event.container
            names = [s.name for s in buffer.sources]
            for s in buffer.sources:
                s.label = short_label(s.name, names)
            return
        if not 0 <= event.source < len(buffer.sources):
            return
        stats = buffer.sources[event.source]
        if event.container:
            stats.container = event.container
            if not self.request.merged and not self.container:
                self.container = event.container
                self._load_containers()
        stats.state, stats.message = event.state, event.message
        if event.state in ("gone", "connecting", "live"):
            stats.gone = event.state == "gone"
        if event.state == "reconnected":
            self.reconnects += 1
            self.last_event = (
                f"{stats.label or stats.name}: reconnected {time.strftime('%H:%M:%S')}"
            )
            note = f"── reconnected ({stats.message or 'stream dropped'}) ──"
            marker = self.buffer.add_marker(event.source, note)
            if not self.paused:
                self.log_view.append([marker])
        elif event.state in ("reconnecting", "error", "gone", "waiting", "ended"):
            label = stats.label or stats.name
            self.last_event = f"{label}: {event.state}" + (
                f" ({event.message})" if event.message else ""
            )

    def _update_sources(self) -> None:
        sources = self.buffer.sources
        labels = [(s.label, PREFIX_COLOURS[i % len(PREFIX_COLOURS)]) for i, s in enumerate(sources)]
        gone = {i for i, s in enumerate(sources) if s.gone}
        self.log_view.set_sources(labels, gone)

    # ------------------------------------------------------------ drawing

    def _redraw_lines(self, force_pods: bool = False) -> None:
        self.query_one("#title", StatusLine).set_parts(title_parts(self))
        self.query_one("#status", StatusLine).set_parts(status_parts(self))
        now = time.monotonic()
        # the pod list changes its height (a layout pass): at most once a second
        if self.request.merged and (now - self._pods_drawn >= 1.0 or force_pods):
            self._pods_drawn = now
            self.query_one("#pods", Static).update(pods_panel(self.buffer))

    # ------------------------------------------------------------ actions

    def action_back(self) -> None:
        prompt = self.query_one("#prompt", Input)
        if prompt.display:
            self._close_prompt()
        elif self.search_text:
            self.search_text = ""
            self.log_view.configure(search=None)
            self._redraw_lines()
        elif self.buffer.line_filter.pattern is not None:
            self._apply_filter("")
        else:
            self.app.pop_screen()

    def action_prompt(self, mode: str) -> None:
        prompt = self.query_one("#prompt", Input)
        self.prompt_mode = mode
        prompt.placeholder = PROMPTS[mode]
        value = {
            "filter": self.buffer.line_filter.text,
            "search": self.search_text,
            "save": self._default_save_path(),
            "tail": str(self.tail_lines or 0),
            "since": "",
        }[mode]
        prompt.value = value
        prompt.cursor_position = len(value)
        prompt.border_title = PROMPTS[mode]
        prompt.display = True
        prompt.focus()

    def _close_prompt(self) -> None:
        prompt = self.query_one("#prompt", Input)
        prompt.display = False
        self.prompt_mode = ""
        self.log_view.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.prompt_mode == "search":
            self._apply_search(event.value, jump=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        mode, value = self.prompt_mode, event.value.strip()
        self._close_prompt()
        if mode == "filter":
            self._apply_filter(value)
        elif mode == "search":
            self._apply_search(value, jump=True)
        elif mode == "save":
            self._save(value)
        elif mode == "tail":
            if not value.isdigit():
                self.app.notify(f"tail: not a number: {value!r}", severity="error", markup=False)
                return
            self.tail_lines = int(value) or None
            self.start()
        elif mode == "since":
            try:
                self.since_seconds = duration_seconds(value)
            except ValueError as exc:
                self.app.notify(str(exc), severity="error", markup=False)
                return
            self.start()

    def _apply_filter(self, text: str) -> None:
        try:
            self.buffer.line_filter = parse_line_filter(text)
        except ValueError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        self.log_view.replace(self.buffer.shown(), self.buffer.dropped)
        self._redraw_lines()

    def _apply_search(self, text: str, jump: bool) -> None:
        try:
            pattern = compile_pattern(text) if text else None
        except ValueError as exc:
            if jump:
                self.app.notify(str(exc), severity="error", markup=False)
            return
        self.search_text = text
        self.log_view.configure(search=pattern)
        if jump and pattern is not None and not self.log_view.jump_match(False):
            self.app.notify(f"no match for {text!r}", severity="warning", markup=False)
        self._follow_changed()

    def action_match(self, forward: bool) -> None:
        if not self.search_text:
            self.action_prompt("search")
            return
        if not self.log_view.jump_match(forward):
            self.app.notify("no more matches", severity="warning", markup=False)
        self._follow_changed()

    def action_error(self, forward: bool) -> None:
        if not self.log_view.jump_error(forward):
            self.app.notify("no more error lines", severity="information", markup=False)
        self._follow_changed()

    def _follow_changed(self) -> None:
        if not self.log_view.follow and not self.paused:
            self.paused = True
        self._redraw_lines()

    def on_log_view_scrolled(self, event: LogView.Scrolled) -> None:
        if not event.at_end and not self.paused:
            self.paused = True
            self._redraw_lines()

    def action_pause(self) -> None:
        if self.paused:
            self.action_end()
        else:
            self.paused = True
            self.log_view.follow = False
            self._redraw_lines()

    def action_end(self) -> None:
        if self.paused:
            self.paused = False
            self.new_while_paused = 0
            self.log_view.replace(self.buffer.shown(), self.buffer.dropped)
        self.log_view.jump_end()
        self._redraw_lines()

    def action_toggle(self, option: str) -> None:
        view = self.log_view
        view.configure(**{option: not getattr(view, option)})
        self._redraw_lines()

    def action_previous(self) -> None:
        self.previous = not self.previous
        self.start()
