"""One simulated container instance's log, generated on demand: any line is computed by number.

A container instance's log is a sequence of lines numbered from 0 (``seq``):
startup lines, then steady lines at a kind-dependent rate, then (once the container
has ended) its last words: a traceback, a completion or a shutdown. Line ``seq``'s
timestamp and text are pure functions of (seed, namespace, pod, container, kind,
start time, restart count) and ``seq``; the number of lines before any instant is
computed in O(log n) without generating them. ``LogSource`` decides *when* lines
happen; ``log_startup``, ``log_steady`` and ``log_epilogue`` what they say. Timestamps
are integer nanoseconds. The pods/log request API on top of it is ``console.sim.logs``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import replace
from typing import Literal

from console.sim.hashing import GOLDEN, M64, mix, stable_hash, unit
from console.sim.log_context import Line, make_ctx, prefix
from console.sim.log_epilogue import epilogue
from console.sim.log_startup import startup
from console.sim.log_steady import STEADY_INTERVAL_S, steady, training_slots, training_step

LogKind = Literal[
    "training",
    "training-failed",
    "serving",
    "dcgm-exporter",
    "device-plugin",
    "generic",
    "json",
    "hostile",
]
KINDS: tuple[str, ...] = (
    "training",
    "training-failed",
    "serving",
    "dcgm-exporter",
    "device-plugin",
    "generic",
    "json",
    "hostile",
)
"""``json``: a structured logger (one JSON object a line, a ``level`` field). ``hostile``: a
tenant's log that tries to attack the terminal (escape sequences, markup, huge lines)."""
EndMode = Literal["crashed", "completed", "terminated"]

_NS = 1_000_000_000
_NCCL_TIMEOUT_S = 600
_EPILOGUE_GAP_NS = 300_000  # 0.3 ms between last-words lines


class LogRequestError(ValueError):
    """A pods/log request the API server would refuse: ``code`` (400/422), ``reason``, message."""

    def __init__(self, message: str, code: int = 400, reason: str = "BadRequest") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


def _key(*parts: object) -> int:
    return stable_hash("\x1f".join(str(p) for p in parts))


def _backoff_s(restart_count: int) -> float:
    """The kubelet's CrashLoopBackOff delay before restart number ``restart_count``."""
    return float(min(300, 10 * 2 ** max(0, restart_count - 1)))


class LogSource:
    """The log of one container instance.

    ``seed``: the simulation seed. ``pod``/``container``/``namespace``: identity (use the pod
    name or uid consistently). ``kind``: one of ``KINDS``. ``started_at``: the instance's start
    (sim seconds; ``status.containerStatuses[].state.running.startedAt``). ``restart_count``:
    which instance this is (0 = first). ``finished_at``: when it ended, if the controllers
    ended it; otherwise it ends by itself at ``natural_end_at`` (training completes,
    ``training-failed`` crashes) or never. ``crashed``: force last words to be a crash
    (default: ``training-failed``, or when it ended at its natural crash). ``world_size`` /
    ``rank``: override the values guessed from the pod name (``<job>-master-0`` is rank 0,
    ``<job>-worker-N`` rank N+1). ``hung_at``: training only, when its collective hangs (the
    GPU's ``hung`` profile): step lines stop there and the NCCL watchdog crashes the process
    600 s later (that is then ``natural_end_at``). ``rate``: steady lines per second instead of
    the kind's own pace (a line every few seconds up to tens of thousands a second for load
    tests; the pod annotation ``sim.kmc.dev/log-rate``).
    """

    def __init__(
        self,
        seed: int | str,
        pod: str,
        container: str,
        kind: LogKind | str,
        started_at: float,
        restart_count: int = 0,
        *,
        namespace: str = "default",
        finished_at: float | None = None,
        crashed: bool | None = None,
        world_size: int | None = None,
        rank: int | None = None,
        hung_at: float | None = None,
        rate: float | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown log kind {kind!r}; known: {', '.join(KINDS)}")
        self.seed = seed
        self.pod = pod
        self.container = container
        self.namespace = namespace
        self.kind = kind
        self.started_at = started_at
        self.restart_count = restart_count
        self.key = _key(seed, namespace, pod, container, restart_count)
        self.ctx = make_ctx(
            self.key, pod, container, namespace, restart_count, world_size=world_size, rank=rank
        )
        self.start_ns = round(started_at * _NS)
        timed = startup(kind, self.ctx)
        self._startup_ns = [self.start_ns + off for off, _, _ in timed]
        self._startup_lines: list[Line] = [(level, body) for _, level, body in timed]
        self._steady_base_ns = self._startup_ns[-1] + 500_000_000
        self.rate = rate
        interval = STEADY_INTERVAL_S[kind]
        if rate is not None and rate > 0:
            self._interval_ns = max(1, int(_NS / rate))
        elif interval is None:
            self._interval_ns = 0
        else:
            lo, hi = interval
            self._interval_ns = int((lo + (hi - lo) * unit(self.key, 1)) * _NS)
        self._jitter_ns = max(1, int(self._interval_ns * 0.8))
        self._steady_cap: int | None = None  # steady lines before the natural end, if any
        natural_end_ns: int | None = None
        natural_mode: EndMode = "completed"
        if kind in ("training", "training-failed"):
            self._steady_cap = training_slots(self.ctx)
            natural_end_ns = self._slot_ns(self._steady_cap - 1) + _NS
            if kind == "training-failed":
                run = (300 + 2100 * unit(self.key, 2)) * _NS
                crash_ns = self.start_ns + int(run)
                if crash_ns < natural_end_ns:
                    natural_end_ns, natural_mode = crash_ns, "crashed"
        if hung_at is not None and self._steady_cap is not None:
            # a hung collective: steps stop, the NCCL watchdog kills the process 10 minutes later
            hung_ns = round(hung_at * _NS)
            watchdog_ns = hung_ns + _NCCL_TIMEOUT_S * _NS
            if natural_end_ns is None or watchdog_ns < natural_end_ns:
                self._steady_cap = min(self._steady_cap, self._steady_before(hung_ns))
                natural_end_ns, natural_mode = watchdog_ns, "crashed"
                self.ctx = replace(self.ctx, failure="nccl")
        self.natural_end_at: float | None = None if natural_end_ns is None else natural_end_ns / _NS
        """When this instance ends by itself (completion or crash), or ``None``: runs until stopped."""
        # how it ends
        if finished_at is not None:
            end_ns: int | None = round(finished_at * _NS)
            if natural_end_ns is not None and end_ns >= natural_end_ns:  # type: ignore[operator]
                end_ns, mode = natural_end_ns, natural_mode
            else:
                mode = "crashed" if kind == "training-failed" else "terminated"
        else:
            end_ns, mode = natural_end_ns, natural_mode
        if crashed is not None:
            mode = "crashed" if crashed else ("terminated" if mode == "crashed" else mode)
        self.end_mode: EndMode | None = mode if end_ns is not None else None
        self.end_ns = end_ns
        self._startup_count = len(self._startup_ns)
        self._steady_count: int | None = self._steady_cap
        self._epilogue_ns: list[int] = []
        self._epilogue_lines: list[Line] = []
        if end_ns is not None:
            # last words come just before the end, after every earlier line
            steady_before_end = self._steady_before(end_ns - _NS // 100)
            last_step = training_step(self.ctx, max(0, steady_before_end - 1))
            words = epilogue(kind, self.ctx, mode, last_step)
            first_ns = end_ns - _EPILOGUE_GAP_NS * len(words)
            self._startup_count = bisect_left(self._startup_ns, first_ns)
            self._steady_count = self._steady_before(first_ns)
            self._epilogue_ns = [first_ns + i * _EPILOGUE_GAP_NS for i in range(len(words))]
            self._epilogue_lines = words

    # ---- timing -----------------------------------------------------------------------------

    def _slot_ns(self, slot: int) -> int:
        jitter = mix((self.key ^ (slot * GOLDEN)) & M64) % self._jitter_ns
        return self._steady_base_ns + slot * self._interval_ns + jitter

    def _steady_before(self, t_ns: int) -> int:
        """Steady lines (ignoring the end) with a timestamp < ``t_ns``, capped at the natural end."""
        if not self._interval_ns or t_ns <= self._steady_base_ns:
            return 0
        j = (t_ns - self._steady_base_ns) // self._interval_ns
        n = j + (1 if self._slot_ns(j) < t_ns else 0)
        return n if self._steady_cap is None else min(n, self._steady_cap)

    @property
    def total_lines(self) -> int | None:
        """The number of lines this instance ever prints, or ``None`` while it has no end."""
        if self.end_ns is None:
            return None
        return self._startup_count + (self._steady_count or 0) + len(self._epilogue_ns)

    @property
    def finished_at(self) -> float | None:
        """When this instance ends (explicitly or naturally), or ``None``."""
        return None if self.end_ns is None else self.end_ns / _NS

    def count_before(self, t: float) -> int:
        """How many lines have a timestamp strictly before sim time ``t`` (= next seq at ``t``)."""
        return self._count_before_ns(round(t * _NS))

    def _count_before_ns(self, t_ns: int) -> int:
        n = min(bisect_left(self._startup_ns, t_ns), self._startup_count)
        if n < self._startup_count:
            return n
        steady = self._steady_before(t_ns)
        if self._steady_count is not None:
            steady = min(steady, self._steady_count)
        return n + steady + bisect_left(self._epilogue_ns, t_ns)

    def visible(self, now: float) -> int:
        """How many lines have been written by sim time ``now`` (timestamp <= now)."""
        return self._count_before_ns(round(now * _NS) + 1)

    def timestamp_ns(self, seq: int) -> int:
        """Timestamp (ns) of line ``seq``."""
        if seq < self._startup_count:
            return self._startup_ns[seq]
        slot = seq - self._startup_count
        if self._steady_count is None or slot < self._steady_count:
            return self._slot_ns(slot)
        return self._epilogue_ns[slot - self._steady_count]

    def line(self, seq: int) -> tuple[float, str]:
        """(timestamp in sim seconds, text) of line ``seq``; ``IndexError`` past the end."""
        ts_ns, text = self._line(seq)
        return ts_ns / _NS, text

    def _line(self, seq: int) -> tuple[int, str]:
        if seq < 0:
            raise IndexError(seq)
        if seq < self._startup_count:
            ts = self._startup_ns[seq]
            level, body = self._startup_lines[seq]
        else:
            slot = seq - self._startup_count
            if self._steady_count is None or slot < self._steady_count:
                ts = self._slot_ns(slot)
                level, body = steady(self.kind, self.ctx, slot)
            else:
                i = slot - self._steady_count
                if i >= len(self._epilogue_ns):
                    raise IndexError(seq)
                ts = self._epilogue_ns[i]
                level, body = self._epilogue_lines[i]
        return ts, prefix(self.kind, ts, level) + body

    def lines(self, start: int, stop: int) -> Iterator[tuple[int, str]]:
        """(timestamp ns, text) of lines ``start`` .. ``stop - 1``."""
        for seq in range(start, stop):
            yield self._line(seq)

    def window(self, t0: float, t1: float) -> Iterator[tuple[float, str]]:
        """(timestamp, text) of the lines emitted in the sim-time window ``[t0, t1)``."""
        for ts_ns, text in self.lines(self.count_before(t0), self.count_before(t1)):
            yield ts_ns / _NS, text

    def is_finished(self, now: float) -> bool:
        """True once the instance has ended and every line is written (a follow stream closes)."""
        return self.end_ns is not None and round(now * _NS) >= self.end_ns

    # ---- the previous instance --------------------------------------------------------------

    def previous(
        self, started_at: float | None = None, finished_at: float | None = None
    ) -> LogSource:
        """The instance before this one (``restart_count - 1``), which crashed.

        Its times default to: ended the CrashLoopBackOff delay before this one started, and
        ran for its kind's usual time before crashing. Pass the real ones
        (``lastState.terminated.startedAt/finishedAt``) when the controllers know them.
        """
        if self.restart_count < 1:
            raise LogRequestError(
                f'previous terminated container "{self.container}" in pod "{self.pod}" not found'
            )
        prev = self.restart_count - 1
        if finished_at is None:
            finished_at = self.started_at - _backoff_s(self.restart_count)
        if started_at is None:
            key = _key(self.seed, self.namespace, self.pod, self.container, prev)
            if self.kind in ("training", "training-failed"):
                run = 300 + 2100 * unit(key, 2)
            elif self.kind == "serving":
                run = 60 + 600 * unit(key, 2)
            else:
                run = 5 + 120 * unit(key, 2)
            started_at = finished_at - run
        kind = "training-failed" if self.kind == "training" else self.kind
        return LogSource(
            self.seed,
            self.pod,
            self.container,
            kind,
            started_at,
            prev,
            namespace=self.namespace,
            finished_at=finished_at,
            crashed=True,
            world_size=self.ctx.world_size,
            rank=self.ctx.rank,
            rate=self.rate,
        )
