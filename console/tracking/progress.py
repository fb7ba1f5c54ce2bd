"""A job's training progress from its run: the primary metric's last value and step,
steps per minute, when a metric was last logged, and the stalled-progress signal. No Textual.

Steps per minute come from the primary metric's (timestamp, step) seen at successive
refreshes over the last `RATE_WINDOW` seconds; before a second observation, from the step
over the time since the run started. A job is *stalled* when it is Running and no new
metric step was logged for the stall time (or none at all since the run started that long ago).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from console.tracking.client import MetricPoint, RunFacts

RATE_WINDOW = 300.0
"""Seconds of observations a rate is taken over."""

FOUND, MISSING, DELETED = "found", "missing", "deleted"


@dataclass(frozen=True, slots=True)
class JobProgress:
    run_id: str
    rule: str
    """The linking rule that matched (`console.tracking.linking.RULE_LABELS`)."""
    found: str
    """FOUND, MISSING (no such run) or DELETED (deleted since it was linked)."""
    run: RunFacts | None = None
    metric: MetricPoint | None = None
    """The primary metric's latest point."""
    steps_per_min: float | None = None
    last_logged: float | None = None
    """Epoch seconds of the newest metric of the run (any key)."""

    @property
    def running(self) -> bool:
        return self.run is not None and self.run.status == "RUNNING"

    def stalled(self, job_state: str, now: float, stall_seconds: float) -> bool:
        """Pods Running but no metric step for `stall_seconds` (see the module docstring)."""
        if job_state != "Running" or self.found != FOUND or self.run is None:
            return False
        if self.run.status not in ("RUNNING", "SCHEDULED"):
            return False
        since = self.last_logged if self.last_logged is not None else self.run.start_time
        return since is not None and now - since > stall_seconds


class RateMeter:
    """(timestamp, step) observations of one run's primary metric."""

    def __init__(self) -> None:
        self.seen: deque[tuple[float, int]] = deque(maxlen=64)

    def observe(self, point: MetricPoint) -> None:
        if not self.seen or point.step != self.seen[-1][1]:
            self.seen.append((point.timestamp, point.step))
        while len(self.seen) > 2 and point.timestamp - self.seen[0][0] > RATE_WINDOW:
            self.seen.popleft()

    def rate(self, point: MetricPoint, start_time: float | None) -> float | None:
        if len(self.seen) >= 2:
            (t0, s0), (t1, s1) = self.seen[0], self.seen[-1]
            if t1 > t0 and s1 >= s0:
                return (s1 - s0) / (t1 - t0) * 60.0
        if start_time is not None and point.timestamp > start_time and point.step >= 0:
            return point.step / (point.timestamp - start_time) * 60.0
        return None


def progress_of(
    run_id: str, rule: str, run: RunFacts | None, metric_key: str, meter: RateMeter | None
) -> JobProgress:
    """The progress of one linked job from its run (None: not found)."""
    if run is None:
        return JobProgress(run_id, rule, MISSING)
    if run.deleted:
        return JobProgress(run_id, rule, DELETED, run)
    point = run.metrics.get(metric_key)
    last = max((p.timestamp for p in run.metrics.values()), default=None)
    rate = None
    if point is not None:
        if meter is not None:
            meter.observe(point)
            rate = meter.rate(point, run.start_time)
        elif run.start_time is not None and point.timestamp > run.start_time:
            rate = point.step / (point.timestamp - run.start_time) * 60.0
    if rate is not None and not math.isfinite(rate):
        rate = None
    return JobProgress(run_id, rule, FOUND, run, point, rate, last)
