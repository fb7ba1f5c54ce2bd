"""What the log screen shows around its lines, worked out apart from the screen: the title
and status lines as `Part`s that fit the width by importance, the merged view's pod list,
`since` durations, and the text a saved log file holds."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from rich.text import Text

from console.render.logs import LogBuffer, LogLine
from widgets.log_view import PREFIX_COLOURS
from widgets.status_line import Part

_DURATION = re.compile(r"^(\d+)\s*([smhd]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str) -> int | None:
    """`"90s"`, `"10m"`, `"2h"`, `"1d"` → seconds; "" → None (any time); `ValueError` else."""
    text = text.strip().lower()
    if not text:
        return None
    m = _DURATION.match(text)
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"since: not a duration: {text!r} (e.g. 90s, 10m, 2h)")
    return int(m.group(1)) * _UNIT[m.group(2)]


def title_parts(screen: Any) -> list[Part]:
    request = screen.request
    parts = [Part.of(f"Logs {request.title}", gap=0, cut="middle")]
    if not request.merged and screen.container:
        parts.append(Part.of(f"[{screen.container}]", importance=2, gap=1, cut="middle"))
    if screen.previous:
        parts.append(Part.of("previous", "prev", gap=1, cut="none"))
    if screen.tail_lines:
        parts.append(Part.of(f"tail {screen.tail_lines}", importance=4, cut="none"))
    if screen.since_seconds:
        parts.append(Part.of(f"since {_short_duration(screen.since_seconds)}", importance=3))
    if screen.buffer.line_filter.pattern is not None:
        parts.append(Part.of(f"/{screen.buffer.line_filter.text}", style="italic", cut="middle"))
    return parts


def _short_duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def status_parts(screen: Any) -> list[Part]:
    buffer: LogBuffer = screen.buffer
    view = screen.log_view
    errors = sum(s.errors for s in buffer.sources)
    states = {s.state for s in buffer.sources}
    if screen.paused:
        state = Part.of(
            f"PAUSED +{screen.new_while_paused:,} new (space resumes)",
            f"PAUSED +{screen.new_while_paused:,}", style="bold reverse", cut="none", gap=0,
        )  # fmt: skip
    elif screen.request.merged and not buffer.sources:
        state = Part.of("no pods yet (they join when they start)", "no pods", gap=0, cut="none")
    elif screen.previous:
        state = Part.of("previous container", "prev", gap=0, cut="none")
    elif "live" in states or "reconnected" in states:
        state = Part.of("following", "live", style="bold", gap=0, cut="none")
    elif "reconnecting" in states:
        state = Part.of("reconnecting…", "reconn…", style="bold", gap=0, cut="none")
    elif "waiting" in states:
        state = Part.of("waiting for the container", "waiting", gap=0, cut="none")
    else:
        state = Part.of(", ".join(sorted(states)) or "connecting", gap=0, cut="words")
    parts = [state, Part.of(f"{len(buffer.lines):,} lines", cut="none")]
    if errors:
        parts.append(Part.of(f"{errors:,} errors (e)", f"{errors:,} err", style="bold", cut="none"))
    if buffer.dropped:
        parts.append(Part.of(f"{buffer.dropped:,} dropped", importance=3, cut="none"))
    if screen.search_text:
        parts.append(Part.of(f"find {screen.search_text}", importance=2, cut="middle"))
    flags = [name for name, on in (("wrap", view.wrap), ("json", view.pretty),
                                   ("time", view.show_timestamps)) if on]  # fmt: skip
    if flags:
        parts.append(Part.of(" ".join(flags), importance=4, cut="none"))
    if screen.reconnects:
        parts.append(Part.of(f"reconnected ×{screen.reconnects}", importance=2, cut="none"))
    if screen.last_event:
        parts.append(Part.of(screen.last_event, importance=5, cut="words"))
    return parts


def pods_panel(buffer: LogBuffer, limit: int = 6) -> Text:
    """One line per pod: its coloured label, name, lines, errors, state; errors first."""
    out = Text(no_wrap=True, overflow="ellipsis")
    width = max((len(s.label) for s in buffer.sources), default=0)
    order = sorted(range(len(buffer.sources)), key=lambda i: (-buffer.sources[i].errors, i))
    for n, i in enumerate(order[:limit]):
        s = buffer.sources[i]
        if n:
            out.append("\n")
        colour = PREFIX_COLOURS[i % len(PREFIX_COLOURS)]
        shown = "  " if i in buffer.hidden_sources else "● "
        out.append(shown + s.label.ljust(width), style="dim strike" if s.gone else f"bold {colour}")
        out.append(f" {s.name}", style="dim strike" if s.gone else "")
        out.append(f"  {s.lines:,} lines")
        out.append(f"  {s.errors:,} errors", style="bold red" if s.errors else "dim")
        note = "gone" if s.gone else s.state
        if note not in ("live", "reconnected"):
            out.append(f"  {note}", style="italic")
    if len(order) > limit:
        out.append(f"\n  … {len(order) - limit} more pods (P lists them all)", style="dim")
    return out


def _stamp(ts: int) -> str:
    if not ts:
        return "-"
    sec, ns = divmod(ts, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{ns:09d}Z"


def format_saved(lines: Iterable[LogLine], names: Sequence[str], merged: bool) -> Iterator[str]:
    """Saved file lines: the kubelet timestamp, the pod (merged views), the text."""
    for line in lines:
        if line.level == "marker":
            continue
        pod = f"{names[line.source]} " if merged and 0 <= line.source < len(names) else ""
        yield f"{_stamp(line.ts)} {pod}{line.text}\n"
