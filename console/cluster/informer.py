"""One list+watch cache for one kind, running in its own thread.

The thread lists in pages (`limit`/`continue`, publishing after each page), then
watches from the list's resourceVersion with bookmarks. A dropped stream resumes from
the last seen resourceVersion after an exponential backoff (capped); 410 Expired
(HTTP or an ERROR event) relists; 429 waits for Retry-After; 403 on list is
`forbidden`, 404 is `not installed` (both retried slowly). Records are slim frozen
structs keyed by (namespace, name); indexes and handlers are maintained per change.

Readers on other threads call `get`, `items`, `by_index`, `state`: each takes the
lock briefly and returns copies, so nothing is ever iterated while it changes.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
import urllib3

from console.cluster.connection import ClusterError, Connection, UnreachableError
from console.cluster.kinds import Kind, decode_watch_line

log = logging.getLogger(__name__)

Key = tuple[str, str]
IndexFn = Callable[[Any], Iterable[Hashable]]

SYNCING, LIVE, STALE, FORBIDDEN, NOT_INSTALLED, STOPPED = (
    "syncing",
    "live",
    "stale",
    "forbidden",
    "not installed",
    "stopped",
)


class Handler(Protocol):
    def on_upsert(self, old: Any | None, new: Any) -> None: ...
    def on_delete(self, old: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class SyncState:
    """Where a kind's cache stands. `total` is the expected count while syncing, if known."""

    state: str  # syncing | live | stale | forbidden | not installed | stopped
    items: int
    total: int | None = None
    since: float = 0.0  # time.time() when this state began
    message: str = ""
    skipped: int = 0  # malformed objects skipped so far

    def label(self) -> str:
        """Short text for a status bar: 'syncing 500/2000', 'live', 'stale since 12:03:04'."""
        if self.state == SYNCING:
            return f"syncing {self.items}/{self.total}" if self.total else f"syncing {self.items}"
        if self.state == STALE:
            return "stale since " + time.strftime("%H:%M:%S", time.localtime(self.since))
        return self.state


class _Expired(Exception):
    """The watch's resourceVersion is too old: relist."""


class _Closed(Exception):
    """The informer is stopping."""


class Informer:
    """List+watch cache of one kind (all namespaces unless `namespace` is given)."""

    page_size = 500
    backoff_start = 0.5
    backoff_cap = 30.0
    slow_retry = 60.0  # forbidden / not installed: try again this often

    def __init__(
        self,
        connection: Connection,
        kind: Kind,
        namespace: str | None = None,
        label_selector: str | None = None,
        on_dirty: Callable[[], None] | None = None,
    ) -> None:
        self.connection = connection
        self.kind = kind
        self.namespace = namespace
        self.label_selector = label_selector
        self._on_dirty = on_dirty or (lambda: None)
        self._lock = threading.Lock()
        self._items: dict[Key, Any] = {}
        self._indexes: dict[str, tuple[IndexFn, dict[Hashable, set[Key]]]] = {}
        self._handlers: list[Handler] = []
        self._state = SyncState(SYNCING, 0, since=time.time())
        self._version = 0
        self._changed: set[Key] | None = set()  # None: too many to name
        self._skipped = 0
        self._rv = ""
        self.lists = 0  # full lists done (1 + relists after 410): for diagnostics and tests
        self._backoff = 0.0
        self._stop = threading.Event()
        self._response: urllib3.BaseHTTPResponse | None = None
        self._thread = threading.Thread(target=self._run, name=f"kmc-{kind.name}", daemon=True)
        self._after: threading.Event | None = None
        self._after_timeout = 0.0

    def start_after(self, event: threading.Event, timeout: float) -> None:
        """Hold the first list until `event` is set (at most `timeout` s); call before `start`.

        The cache lists nodes first at scale: 200,000 pods decoding at the same time would
        take the interpreter from the nodes list and the first frame.
        """
        self._after, self._after_timeout = event, timeout

    # ------------------------------------------------------------ public, any thread

    def add_index(self, name: str, fn: IndexFn) -> None:
        """Index records by the values `fn(record)` yields; call before `start`."""
        with self._lock:
            table: dict[Hashable, set[Key]] = {}
            for key, record in self._items.items():
                for value in fn(record):
                    table.setdefault(value, set()).add(key)
            self._indexes[name] = (fn, table)

    def add_handler(self, handler: Handler) -> None:
        """Called from the informer thread on every upsert/delete; call before `start`."""
        self._handlers.append(handler)

    def get(self, key: Key) -> Any | None:
        with self._lock:
            return self._items.get(key)

    def items(self) -> list[Any]:
        with self._lock:
            return list(self._items.values())

    def by_index(self, name: str, value: Hashable) -> list[Any]:
        with self._lock:
            keys = self._indexes[name][1].get(value, ())
            return [self._items[k] for k in keys]

    def index_values(self, name: str) -> list[Hashable]:
        with self._lock:
            return list(self._indexes[name][1])

    def __len__(self) -> int:
        return len(self._items)

    @property
    def state(self) -> SyncState:
        return self._state

    @property
    def resource_version(self) -> str:
        return self._rv

    def drain(self) -> tuple[int, set[Key] | None]:
        """(version, changed keys since the last drain or None for 'many'), and reset."""
        with self._lock:
            changed, self._changed = self._changed, set()
            return self._version, changed

    def start(self) -> Informer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.halt()
        self.join(timeout)

    def halt(self) -> None:
        """Ask the thread to stop and cut its watch stream; returns at once."""
        self._stop.set()
        response = self._response
        if response is not None:
            try:
                response.shutdown()
            except (ValueError, RuntimeError, OSError):
                pass

    def join(self, timeout: float) -> None:
        """Wait at most `timeout` s for the thread to end (after `halt`), then say stopped."""
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._set_state(STOPPED)

    # ------------------------------------------------------------ the thread

    def _run(self) -> None:
        if self._after is not None:
            deadline = time.monotonic() + self._after_timeout
            while not self._after.wait(0.05) and time.monotonic() < deadline:
                if self._stop.is_set():
                    return
        need_list = True
        while not self._stop.is_set():
            try:
                if need_list:
                    self._list()
                    need_list = False
                self._watch()  # returns when the server ends the watch normally
            except _Closed:
                return
            except _Expired:
                log.info("%s: resourceVersion expired, relisting", self.kind.name)
                need_list = True
            except ClusterError as exc:
                if exc.status == 410:
                    need_list = True
                    continue
                self._stop.wait(self._on_error(exc, need_list))
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                self._stop.wait(self._on_error(UnreachableError(str(exc)), need_list))
            except Exception:  # never let a bug kill the cache silently
                log.exception("%s informer failed; retrying", self.kind.name)
                self._stop.wait(self._on_error(ClusterError("internal error"), need_list))

    def _on_error(self, exc: ClusterError, listing: bool) -> float:
        """Set the state for `exc` and return how long to wait before retrying."""
        if listing and exc.status == 403:
            self._set_state(FORBIDDEN, str(exc))
            return self.slow_retry
        if listing and exc.status == 404:
            self._set_state(NOT_INSTALLED, str(exc))
            return self.slow_retry
        self._backoff = min(self.backoff_cap, max(self.backoff_start, self._backoff * 2))
        self._set_state(STALE, str(exc))  # keeps `since` while it stays stale
        delay = exc.retry_after if exc.status == 429 and exc.retry_after else self._backoff
        log.info("%s: %s; retrying in %.1fs", self.kind.name, exc, delay)
        return delay * (1 + 0.1 * random.random())

    def _set_state(self, state: str, message: str = "", total: int | None = None) -> None:
        old = self._state
        since = old.since if old.state == state else time.time()
        self._state = SyncState(state, len(self._items), total, since, message, self._skipped)
        if (old.state, old.items, old.total) != (state, self._state.items, total):
            with self._lock:
                self._version += 1
            self._on_dirty()

    def _list(self) -> None:
        seen: set[Key] = set()
        token = ""
        query: dict[str, Any] = {"limit": self.page_size, "labelSelector": self.label_selector}
        while True:
            self._check_stop()
            body = self.connection.get(self.kind.path(self.namespace), {**query, "continue": token or None}, timeout=60.0)  # fmt: skip
            records, meta, skipped = self.kind.decode_list(body)
            self._skipped += skipped
            self._apply(("ADDED", rec) for rec in records)
            seen.update(rec.key for rec in records)
            token = meta.continue_
            remaining = meta.remaining_item_count
            total = len(seen) + remaining if remaining is not None else None
            if not token:
                break
            self._set_state(SYNCING, total=total)
        with self._lock:
            gone = [self._items[k] for k in self._items.keys() - seen]
        self._apply(("DELETED", rec) for rec in gone)
        self._rv = meta.resource_version
        self.lists += 1
        self._set_state(LIVE)

    def _watch(self) -> None:
        query = {
            "watch": "true",
            "resourceVersion": self._rv,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": random.randint(300, 600),
            "labelSelector": self.label_selector,
        }
        response = self.connection.open(
            "GET", self.kind.path(self.namespace), query, timeout=(10.0, 660.0)
        )
        self._response = response
        self._backoff = 0.0  # connected: the next drop starts the backoff afresh
        try:
            self._check_stop()
            if self._state.state != LIVE:
                self._set_state(LIVE)
            buffer = b""
            while True:
                chunk = response.read1(65536)
                if not chunk:
                    break  # the server ended the watch
                buffer += chunk
                if b"\n" not in chunk:
                    continue
                *lines, buffer = buffer.split(b"\n")
                self._apply(self._decode_lines(lines))
        except urllib3.exceptions.HTTPError as exc:
            self._check_stop()
            raise UnreachableError(f"watch {self.kind.name} dropped: {exc}") from None
        finally:
            self._response = None
            response.release_conn()
        self._check_stop()

    def _decode_lines(self, lines: list[bytes]) -> list[tuple[str, Any]]:
        """Decode watch lines; apply what came before an ERROR event, then raise for it."""
        changes: list[tuple[str, Any]] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                event = decode_watch_line(self.kind, line)
            except msgspec.DecodeError as exc:
                log.warning("%s: undecodable watch line skipped: %s", self.kind.name, exc)
                self._skipped += 1
                continue
            if event.type == "ERROR":
                self._apply(changes)
                status = event.status
                if status is not None and status.code == 410:
                    raise _Expired()
                code = status.code if status else 500
                raise ClusterError(f"watch error: {status.message if status else ''}", code)
            if event.resource_version:
                self._rv = event.resource_version
            if event.record is not None:
                changes.append((event.type, event.record))
            elif event.type != "BOOKMARK":
                self._skipped += 1
        return changes

    def _apply(self, changes: Iterable[tuple[str, Any]]) -> None:
        """Apply (type, record) changes under the lock, then run handlers and notify."""
        done: list[tuple[Any | None, Any | None]] = []
        with self._lock:
            for kind, record in changes:
                key = record.key
                old = self._items.get(key)
                if kind == "DELETED":
                    if old is None:
                        continue
                    del self._items[key]
                    new = None
                else:
                    self._items[key] = new = record
                for fn, table in self._indexes.values():
                    if old is not None:
                        for value in fn(old):
                            keys = table.get(value)
                            if keys is not None:
                                keys.discard(key)
                                if not keys:
                                    del table[value]
                    if new is not None:
                        for value in fn(new):
                            table.setdefault(value, set()).add(key)
                done.append((old, new))
                if self._changed is not None:
                    self._changed.add(key)
                    if len(self._changed) > 2000:
                        self._changed = None
            if done:
                self._version += 1
        for old, new in done:
            for handler in self._handlers:
                try:
                    if new is None:
                        handler.on_delete(old)
                    else:
                        handler.on_upsert(old, new)
                except Exception:
                    log.exception("%s handler failed", self.kind.name)
        if done:
            self._on_dirty()

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _Closed()
