"""`TelemetryPoller`: picks the source, refreshes it on a background thread, tells subscribers.

    poller = TelemetryPoller(settings, connection, cache).start()
    unsubscribe = poller.subscribe(lambda status: app.post_message(TelemetryChanged(status)))
    poller.focus({"node-a"})          # nodes on screen: per-GPU detail and history
    poller.store.nodes(), poller.store.gpu_rows("node-a"), poller.status().label()
    poller.stop()

One thread. A refresh starts `interval` seconds after the previous one finished (re-armed
on completion, never overlapping), so a slow source slows the loop instead of piling up
work; when a refresh takes long the wait stretches so that refreshing stays below
`max_busy` (20 %) of the time (`poller.period`); `pause()` stops refreshing while
telemetry is not on screen. Subscribers are called
on the poller thread after every refresh with the new `TelemetryStatus`; they must be
quick (post a message and return). Nothing raises into the caller: a failing source
turns into status `unavailable` with a reason, and the next refresh tries again.

Source choice (`Settings.telemetry_source`): `prometheus` (URL from settings — CLI,
`PROMETHEUS_URL`, config — else discovered in the cluster), `dcgm` (exporters through the
API server), `none`, or `auto`: Prometheus when a URL is set or one is found and answers,
else the exporters. In auto mode a source failing for `reselect_seconds` is dropped and
the choice made again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from console.cluster.cache import ClusterCache
from console.cluster.connection import Connection
from console.config import MIN_REFRESH_SECONDS, Settings
from console.metrics.model import (
    DEGRADED,
    LIVE,
    OFF,
    STARTING,
    UNAVAILABLE,
    Frame,
    TelemetryStatus,
)
from console.metrics.source import Source, SourceError
from console.metrics.store import DEFAULT_HISTORY, DEFAULT_IDLE_SAMPLES, TelemetryStore
from console.text import clean_line

log = logging.getLogger(__name__)


class TelemetryPoller:
    """Background refresh of one telemetry source into `self.store`."""

    def __init__(
        self,
        settings: Settings,
        connection: Connection | None = None,
        cache: ClusterCache | None = None,
        *,
        source: Source | None = None,
        interval: float | None = None,
        history: int = DEFAULT_HISTORY,
        idle_samples: int = DEFAULT_IDLE_SAMPLES,
        reselect_seconds: float = 30.0,
        max_busy: float = 0.2,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.cache = cache
        self.mode = "fixed" if source is not None else settings.telemetry_source
        self.interval = max(MIN_REFRESH_SECONDS, interval or settings.refresh_seconds)
        self.store = TelemetryStore(history, idle_samples)
        self.reselect_seconds = reselect_seconds
        self.max_busy = min(1.0, max(0.01, max_busy))
        self.period = self.interval  # the current wait between refreshes (see _run)
        self._source: Source | None = source
        self._selected_at = 0.0
        self._failing_since = 0.0
        self._focus: frozenset[str] = frozenset()
        self._subscribers: list[Callable[[TelemetryStatus], None]] = []
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._paused = False
        self._thread = threading.Thread(target=self._run, name="kmc-telemetry", daemon=True)
        name = source.name if source else ("none" if self.mode == "none" else self.mode)
        self._status = TelemetryStatus(name, OFF if self.mode == "none" else STARTING)

    # ------------------------------------------------------------------ public

    def start(self) -> TelemetryPoller:
        if self.mode != "none":
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (waits for a refresh in progress up to a few seconds); idempotent."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(5.0)
        if self._source is not None:
            self._source.close()

    def subscribe(self, callback: Callable[[TelemetryStatus], None]) -> Callable[[], None]:
        """Register `callback(status)`, called on the poller thread; returns unsubscribe."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def status(self) -> TelemetryStatus:
        return self._status

    def focus(self, nodes: Iterable[str]) -> None:
        """The nodes on screen; newly focused nodes are refreshed right away."""
        new = frozenset(nodes)
        changed = bool(new - self._focus)
        self._focus = new
        if changed:
            self._wake.set()

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._wake.set()

    def refresh_now(self) -> None:
        self._wake.set()

    # ------------------------------------------------------------------ the loop

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self._paused:
                started = time.monotonic()
                try:
                    self.refresh_once()
                except Exception:  # never let the thread die
                    log.exception("telemetry refresh failed")
                # a refresh that takes long stretches the wait, so that telemetry keeps
                # below `max_busy` of the time (a direct scrape of 10,000 exporters)
                busy = time.monotonic() - started
                self.period = max(self.interval, busy * (1.0 / self.max_busy - 1.0))
            self._wake.wait(self.period)
            self._wake.clear()

    def refresh_once(self) -> TelemetryStatus:
        """One refresh on the calling thread (the loop's body; tests call it directly)."""
        started = time.monotonic()
        frame: Frame | None = None
        error = ""
        if self._source is None and (
            not self._selected_at or time.monotonic() - self._selected_at >= self.reselect_seconds
        ):
            self._source, frame, error = self._select()
            self._selected_at = time.monotonic()
        source = self._source
        if source is not None and frame is None:
            try:
                frame = source.refresh(self._focus)
            except SourceError as exc:
                error = str(exc)
            except Exception as exc:  # a bug or an unexpected reply: report, keep going
                log.exception("telemetry source %s failed", source.name)
                error = f"{type(exc).__name__}: {clean_line(exc)[:160]}"
        elapsed = time.monotonic() - started
        if frame is not None:
            self.store.apply(frame)
            self.store.set_source(source)  # Prometheus answers triage's idle durations
            self._failing_since = 0.0
            missing = len(frame.failed)
            self._status = TelemetryStatus(
                source=source.name if source else "none",
                state=DEGRADED if missing else LIVE,
                where=source.where if source else "",
                last_sample=time.time(),
                error=f"{missing} node(s) without telemetry: {next(iter(frame.failed.values()))}"
                if missing
                else "",
                missing_nodes=missing,
                refresh_seconds=elapsed,
                queries=frame.requests,
                bytes=frame.bytes,
                notes=tuple(frame.notes),
            )
        else:
            self.store.apply(Frame(readings={}))  # a gap: no stale values shown as live
            self._failing_since = self._failing_since or time.monotonic()
            self._status = TelemetryStatus(
                source=source.name if source else "none",
                state=UNAVAILABLE,
                where=source.where if source else "",
                last_sample=self._status.last_sample,
                error=error,
                refresh_seconds=elapsed,
            )
            if (
                self.mode == "auto"
                and source is not None
                and time.monotonic() - self._failing_since >= self.reselect_seconds
            ):
                source.close()
                self._source, self._selected_at = None, time.monotonic()
        for callback in list(self._subscribers):
            try:
                callback(self._status)
            except Exception:
                log.exception("telemetry subscriber failed")
        return self._status

    # ------------------------------------------------------------------ choosing a source

    def _make_prometheus(self, url: str) -> Source:
        from console.metrics.dcgm import exporter_namespaces
        from console.metrics.prometheus import PrometheusSource

        return PrometheusSource(
            url,
            self.connection,
            self.settings.dcgm_label_mode,
            interval=self.interval,
            idle_samples=self.store.idle_samples,
            history=self.store.history,
            cache=self.cache,
            namespaces=exporter_namespaces(self.settings),
            hot_celsius=getattr(self.settings, "triage_hot_celsius", 85.0),
        )

    def _make_dcgm(self) -> Source:
        from console.metrics.dcgm import DcgmSource, exporter_namespaces

        assert self.connection is not None
        return DcgmSource(
            self.connection,
            self.cache,
            self.settings.dcgm_label_mode,
            namespaces=exporter_namespaces(self.settings),
        )

    def _select(self) -> tuple[Source | None, Frame | None, str]:
        """(source, its first frame or None, why nothing works)."""
        mode, url = self.mode, self.settings.prometheus_url
        if mode in ("prometheus", "auto") and not url and self.connection is not None:
            from console.metrics.prometheus import discover

            url = discover(self.connection)
        if mode == "prometheus" or (mode == "auto" and self.settings.prometheus_url):
            if not url:
                return None, None, "no Prometheus URL set and none found in the cluster"
            return self._make_prometheus(url), None, ""
        if self.connection is None:
            return None, None, "not connected to a cluster"
        if mode == "dcgm":
            return self._make_dcgm(), None, ""
        reasons = []
        candidates = [self._make_prometheus(url)] if url else []
        candidates.append(self._make_dcgm())
        for candidate in candidates:
            try:
                return candidate, candidate.refresh(self._focus), ""
            except Exception as exc:  # SourceError, or a bug: try the next one
                reasons.append(str(exc) if isinstance(exc, SourceError) else repr(exc)[:160])
                candidate.close()
        if not url:
            reasons.insert(0, "no Prometheus found")
        return None, None, "; ".join(reasons)
