"""`ClusterHeader`: the two-line header (context, namespace, sync state, clock; GPU totals
and, when given, a telemetry state).

Fed a plain `HeaderData` with `ClusterHeader.data = HeaderData(...)`; every string
is shown as plain text. The clock ticks once a second; pass `clock=` to pin it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from themes import util_scale
from widgets.gpu_bar import gpu_bar, util_text


@dataclass(frozen=True)
class HeaderData:
    """What the header shows. GPU counts are whole GPUs (or time-sliced replicas)."""

    context: str = ""
    namespace: str | None = None
    allocatable: int = 0
    requested: int = 0
    busy: int | None = None
    idle: int | None = None
    mean_util: float | None = None
    sync: str = ""
    sync_hint: str | None = None
    """"ok", "warn", "error" or None: colours the sync text."""
    read_only: bool = False
    telemetry: str | None = None
    """A GPU telemetry state ("dcgm live", "telemetry unavailable: …") ending the GPU line."""
    telemetry_hint: str | None = None
    """"ok", "warn", "error" or None (muted): colours the telemetry text."""

    @property
    def free(self) -> int:
        """Allocatable minus requested, never below zero."""
        return max(0, self.allocatable - self.requested)


class ClusterHeader(Widget):
    """Two lines: identity and sync state with a clock; GPU allocation, utilization and
    telemetry state."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "cluster-header--title",
        "cluster-header--muted",
        "cluster-header--ok",
        "cluster-header--warn",
        "cluster-header--error",
    }

    DEFAULT_CSS = """
    ClusterHeader {
        height: 2;
        padding: 0 1;
        background: $panel;
        color: $foreground;
    }
    ClusterHeader.-compact {
        height: 1;
    }
    ClusterHeader > .cluster-header--title {
        color: $primary;
        text-style: bold;
    }
    ClusterHeader > .cluster-header--muted {
        color: $text-muted;
    }
    ClusterHeader > .cluster-header--ok {
        color: $text-success;
    }
    ClusterHeader > .cluster-header--warn {
        color: $text-warning;
    }
    ClusterHeader > .cluster-header--error {
        color: $text-error;
        text-style: bold;
    }
    """

    data: reactive[HeaderData] = reactive(HeaderData, layout=False)

    def __init__(
        self,
        data: HeaderData | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._clock = clock
        if data is not None:
            self.set_reactive(ClusterHeader.data, data)

    def on_mount(self) -> None:
        if self._clock is None:
            self.set_interval(1.0, self.refresh)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"cluster-header--{name}", partial=True)

    def render(self) -> Text:
        d = self.data
        now = (self._clock or datetime.now)().strftime("%H:%M:%S")
        muted = self._style("muted")
        top = Text(no_wrap=True, overflow="ellipsis", end="")
        top.append("kmc ", self._style("title"))
        top.append("ctx ", muted)
        top.append(d.context or "-")
        top.append("  ns ", muted)
        top.append(d.namespace if d.namespace else "all")
        if d.read_only:
            top.append("  read-only", self._style("warn"))
        right = Text(end="")
        if d.sync:
            hint = d.sync_hint if d.sync_hint in ("ok", "warn", "error") else "muted"
            right.append(d.sync, self._style(hint))
            right.append("  ")
        right.append(now, muted)
        width = self.content_region.width or self.size.width
        room = width - right.cell_len - 1
        if room >= 12:  # keep sync state and clock visible: shorten the left part instead
            if top.cell_len > room:
                top.truncate(room, overflow="ellipsis")
            top.append(" " * (width - top.cell_len - right.cell_len))
            top.append_text(right)
        if self.has_class("-compact"):
            return top
        return Text("\n", end="").join([top, self._gpu_line(d)])

    def _gpu_line(self, d: HeaderData) -> Text:
        scale = util_scale(self.app.current_theme)
        muted = self._style("muted")
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        line.append("GPU alloc ", muted)
        line.append_text(gpu_bar(d.requested, d.allocatable, 10, scale=scale))
        line.append("  free ", muted)
        line.append(str(d.free))
        if d.busy is not None or d.idle is not None:
            line.append("  busy ", muted)
            line.append("-" if d.busy is None else str(d.busy))
            line.append("  idle ", muted)
            line.append(
                "-" if d.idle is None else str(d.idle), self._style("warn") if d.idle else ""
            )
        if d.mean_util is not None:
            line.append("  util ", muted)
            line.append_text(util_text(d.mean_util, scale=scale, width=0))
        if d.telemetry:
            hint = d.telemetry_hint if d.telemetry_hint in ("ok", "warn", "error") else "muted"
            line.append("  ")
            line.append(d.telemetry, self._style(hint))
        return line
