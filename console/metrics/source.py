"""What every telemetry source offers the poller."""

from __future__ import annotations

from typing import Protocol

from console.metrics.model import Frame
from console.redact import redact
from console.text import clean_line


class SourceError(Exception):
    """The source could not produce a frame; the message is one line for the status bar,
    cleaned and redacted (a URL's userinfo, a token in an echoed error)."""

    def __init__(self, message: object = "") -> None:
        super().__init__(redact(clean_line(message)))


class Source(Protocol):
    name: str  # "prometheus" | "dcgm"
    where: str  # where it reads from, for the status line

    def refresh(self, focus: frozenset[str] = frozenset()) -> Frame:
        """One refresh. `focus`: nodes on screen (their full readings and history).
        Raises SourceError when nothing could be read."""
        ...

    def close(self) -> None: ...
