"""The list+watch loop of one informer over one scope: all namespaces, or one namespace.

An `Informer` (console.cluster.informer) runs one scope, the whole cluster; when that list
is forbidden for a namespaced kind, it runs one scope per namespace the user may list
instead. Each scope lists in pages (publishing after each page), then watches from the
list's resourceVersion with bookmarks, in its own daemon thread.

Liveness: every watch asks the server to end it after `timeoutSeconds` (a random window,
like client-go) and sets a read deadline: the window plus a grace, or, once the server has
shown that it sends bookmarks, `bookmark_liveness`. A stream silent past its deadline (a
frozen API server, a proxy that dropped it without a word; TCP keepalive covers a dead
peer) is stale: the scope says so and reconnects from its resourceVersion, and says live
again only once the new stream delivers something.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Any

import msgspec
import urllib3

from console.cluster.connection import ClusterError, UnreachableError
from console.cluster.kinds import decode_watch_line

if TYPE_CHECKING:
    from console.cluster.informer import Informer

log = logging.getLogger(__name__)

SYNCING, LIVE, STALE, FORBIDDEN, NOT_INSTALLED, STOPPED = (
    "syncing",
    "live",
    "stale",
    "forbidden",
    "not installed",
    "stopped",
)


class Expired(Exception):
    """The watch's resourceVersion is too old: relist."""


class Closed(Exception):
    """The informer is stopping."""


class Silent(Exception):
    """The watch delivered nothing (no event, no bookmark) before its liveness deadline."""


class Scope:
    """One scope's list+watch thread; the records go to its informer's shared store."""

    def __init__(self, informer: Informer, namespace: str | None) -> None:
        self.informer = informer
        self.namespace = namespace
        self.state = SYNCING
        self.since = time.time()
        self.message = ""
        self.total: int | None = None
        self.rv = ""
        self.lists = 0
        self.watches = 0  # watch requests opened (diagnostics and tests)
        self.bookmarks = False  # the server sends bookmarks on this scope's watches
        self._suspect = False  # the last stream fell silent: live only once one delivers
        self._backoff = 0.0
        self.response: urllib3.BaseHTTPResponse | None = None
        name = f"kmc-{informer.kind.name}" + (f"-{namespace}" if namespace else "")
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # ------------------------------------------------------------ control (any thread)

    def start(self) -> None:
        self._thread.start()

    def halt(self) -> None:
        """Cut the watch stream (the informer's stop event is already set)."""
        response = self.response
        if response is not None:
            try:
                response.shutdown()
            except (ValueError, RuntimeError, OSError):
                pass

    def join(self, timeout: float) -> None:
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # ------------------------------------------------------------ the thread

    def _set(self, state: str, message: str = "", total: int | None = None) -> None:
        if state != self.state:
            self.since = time.time()
        self.state, self.message, self.total = state, message, total
        self.informer._scope_changed()

    def _run(self) -> None:
        inf = self.informer
        stop = inf._stop
        if inf._after is not None and self.namespace is None:
            deadline = time.monotonic() + inf._after_timeout
            while not inf._after.wait(0.05) and time.monotonic() < deadline:
                if stop.is_set():
                    return
        need_list = True
        while not stop.is_set():
            try:
                if need_list:
                    self._list()
                    need_list = False
                self._watch()  # returns when the server ends the watch normally
            except Closed:
                return
            except Expired:
                log.info("%s: resourceVersion expired, relisting", inf.kind.name)
                need_list = True
            except Silent as exc:
                self._suspect = True
                self._set(STALE, f"watch silent for {exc.args[0]:.0f}s; reconnecting")
                stop.wait(random.uniform(0.05, 0.25))
            except ClusterError as exc:
                if exc.status == 410:
                    need_list = True
                    continue
                delay = self._on_error(exc, need_list)
                if delay is None:
                    return  # handed over to one scope per namespace
                stop.wait(delay)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                stop.wait(self._on_error(UnreachableError(str(exc)), need_list) or 0.0)
            except Exception:  # never let a bug kill the cache silently
                log.exception("%s informer failed; retrying", inf.kind.name)
                stop.wait(self._on_error(ClusterError("internal error"), need_list) or 0.0)

    def _on_error(self, exc: ClusterError, listing: bool) -> float | None:
        """Set the state for `exc` and return how long to wait before retrying (None: the
        cluster-wide list is forbidden and per-namespace scopes took over)."""
        inf = self.informer
        if listing and exc.status == 403:
            if self.namespace is None and inf.fall_back():
                return None
            self._set(FORBIDDEN, str(exc))
            return inf.slow_retry
        if listing and exc.status == 404:
            self._set(NOT_INSTALLED, str(exc))
            return inf.slow_retry
        self._backoff = min(inf.backoff_cap, max(inf.backoff_start, self._backoff * 2))
        self._set(STALE, str(exc))  # keeps `since` while it stays stale
        delay = exc.retry_after if exc.status == 429 and exc.retry_after else self._backoff
        log.info("%s: %s; retrying in %.1fs", inf.kind.name, exc, delay)
        return delay * (1 + 0.1 * random.random())

    def _check_stop(self) -> None:
        if self.informer._stop.is_set():
            raise Closed()

    def _list(self) -> None:
        inf = self.informer
        seen: set[Any] = set()
        token = ""
        query: dict[str, Any] = {"limit": inf.page_size, "labelSelector": inf.label_selector}
        path = inf.kind.path(self.namespace)
        while True:
            self._check_stop()
            body = inf.connection.get(path, {**query, "continue": token or None}, timeout=60.0)
            records, meta, skipped = inf.kind.decode_list(body)
            inf._skipped += skipped
            inf._apply(("ADDED", rec) for rec in records)
            seen.update(rec.key for rec in records)
            token = meta.continue_
            remaining = meta.remaining_item_count
            total = len(seen) + remaining if remaining is not None else None
            if not token:
                break
            self._set(SYNCING, total=total)
        inf._apply(("DELETED", rec) for rec in inf._absent(self.namespace, seen))
        self.rv = meta.resource_version
        self.lists += 1
        self._suspect = False
        self._set(LIVE)

    def _watch(self) -> None:
        inf = self.informer
        window = random.randint(inf.watch_window, 2 * inf.watch_window)
        liveness = inf.bookmark_liveness if self.bookmarks else window + inf.liveness_grace
        query = {
            "watch": "true",
            "resourceVersion": self.rv,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": window,
            "labelSelector": inf.label_selector,
        }
        response = inf.connection.open(
            "GET", inf.kind.path(self.namespace), query, timeout=(10.0, liveness)
        )
        self.response = response
        self.watches += 1
        self._backoff = 0.0  # connected: the next drop starts the backoff afresh
        try:
            self._check_stop()
            if self.state != LIVE and not self._suspect:
                self._set(LIVE)
            buffer = b""
            while True:
                try:
                    chunk = response.read1(65536)
                except urllib3.exceptions.ReadTimeoutError:
                    self._check_stop()
                    raise Silent(liveness) from None
                if self._suspect:  # something came (or the server ended it): alive again
                    self._suspect = False
                    self._set(LIVE)
                if not chunk:
                    break  # the server ended the watch
                buffer += chunk
                if b"\n" not in chunk:
                    continue
                *lines, buffer = buffer.split(b"\n")
                inf._apply(self._decode_lines(lines))
        except urllib3.exceptions.HTTPError as exc:
            self._check_stop()
            raise UnreachableError(f"watch {inf.kind.name} dropped: {exc}") from None
        finally:
            self.response = None
            response.release_conn()
        self._check_stop()

    def _decode_lines(self, lines: list[bytes]) -> list[tuple[str, Any]]:
        """Decode watch lines; apply what came before an ERROR event, then raise for it."""
        inf = self.informer
        changes: list[tuple[str, Any]] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                event = decode_watch_line(inf.kind, line)
            except msgspec.DecodeError as exc:
                log.warning("%s: undecodable watch line skipped: %s", inf.kind.name, exc)
                inf._skipped += 1
                continue
            if event.type == "ERROR":
                inf._apply(changes)
                status = event.status
                if status is not None and status.code == 410:
                    raise Expired()
                code = status.code if status else 500
                raise ClusterError(f"watch error: {status.message if status else ''}", code)
            if event.resource_version:
                self.rv = event.resource_version
            if event.record is not None:
                changes.append((event.type, event.record))
            elif event.type == "BOOKMARK":
                self.bookmarks = True
            else:
                inf._skipped += 1
        return changes
