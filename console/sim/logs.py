"""Simulated container logs, generated on demand: nothing is stored, any line is computed by number.

A container instance's log is a sequence of lines numbered from 0 (``seq``):
startup lines, then steady lines at a kind-dependent rate, then (once the container
has ended) its last words: a traceback, a completion or a shutdown. Line ``seq``'s
timestamp and text are pure functions of (seed, namespace, pod, container, kind,
start time, restart count) and ``seq``; the number of lines before any instant is
computed in O(log n) without generating them. So ``tailLines=N`` costs N lines
whatever the history, and a ``follow`` stream is "the lines numbered from where I
stopped up to now".

Sim time is Unix seconds (float); timestamps are kept internally in integer
nanoseconds so the ``timestamps=true`` prefix (RFC3339 with nine fractional digits,
UTC, like the kubelet) is exact.

Public API: ``read_log`` (a pods/log body), ``follow_log`` (the next chunk of a follow
stream), ``pod_log`` (everything in one call, including ``previous``),
``format_timestamp`` / ``parse_timestamp``. One container instance's log is a
``console.sim.log_source.LogSource``.
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass

from console.sim.log_source import LogKind, LogRequestError, LogSource

__all__ = [
    "LogChunk",
    "follow_log",
    "format_timestamp",
    "parse_timestamp",
    "pod_log",
    "read_log",
]

_NS = 1_000_000_000


def format_timestamp(ts_ns: int) -> str:
    """Kubernetes' log timestamp: RFC3339 with exactly nine fractional digits, UTC (``...Z``)."""
    sec, ns = divmod(ts_ns, _NS)
    y, mo, d, h, mi, s = time.gmtime(sec)[:6]
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{ns:09d}Z"


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$"
)


def parse_timestamp(text: str) -> float:
    """Parse an RFC3339 time (``sinceTime``) into sim seconds; ``LogRequestError`` if malformed."""
    m = _RFC3339.match(text.strip())
    if not m:
        raise LogRequestError(f'parsing time "{text}" as RFC3339: invalid', 400, "BadRequest")
    y, mo, d, h, mi, s, frac, zone = m.groups()
    sec = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s), 0, 0, 0))
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        sec -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return sec + (int(frac.ljust(9, "0")) / _NS if frac else 0.0)


@dataclass(frozen=True, slots=True)
class LogChunk:
    """A piece of log text: ``next_seq`` is where a follow stream continues; ``truncated`` means
    ``limitBytes`` cut it (the stream must end there)."""

    text: str
    next_seq: int
    truncated: bool = False


def _render(
    source: LogSource, start: int, stop: int, timestamps: bool, limit_bytes: int | None
) -> LogChunk:
    parts: list[str] = []
    size = 0
    for seq, (ts_ns, text) in enumerate(source.lines(start, stop), start):
        piece = f"{format_timestamp(ts_ns)} {text}\n" if timestamps else text + "\n"
        if limit_bytes is not None:
            data = piece.encode()
            if size + len(data) >= limit_bytes:
                room = limit_bytes - size
                parts.append(data[:room].decode(errors="ignore"))
                full = room == len(data)
                return LogChunk("".join(parts), seq + 1 if full else seq, True)
            size += len(data)
        parts.append(piece)
    return LogChunk("".join(parts), stop, False)


def read_log(
    source: LogSource,
    now: float,
    *,
    tail_lines: int | None = None,
    since_seconds: float | None = None,
    since_time: float | str | None = None,
    timestamps: bool = False,
    limit_bytes: int | None = None,
) -> LogChunk:
    """The pods/log body at sim time ``now``, with the API's query parameters.

    ``tail_lines``: only the last N lines. ``since_seconds`` / ``since_time`` (sim seconds or
    an RFC3339 string): only lines at or after that time (at most one of the two). As in the
    kubelet, the tail is taken first and the since filter applies within it.
    ``timestamps``: prefix each line with ``format_timestamp`` and a space. ``limit_bytes``:
    stop after that many bytes (mid-line if need be). The chunk's ``next_seq`` is where
    ``follow_log`` continues.
    """
    if tail_lines is not None and tail_lines < 0:
        raise LogRequestError(
            f"PodLogOptions.tailLines: Invalid value: {tail_lines}: must be greater than or equal to 0",
            422,
            "Invalid",
        )
    if limit_bytes is not None and limit_bytes < 1:
        raise LogRequestError(
            f"PodLogOptions.limitBytes: Invalid value: {limit_bytes}: must be greater than 0",
            422,
            "Invalid",
        )
    if since_seconds is not None and since_time is not None:
        raise LogRequestError(
            "PodLogOptions: Invalid value: at most one of `sinceTime` or `sinceSeconds` may be specified",
            422,
            "Invalid",
        )
    if since_seconds is not None and since_seconds < 1:
        raise LogRequestError(
            f"PodLogOptions.sinceSeconds: Invalid value: {since_seconds}: must be greater than 0",
            422,
            "Invalid",
        )
    hi = source.visible(now)
    lo = 0
    if since_seconds is not None:
        lo = source.count_before(now - since_seconds)
    elif since_time is not None:
        t = parse_timestamp(since_time) if isinstance(since_time, str) else since_time
        lo = source.count_before(t)
    if tail_lines is not None:
        lo = max(lo, hi - tail_lines)
    chunk = _render(source, min(lo, hi), hi, timestamps, limit_bytes)
    return LogChunk(chunk.text, hi if not chunk.truncated else chunk.next_seq, chunk.truncated)


def follow_log(
    source: LogSource,
    next_seq: int,
    now: float,
    *,
    timestamps: bool = False,
    limit_bytes: int | None = None,
) -> LogChunk:
    """The lines of a follow stream written since ``next_seq`` up to sim time ``now``.

    Call with the previous chunk's ``next_seq``; stop when ``source.is_finished(now)`` and the
    chunk is empty, or when a chunk is ``truncated`` (``limit_bytes`` is what remains of the
    request's limit).
    """
    hi = source.visible(now)
    if next_seq >= hi:
        return LogChunk("", next_seq)
    return _render(source, next_seq, hi, timestamps, limit_bytes)


def pod_log(
    seed: int | str,
    pod: str,
    container: str,
    kind: LogKind | str,
    started_at: float,
    now: float,
    *,
    restart_count: int = 0,
    namespace: str = "default",
    finished_at: float | None = None,
    previous: bool = False,
    previous_started_at: float | None = None,
    previous_finished_at: float | None = None,
    tail_lines: int | None = None,
    since_seconds: float | None = None,
    since_time: float | str | None = None,
    timestamps: bool = False,
    limit_bytes: int | None = None,
) -> str:
    """The whole text of ``GET .../pods/{pod}/log`` in one call (non-follow).

    With ``previous`` the log of instance ``restart_count - 1`` (``LogRequestError`` 400 when
    there is none); its times default as in ``LogSource.previous``.
    """
    source = LogSource(
        seed,
        pod,
        container,
        kind,
        started_at,
        restart_count,
        namespace=namespace,
        finished_at=finished_at,
    )
    if previous:
        source = source.previous(previous_started_at, previous_finished_at)
    return read_log(
        source,
        now,
        tail_lines=tail_lines,
        since_seconds=since_seconds,
        since_time=since_time,
        timestamps=timestamps,
        limit_bytes=limit_bytes,
    ).text
