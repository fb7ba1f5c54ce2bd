"""Faults on demand: what an unhealthy API server looks like to its clients.

The server consults `Faults` on every request. Latency and error injection are bounded by a
request count (or unbounded until cleared), so a test can ask for "the next 3 requests get 503".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Faults:
    latency_seconds: float = 0.0
    error_code: int = 0  # 500 or 503 (or any 5xx)
    error_count: int = 0  # how many requests get it; -1 = until cleared
    throttle_count: int = 0  # requests answered 429; -1 = until cleared
    retry_after_seconds: int = 1
    log_stream_drops: int = 0  # bumped to cut every open pods/log follow stream
    watches_stalled: bool = False  # every watch goes silent (no events, no bookmarks, no end)
    conflict_count: int = 0  # writes (PUT/PATCH/DELETE) answered 409 Conflict; -1 = until cleared
    # paths exempt from injected faults (the admin endpoint must keep working)
    exempt_prefix: str = "/_sim/"

    def next_error(self, path: str) -> tuple[int, int] | None:
        """(code, retry_after) for an injected failure of this request, or None."""
        if path.startswith(self.exempt_prefix):
            return None
        if self.throttle_count:
            if self.throttle_count > 0:
                self.throttle_count -= 1
            return 429, self.retry_after_seconds
        if self.error_code and self.error_count:
            if self.error_count > 0:
                self.error_count -= 1
            return self.error_code, 0
        return None

    def next_conflict(self, method: str, path: str) -> bool:
        """True when this write is to be answered 409 Conflict (someone else wrote first)."""
        if not self.conflict_count or method not in ("PUT", "PATCH", "DELETE"):
            return False
        if path.startswith(self.exempt_prefix):
            return False
        if self.conflict_count > 0:
            self.conflict_count -= 1
        return True

    def drop_log_streams(self) -> None:
        """Cut every open follow stream of pods/log (they notice within a poll, 0.5 s)."""
        self.log_stream_drops += 1

    def clear(self) -> None:
        self.latency_seconds = 0.0
        self.error_code = self.error_count = self.throttle_count = self.conflict_count = 0
        self.watches_stalled = False
