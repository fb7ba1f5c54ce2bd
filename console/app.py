"""The Textual application: one `ClusterSession` and one telemetry poller feeding the
visible screen.

Data flow: informer threads (console.cluster) change their caches and call the session's
dirty hook; the session posts at most one `ClusterChanged` message until the UI reads
(`ack`). The telemetry poller's thread (console.metrics, through
`console.screens.telemetry.TelemetryLink`) posts a `TelemetryChanged` after each refresh.
The app coalesces both into a refresh of the *visible* screen at most every
`MIN_REFRESH` seconds, plus a slow tick for ages. Screens diff their rows into
`ResourceTable.set_rows` and read telemetry figures from the link. Views live in
`console.screens`; this module holds the session and the poller's lifecycle, the `:`
commands, context / namespace switching and the help.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.message import Message
from textual.timer import Timer

from console.config import Settings
from console.metrics import TelemetryStatus
from console.metrics.link import PollerFactory, TelemetryLink
from console.screens.commands import (
    COMMAND_WORDS,
    KmcCommands,
    PaletteEntry,
    palette_entries,
    parse_command,
)
from console.screens.help import help_sections
from console.screens.resource import ResourceScreen
from themes import CONSOLE_TCSS, THEMES, variable_defaults
from widgets.header import HeaderData
from widgets.help import HelpScreen

MIN_REFRESH = 0.25
"""Seconds between two refreshes of the visible view, however fast the cluster changes."""

VIEW_NAMES = ("nodes", "jobs", "servers", "pods", "gpumap")
BASE_DEPTH = 2
"""Screen stack depth of a top-level view: Textual's default screen, then the view."""


class ClusterChanged(Message):
    """Posted (from an informer thread) when any cache changed since the last read."""


class TelemetryChanged(Message):
    """Posted (from the telemetry poller's thread) after each telemetry refresh."""

    def __init__(self, status: TelemetryStatus) -> None:
        super().__init__()
        self.status = status


class KmcApp(App[int]):
    """kube-ml-console."""

    CSS_PATH = CONSOLE_TCSS
    TITLE = "kmc"
    COMMANDS: ClassVar = App.COMMANDS | {KmcCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", show=False),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        settings: Settings,
        connection: Any = None,
        *,
        session_factory: Callable[[Any, Callable[[], None]], Any] | None = None,
        connect: Callable[[str], Any] | None = None,
        now: Callable[[], float] | None = None,
        header_clock: Callable[[], datetime] | None = None,
        initial_view: str = "nodes",
        handle_signals: bool = False,
        telemetry_factory: PollerFactory | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.connection = connection
        self.session: Any = None
        self._session_factory = session_factory or _default_session_factory(settings)
        self._connect = connect or _default_connect(settings)
        self.now: Callable[[], float] = now or time.time
        self.header_clock = header_clock
        self.initial_view = initial_view
        self.handle_signals = handle_signals
        self.namespace: str | None = (
            None if settings.all_namespaces or not settings.namespace else settings.namespace
        )
        self.context = getattr(connection, "context", "") or settings.context or ""
        self.telemetry = TelemetryLink(settings, telemetry_factory)
        self._refresh_timer: Timer | None = None
        self._last_refresh = 0.0
        self._startup_report = os.environ.get("KMC_STARTUP_REPORT")
        self._first_rows_at: float | None = None
        self.ready_at: float | None = None
        for theme in THEMES.values() if isinstance(THEMES, dict) else THEMES:
            self.register_theme(theme)
        self.theme = settings.theme
        if settings.no_color and not self.no_color:
            from textual.filter import Monochrome

            self._filters.append(Monochrome())

    # ------------------------------------------------------------ Textual hooks

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return variable_defaults()

    def on_mount(self) -> None:
        if self.connection is not None:
            self.session = self._session_factory(self.connection, self._cluster_changed).start()
            self._attach_telemetry()
        self.push_screen(self._view_screen(self.initial_view))
        self.set_interval(max(1.0, self.settings.refresh_seconds), self._tick)
        if self.handle_signals:
            self._signals(install=True)

    def _signals(self, install: bool) -> None:
        """Exit cleanly on SIGHUP (the SSH session is gone) and SIGTERM."""
        try:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                if install:
                    loop.add_signal_handler(
                        sig, self.exit, None, 129 if sig == signal.SIGHUP else 143
                    )
                else:
                    loop.remove_signal_handler(sig)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            pass  # not the main thread, or no such signals on this platform

    def on_ready(self) -> None:
        self.ready_at = time.time()
        self._maybe_report()

    async def on_unmount(self) -> None:
        if self.handle_signals:
            self._signals(install=False)
        await self._stop_session()

    async def _stop_session(self) -> None:
        session, self.session = self.session, None
        await asyncio.to_thread(self.telemetry.detach)
        if session is not None:
            await asyncio.to_thread(session.stop)

    def _attach_telemetry(self) -> None:
        """A poller for the current session (started once its pod list is in)."""
        cache = getattr(self.session, "cache", None)
        if cache is None or self.connection is None:
            return
        self.telemetry.attach(self.connection, cache, self._telemetry_changed)
        self._telemetry_tick()

    def _telemetry_changed(self, status: TelemetryStatus) -> None:
        """Poller thread: post, never block."""
        self.post_message(TelemetryChanged(status))

    def on_telemetry_changed(self, _message: TelemetryChanged) -> None:
        self.on_cluster_changed(ClusterChanged())

    def _telemetry_tick(self) -> None:
        """Start the poller when ready; focus it on the nodes the visible screen details."""
        session = self.session
        if session is None:
            return
        self.telemetry.start_when_ready(session.state("pods").state not in ("syncing", "stale"))
        self.update_telemetry_focus()

    def update_telemetry_focus(self) -> None:
        """Focus the poller on the nodes the visible screen details (screens call this when
        they become visible)."""
        focus = getattr(self.screen, "telemetry_focus", None)
        self.telemetry.focus(focus() if focus is not None else ())

    # ------------------------------------------------------------ refresh loop

    def _cluster_changed(self) -> None:
        """Informer thread: post, never block (post_message is thread-safe)."""
        self.post_message(ClusterChanged())

    def on_cluster_changed(self, _message: ClusterChanged) -> None:
        if self._refresh_timer is not None:
            return
        delay = self._last_refresh + MIN_REFRESH - time.monotonic()
        if delay <= 0:
            self.refresh_view()
        else:
            self._refresh_timer = self.set_timer(delay, self._timer_refresh)

    def _tick(self) -> None:
        """The age tick: refresh unless a refresh ran within the last half tick (the views
        then rewrite only the AGE cells whose text changed)."""
        if time.monotonic() - self._last_refresh >= max(1.0, self.settings.refresh_seconds) / 2:
            self.refresh_view()

    def _timer_refresh(self) -> None:
        self._refresh_timer = None
        self.refresh_view()

    def refresh_view(self) -> None:
        """Refresh the visible screen from the caches (hidden screens wait their turn)."""
        self._last_refresh = time.monotonic()
        if self.session is not None:
            self.session.ack()
            self._telemetry_tick()
        if not self.screen_stack:  # a timer that fired while the app shuts down
            return
        refresh = getattr(self.screen, "refresh_data", None)
        if refresh is not None:
            try:
                refresh()
            except NoMatches:  # the screen is still composing (or going away): next tick
                pass

    def header_data(self, view: str) -> HeaderData:
        session = self.session
        if session is None:
            return HeaderData(
                self.context,
                self.namespace,
                sync="connecting…",
                sync_hint="warn",
                read_only=self.settings.read_only,
            )
        usage = session.ledger.cluster()
        sync, hint = session.view_state(view or "nodes")
        figures = self.telemetry.header()
        label, label_hint = self.telemetry.label()
        return HeaderData(
            context=self.context or "in-cluster",
            namespace=self.namespace,
            allocatable=round(usage.total_allocatable),
            requested=round(usage.total_requested),
            busy=figures.busy if figures else None,
            idle=figures.allocated_idle if figures else None,
            mean_util=figures.mean_util if figures else None,
            sync=sync,
            sync_hint=hint,
            read_only=self.settings.read_only,
            telemetry=label,
            telemetry_hint=label_hint,
        )

    # ------------------------------------------------------------ start-up measurement

    def first_rows_shown(self, view: str, rows: int) -> None:
        if self._first_rows_at is None and view == "nodes":
            self.call_after_refresh(self._rows_drawn, rows)

    def _rows_drawn(self, rows: int) -> None:
        if self._first_rows_at is None:
            self._first_rows_at = time.time()
            self._first_rows_count = rows
            self._maybe_report()

    def _maybe_report(self) -> None:
        if not self._startup_report or self.ready_at is None or self._first_rows_at is None:
            return
        with open(self._startup_report, "w") as handle:
            json.dump(
                {
                    "ready": self.ready_at,
                    "first_rows": self._first_rows_at,
                    "rows": self._first_rows_count,
                },
                handle,
            )
        self.exit(0)

    # ------------------------------------------------------------ commands

    def command_words(self) -> list[str]:
        return list(COMMAND_WORDS)

    async def run_kmc_command(self, text: str) -> None:
        """Run one `:` command line."""
        command = parse_command(text)
        if command is None:
            self.notify(f"unknown command: {text}", severity="error", markup=False)
            return
        if command.verb in VIEW_NAMES:
            # A worker: the screen that typed the command is about to be replaced, so
            # nothing running in its handler may wait for that.
            self.run_worker(self.show_view(command.verb), group="view", exclusive=True)
        elif command.verb == "quit":
            self.exit(0)
        elif command.verb == "help":
            self.show_help(getattr(self.screen, "view_name", ""))
        elif command.verb == "ns":
            if command.arg:
                self.set_namespace(command.arg)
            else:
                self.pick_namespace()
        elif command.verb == "ctx":
            if command.arg:
                self.run_worker(self.switch_context(command.arg), exclusive=True, group="ctx")
            else:
                self.pick_context()

    async def show_view(self, view: str) -> None:
        """Switch to a top-level view, dropping any drill-down stack (like k9s)."""
        while len(self.screen_stack) > BASE_DEPTH:
            await self.pop_screen()
        await self.switch_screen(self._view_screen(view))

    def _view_screen(self, view: str) -> Any:
        if view == "gpumap":
            from console.screens.gpumap import GpuMapScreen

            return GpuMapScreen()
        return ResourceScreen(view)

    def set_namespace(self, name: str) -> None:
        self.namespace = None if name in ("all", "-A", "*", "") else name
        for screen in self.screen_stack:
            if isinstance(screen, ResourceScreen):
                self.call_later(screen._relayout)
        self.refresh_view()

    def pick_namespace(self) -> None:
        from console.screens.pick import PickScreen

        names = ["all", *(self.session.namespaces() if self.session else [])]
        self.push_screen(PickScreen("namespace", names, self.namespace or "all"), self._picked_ns)

    def _picked_ns(self, name: str | None) -> None:
        if name is not None:
            self.set_namespace(name)

    def contexts(self) -> tuple[list[str], str | None]:
        from console.cluster.connection import ClusterError, list_contexts

        try:
            return list_contexts(self.settings.kubeconfig)
        except ClusterError:
            return [], None

    def pick_context(self) -> None:
        from console.screens.pick import PickScreen

        names, _current = self.contexts()
        self.push_screen(PickScreen("context", names, self.context), self._picked_ctx)

    def _picked_ctx(self, name: str | None) -> None:
        if name is not None:
            self.run_worker(self.switch_context(name), exclusive=True, group="ctx")

    async def switch_context(self, name: str) -> None:
        """Connect to `name` (in a thread); on success replace the session and reset views."""
        self.notify(f"connecting to {name}…", markup=False, timeout=2)
        try:
            connection = await asyncio.to_thread(self._connect, name)
        except Exception as exc:
            self.notify(f"cannot switch to {name}: {exc}", severity="error", markup=False)
            return
        await self._stop_session()
        self.connection = connection
        self.context = getattr(connection, "context", name) or name
        self.session = self._session_factory(connection, self._cluster_changed).start()
        self._attach_telemetry()
        view = getattr(self.screen_stack[BASE_DEPTH - 1], "view_name", "") or "nodes"
        await self.show_view(view)

    def show_help(self, view: str) -> None:
        title = f"Help · {view}" if view else "Help"
        self.push_screen(HelpScreen(help_sections(view), title=title))

    def palette_entries(self) -> Iterator[PaletteEntry]:
        return palette_entries(self)

    def _toggle_cpu(self) -> None:
        screen = self.screen
        if isinstance(screen, ResourceScreen):
            screen.action_toggle_cpu()


def _default_session_factory(settings: Settings) -> Callable[[Any, Callable[[], None]], Any]:
    def factory(connection: Any, on_change: Callable[[], None]) -> Any:
        from console.cluster.session import ClusterSession

        return ClusterSession(connection, on_change=on_change, pool_label=settings.node_pool_label)

    return factory


def _default_connect(settings: Settings) -> Callable[[str], Any]:
    def connect(context: str) -> Any:
        from console.cluster.connection import connect as cluster_connect

        return cluster_connect(settings.kubeconfig, context, probe=True)

    return connect
