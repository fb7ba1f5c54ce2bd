"""One list+watch cache for one kind: a shared store fed by one or more scope threads.

Each scope (console.cluster.watch_scope) lists in pages (`limit`/`continue`, publishing
after each page), then watches from the list's resourceVersion with bookmarks and a
liveness deadline. A dropped or silent stream resumes from the last seen resourceVersion
after an exponential backoff (capped); 410 Expired (HTTP or an ERROR event) relists; 429
waits for Retry-After; 403 on list is `forbidden`, 404 is `not installed` (both retried
slowly). A namespaced kind whose cluster-wide list is forbidden falls back to one scope
per namespace the user may list (`fallback_namespaces`), and the kind is live when any of
them is. Records are slim frozen structs keyed by (namespace, name); indexes and
handlers are maintained per change.

Readers on other threads call `get`, `items`, `by_index`, `state`: each takes the
lock briefly and returns copies, so nothing is ever iterated while it changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from console.cluster.connection import Connection
from console.cluster.kinds import Kind
from console.cluster.watch_scope import (
    FORBIDDEN,
    LIVE,
    NOT_INSTALLED,
    STALE,
    STOPPED,
    SYNCING,
    Scope,
)

log = logging.getLogger(__name__)

Key = tuple[str, str]
IndexFn = Callable[[Any], Iterable[Hashable]]

__all__ = ["FORBIDDEN", "LIVE", "NOT_INSTALLED", "STALE", "STOPPED", "SYNCING", "Informer"]
_WORST_FIRST = (STALE, SYNCING, NOT_INSTALLED, LIVE)


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


class Informer:
    """List+watch cache of one kind (all namespaces unless `namespace` is given)."""

    page_size = 500
    backoff_start = 0.5
    backoff_cap = 30.0
    slow_retry = 60.0  # forbidden / not installed: try again this often
    watch_window = 300  # each watch asks to end after timeoutSeconds in [w, 2w] (client-go)
    liveness_grace = 30.0  # a watch silent for its window plus this is restarted
    bookmark_liveness = 90.0  # …or for this long once the server showed it sends bookmarks

    def __init__(
        self,
        connection: Connection,
        kind: Kind,
        namespace: str | None = None,
        label_selector: str | None = None,
        on_dirty: Callable[[], None] | None = None,
        fallback_namespaces: Sequence[str] = (),
    ) -> None:
        self.connection = connection
        self.kind = kind
        self.namespace = namespace
        self.label_selector = label_selector
        self.fallback_namespaces = tuple(dict.fromkeys(n for n in fallback_namespaces if n))
        self._on_dirty = on_dirty or (lambda: None)
        self._lock = threading.Lock()
        self._items: dict[Key, Any] = {}
        self._indexes: dict[str, tuple[IndexFn, dict[Hashable, set[Key]]]] = {}
        self._handlers: list[Handler] = []
        self._state = SyncState(SYNCING, 0, since=time.time())
        self._version = 0
        self._changed: set[Key] | None = set()  # None: too many to name
        self._skipped = 0
        self._stop = threading.Event()
        self._stopped = False
        self._scopes: list[Scope] = [Scope(self, namespace)]
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
        """The last resourceVersion seen ("" when watching several namespaces)."""
        return self._scopes[0].rv if len(self._scopes) == 1 else ""

    @property
    def lists(self) -> int:
        """Full lists done (1 + relists after 410, per scope): for diagnostics and tests."""
        return sum(scope.lists for scope in self._scopes)

    @property
    def watches(self) -> int:
        """Watch requests opened, all scopes together (diagnostics and tests)."""
        return sum(scope.watches for scope in self._scopes)

    def scope_states(self) -> dict[str | None, str]:
        """Each scope's state: {None: state} for one cluster-wide scope, else per namespace."""
        return {scope.namespace: scope.state for scope in self._scopes}

    def namespaces_listed(self) -> list[str] | None:
        """The namespaces this kind is watched in after a forbidden cluster-wide list
        (those whose own list works), or None while it watches the whole cluster."""
        scopes = self._scopes
        if len(scopes) == 1 and scopes[0].namespace is None:
            return None
        return [s.namespace for s in scopes if s.namespace and s.state != FORBIDDEN]

    def drain(self) -> tuple[int, set[Key] | None]:
        """(version, changed keys since the last drain or None for 'many'), and reset."""
        with self._lock:
            changed, self._changed = self._changed, set()
            return self._version, changed

    def start(self) -> Informer:
        for scope in self._scopes:
            scope.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.halt()
        self.join(timeout)

    def halt(self) -> None:
        """Ask every scope thread to stop and cut its watch stream; returns at once."""
        with self._lock:
            self._stop.set()
            scopes = list(self._scopes)
        for scope in scopes:
            scope.halt()

    def join(self, timeout: float) -> None:
        """Wait at most `timeout` s for the threads to end (after `halt`), then say stopped."""
        deadline = time.monotonic() + timeout
        for scope in list(self._scopes):
            scope.join(max(0.0, deadline - time.monotonic()))
        self._stopped = True
        self._scope_changed()

    # ------------------------------------------------------------ for the scopes

    def fall_back(self) -> bool:
        """The cluster-wide list is forbidden: watch each fallback namespace instead (from a
        scope thread). False when there is nothing to fall back to."""
        if not self.kind.namespaced or not self.fallback_namespaces or self.namespace:
            return False
        with self._lock:
            if self._stop.is_set():
                return False
            self._scopes = [Scope(self, ns) for ns in self.fallback_namespaces]
            scopes = list(self._scopes)
        names = ", ".join(self.fallback_namespaces)
        log.info("%s: cluster-wide list forbidden; watching %s", self.kind.name, names)
        for scope in scopes:
            scope.start()
        self._scope_changed()
        return True

    def _absent(self, namespace: str | None, seen: set[Key]) -> list[Any]:
        """Records of `namespace` (None: all) that a fresh list did not return."""
        with self._lock:
            return [
                record
                for key, record in self._items.items()
                if key not in seen and (namespace is None or key[0] == namespace)
            ]

    def _scope_changed(self) -> None:
        """Recompute the kind's state from its scopes; notify when it changed."""
        scopes = list(self._scopes)
        total: int | None = None
        if self._stopped:
            state, message, since = STOPPED, "", time.time()
        else:
            working = [s for s in scopes if s.state != FORBIDDEN] or scopes
            worst = min(working, key=lambda s: _rank(s.state))
            state, message, since, total = worst.state, worst.message, worst.since, worst.total
            if state == FORBIDDEN and len(scopes) > 1:
                tried = ", ".join(s.namespace or "" for s in scopes)
                message = (
                    f"forbidden in every namespace tried: {tried}"
                    " (name yours with -n or namespaces = [...] in the settings)"
                )
        old = self._state
        if old.state == state:
            since = old.since
        self._state = SyncState(state, len(self._items), total, since, message, self._skipped)
        if (old.state, old.items, old.total, old.message) != (
            state,
            self._state.items,
            total,
            message,
        ):
            with self._lock:
                self._version += 1
            self._on_dirty()

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


def _rank(state: str) -> int:
    return _WORST_FIRST.index(state) if state in _WORST_FIRST else len(_WORST_FIRST)
