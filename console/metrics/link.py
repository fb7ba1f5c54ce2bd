"""The console's handle on GPU telemetry: a `TelemetryLink` around the poller of one cluster
session, with per-sample memos of the derived figures. No Textual.

One `TelemetryPoller` per cluster session. It is created with the session and started
once the pod list has synced (the direct DCGM scrape finds exporters in the cache; a
Prometheus source starts at once). Its thread calls back after every refresh; the app
posts a `TelemetryChanged` message from there and returns (never `call_from_thread`).
Screens read the figures through this link on the UI thread: node figures and per
workload figures are computed at most once per telemetry sample, however often the
cluster changes. The poller keeps running while the console is open — every screen
shows telemetry in its header — and is stopped (off the UI thread) on exit or when the
context changes. A failing source never raises here: its status says why.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from typing import Any

from console.config import Settings
from console.metrics.join import workload_telemetry
from console.metrics.model import (
    DEGRADED,
    LIVE,
    OFF,
    STARTING,
    UNAVAILABLE,
    HeaderTelemetry,
    NodeTelemetry,
    TelemetryStatus,
    WorkloadTelemetry,
)
from console.metrics.poller import TelemetryPoller
from console.metrics.store import TelemetryStore
from console.redact import redact

START_WAIT = 15.0
"""Seconds to wait for the pod list before starting the direct scrape anyway."""

PollerFactory = Callable[[Settings, Any, Any], TelemetryPoller]
WorkloadKey = tuple[str, str, str]


def default_poller(settings: Settings, connection: Any, cache: Any) -> TelemetryPoller:
    return TelemetryPoller(settings, connection, cache)


class TelemetryLink:
    """The poller of the current session, plus per-sample memos of the derived figures."""

    def __init__(self, settings: Settings, factory: PollerFactory | None = None) -> None:
        self.settings = settings
        self.factory = factory or default_poller
        self.poller: TelemetryPoller | None = None
        self.started = False
        self._created = 0.0
        self._unsubscribe: Callable[[], None] | None = None
        self._memo: dict[str, tuple[int, Any]] = {}
        self._cache: Any = None

    @property
    def enabled(self) -> bool:
        """False when the user turned telemetry off (`--telemetry none`): columns hide."""
        return self.settings.telemetry_source != "none"

    @property
    def store(self) -> TelemetryStore | None:
        return self.poller.store if self.poller is not None else None

    def attach(
        self, connection: Any, cache: Any, notify: Callable[[TelemetryStatus], None]
    ) -> None:
        """Create the poller of a new session (started by `start_when_ready`)."""
        self.poller = self.factory(self.settings, connection, cache)
        self._cache = cache
        self._unsubscribe = self.poller.subscribe(notify)
        self.started = False
        self._created = time.monotonic()
        self._memo.clear()

    def start_when_ready(self, pods_synced: bool) -> None:
        """Start the poller once the pod list is in (or at once for a Prometheus source)."""
        poller = self.poller
        if poller is None or self.started or not self.enabled:
            return
        prometheus = self.settings.telemetry_source == "prometheus" or (
            self.settings.telemetry_source == "auto" and self.settings.prometheus_url
        )
        if pods_synced or prometheus or time.monotonic() - self._created > START_WAIT:
            self.started = True
            poller.start()

    def detach(self) -> None:
        """Stop the poller (blocks up to a few seconds: call it off the UI thread)."""
        poller, self.poller = self.poller, None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._memo.clear()
        if poller is not None:
            poller.stop()

    def focus(self, nodes: Iterable[str]) -> None:
        if self.poller is not None:
            self.poller.focus(nodes)

    # ------------------------------------------------------------ reads (UI thread)

    def status(self) -> TelemetryStatus:
        """The poller's status, with credentials redacted from where it reads and why it
        fails (every screen shows telemetry through here)."""
        if self.poller is None:
            state = OFF if not self.enabled else STARTING
            return TelemetryStatus(self.settings.telemetry_source, state)
        status = self.poller.status()
        return dataclasses.replace(
            status,
            where=redact(status.where),
            error=redact(status.error),
            notes=tuple(redact(note) for note in status.notes),
        )

    def has_data(self) -> bool:
        return self.status().state in (LIVE, DEGRADED)

    def _memoized(self, name: str, compute: Callable[[TelemetryStore], Any], empty: Any) -> Any:
        store = self.store
        if store is None or not self.has_data():
            return empty
        stamp = store.samples
        hit = self._memo.get(name)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = compute(store)
        self._memo[name] = (stamp, value)
        return value

    def nodes(self) -> dict[str, NodeTelemetry]:
        """Node → figures (empty while telemetry has no data)."""
        return self._memoized("nodes", lambda s: s.nodes(), {})

    def workloads(self) -> dict[WorkloadKey, WorkloadTelemetry]:
        """(kind, namespace, name) → figures over the GPUs its pods hold."""
        return self._memoized("workloads", lambda s: workload_telemetry(s, self._cache), {})

    def header(self) -> HeaderTelemetry | None:
        store = self.store
        if store is None or not self.has_data():
            return None
        figures = store.header()
        return figures if figures.gpus else None

    def label(self) -> tuple[str, str | None]:
        """(text, hint) for the header: 'dcgm live', 'telemetry unavailable: <reason>', ..."""
        return status_label(self.status(), self.poller.period if self.poller else 2.0)


def status_label(status: TelemetryStatus, period: float = 2.0) -> tuple[str, str | None]:
    """A short telemetry state. The age shows only when it is late (over 3 periods + 5 s),
    so a healthy source reads the same from one second to the next."""
    if status.state == OFF:
        return status.label(), "muted"
    if status.state == UNAVAILABLE:
        return status.label(), "error"
    if status.state == STARTING:
        return "telemetry starting…", "muted"
    age = status.age()
    late = age is not None and age > 3 * period + 5
    text = f"{status.source} {f'{age:.0f}s old' if late else 'live'}"
    if status.state == DEGRADED:
        return f"{text} · {status.error}{status.notes_text()}", "warn"
    if status.notes:  # an untrusted or second exporter, dropped samples: worth a look
        return text + status.notes_text(), "warn"
    return text, "warn" if late else "ok"
