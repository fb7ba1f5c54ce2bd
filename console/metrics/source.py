"""What every telemetry source offers the poller."""

from __future__ import annotations

from typing import Protocol

from console.metrics.model import Frame


class SourceError(Exception):
    """The source could not produce a frame; the message is one line for the status bar."""


class Source(Protocol):
    name: str  # "prometheus" | "dcgm"
    where: str  # where it reads from, for the status line

    def refresh(self, focus: frozenset[str] = frozenset()) -> Frame:
        """One refresh. `focus`: nodes on screen (their full readings and history).
        Raises SourceError when nothing could be read."""
        ...

    def close(self) -> None: ...
