"""One container's log stream: pods/log read by a daemon thread (see `console.cluster.logs`).

`LogStream` reads over the connection's raw HTTP (`Connection.open`, `timestamps=true`),
decodes and cleans every line (`decode_line`: invalid UTF-8 replaced, control and escape
sequences removed, very long lines cut), classifies it and pushes it to its sink in chunks.
A dropped stream, or one that ended while the container still runs or restarts, resumes
with `sinceTime` from the last line's second and skips what it already had. `stop()`
closes the response, so a blocked read ends at once.
"""

from __future__ import annotations

import calendar
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import urllib3

from console.cluster.connection import ClusterError, Connection
from console.render.logs import LogLine, make_line
from console.text import clean

MAX_LINE_CHARS = 16_384
"""Longer lines are cut (with a note of how much): a 1 MB line must not stall the screen."""
MAX_PARTIAL_BYTES = 1 << 20
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
_REQUEST_PREFIX = re.compile(r"^(?:GET|POST|PUT|PATCH|DELETE) \S+: (?:HTTP \d+: )?")
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


class StreamSink(Protocol):
    """Where a stream's lines and state changes go (`console.cluster.logs.LogTail`)."""

    connection: Connection

    def push(self, lines: list[LogLine]) -> None: ...

    def event(self, source: int, state: str, message: str = "", container: str = "") -> None: ...


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

    def __init__(
        self, tail: StreamSink, source: int, target: LogTarget, options: LogOptions
    ) -> None:
        self.tail = tail
        self.source = source
        self.target = target
        self.container = target.container
        self.options = options
        self.last_ts = 0
        self._seen_at_last: set[str] = set()
        self.skipped = 0
        """Lines a reconnect delivered again and this stream left out."""
        self.delivered = 0
        self._stop = threading.Event()
        self._response: urllib3.BaseHTTPResponse | None = None
        self._partial = b""
        self._cut = 0
        self._ts_cache: dict[str, int] = {}
        self.finished = False
        self.gone = False
        """The pod went away (deleted, or no longer among the tail's targets)."""
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
                    self.gone = True
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
            reconnecting = False
            delivered = self.delivered
            try:
                for chunk in response.stream(65536):
                    self._feed(chunk)
                    if self.delivered > delivered:  # new lines, not the resent second
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
                self.gone = True
                self.tail.event(self.source, "gone", "pod deleted")
                return
            if state == "done":
                self.tail.event(self.source, "ended", "container terminated")
                return
            # a drop is noted in the log when the stream is back; a stream that merely ended
            # while its container runs (or waits to restart) is polled quietly, backing off
            reconnecting = dropped
            if dropped:
                self.tail.event(self.source, "reconnecting", "stream dropped")
            else:
                self.tail.event(self.source, "waiting", f"stream ended, container {state}")
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
            self.delivered += len(out)
            self.tail.push(out)

    def _pod(self) -> dict[str, Any] | None:
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
            self.gone = True
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


def default_container(pod: dict[str, Any]) -> str:
    """The container `kubectl logs` picks: the default-container annotation, else the first."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    names = container_names(pod)
    chosen = annotations.get(DEFAULT_CONTAINER) if isinstance(annotations, dict) else None
    if isinstance(chosen, str) and chosen in names:
        return chosen
    return names[0] if names else ""


def container_names(pod: dict[str, Any]) -> list[str]:
    spec = pod.get("spec") or {}
    return [
        clean(c.get("name", ""))
        for c in spec.get("containers") or []
        if isinstance(c, dict) and c.get("name")
    ]


def _short(exc: BaseException) -> str:
    """One line: the API's own message, without the request line in front of it."""
    text = clean(str(exc)).splitlines()[0] if str(exc) else type(exc).__name__
    return _REQUEST_PREFIX.sub("", text)[:200]
