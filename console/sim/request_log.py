"""What reached the simulated API server: a bounded record of method and path per request.

Tests read it to prove what a client sent (say, zero writes in read-only mode):

    mark = sim.requests.mark()
    ...
    sim.requests.since(mark, writes_only=True)   # [("PATCH", "/api/v1/nodes/n1?dryRun=All"), …]

Also served at `GET /_sim/requests` (admin token) as `{"requests": [[method, path], …]}`.
"""

from __future__ import annotations

import threading
from collections import deque

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_REQUESTS = 10_000


class RequestLog:
    """The last `MAX_REQUESTS` requests (the admin endpoint's own are not recorded)."""

    def __init__(self, size: int = MAX_REQUESTS) -> None:
        self._lock = threading.Lock()
        self._entries: deque[tuple[int, str, str]] = deque(maxlen=size)
        self._serial = 0

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self._serial += 1
            self._entries.append((self._serial, method.upper(), path))

    def mark(self) -> int:
        """A point to read from later (`since`)."""
        with self._lock:
            return self._serial

    def since(self, mark: int = 0, writes_only: bool = False) -> list[tuple[str, str]]:
        """`(method, path with query)` of the requests after `mark`, oldest first."""
        with self._lock:
            entries = [(m, p) for serial, m, p in self._entries if serial > mark]
        if writes_only:
            entries = [(m, p) for m, p in entries if m in WRITE_METHODS]
        return entries
