"""Log streams: pods/log read by daemon threads, handed to the UI in batches.

`LogTail` owns the streams of one log screen. Each `LogStream` reads one container's log
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

import calendar
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
import urllib3

from console.cluster.connection import ClusterError, Connection
from console.render.logs import LogLine, make_line
from console.text import clean

FLUSH_SECONDS = 0.2
RECONCILE_SECONDS = 1.0
MAX_LINE_CHARS = 16_384
"""Longer lines are cut (with a note of how much): a 1 MB line must not stall the screen."""
MAX_PARTIAL_BYTES = 1 << 20
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
_RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0, 5.0)


@dataclass(frozen=True, slots=True)
class LogTarget:
    """One container to read: `container` "" = the pod's default container."""

    namespace: str
    pod: str
    container: str = ""


@dataclass(frozen=True, slots=True)
class LogOptions:
    """The pods/log query: `tail_lines` / `since_seconds` apply to the first request only;
    `previous` reads the last terminated instance once (no follow)."""

    tail_lines: int | None = 200
    since_seconds: int | None = None
    previous: bool = False
    follow: bool = True


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """A change of a source's state: a new source (`pod`, `container` set), or a state
    (`connecting`, `live`, `reconnecting`, `reconnected`, `waiting`, `ended`, `gone`,
    `error`) with a one-line message."""

    source: int
    state: str
    message: str = ""
    pod: str = ""
    container: str = ""


@dataclass
class LogBatch:
    lines: list[LogLine] = field(default_factory=list)
    dropped: int = 0
    events: list[SourceEvent] = field(default_factory=list)


def parse_log_timestamp(text: str, cache: dict[str, int] | None = None) -> int:
    """Nanoseconds of a kubelet timestamp (`2026-01-01T00:00:00.123456789Z`); 0 if malformed."""
    if len(text) < 20 or text[4] != "-" or text[10] != "T":
        return 0
    head = text[:19]
    base = cache.get(head) if cache is not None else None
    if base is None:
        try:
            base = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S")) * 1_000_000_000
        except ValueError:
            return 0
        if cache is not None:
            if len(cache) > 64:
                cache.clear()
            cache[head] = base
    rest = text[19:]
    frac = 0
    if rest.startswith("."):
        digits = rest[1:].rstrip("Zz")
        if not digits.isdigit() or len(digits) > 9:
            return 0
        frac = int(digits.ljust(9, "0"))
    elif rest not in ("Z", "z"):
        return 0
    return base + frac


def since_time(ts_ns: int) -> str:
    """`sinceTime` for a reconnect: the last line's second (the API may drop fractions)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts_ns // 1_000_000_000))


def decode_line(raw: bytes, cut: int = 0) -> str:
    """Bytes of one line (invalid UTF-8 replaced) → cleaned text, at most `MAX_LINE_CHARS`."""
    text = clean(raw[: MAX_LINE_CHARS * 4].decode("utf-8", "replace"))
    extra = cut + max(0, len(raw) - MAX_LINE_CHARS * 4)
    if len(text) > MAX_LINE_CHARS:
        extra += len(text) - MAX_LINE_CHARS
        text = text[:MAX_LINE_CHARS]
    return f"{text} … [{extra:,} more bytes]" if extra else text


class LogStream:
    """One container's log on a daemon thread; lines and state changes go to `tail`."""

    def __init__(self, tail: LogTail, source: int, target: LogTarget, options: LogOptions) -> None:
        self.tail = tail
        self.source = source
        self.target = target
        self.container = target.container
        self.options = options
        self.last_ts = 0
        self._seen_at_last: set[str] = set()
        self.skipped = 0
        """Lines a reconnect delivered again and this stream left out."""
        self._stop = threading.Event()
        self._response: urllib3.BaseHTTPResponse | None = None
        self._partial = b""
        self._cut = 0
        self._ts_cache: dict[str, int] = {}
        self.finished = False
        self.thread = threading.Thread(target=self._run, name=f"kmc-log-{target.pod}", daemon=True)

    @property
    def path(self) -> str:
        return f"/api/v1/namespaces/{self.target.namespace}/pods/{self.target.pod}/log"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Stop now: the blocked read is interrupted by closing the response."""
        self._stop.set()
        response = self._response
        if response is not None:
            try:
                shutdown = getattr(response, "shutdown", None)
                if shutdown is not None:
                    shutdown()
                response.close()
            except Exception:  # closing from another thread: any failure means it is closed
                pass

    # ------------------------------------------------------------ the thread

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # the console never crashes on a stream
            self.tail.event(self.source, "error", clean(f"log stream failed: {exc}")[:200])
        finally:
            self.finished = True

    def _loop(self) -> None:
        attempt = 0
        reconnecting = False
        while not self._stop.is_set():
            if not self.container:
                self.container = self._default_container()
                if not self.container:
                    return
                self.tail.event(self.source, "connecting", container=self.container)
            try:
                response = self.tail.connection.open(
                    "GET", self.path, self._query(), timeout=(10.0, None)
                )
            except ClusterError as exc:
                if self._stop.is_set():
                    return
                if exc.status == 404:
                    self.tail.event(self.source, "gone", "pod not found")
                    return
                if not self.options.follow or self.options.previous:
                    self.tail.event(self.source, "error", str(exc))
                    return
                state = "waiting" if exc.status == 400 else "reconnecting"
                self.tail.event(self.source, state, _short(exc))
                attempt += 1
                self._stop.wait(_RETRY_SECONDS[min(attempt, len(_RETRY_SECONDS) - 1)])
                continue
            self._response = response
            if self._stop.is_set():
                response.close()
                return
            dropped = False
            self.tail.event(self.source, "reconnected" if reconnecting else "live", "")
            try:
                for chunk in response.stream(65536):
                    self._feed(chunk)
                    attempt = 0
            except (urllib3.exceptions.HTTPError, OSError, ValueError, AttributeError):
                dropped = True
            finally:
                self._response = None
                response.close()
            if self._stop.is_set():
                return
            self._flush_partial()
            if not self.options.follow or self.options.previous:
                self.tail.event(self.source, "ended", "")
                return
            state = self._container_state()
            if state == "gone":
                self.tail.event(self.source, "gone", "pod deleted")
                return
            if state == "done":
                self.tail.event(self.source, "ended", "container terminated")
                return
            reconnecting = True
            reason = "stream dropped" if dropped else f"stream ended ({state})"
            self.tail.event(self.source, "reconnecting", reason)
            attempt += 1
            self._stop.wait(_RETRY_SECONDS[min(attempt, len(_RETRY_SECONDS) - 1)])

    def _query(self) -> dict[str, object]:
        query: dict[str, object] = {"container": self.container, "timestamps": True}
        if self.options.previous:
            query["previous"] = True
        elif self.options.follow:
            query["follow"] = True
        if self.last_ts:
            query["sinceTime"] = since_time(self.last_ts)
        else:
            query["tailLines"] = self.options.tail_lines
            query["sinceSeconds"] = self.options.since_seconds
        return query

    def _feed(self, chunk: bytes) -> None:
        data = self._partial + chunk if self._partial else chunk
        parts = data.split(b"\n")
        tail = parts.pop()
        if len(tail) > MAX_PARTIAL_BYTES:  # a line with no end in sight: keep its head only
            self._cut += len(tail) - MAX_PARTIAL_BYTES
            tail = tail[:MAX_PARTIAL_BYTES]
        self._partial = tail
        if parts:
            if self._cut:
                first = decode_line(parts[0], self._cut)
                self._cut = 0
                self._emit([first], parts[1:])
            else:
                self._emit([], parts)

    def _flush_partial(self) -> None:
        if self._partial:
            self._emit([decode_line(self._partial, self._cut)], [])
        self._partial, self._cut = b"", 0

    def _emit(self, decoded: list[str], raw: list[bytes]) -> None:
        out: list[LogLine] = []
        cache = self._ts_cache
        source = self.source
        for text in (*decoded, *(decode_line(r) for r in raw)):
            stamp, _, body = text.partition(" ")
            ts = parse_log_timestamp(stamp, cache)
            if not ts:
                out.append(make_line(source, 0, text))
                continue
            if ts < self.last_ts or (ts == self.last_ts and body in self._seen_at_last):
                self.skipped += 1  # a reconnect resends the last line's second
                continue
            if ts != self.last_ts:
                self.last_ts = ts
                self._seen_at_last = set()
            self._seen_at_last.add(body)
            out.append(make_line(source, ts, body))
        if out:
            self.tail.push(out)

    def _pod(self) -> dict | None:
        path = f"/api/v1/namespaces/{self.target.namespace}/pods/{self.target.pod}"
        try:
            pod = orjson.loads(self.tail.connection.request("GET", path, timeout=10.0))
        except ClusterError as exc:
            if exc.status == 404:
                return None
            raise
        return pod if isinstance(pod, dict) else {}

    def _default_container(self) -> str:
        """`kubectl.kubernetes.io/default-container`, else the first container."""
        try:
            pod = self._pod()
        except (ClusterError, orjson.JSONDecodeError) as exc:
            self.tail.event(self.source, "error", _short(exc))
            return ""
        if pod is None:
            self.tail.event(self.source, "gone", "pod not found")
            return ""
        return default_container(pod)

    def _container_state(self) -> str:
        """`gone`, `done` (terminated for good), or the container's state for the note."""
        try:
            pod = self._pod()
        except (ClusterError, orjson.JSONDecodeError):
            return "unknown"
        if pod is None or (pod.get("metadata") or {}).get("deletionTimestamp"):
            return "gone"
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            return "done"
        for cs in status.get("containerStatuses") or []:
            if isinstance(cs, dict) and cs.get("name") == self.container:
                state = cs.get("state") or {}
                return next(iter(state), "unknown") if isinstance(state, dict) else "unknown"
        return "unknown"


def default_container(pod: dict) -> str:
    """The container `kubectl logs` picks: the default-container annotation, else the first."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    names = container_names(pod)
    chosen = annotations.get(DEFAULT_CONTAINER) if isinstance(annotations, dict) else None
    if isinstance(chosen, str) and chosen in names:
        return chosen
    return names[0] if names else ""


def container_names(pod: dict) -> list[str]:
    spec = pod.get("spec") or {}
    return [
        clean(c.get("name", ""))
        for c in spec.get("containers") or []
        if isinstance(c, dict) and c.get("name")
    ]


def _short(exc: BaseException) -> str:
    return clean(str(exc)).splitlines()[0][:200] if str(exc) else type(exc).__name__


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
        stream = LogStream(self, source, target, self.options)
        self.streams[target] = stream
        stream.start()

    def _reconcile(self) -> None:
        if self._targets is None:
            return
        wanted = self._targets()
        for target in wanted:
            if target not in self.streams:
                self._add(target)
        present = set(wanted)
        for target, stream in self.streams.items():
            if target not in present and not stream.finished and not stream._stop.is_set():
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
