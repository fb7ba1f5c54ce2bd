"""The rows a `LogView` draws and how: the row protocol, level and prefix styles, JSON
pretty-printing and the timestamp column. Plain helpers, no widget."""

from __future__ import annotations

import json
import time
from typing import Generic, Protocol, TypeVar

from rich.style import Style


class LogRow(Protocol):
    """What a row needs: its source index, kubelet timestamp (ns, 0 = none), text, level
    (`error`, `warn`, `debug`, `marker` or ""), and whether it is a JSON object."""

    source: int
    ts: int
    text: str
    level: str
    json: bool


LEVEL_STYLES = {
    "error": Style(color="red", bold=True),
    "warn": Style(color="yellow"),
    "debug": Style(dim=True),
    "marker": Style(color="cyan", italic=True),
}
PREFIX_COLOURS = (
    "cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan",
    "bright_magenta", "bright_green", "bright_yellow", "bright_blue", "red",
)  # fmt: skip
MATCH = Style(reverse=True)
CURRENT = Style(reverse=True, bold=True, underline=True)
DROPPED = Style(color="black", bgcolor="yellow")
GONE = Style(dim=True, strike=True)


def pretty_lines(text: str) -> list[str]:
    try:
        return json.dumps(json.loads(text), indent=2).splitlines()
    except (ValueError, RecursionError):
        return [text]


def stamp(ts: int) -> str:
    if not ts:
        return " " * 23
    sec, ns = divmod(ts, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{ns // 1_000_000:03d}"


K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(dict[K, V], Generic[K, V]):
    """A dict that forgets its oldest entry beyond `size`. Not Textual's `LRUCache`: its
    entries are linked in a ring, so each evicted one is cyclic garbage — at 20,000 log
    lines a second that is work for the cycle collector, and garbage a `gc.freeze()`
    catches alive keeps for good."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: K, value: V) -> None:
        self[key] = value
        if len(self) > self.size:
            del self[next(iter(self))]
