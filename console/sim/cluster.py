"""Starting and stopping the simulated cluster: in-process on its own thread and event loop
(tests that reach inside), or as a child process (`kmc demo`, conformance tests, benchmarks).

    sim = SimCluster(preset="tiny", seed=1).start()     # or SimCluster(scenario="xid")
    sim.kubeconfig_path   # admin context `kmc-sim`, viewer context `kmc-sim-viewer`
    sim.advance(30)       # sim time moves on, controllers run
    sim.faults.drop_watches()
    sim.stop()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson
from aiohttp import web

from . import SCENARIOS, controllers, presets, scenarios
from .auth import Authenticator, kubeconfig, make_tls, team_namespaces, write_kubeconfig
from .clock import SimClock
from .controllers import churn
from .controllers.disruption import evict
from .faults import Faults
from .metrics_http import metrics_app
from .pod_logs import PodLogs
from .runtime import SimContext
from .server import ApiServer
from .server_http import json_response
from .store import Store
from .subresources import Subresources
from .telemetry import Telemetry

T = TypeVar("T")

# Sim seconds the small presets run before they serve, so a fresh cluster looks lived-in: pods
# scheduled and running, jobs succeeded, failed and restarting. The scale presets are written
# already running.
WARMUP_SECONDS = {"tiny": 600.0, "demo": 900.0}
SCENARIO_WARMUP = scenarios.WARMUP  # the scenarios' incidents are hours, minutes old
SCENARIO_TEAM = ("ml-research", "serving")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class SimCluster:
    def __init__(
        self,
        preset: str = "demo",
        seed: int = 1,
        port: int = 0,
        host: str = "127.0.0.1",
        speed: float = 1.0,
        kubeconfig_out: str | Path | None = None,
        metrics_port: int | None = 0,
        start_time: float | None = None,
        mlflow_uri: str | None = None,
        scenario: str | None = None,
    ) -> None:
        self.preset = preset
        self.scenario = scenario
        """A named incident scenario (`console.sim.SCENARIOS`) to build instead of `preset`."""
        if scenario is not None and scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
        self.seed = seed
        self.host = host
        self.port = port or free_port(host)
        self.metrics_port = (metrics_port or free_port(host)) if metrics_port is not None else None
        self.warmup = SCENARIO_WARMUP if scenario else WARMUP_SECONDS.get(preset, 0.0)
        self.clock = SimClock(start=(start_time or time.time()) - self.warmup, speed=speed)
        self._tmp = tempfile.TemporaryDirectory(prefix="kmc-sim-")
        self.kubeconfig_path = (
            Path(kubeconfig_out) if kubeconfig_out else Path(self._tmp.name) / "kubeconfig"
        )
        self.auth = Authenticator(SCENARIO_TEAM if scenario else team_namespaces(preset))
        self.fault_state = Faults()
        self.faults = FaultControl(self)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.build_seconds = 0.0
        self.mlflow_uri = mlflow_uri
        """Where the training jobs log their runs (`mlflow_feed`); None: nowhere."""
        self.feed: Any = None

    @property
    def server_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def metrics_url(self) -> str | None:
        return f"http://{self.host}:{self.metrics_port}" if self.metrics_port else None

    @property
    def admin_token(self) -> str:
        return self.auth.by_name("admin").token

    @property
    def viewer_token(self) -> str:
        return self.auth.by_name("viewer").token

    # ----- life cycle -----------------------------------------------------------------------
    def start(self, timeout: float = 120.0) -> SimCluster:
        """Start on a background thread with its own event loop; returns once it serves."""
        self._thread = threading.Thread(target=self._thread_main, name="kmc-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the simulated cluster did not start in time")
        if self._error:
            raise RuntimeError(
                f"the simulated cluster failed to start: {self._error}"
            ) from self._error
        return self

    def _thread_main(self) -> None:
        try:
            asyncio.run(self.serve_forever())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def serve_forever(self, on_ready: Callable[[SimCluster], None] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        if self.mlflow_uri:  # opening the store (imports, migrations) overlaps the build
            self.feed = self._mlflow_feed(self.mlflow_uri).start()
        await self._setup()
        if self.feed is not None:
            await asyncio.to_thread(self.feed.ready.wait, 120)
            self.feed.go()
            if self.scenario:  # its runs (a stalled one, backdated) exist from the first read
                await asyncio.to_thread(self.feed.first_tick.wait, 120)
        self._ready.set()
        if on_ready:
            on_ready(self)
        runner_task = asyncio.create_task(self._run_controllers())
        try:
            await self._stopping.wait()
        finally:
            runner_task.cancel()
            if self.feed is not None:
                self.feed.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await runner_task
            self.store.drop_watches()
            for runner in self._runners:
                await runner.cleanup()

    def _mlflow_feed(self, uri: str) -> Any:
        from .mlflow_feed import MlflowFeed, link_run, snapshot

        return MlflowFeed(
            uri,
            lambda: self.call(snapshot, self.store, timeout=10),
            lambda job, run_id: self.call(link_run, self.store, job, run_id, timeout=10),
            self.clock.now,
            backfill_at_once=bool(self.scenario),
        )

    async def _setup(self) -> None:
        started = time.perf_counter()
        self.store = Store(self.clock, self.seed)
        self.ctx = SimContext(self.store, self.clock, self.seed)
        layout = scenarios.build(self.ctx, self.scenario) if self.scenario else None
        if layout is None:
            presets.build(self.ctx, self.preset)
        controllers.start_controllers(self.ctx)
        self.churn = churn.start(self.ctx)
        self.telemetry = Telemetry(self.ctx)
        if layout is not None:
            scenarios.warm(self.ctx, self.scenario or "", layout)
        else:
            self.ctx.advance(self.warmup) if self.warmup else self.ctx.run_due()
        self.build_seconds = time.perf_counter() - started
        tls = make_tls(self.host)
        cert_dir = Path(self._tmp.name)
        (cert_dir / "tls.crt").write_bytes(tls.cert_pem)
        (cert_dir / "tls.key").write_bytes(tls.key_pem)
        ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_ctx.load_cert_chain(cert_dir / "tls.crt", cert_dir / "tls.key")
        self.api = ApiServer(self.ctx, self.auth, self.fault_state, f"{self.host}:{self.port}")
        self.api.subresources = Subresources(
            self.api, PodLogs(self.ctx, self.fault_state).handle, evict, self.telemetry
        )
        self.api.admin_routes = {
            "fault": self._admin_fault,
            "advance": self._admin_advance,
            "state": self._admin_state,
            "requests": self._admin_requests,
        }
        await self._serve(self.api.app(), self.port, ssl_ctx)
        if self.metrics_port:
            app = metrics_app(self.telemetry, self.host, self.metrics_port)
            await self._serve(app, self.metrics_port, None)
        write_kubeconfig(self.kubeconfig_path, kubeconfig(self.server_url, tls.ca_pem, self.auth))

    async def _serve(self, app: web.Application, port: int, ssl_ctx: ssl.SSLContext | None) -> None:
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, self.host, port, ssl_context=ssl_ctx, backlog=512).start()
        self._runners.append(runner)

    async def _run_controllers(self) -> None:
        wake = asyncio.Event()
        self.ctx.wake = wake.set
        while True:
            self.ctx.run_due()
            due = self.ctx.next_due()
            delay = (
                0.25
                if due is None
                else max(0.0, min(0.25, (due - self.clock.now()) / self.clock.speed))
            )
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay)

    def stop(self) -> None:
        if self.loop and self._stopping and self._thread and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(10)
        self._tmp.cleanup()

    def __enter__(self) -> SimCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- reaching inside (from another thread) --------------------------------------------
    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 60.0) -> T:
        """Run `fn(*args)` on the simulator's loop thread and return its result."""
        assert self.loop is not None

        async def run() -> T:
            return fn(*args)

        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(run(), self.loop)
        return future.result(timeout)

    def advance(self, seconds: float, step: float = 1.0) -> None:
        """Move sim time forward, running every controller timer that falls due."""
        self.call(self.ctx.advance, seconds, step)

    # ----- admin endpoint -------------------------------------------------------------------
    async def _admin_fault(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read() or b"{}")
        result = self.faults.apply(body)
        return json_response({"ok": True, **result})

    async def _admin_advance(self, request: web.Request) -> web.Response:
        from .server_handlers import advance_seconds  # bounded: a 400 Status, time unmoved

        self.ctx.advance(advance_seconds(await request.read()))
        return json_response({"ok": True, "now": self.clock.iso()})

    async def _admin_state(self, _request: web.Request) -> web.Response:
        return json_response(
            {
                "resourceVersion": self.store.rv,
                "now": self.clock.iso(),
                "watches": len(self.api.watchers),
            }
        )

    async def _admin_requests(self, _request: web.Request) -> web.Response:
        return json_response({"requests": self.requests.since()})

    @property
    def requests(self) -> Any:
        """The API server's `request_log.RequestLog` (method and path of each request)."""
        return self.api.requests


class FaultControl:
    """Faults on demand, from Python (on any thread) or from the admin endpoint."""

    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim

    def _on_loop(self, fn: Callable[[], T]) -> T:
        sim = self.sim
        try:
            on_loop = asyncio.get_running_loop() is sim.loop
        except RuntimeError:  # no loop running in this thread
            on_loop = False
        if sim.loop is not None and not on_loop:
            return sim.call(fn)
        return fn()

    def drop_watches(self) -> int:
        """Close every open watch connection, as an API server restart does."""
        return self._on_loop(self.sim.store.drop_watches)

    def expire_watches(self) -> None:
        """Forget watch history: resuming from any earlier resourceVersion gets 410 Expired."""
        self._on_loop(self.sim.store.expire_history)

    def drop_log_streams(self) -> None:
        """Cut every open pods/log follow stream mid-chunk."""
        self.sim.fault_state.drop_log_streams()

    def throttle(self, count: int = 1, retry_after: int = 1) -> None:
        self.sim.fault_state.throttle_count, self.sim.fault_state.retry_after_seconds = (
            count,
            retry_after,
        )

    def fail(self, code: int = 503, count: int = 1) -> None:
        self.sim.fault_state.error_code, self.sim.fault_state.error_count = code, count

    def latency(self, seconds: float) -> None:
        self.sim.fault_state.latency_seconds = seconds

    def stall_watches(self, stalled: bool = True) -> None:
        """Every watch goes silent (no events, no bookmarks, no end) until un-stalled."""
        self.sim.fault_state.watches_stalled = stalled

    def conflict(self, count: int = 1) -> None:
        """The next `count` writes (PUT/PATCH/DELETE) are answered 409 Conflict."""
        self.sim.fault_state.conflict_count = count

    def revoke(self, user: str) -> None:
        self.sim.auth.revoke(user)

    def clear(self) -> None:
        self.sim.fault_state.clear()

    def churn(self, per_second: float) -> None:
        """Update this many random pods per second (0 stops)."""
        self._on_loop(lambda: self.sim.churn.set_rate(per_second))

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        action = body.get("action")
        if action == "drop-watches":
            return {"dropped": self.drop_watches()}
        if action == "drop-log-streams":
            self.drop_log_streams()
        elif action == "expire-watches":
            self.expire_watches()
        elif action == "throttle":
            self.throttle(int(body.get("count", 1)), int(body.get("retryAfter", 1)))
        elif action == "fail":
            self.fail(int(body.get("code", 503)), int(body.get("count", 1)))
        elif action == "latency":
            self.latency(float(body.get("seconds", 0)))
        elif action == "stall-watches":
            self.stall_watches(bool(body.get("stalled", True)))
        elif action == "conflict":
            self.conflict(int(body.get("count", 1)))
        elif action == "revoke":
            self.revoke(str(body.get("user", "")))
        elif action == "clear":
            self.clear()
        elif action == "churn":
            self.churn(float(body.get("rate", 0)))
        else:
            raise ValueError(f"unknown fault action {action!r}")
        return {}


def run_foreground(sim: SimCluster, announce: Callable[[SimCluster], None]) -> None:
    """Serve until SIGINT/SIGTERM/SIGHUP, or until the parent process goes away."""
    import signal

    parent = os.getppid()

    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def watch_parent() -> None:
            while True:
                await asyncio.sleep(1.0)
                if os.getppid() != parent and sim._stopping:
                    sim._stopping.set()

        tasks: list[asyncio.Task[None]] = []

        def ready(s: SimCluster) -> None:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, s._stopping.set)  # type: ignore[union-attr]
            tasks.append(loop.create_task(watch_parent()))
            announce(s)

        await sim.serve_forever(on_ready=ready)

    asyncio.run(main())
    sim._tmp.cleanup()
