"""The Textual application: one `ClusterSession`, one telemetry poller and one refresh
pipeline feeding the visible screen.

Data flow: informer threads (console.cluster) and the telemetry poller's thread
(console.metrics) only mark the pipeline dirty; its worker (console.render.pipeline)
builds the visible table's rows off the UI thread and hands back one `ViewRefreshed`
message, which the screen that asked for it swaps into its table. The telemetry thread
also posts `TelemetryChanged` so the screens without a table (GPU map, a node's GPUs)
redraw; a slow tick refreshes headers and detail screens. The app implements
`console.host.Host`, the protocol screens and commands depend on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.message import Message

from console.cluster.gpu import MIG as GPU_MIG
from console.cluster.gpu import SHARED as GPU_SHARED
from console.cluster.gpu import WHOLE as GPU_WHOLE
from console.commands import KmcCommands, help_rows, read_only
from console.commands import run_command as run_registered
from console.config import ConfigError, Settings, load_settings
from console.metrics import TelemetryStatus
from console.metrics.link import PollerFactory, TelemetryLink
from console.redact import redact
from console.render.legend import legend
from console.render.pipeline import RefreshPipeline, ViewRequest, ViewResult
from console.screens.resource import ResourceScreen
from console.shutdown import ExitGuard
from console.text import clean_line
from console.tracking.link import TrackingLink, job_refs
from console.triage.engine import Thresholds, Triage
from themes import CONSOLE_TCSS, THEMES, variable_defaults
from widgets.header import HeaderData
from widgets.help import HelpScreen

TRACKING_SETTINGS = (
    "mlflow_tracking_uri",
    "mlflow_link_rules",
    "mlflow_run_annotation",
    "mlflow_run_env",
    "mlflow_job_tag",
    "mlflow_metric",
    "mlflow_stall_minutes",
    "refresh_seconds",
)
"""What the MLflow link is built from: a context whose section changes one gets a new link."""
FREEZE_EVERY = 30.0
"""Seconds between two `gc.freeze()` once the caches have synced (see `_freeze_survivors`)."""
FULL_COLLECTION_EVERY = 100
"""Second-generation collections between two full ones once the caches have synced."""
BASE_DEPTH = 2
"""Screen stack depth of a top-level view: Textual's default screen, then the view."""
STOP_WAIT = 1.0
"""Seconds the app waits for the session and telemetry threads when it stops them."""


class ViewRefreshed(Message):
    """Posted (from the pipeline's worker) with the rows of the visible table."""

    def __init__(self, result: ViewResult) -> None:
        super().__init__()
        self.result = result


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
        initial_view: str | None = None,
        handle_signals: bool = False,
        telemetry_factory: PollerFactory | None = None,
        cli_layer: Mapping[str, object] | None = None,
        exit_guard: ExitGuard | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.connection = connection
        self.session: Any = None
        self.pipeline: RefreshPipeline | None = None
        self._session_factory = session_factory or self._new_session
        self._connect: Callable[[str, Settings], Any] = (
            (lambda name, _settings: connect(name)) if connect else self._new_connection
        )
        self._cli_layer = dict(cli_layer or {})
        """What the command line said: it still beats a context's section after `:ctx`."""
        self.now: Callable[[], float] = now or time.time
        self.header_clock = header_clock
        self.initial_view = initial_view or settings.landing or "nodes"
        """The first view: the `landing` setting unless the caller names one."""
        self.handle_signals = handle_signals
        self.exit_guard = exit_guard or (ExitGuard() if handle_signals else None)
        """The hard exit deadline: on SIGHUP, SIGTERM, a lost terminal or `q`, the process is
        gone within its deadline whatever the cluster is doing (None in tests)."""
        self._exit_loop: asyncio.AbstractEventLoop | None = None
        self.namespace: str | None = (
            None if settings.all_namespaces or not settings.namespace else settings.namespace
        )
        self.context = getattr(connection, "context", "") or settings.context or ""
        self.telemetry = TelemetryLink(settings, telemetry_factory)
        self.tracking = TrackingLink(settings)
        self._tracking_started = 0.0
        self._request: ViewRequest | None = None
        self._frozen_at = 0.0
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
            self._start_session(self.connection)
        self.push_screen(self._view_screen(self.initial_view))
        self._tick_timer = self.set_interval(max(1.0, self.settings.refresh_seconds), self._tick)
        if self.exit_guard is not None:
            self._exit_loop = asyncio.get_running_loop()
            self.exit_guard.install(self._exit_requested)

    def _exit_requested(self, code: int) -> None:
        """SIGHUP (the SSH session is gone), SIGTERM or a lost terminal, on any thread: exit
        through the event loop; the guard's deadline holds should the loop not get there."""
        loop = self._exit_loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(self.exit, None, code)

    def exit(self, result: Any = None, return_code: int = 0, message: Any = None) -> None:
        if self.exit_guard is not None:
            self.exit_guard.arm(return_code)
        super().exit(result, return_code, message)

    async def on_unmount(self) -> None:
        await self._stop_session()

    # ------------------------------------------------------------ session lifecycle

    def _start_session(self, connection: Any) -> None:
        if hasattr(connection, "read_only"):
            connection.read_only = self.settings.read_only  # the one gate for writes
        hand = getattr(connection, "use_suspender", None)
        if hand is not None:
            hand(self.run_with_terminal)
        self.session = self._session_factory(connection, self._cluster_changed).start()
        self.pipeline = RefreshPipeline(
            self.session,
            self.telemetry,
            self._deliver,
            now=self.now,
            tick=max(1.0, self.settings.refresh_seconds),
            tracking=self.tracking,
            triage=Triage(Thresholds.from_settings(self.settings)),
            context=clean_line(self.context),
        )
        self.pipeline.show(self._request)
        self.pipeline.start()
        cache = getattr(self.session, "cache", None)
        self._tracking_started = 0.0
        if cache is not None:
            self.telemetry.attach(connection, cache, self._telemetry_changed)
            self._telemetry_tick()

    async def _stop_session(self) -> None:
        session, self.session = self.session, None
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            pipeline.stop(timeout=0)
        self.tracking.detach()  # returns at once: a daemon thread, requests with timeouts
        # In parallel and bounded: a server that stopped answering must not hold the exit
        # or a context switch (what is still running then is a daemon thread told to stop).
        stops = [asyncio.ensure_future(asyncio.to_thread(self.telemetry.detach))]
        if session is not None:
            stops.append(asyncio.ensure_future(asyncio.to_thread(session.stop)))
        await asyncio.wait(stops, timeout=STOP_WAIT + 0.25)

    def _cluster_changed(self) -> None:
        """Informer thread: mark the pipeline dirty and return."""
        pipeline = self.pipeline
        if pipeline is not None:
            pipeline.mark_dirty()

    def _telemetry_changed(self, status: TelemetryStatus) -> None:
        """Poller thread: mark the pipeline dirty, post for the screens without a table."""
        self._cluster_changed()
        self.post_message(TelemetryChanged(status))

    def _deliver(self, result: ViewResult) -> None:
        """Pipeline thread: post, never block."""
        self.post_message(ViewRefreshed(result))

    def on_view_refreshed(self, message: ViewRefreshed) -> None:
        result = message.result
        screen = self.screen if self.screen_stack else None
        apply = getattr(screen, "apply_result", None)
        try:
            if apply is not None and getattr(screen, "owner", None) == result.request.owner:
                apply(result)
        except NoMatches:  # the screen is still composing (or going away)
            pass
        finally:
            if self.pipeline is not None:
                self.pipeline.ack(result.serial)

    def on_telemetry_changed(self, _message: TelemetryChanged) -> None:
        self._refresh_screen(table=False)

    def _tick(self) -> None:
        """Headers, detail screens and the telemetry start; tables refresh themselves."""
        self._telemetry_tick()
        self._refresh_screen(table=True)
        self._freeze_survivors()

    def _freeze_survivors(self) -> None:
        """Move what is alive out of the cycle collector's way, once the caches have synced
        and then every `FREEZE_EVERY` seconds.

        At cluster scale a full collection walks every object the caches and the views
        hold (115–190 ms measured at 200,000 pods, all threads stopped, several times a
        minute under churn): a keystroke that meets one waits for it. Records, rows and
        their containers are acyclic and replaced, not mutated, so reference counting
        frees them frozen or not; what freezing can keep is only cyclic garbage of objects
        alive at a freeze (a screen since closed), a bounded cost.
        """
        now = time.monotonic()
        if self.session is None or now - self._frozen_at < FREEZE_EVERY:
            return
        if self._frozen_at or self.session.synced():
            if not self._frozen_at:
                # Survivors are frozen every FREEZE_EVERY s, so a full collection finds
                # little to free: run one per FULL_COLLECTION_EVERY young collections, not
                # Python's default 10 (each still walks the live, unfrozen objects).
                young, middle, _full = gc.get_threshold()
                gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
            self._frozen_at = now
            gc.freeze()

    def _refresh_screen(self, table: bool) -> None:
        if not self.screen_stack:  # a timer that fired while the app shuts down
            return
        screen = self.screen
        refresh = getattr(screen, "refresh_data", None)
        if refresh is None or (not table and isinstance(screen, ResourceScreen)):
            return
        try:
            refresh()
        except NoMatches:  # the screen is still composing (or going away): next tick
            pass

    def _telemetry_tick(self) -> None:
        """Start the poller when ready; focus it on the nodes the visible screen details."""
        session = self.session
        if session is None:
            return
        self.telemetry.start_when_ready(session.state("pods").state not in ("syncing", "stale"))
        self.update_telemetry_focus()
        self._start_tracking(session)

    def _start_tracking(self, session: Any) -> None:
        """Start the MLflow link once the jobs are in (its first refresh imports MLflow, off
        the UI thread but not during the first frames), or after 15 s anyway."""
        if not self.tracking.enabled or self._tracking_started < 0:
            return
        now = time.monotonic()
        self._tracking_started = self._tracking_started or now
        if not session.synced() and now - self._tracking_started < 15.0:
            return
        self._tracking_started = -1.0  # started for this session
        self.tracking.attach(lambda: job_refs(session, self.namespace), self._cluster_changed)

    # ------------------------------------------------------------ Host

    def show_rows(self, request: ViewRequest | None) -> None:
        self._request = request
        if self.pipeline is not None:
            self.pipeline.show(request)

    def hide_rows(self, owner: int) -> None:
        if self._request is not None and self._request.owner == owner:
            self.show_rows(None)

    def update_telemetry_focus(self) -> None:
        focus = getattr(self.screen, "telemetry_focus", None) if self.screen_stack else None
        self.telemetry.focus(focus() if focus is not None else ())

    def header_data(self, view: str) -> HeaderData:
        session = self.session
        if session is None:
            return HeaderData(
                clean_line(self.context),
                self.namespace,
                sync="connecting…",
                sync_hint="warn",
                read_only=self.settings.read_only,
            )
        units = session.ledger.units()  # whole GPUs apart from MIG slices and shared replicas
        forbidden = session.state("nodes").state == "forbidden"
        sync, hint = session.view_state(view or "nodes")
        figures = self.telemetry.header()
        label, label_hint = self.telemetry.label()
        return HeaderData(
            context=clean_line(self.context) or "in-cluster",
            namespace=self.namespace,
            allocatable=None if forbidden else round(units.of(GPU_WHOLE)[1]),
            requested=round(units.of(GPU_WHOLE)[0]),
            gpus=None if forbidden else units.physical,
            units=tuple(
                (name, round(req), None if forbidden else round(alloc))
                for name, (req, alloc) in (
                    ("MIG", units.of(GPU_MIG)),
                    ("shared", units.of(GPU_SHARED)),
                )
                if req or alloc
            ),
            busy=figures.busy if figures else None,
            idle=figures.allocated_idle if figures else None,
            mean_util=figures.mean_util if figures else None,
            sync=sync,
            sync_hint=hint,
            read_only=self.settings.read_only,
            telemetry=label,
            telemetry_hint=label_hint,
        )

    async def run_command(self, text: str) -> None:
        if not await run_registered(self, text):
            self.notify(f"unknown command: {text}", severity="error", markup=False)

    def open_view(self, view: str) -> None:
        # A worker: the screen that typed the command is about to be replaced, so nothing
        # running in its handler may wait for that.
        self.run_worker(self.show_view(view), group="view", exclusive=True)

    async def show_view(self, view: str) -> None:
        """Switch to a top-level view, dropping any drill-down stack (like k9s)."""
        while len(self.screen_stack) > BASE_DEPTH:
            await self.pop_screen()
        await self.switch_screen(self._view_screen(view))

    def _view_screen(self, view: str) -> Any:
        if view == "gpumap":
            from console.screens.gpumap import GpuMapScreen

            return GpuMapScreen()
        if view == "triage":
            from console.screens.triage import TriageScreen

            return TriageScreen()
        return ResourceScreen(view)

    def show_help(self, view: str) -> None:
        from console.screens.keys import key_rows

        title = f"Help · {view}" if view else "Help"
        described = dict(getattr(self.screen, "KEYS_DESCRIBED", None) or {})
        described.update(getattr(self.screen, "denied_keys", dict)())  # RBAC said no, and why
        keys = key_rows(self.active_bindings.values(), described)
        commands = help_rows(view, writes=not read_only(self))
        sections = [(f"Keys ({view or 'view'})", keys), ("Commands", commands)]
        markers = legend(view)
        if markers:
            sections.append(("Legend", markers))
        self.push_screen(HelpScreen(sections, title=title))

    def set_namespace(self, name: str) -> None:
        self.namespace = None if name in ("all", "-A", "*", "") else name
        for screen in self.screen_stack:
            if isinstance(screen, ResourceScreen):
                screen.namespace_changed()

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
            self.open_context(name)

    def open_context(self, name: str) -> None:
        self.run_worker(self.switch_context(name), exclusive=True, group="ctx")

    async def switch_context(self, name: str) -> None:
        """Resolve `name`'s settings and connect (in threads); on success replace the session,
        the telemetry link and every setting of the old context, and reset the views."""
        shown = clean_line(name)
        self.notify(f"connecting to {shown}…", markup=False, timeout=2)
        try:
            settings = await asyncio.to_thread(self._settings_for, name)
            connection = await asyncio.to_thread(self._connect, name, settings)
        except Exception as exc:
            reason = redact(clean_line(exc))
            self.notify(f"cannot switch to {shown}: {reason}", severity="error", markup=False)
            return
        await self._stop_session()
        old, self.connection = self.connection, connection
        if old is not None and old is not connection and hasattr(old, "close"):
            await asyncio.to_thread(old.close)
        self._apply_settings(settings)
        self.context = getattr(connection, "context", name) or name
        self._start_session(connection)
        view = getattr(self.screen_stack[BASE_DEPTH - 1], "view_name", "") or "nodes"
        await self.show_view(view)

    def _settings_for(self, name: str) -> Settings:
        """The settings of context `name`: its `[contexts."name"]` section under the
        environment and the command line, as at start-up. Settings that were not read from a
        file (tests, embedding) only change their context."""
        if self.settings.config_file is None:
            return dataclasses.replace(self.settings, context=name)
        layer = {"kubeconfig": self.settings.kubeconfig, **self._cli_layer}
        try:
            return load_settings(layer, path=self.settings.config_file, switch_to=name)
        except ConfigError as exc:
            raise ConfigError(f"settings of {clean_line(name)}: {exc}") from None

    def _apply_settings(self, settings: Settings) -> None:
        """Make `settings` the app's (between two sessions): namespace, refresh, theme, and
        what the next session and telemetry link are built with."""
        refresh_changed = settings.refresh_seconds != self.settings.refresh_seconds
        if any(getattr(settings, f) != getattr(self.settings, f) for f in TRACKING_SETTINGS):
            self.tracking = TrackingLink(settings)  # the context's MLflow, or none
        self.settings = settings
        self.telemetry.settings = settings
        self.namespace = (
            None if settings.all_namespaces or not settings.namespace else settings.namespace
        )
        if refresh_changed and getattr(self, "_tick_timer", None) is not None:
            self._tick_timer.stop()
            self._tick_timer = self.set_interval(max(1.0, settings.refresh_seconds), self._tick)
        if settings.theme != self.theme and settings.theme in self.available_themes:
            self.theme = settings.theme

    def run_with_terminal(self, function: Callable[[], Any]) -> Any:
        """Run `function` with the terminal handed back to it (`App.suspend`), from any
        thread, and return its result: how a credential plugin that needs the user (an
        MFA prompt) gets the terminal while the TUI is up. Raises when the app cannot
        suspend (not running, or no terminal to hand over)."""
        if self._thread_id == threading.get_ident():
            return self._suspended(function)
        return self.call_from_thread(self._suspended, function)

    def _suspended(self, function: Callable[[], Any]) -> Any:
        with self.suspend():
            return function()

    def _new_session(self, connection: Any, on_change: Callable[[], None]) -> Any:
        from console.cluster.session import ClusterSession

        settings = self.settings
        return ClusterSession(
            connection,
            on_change=on_change,
            pool_label=settings.node_pool_label,
            # where to watch should a cluster-wide list be forbidden (with the context's)
            namespaces=(settings.namespace or "", *(settings.namespaces or "").split(",")),
        )

    def _new_connection(self, context: str, settings: Settings) -> Any:
        """Connect to `context` (a worker thread): an exec plugin that needs the user gets
        the terminal through `run_with_terminal`."""
        from console.cluster.connection import connect as cluster_connect

        return cluster_connect(
            settings.kubeconfig,
            context,
            probe=True,
            read_only=settings.read_only,
            suspender=self.run_with_terminal,
        )

    def open_logs(self, spec: str = "", previous: bool = False) -> None:
        from console.screens.logs_open import open_logs, request_for_spec

        open_logs(self, request_for_spec(self, f"{spec} -p" if previous else spec))

    def toggle_cpu_nodes(self) -> None:
        screen = self.screen
        if isinstance(screen, ResourceScreen):
            screen.action_toggle_cpu()

    def perform(self, verb: str, arg: str = "") -> None:
        from console.screens.actions import start_action

        start_action(self, verb, arg)

    def write_runner(self) -> Any:
        """The runner of write actions for the current connection, made on first use."""
        from console.screens.actions import new_runner

        runner = getattr(self, "_write_runner", None)
        if self.session is None:
            return None
        if runner is None or runner.connection is not self.session.connection:
            runner = self._write_runner = new_runner(self)
        return runner

    def open_drain(self, arg: str = "") -> None:
        from console.screens.drain import start_drain

        start_drain(self, arg)

    def open_timeslice(self, arg: str = "") -> None:
        from console.screens.timeslice import start_timeslice

        start_timeslice(self, arg)

    def timeslice_names(self) -> list[str]:
        from console.screens.timeslice import config_names

        return config_names(self)
