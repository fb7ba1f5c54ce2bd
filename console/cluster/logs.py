"""Log streams: pods/log read by daemon threads, handed to the UI in batches.

`LogTail` owns the streams of one log screen. Each `LogStream` (`console.cluster.logs_stream`) reads one container's log
over the connection's raw HTTP (`Connection.open`, `timestamps=true`), cleans every line
(`console.text.clean`), classifies it (`console.render.logs.make_line`) and pushes it into
the tail's bounded pending queue. A dropped stream reconnects with `sinceTime` from the last
timestamp and skips the lines it already had; a stream that ends while its container still
runs (or restarts) resumes the same way. A manager thread re-reads the tail's targets (the
pods of a job or server, from the session's cache) once a second: new pods join, pods that
went away are marked gone. The UI is told that a batch is ready at most every
`FLUSH_SECONDS`, and not again until it took the batch (`drain`): never one message per line.
When the UI falls behind, the pending queue keeps only the newest `max_pending` lines and
counts the rest as dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from console.cluster.connection import Connection
from console.cluster.logs_stream import (
    DEFAULT_CONTAINER,
    MAX_LINE_CHARS,
    LogOptions,
    LogStream,
    LogTarget,
    SourceEvent,
    _short,
    container_names,
    decode_line,
    default_container,
    parse_log_timestamp,
    since_time,
)
from console.render.logs import LogLine

__all__ = [
    "DEFAULT_CONTAINER",
    "MAX_LINE_CHARS",
    "LogBatch",
    "LogOptions",
    "LogStream",
    "LogTail",
    "LogTarget",
    "SourceEvent",
    "container_names",
    "decode_line",
    "default_container",
    "parse_log_timestamp",
    "since_time",
]

FLUSH_SECONDS = 0.2
RECONCILE_SECONDS = 1.0


@dataclass
class LogBatch:
    """What `LogTail.drain` hands the UI: new lines, lines dropped while it was behind, and
    the sources' state changes."""

    lines: list[LogLine] = field(default_factory=list)
    dropped: int = 0
    events: list[SourceEvent] = field(default_factory=list)


class LogTail:
    """The streams of one log screen, their pending lines and the UI notification.

    `targets` (called on the manager thread once a second; None = a fixed list) says which
    containers to read; `notify` is called (from a thread) when a batch is ready and the
    previous one was taken.
    """

    def __init__(
        self,
        connection: Connection,
        notify: Callable[[], None],
        options: LogOptions,
        *,
        targets: Callable[[], list[LogTarget]] | None = None,
        fixed: list[LogTarget] | None = None,
        max_pending: int = 50_000,
    ) -> None:
        self.connection = connection
        self.notify = notify
        self.options = options
        self.max_pending = max_pending
        self._targets = targets
        self._fixed = list(fixed or [])
        self._lock = threading.Lock()
        self._pending: list[LogLine] = []
        self._events: list[SourceEvent] = []
        self._dropped = 0
        self._awaiting = False
        self._stop = threading.Event()
        self.streams: dict[LogTarget, LogStream] = {}
        self.sources: list[LogTarget] = []
        self._manager = threading.Thread(target=self._manage, name="kmc-log-tail", daemon=True)

    # ------------------------------------------------------------ from the streams

    def push(self, lines: list[LogLine]) -> None:
        with self._lock:
            self._pending.extend(lines)
            excess = len(self._pending) - self.max_pending
            if excess > 0:
                del self._pending[:excess]
                self._dropped += excess

    def event(self, source: int, state: str, message: str = "", container: str = "") -> None:
        with self._lock:
            self._events.append(SourceEvent(source, state, message, container=container))

    # ------------------------------------------------------------ from the UI

    def start(self) -> LogTail:
        for target in self._fixed:
            self._add(target)
        self._manager.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for stream in list(self.streams.values()):
            stream.stop()

    def drain(self) -> LogBatch:
        """Everything that arrived since the last call; the next batch may be announced."""
        with self._lock:
            batch = LogBatch(self._pending, self._dropped, self._events)
            self._pending, self._events, self._dropped = [], [], 0
            self._awaiting = False
        return batch

    def stream_of(self, source: int) -> LogStream | None:
        target = self.sources[source] if 0 <= source < len(self.sources) else None
        return self.streams.get(target) if target else None

    # ------------------------------------------------------------ the manager thread

    def _add(self, target: LogTarget) -> None:
        source = len(self.sources)
        self.sources.append(target)
        with self._lock:
            self._events.append(SourceEvent(source, "connecting", "", target.pod, target.container))
        self._start_stream(source, target)

    def _start_stream(self, source: int, target: LogTarget) -> None:
        stream = LogStream(self, source, target, self.options)
        self.streams[target] = stream
        stream.start()

    def _reconcile(self) -> None:
        if self._targets is None:
            return
        wanted = self._targets()
        for target in wanted:
            stream = self.streams.get(target)
            if stream is None:
                self._add(target)
            elif stream.gone and stream.finished:  # deleted, then created again (same name)
                self._start_stream(stream.source, target)
                self.event(stream.source, "connecting", "pod created again")
        present = set(wanted)
        for target, stream in self.streams.items():
            if target not in present and not stream.gone:
                stream.gone = True
                stream.stop()
                self.event(stream.source, "gone", "pod deleted")

    def _manage(self) -> None:
        next_reconcile = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_reconcile:
                next_reconcile = now + RECONCILE_SECONDS
                try:
                    self._reconcile()
                except Exception as exc:  # a cache read must not end the tail
                    self.event(0, "error", _short(exc)) if self.sources else None
            with self._lock:
                ready = (self._pending or self._events) and not self._awaiting
                if ready:
                    self._awaiting = True
            if ready:
                self.notify()
            self._stop.wait(FLUSH_SECONDS)
