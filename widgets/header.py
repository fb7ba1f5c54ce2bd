"""`ClusterHeader`: the two-line header (context, namespace, sync state, clock; GPU totals
and, when given, a telemetry state).

Fed a plain `HeaderData` with `ClusterHeader.data = HeaderData(...)`; every string
is shown as plain text. The clock ticks once a second; pass `clock=` to pin it.

GPUs are counted in honest units: the allocation is of whole GPUs (`GPU alloc 12/40`),
MIG slices and shared (time-sliced) replicas come as their own parts (`MIG 3/56`,
`shared 5/16`), and the physical GPUs as `48 GPUs`.

Both lines fit the width by importance (`widgets.status_line.fit_line`): read-only, the
GPU allocation and a telemetry or sync problem stay; the title, the clock, the busy count
and the allocation bar go first; long context and namespace names are cut in the middle,
messages at a word boundary. `full_lines()` gives both lines in full.
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

from themes import UtilScale, util_scale
from widgets.gpu_bar import gpu_bar, util_text
from widgets.status_line import Part, fit_line, full_text


@dataclass(frozen=True)
class HeaderData:
    """What the header shows. `allocatable`/`requested` count whole GPUs; MIG slices and
    shared replicas are in `units`, physical GPUs in `gpus`."""

    context: str = ""
    namespace: str | None = None
    allocatable: int | None = 0
    """None when unknown (the user may not list nodes)."""
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
    gpus: int | None = None
    """Physical GPUs (None: unknown or not shown)."""
    units: tuple[tuple[str, int, int | None], ...] = ()
    """Other schedulable units as (name, requested, allocatable or None when unknown):
    `("MIG", 3, 56)`, `("shared", 5, 16)`."""

    @property
    def free(self) -> int | None:
        """Allocatable minus requested, never below zero; None when allocatable is unknown."""
        if self.allocatable is None:
            return None
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
        width = self.content_region.width or self.size.width
        top = fit_line(self._top_parts(self.data), width)
        if self.has_class("-compact"):
            return top
        return Text("\n", end="").join([top, fit_line(self._gpu_parts(self.data), width)])

    def full_lines(self) -> list[str]:
        """Both lines with nothing shortened (plain text)."""
        lines = [self._top_parts(self.data)]
        if not self.has_class("-compact"):
            lines.append(self._gpu_parts(self.data))
        return [full_text(parts) for parts in lines]

    def _labelled(self, label: str, value: str, style: str = "") -> Text:
        text = Text(label + " ", style=self._style("muted"), end="")
        text.append(value, style)
        return text

    def _hinted(self, hint: str | None) -> str:
        return hint if hint in ("ok", "warn", "error") else "muted"

    def _top_parts(self, d: HeaderData) -> list[Part]:
        now = (self._clock or datetime.now)().strftime("%H:%M:%S")
        ctx = d.context or "-"
        parts = [
            Part((Text("kmc", self._style("title"), end=""),), importance=5, cut="none", gap=0),
            Part((self._labelled("ctx", ctx), Text(ctx, end="")), 1, cut="middle", gap=1),
            Part((self._labelled("ns", d.namespace or "all"),), importance=2, cut="middle"),
        ]
        if d.read_only:
            parts.append(Part((Text("read-only", self._style("warn"), end=""),)))
        if d.sync:
            hint = self._hinted(d.sync_hint)
            sync = Text(d.sync, self._style(hint), end="")
            parts.append(Part((sync,), 1 if hint in ("warn", "error") else 3, right=True))
        clock = Text(now, self._style("muted"), end="")
        parts.append(Part((clock,), importance=4, cut="none", right=True))
        return parts

    def _gpu_parts(self, d: HeaderData) -> list[Part]:
        scale = util_scale(self.app.current_theme)
        if d.allocatable is None:
            # Nodes are forbidden to this user: requests are known, allocatable is not.
            numbers = f"{d.requested}/?"
            alloc = Part((self._labelled("GPU alloc", numbers), self._labelled("GPU", numbers)))
            return [alloc, *self._unit_parts(d), *self._telemetry_parts(d, scale)]
        if not d.allocatable and not d.requested and d.units:
            # no whole GPUs to hand out (an all-MIG or all-shared cluster): the units lead
            return [*self._unit_parts(d, lead=True), *self._telemetry_parts(d, scale)]
        numbers = f"{d.requested}/{d.allocatable}"
        with_bar = self._labelled("GPU alloc", "")
        with_bar.append_text(gpu_bar(d.requested, d.allocatable, 10, scale=scale))
        parts = [
            Part(
                (with_bar, self._labelled("GPU alloc", numbers), self._labelled("GPU", numbers)),
                cut="none",
                gap=0,
            ),
            Part((self._labelled("free", str(d.free)),), importance=1, cut="none"),
        ]
        return parts + self._unit_parts(d) + self._telemetry_parts(d, scale)

    def _unit_parts(self, d: HeaderData, lead: bool = False) -> list[Part]:
        """`MIG 3/56`, `shared 5/16` and `48 GPUs` (physical, when that is not just the
        allocatable count); the first unit stays when it `lead`s (no whole GPUs), the others
        go before the telemetry."""
        parts = []
        for i, (name, requested, allocatable) in enumerate(d.units):
            numbers = f"{requested}/{'?' if allocatable is None else allocatable}"
            importance = 0 if lead and i == 0 else 2
            parts.append(Part((self._labelled(name, numbers),), importance, cut="none"))
        if d.gpus and (d.units or d.gpus != d.allocatable):  # else `alloc N/M` said it
            physical = f"{d.gpus} GPU{'s' if d.gpus != 1 else ''}"
            parts.append(Part((Text(physical, self._style("muted"), end=""),), 4, cut="none"))
        return parts

    def _telemetry_parts(self, d: HeaderData, scale: UtilScale) -> list[Part]:
        parts: list[Part] = []
        if d.busy is not None or d.idle is not None:
            busy = "-" if d.busy is None else str(d.busy)
            parts.append(Part((self._labelled("busy", busy),), importance=4, cut="none"))
            idle = "-" if d.idle is None else str(d.idle)
            idle_style = self._style("warn") if d.idle else ""
            parts.append(Part((self._labelled("idle", idle, idle_style),), 2, cut="none"))
        if d.mean_util is not None:
            util = self._labelled("util", "")
            util.append_text(util_text(d.mean_util, scale=scale, width=0))
            parts.append(Part((util,), importance=3, cut="none"))
        if d.telemetry:
            hint = self._hinted(d.telemetry_hint)
            style = self._style(hint)
            head = d.telemetry.partition(": ")[0].partition(" · ")[0]
            forms = (Text(d.telemetry, style, end=""), Text(head, style, end=""))
            parts.append(Part(forms, importance=1 if hint in ("warn", "error") else 5))
        return parts
