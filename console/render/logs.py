"""Log lines for the log screens, TUI-free: one line's record, its classification (error /
warn / debug, JSON level), the `/` filter, search, short pod labels, and the bounded buffer
a log screen keeps (`LogBuffer`: retained lines, per-pod counts, the filtered view).

Lines arrive already cleaned (`console.text.clean`) from `console.cluster.logs`; nothing
here parses markup or touches a terminal.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import orjson

ERROR, WARN, INFO, DEBUG = "error", "warn", "info", "debug"
MARKER = "marker"
"""The level of the console's own lines in a log (a reconnect note)."""

DEFAULT_LINE_CAP = 50_000
"""Lines a log screen retains by default (settings: `log_line_cap`)."""
MERGE_WINDOW = 5_000
"""How far back a late line (another pod's chunk that arrived later) is merged in by time."""

_CLASSIFY_CHARS = 2_000  # classify on the head of a line: a 1 MB line costs no more

_LEVEL_RE = re.compile(
    r"(?P<error>Traceback \(most recent call last\)|NCCL WARN|NCCL error|ncclSystemError"
    r"|ncclInternalError|ncclUnhandledCudaError|CUDA out of memory|OutOfMemoryError"
    r"|CUDA error|\b(?:ERROR|FATAL|CRITICAL|PANIC|Fatal Python error)\b|\[E[ \]]"
    r"|^E\d{4} |level=(?:error|fatal|panic)|exit(?:ed)?(?: with)? (?:code|status)[ :=]*[1-9]"
    r"|exitcode *: *-?[1-9]|^\w*(?:Error|Exception): |Killed|Segmentation fault|core dumped)"
    r"|(?P<warn>\bWARN(?:ING)?\b|\[W[ \]]|^W\d{4} |level=warn(?:ing)?|Warning:)"
    r"|(?P<debug>\bDEBUG\b|\bTRACE\b|^D\d{4} |level=(?:debug|trace))"
)
_JSON_LEVEL_KEYS = ("level", "severity", "lvl", "levelname", "log.level", "loglevel")
_JSON_LEVELS = {
    "error": ERROR, "err": ERROR, "fatal": ERROR, "critical": ERROR, "crit": ERROR,
    "panic": ERROR, "alert": ERROR, "emergency": ERROR, "emerg": ERROR, "dpanic": ERROR,
    "warn": WARN, "warning": WARN, "info": INFO, "notice": INFO, "debug": DEBUG,
    "trace": DEBUG,
}  # fmt: skip


class LogLine(NamedTuple):
    """One log line: `source` indexes the screen's sources (pods), `ts` is the kubelet's
    timestamp in ns (0 when unknown), `text` the cleaned line, `level` its class
    (`error`, `warn`, `info`, `debug` or ""), `json` whether it is a JSON object."""

    source: int
    ts: int
    text: str
    level: str = ""
    json: bool = False


def classify(text: str) -> tuple[str, bool]:
    """`(level, is_json)` of a cleaned line: a JSON object's own level field, else what the
    line says (tracebacks, NCCL failures, CUDA OOM, ERROR/FATAL, non-zero exits → error)."""
    head = text[:_CLASSIFY_CHARS]
    if head.startswith("{") and text.rstrip().endswith("}"):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            for key in _JSON_LEVEL_KEYS:
                value = data.get(key)
                if isinstance(value, str) and value.casefold() in _JSON_LEVELS:
                    return _JSON_LEVELS[value.casefold()], True
            level, _ = _classify_text(head)
            return level, True
    return _classify_text(head)


_HINT_RE = re.compile(
    "|".join(
        re.escape(token)
        for token in (
            "ERROR", "FATAL", "CRITICAL", "PANIC", "Fatal", "[E", "[W", "exit", "Error: ",
            "Exception: ", "Killed", "Segmentation", "core dumped", "CUDA", "OutOfMemory",
            "NCCL", "nccl", "Traceback", "level=", "WARN", "Warning:", "DEBUG", "TRACE",
        )
    )
)  # fmt: skip
"""Literals one of which every line `_LEVEL_RE` classifies contains: a scan for literals is
an order of magnitude cheaper than `_LEVEL_RE`'s, and most lines have none of them."""


def _classify_text(head: str) -> tuple[str, bool]:
    glog = len(head) > 5 and head[0] in "EWD" and head[1:5].isdigit()
    if not glog and _HINT_RE.search(head) is None:
        return "", False
    m = _LEVEL_RE.search(head)
    if m is None:
        return "", False
    return (ERROR if m.group("error") else WARN if m.group("warn") else DEBUG), False


def make_line(source: int, ts: int, text: str) -> LogLine:
    level, is_json = classify(text)
    return LogLine(source, ts, text, level, is_json)


def pretty_json(text: str) -> list[str]:
    """A JSON object line as indented lines; the line itself when it is not JSON."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return [text]
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode().splitlines()


# ------------------------------------------------------------------------ filter and search


@dataclass(frozen=True)
class LineFilter:
    """A `/` filter: a regex (smart case: case-insensitive unless it has a capital), `!`
    in front inverts. `matches` takes a line's text."""

    text: str
    pattern: re.Pattern[str] | None
    invert: bool = False

    def matches(self, line: str) -> bool:
        if self.pattern is None:
            return True
        return (self.pattern.search(line) is None) == self.invert


def compile_pattern(text: str) -> re.Pattern[str]:
    """Compile a user regex with smart case; `ValueError` with a one-line message if bad."""
    flags = 0 if any(ch.isupper() for ch in text) else re.IGNORECASE
    try:
        return re.compile(text, flags)
    except re.error as exc:
        raise ValueError(f"bad regex {text!r}: {exc}") from None


def parse_line_filter(text: str) -> LineFilter:
    """`"nccl"` → lines matching /nccl/i; `"!health"` → lines not matching; "" → everything."""
    text = text.strip()
    invert = text.startswith("!")
    body = text[1:].strip() if invert else text
    if not body:
        return LineFilter(text, None)
    return LineFilter(text, compile_pattern(body), invert)


def match_spans(pattern: re.Pattern[str] | None, text: str) -> list[tuple[int, int]]:
    """Non-empty `(start, end)` spans of `pattern` in `text` (search highlighting)."""
    if pattern is None:
        return []
    return [m.span() for m in pattern.finditer(text) if m.end() > m.start()]


# ------------------------------------------------------------------------ sources (pods)

_ROLE_RE = re.compile(r"-(master|worker|launcher|chief|ps|evaluator|predictor)-(\d+)$")
_ROLE_SHORT = {
    "master": "m", "worker": "w", "launcher": "l", "chief": "c", "ps": "ps", "evaluator": "e",
}  # fmt: skip


def short_label(pod: str, siblings: Sequence[str] = ()) -> str:
    """A short prefix for a pod among its job's pods: `llama-ft-worker-3` → `w3`,
    `llama-ft-master-0` → `m0`; other pods (model server replicas) → the shortest tail of
    dash-separated parts that tells it apart from `siblings`."""
    m = _ROLE_RE.search(pod)
    if m and m.group(1) in _ROLE_SHORT:
        return f"{_ROLE_SHORT[m.group(1)]}{m.group(2)}"
    parts = pod.split("-")
    others = [s for s in siblings if s != pod]
    for n in range(1, len(parts) + 1):
        tail = "-".join(parts[-n:])
        if not any(s.endswith("-" + tail) or s == tail for s in others):
            return tail
    return pod


@dataclass
class SourceStats:
    """What the merged view's pod list shows for one pod (counts of every line received)."""

    name: str
    container: str
    label: str
    lines: int = 0
    errors: int = 0
    gone: bool = False
    state: str = "connecting"  # connecting | live | reconnecting | ended | error | gone
    message: str = ""


# ------------------------------------------------------------------------ the buffer


@dataclass
class LogBuffer:
    """The lines one log screen retains: at most `cap` (older lines are dropped and
    counted), per-source counts, and the lines that pass the filter and the pod subset."""

    cap: int = DEFAULT_LINE_CAP
    lines: list[LogLine] = field(default_factory=list)
    sources: list[SourceStats] = field(default_factory=list)
    dropped: int = 0
    line_filter: LineFilter = field(default_factory=lambda: LineFilter("", None))
    hidden_sources: set[int] = field(default_factory=set)

    def add_source(self, stats: SourceStats) -> int:
        self.sources.append(stats)
        return len(self.sources) - 1

    def passes(self, line: LogLine) -> bool:
        if line.level == MARKER:
            return True
        return line.source not in self.hidden_sources and self.line_filter.matches(line.text)

    def add_marker(self, source: int, text: str) -> LogLine:
        """A line of the console's own (a reconnect) at the end, shown whatever the filter."""
        marker = LogLine(source, self.lines[-1].ts if self.lines else 0, text, MARKER)
        self.lines.append(marker)
        return marker

    def add(self, batch: Iterable[LogLine], dropped_upstream: int = 0) -> tuple[int, list[LogLine]]:
        """Retain `batch`, counting it per source. Returns `(rewind, lines)`: the view drops
        its last `rewind` shown lines and appends `lines`. Lines are kept in timestamp order
        across pods: a chunk that arrives after newer lines of another pod is merged into
        the last `MERGE_WINDOW` lines (older still: appended in arrival order)."""
        new = list(batch)
        for line in new:
            stats = self.sources[line.source]
            stats.lines += 1
            if line.level == ERROR:
                stats.errors += 1
        new.sort(key=_ts)
        rewind, shown_tail = 0, new
        if self.lines and new and 0 < new[0].ts < self.lines[-1].ts:
            window = min(len(self.lines), MERGE_WINDOW)
            start = len(self.lines) - window
            if start == 0 or self.lines[start].ts <= new[0].ts:
                cut = start + _bisect_ts(self.lines, new[0].ts, start)
                old_tail = self.lines[cut:]
                rewind = sum(1 for line in old_tail if self.passes(line))
                shown_tail = list(heapq.merge(old_tail, new, key=_ts))
                del self.lines[cut:]
                new = shown_tail
        self.lines.extend(new)
        self.dropped += dropped_upstream
        excess = len(self.lines) - self.cap
        if excess > 0:
            del self.lines[:excess]
            self.dropped += excess
        shown_tail = shown_tail[-self.cap :]
        if self.line_filter.pattern is not None or self.hidden_sources:
            shown_tail = [line for line in shown_tail if self.passes(line)]
        return rewind, shown_tail

    def shown(self) -> list[LogLine]:
        """Every retained line that passes the filter and the pod subset."""
        if self.line_filter.pattern is None and not self.hidden_sources:
            return list(self.lines)
        return [line for line in self.lines if self.passes(line)]

    def clear(self) -> None:
        self.lines.clear()
        self.dropped = 0
        for stats in self.sources:
            stats.lines = stats.errors = 0


def _ts(line: LogLine) -> int:
    return line.ts


def _bisect_ts(lines: list[LogLine], ts: int, start: int) -> int:
    """Offset from `start` of the first line with a timestamp above `ts`."""
    lo, hi = start, len(lines)
    while lo < hi:
        mid = (lo + hi) // 2
        if lines[mid].ts <= ts:
            lo = mid + 1
        else:
            hi = mid
    return lo - start
