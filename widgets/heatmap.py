"""`GpuHeatmap`: one glyph per GPU, grouped, coloured by a 0-100 value, keyboard cursor.

Layout: a label line per `HeatGroup` (e.g. a node pool, with its cell count in `unit`
— "GPUs" unless told, e.g. "nodes" when a cell is a node — and mean),
then one line per `HeatRow` (e.g. a node: label, then its cells; long rows wrap).
A cell shows a block glyph whose height follows the value (`▁`..`█`, `·` for no
data) in the theme's utilization colour, so colour is never the only cue.

Built on the Line API (`ScrollView.render_line`): only visible lines are rendered,
from flat arrays, so 80,000 cells cost no more than 80. `update_values` is the
cheap per-tick path (no relayout); `set_groups` replaces the structure. The cell cursor
(movement, scrolling, keys and clicks) is the `heat_cursor.HeatCursor` mixin.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from themes import UtilScale, util_scale
from widgets.heat_cursor import HeatCursor
from widgets.sparkline import BLOCKS, MISSING, block_for

_STEPS = 11  # colour steps from 0 to 100


@dataclass(frozen=True)
class HeatCell:
    """One GPU: a unique key and a value 0-100 (None = no data)."""

    key: str
    value: float | None = None


@dataclass(frozen=True)
class HeatRow:
    """A labelled line of cells, e.g. a node and its GPUs."""

    label: str
    cells: Sequence[HeatCell]


@dataclass(frozen=True)
class HeatGroup:
    """A labelled group of rows, e.g. a node pool."""

    label: str
    rows: Sequence[HeatRow]


class GpuHeatmap(HeatCursor, ScrollView, can_focus=True):
    """A scrollable GPU heatmap with a cell cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1, 0)", "Left", show=False, tooltip="previous cell"),
        Binding("right", "move(1, 0)", "Right", show=False, tooltip="next cell"),
        Binding("up", "move(0, -1)", "Up", show=False, tooltip="cell above"),
        Binding("down", "move(0, 1)", "Down", show=False, tooltip="cell below"),
        Binding("pageup", "page(-1)", "Page up", show=False, tooltip="page up"),
        Binding("pagedown", "page(1)", "Page down", show=False, tooltip="page down"),
        Binding("home", "first", "First", show=False, tooltip="first cell"),
        Binding("end", "last", "Last", show=False, tooltip="last cell"),
        Binding("enter", "select", "Select", show=False,
                tooltip="the node's GPUs tab, on the cursor GPU"),
    ]  # fmt: skip

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "gpu-heatmap--cursor",
        "gpu-heatmap--group",
        "gpu-heatmap--label",
        "gpu-heatmap--label-cursor",
    }

    DEFAULT_CSS = """
    GpuHeatmap {
        height: 1fr;
        background: $surface;
        color: $foreground;
    }
    GpuHeatmap > .gpu-heatmap--cursor {
        background: $accent;
        color: $background;
        text-style: bold;
    }
    GpuHeatmap > .gpu-heatmap--group {
        color: $primary;
        text-style: bold;
    }
    GpuHeatmap > .gpu-heatmap--label {
        color: $text-muted;
    }
    GpuHeatmap > .gpu-heatmap--label-cursor {
        color: $accent;
        text-style: bold;
    }
    """

    class CellMessage(Message):
        """Base of the heatmap's messages: `key`, `value`, `row_label`, `group_label`."""

        def __init__(
            self, heatmap: GpuHeatmap, key: str, value: float | None, row_label: str, group: str
        ) -> None:
            super().__init__()
            self.heatmap = heatmap
            self.key = key
            self.value = value
            self.row_label = row_label
            self.group_label = group

        @property
        def control(self) -> GpuHeatmap:
            return self.heatmap

    class CellHighlighted(CellMessage):
        """The cursor moved to a cell."""

    class CellSelected(CellMessage):
        """Enter was pressed on a cell."""

    def __init__(
        self,
        groups: Sequence[HeatGroup] = (),
        *,
        scale: UtilScale | None = None,
        label_width: int | None = None,
        unit: str = "GPUs",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._scale = scale
        self._label_width_setting = label_width
        self._styles: list[Style] = []
        self._cursor = 0
        self._lines: list[tuple[int, int, int, int]] = []
        self._layout_width = -1
        self._group_stats: dict[int, str] = {}
        self._unit = unit
        self._load(groups)

    # -- public API -------------------------------------------------------

    @property
    def unit(self) -> str:
        """What a cell is, counted in each group line ("GPUs", "nodes")."""
        return self._unit

    @unit.setter
    def unit(self, unit: str) -> None:
        if unit != self._unit:
            self._unit = unit
            self._group_stats.clear()
            self.refresh()

    @property
    def cell_count(self) -> int:
        """Number of cells."""
        return len(self._keys)

    def value_of(self, key: str) -> float | None:
        """Current value of a cell (KeyError when unknown)."""
        return self._values[self._index[key]]

    def set_groups(self, groups: Sequence[HeatGroup]) -> None:
        """Replace the whole structure; the cursor stays on the same key if it remains."""
        key = self.cursor_key
        self._load(groups)
        self._cursor = self._index.get(key, min(self._cursor, max(0, len(self._keys) - 1)))
        self._relayout()
        if self.cursor_key != key:
            self._post_highlight()

    def update_values(self, values: Mapping[str, float | None]) -> None:
        """Change the values of known cells (unknown keys are ignored); no relayout."""
        index, current = self._index, self._values
        for key, value in values.items():
            i = index.get(key)
            if i is not None:
                current[i] = value
        self._group_stats.clear()
        self.refresh()

    def set_scale(self, scale: UtilScale | None) -> None:
        """Use `scale` for colours (None = the app theme's utilization scale)."""
        self._scale = scale
        self._styles = []
        self.refresh()

    # -- data -------------------------------------------------------------

    def _load(self, groups: Sequence[HeatGroup]) -> None:
        self._keys: list[str] = []
        self._values: list[float | None] = []
        self._row_start: list[int] = []
        self._row_label: list[str] = []
        self._row_group: list[int] = []
        self._group_label: list[str] = []
        self._group_rows: list[tuple[int, int]] = []
        for g, group in enumerate(groups):
            first_row = len(self._row_start)
            self._group_label.append(group.label)
            for row in group.rows:
                self._row_start.append(len(self._keys))
                self._row_label.append(row.label)
                self._row_group.append(g)
                for cell in row.cells:
                    self._keys.append(cell.key)
                    self._values.append(cell.value)
            self._group_rows.append((first_row, len(self._row_start)))
        self._index = {key: i for i, key in enumerate(self._keys)}
        self._group_stats.clear()
        self._layout_width = -1

    def _row_end(self, row: int) -> int:
        return self._row_start[row + 1] if row + 1 < len(self._row_start) else len(self._keys)

    def _row_of(self, cell: int) -> int:
        return bisect_right(self._row_start, cell) - 1

    # -- layout -----------------------------------------------------------

    def _label_width(self, width: int) -> int:
        if self._label_width_setting is not None:
            return self._label_width_setting
        longest = max((cell_len(label) for label in self._row_label), default=0)
        return min(longest, 28, max(0, width // 2 - 1))

    def _relayout(self) -> None:
        """Lines are `(group, row, first_cell_offset, count)`; row -1 is a group label."""
        width = max(1, self.scrollable_content_region.width or self.size.width or 80)
        self._layout_width = width
        self._label_w = self._label_width(width)
        per_line = max(1, width - self._label_w - 1)
        self._per_line = per_line
        lines: list[tuple[int, int, int, int]] = []
        self._row_line: list[int] = []
        for g, (first_row, end_row) in enumerate(self._group_rows):
            lines.append((g, -1, 0, 0))
            for row in range(first_row, end_row):
                self._row_line.append(len(lines))
                count = self._row_end(row) - self._row_start[row]
                for offset in range(0, max(count, 1), per_line):
                    lines.append((g, row, offset, min(per_line, count - offset)))
        self._lines = lines
        self.virtual_size = Size(width, len(lines))
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        if self.scrollable_content_region.width != self._layout_width:
            self._relayout()
            self._scroll_to_cursor()

    def on_mount(self) -> None:
        self._relayout()

    # -- rendering --------------------------------------------------------

    def notify_style_update(self) -> None:
        self._styles = []
        super().notify_style_update()

    def _value_styles(self) -> list[Style]:
        if not self._styles:
            scale = self._scale or util_scale(self.app.current_theme)
            base = self.rich_style
            self._styles = [base + Style(color=c.hex) for c in scale.steps(_STEPS)]
            self._styles.append(base + Style(color=scale.none.hex))  # index -1: no data
        return self._styles

    def _group_text(self, group: int) -> str:
        text = self._group_stats.get(group)
        if text is None:
            first_row, end_row = self._group_rows[group]
            start = self._row_start[first_row] if first_row < end_row else 0
            end = self._row_end(end_row - 1) if first_row < end_row else 0
            values = [v for v in self._values[start:end] if v is not None]
            missing = (end - start) - len(values)
            text = f"{self._group_label[group]}  {end - start} {self._unit}"
            if values:
                text += f"  mean {sum(values) / len(values):.0f}%"
            if missing:
                text += f"  no data {missing}"
            self._group_stats[group] = text
        return text

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line_no = int(self.scroll_y) + y
        base = self.rich_style
        if line_no >= len(self._lines):
            return Strip.blank(width, base)
        group, row, offset, count = self._lines[line_no]
        if row < 0:
            style = base + self.get_component_rich_style("gpu-heatmap--group", partial=True)
            text = set_cell_size(self._group_text(group), width)
            return Strip([Segment(text, style)], width)
        cursor_row = self._row_of(self._cursor)
        label = self._row_label[row] if offset == 0 else ""
        label_class = "gpu-heatmap--label-cursor" if row == cursor_row else "gpu-heatmap--label"
        label_style = base + self.get_component_rich_style(label_class, partial=True)
        segments = [Segment(set_cell_size(label, self._label_w) + " ", label_style)]
        styles = self._value_styles()
        start = self._row_start[row] + offset
        last = len(BLOCKS) - 1
        for i in range(start, start + count):
            value = self._values[i]
            if value is None or value != value:
                glyph, style = MISSING, styles[-1]
            else:
                glyph = block_for(value) if value < 100 else BLOCKS[last]
                step = min(_STEPS - 1, max(0, round(value / 100 * (_STEPS - 1))))
                style = styles[step]
            if i == self._cursor:
                style = base + self.get_component_rich_style("gpu-heatmap--cursor", partial=True)
            segments.append(Segment(glyph, style))
        return Strip(segments).simplify().adjust_cell_length(width, base)
