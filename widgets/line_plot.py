"""`LinePlot`: a line chart of (x, y) points drawn with braille dots (2×4 per cell), with
the y range on the left and the x range below. Takes plain numbers; non-finite points are
skipped. Redraws from its points at its own size, so its cost is its area, not the data's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

_BASE = 0x2800
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
"""Braille dot bits by (row 0-3, column 0-1) inside one cell."""


def _label(value: float) -> str:
    return f"{value:.4g}"


def braille_lines(points: Sequence[tuple[float, float]], width: int, height: int) -> list[str]:
    """`height` lines of `width` braille cells plotting `points`, consecutive points joined.
    Empty cells are the blank braille glyph (U+2800), so a line is one font's glyphs
    throughout; all blank without a finite point."""
    finite = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
    if width < 1 or height < 1:
        return []
    grid = [[0] * width for _ in range(height)]
    if finite:
        xs, ys = [p[0] for p in finite], [p[1] for p in finite]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        dots_w, dots_h = width * 2, height * 4

        def dot(x: float, y: float) -> tuple[int, int]:
            col = 0 if x1 == x0 else round((x - x0) / (x1 - x0) * (dots_w - 1))
            row = dots_h // 2 if y1 == y0 else round((y1 - y) / (y1 - y0) * (dots_h - 1))
            return col, row

        previous = None
        for x, y in sorted(finite):
            col, row = dot(x, y)
            steps = 1 if previous is None else max(abs(col - previous[0]), abs(row - previous[1]))
            for i in range(1, steps + 1) if previous is not None else (0,):
                c = col if previous is None else previous[0] + (col - previous[0]) * i // steps
                r = row if previous is None else previous[1] + (row - previous[1]) * i // steps
                grid[r // 4][c // 2] |= _DOTS[r % 4][c % 2]
            previous = (col, row)
    return ["".join(chr(_BASE + bits) for bits in line) for line in grid]


class LinePlot(Widget):
    """A titled line chart; `set_points` replaces what it shows."""

    DEFAULT_CSS = """
    LinePlot { height: 12; padding: 0 1; }
    LinePlot > .line-plot--line { color: $accent; }
    LinePlot > .line-plot--axis { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"line-plot--line", "line-plot--axis"}

    def __init__(self, empty: str = "no points yet", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.points: list[tuple[float, float]] = []
        self.caption = ""
        self.empty = empty

    def set_points(self, points: Sequence[tuple[float, float]], caption: str = "") -> None:
        """Show `points` (x, y); `caption` is plain text under the x axis."""
        self.points = list(points)
        self.caption = caption
        self.refresh()

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        finite = [(x, y) for x, y in self.points if math.isfinite(x) and math.isfinite(y)]
        if not finite:
            return Text(self.empty, style=self.get_component_rich_style("line-plot--axis"))
        ys = [y for _, y in finite]
        labels = (_label(max(ys)), _label(min(ys)))
        margin = max(len(label) for label in labels) + 1
        lines = braille_lines(finite, max(1, width - margin), max(1, height - 1))
        axis = self.get_component_rich_style("line-plot--axis")
        line = self.get_component_rich_style("line-plot--line")
        out = Text(no_wrap=True, overflow="crop")
        for i, dots in enumerate(lines):
            label = labels[0] if i == 0 else labels[1] if i == len(lines) - 1 else ""
            out.append(label.rjust(margin - 1) + "│", axis)
            out.append(dots, line)
            out.append("\n")
        xs = [x for x, _ in finite]
        left, right = _label(min(xs)), _label(max(xs))
        room = max(1, width - margin - len(left) - len(right))
        caption = self.caption[:room].center(room) if self.caption else " " * room
        out.append(" " * margin + left + caption + right, axis)
        return out
