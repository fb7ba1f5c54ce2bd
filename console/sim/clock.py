"""The simulated cluster's clock: wall time scaled by a speed factor, plus manual advances."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class SimClock:
    """Sim time in epoch seconds. Starts at `start` (default: now), runs at `speed`× wall time."""

    def __init__(self, start: float | None = None, speed: float = 1.0) -> None:
        self._origin_sim = time.time() if start is None else start
        self._origin_mono = time.monotonic()
        self._speed = speed
        self._offset = 0.0

    def now(self) -> float:
        return (
            self._origin_sim + (time.monotonic() - self._origin_mono) * self._speed + self._offset
        )

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        now = self.now()
        self._origin_sim, self._origin_mono, self._offset, self._speed = (
            now,
            time.monotonic(),
            0.0,
            speed,
        )

    def iso(self, t: float | None = None) -> str:
        return rfc3339(self.now() if t is None else t)


def rfc3339(t: float) -> str:
    return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
