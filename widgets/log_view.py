"""`LogView`: a log pane that draws only the visible lines (Textual's Line API).

It holds plain rows (anything with `source`, `ts`, `text`, `level`, `json` attributes, e.g.
a NamedTuple) — at most `max_lines`, older ones dropped with a marker line on top — and
per source a short label and colour for the prefix. Options: wrap, JSON pretty-printing,
timestamps, the source prefix, a search pattern whose matches are highlighted. Jumps:
next / previous match, next / previous error line, end. The cost of a frame is the
screen's height, not the number of lines; wrapped or pretty layouts are computed once per
change of width or option. Text is never parsed as markup (callers clean control
characters; the widget draws each line as plain `Text`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from widgets.log_rows import (
    CURRENT,
    DROPPED,
    GONE,
    LEVEL_STYLES,
    MATCH,
    PREFIX_COLOURS,
    BoundedCache,
    LogRow,
    pretty_lines,
    stamp,
)

__all__ = ["PREFIX_COLOURS", "LogRow", "LogView"]


class LogView(ScrollView, can_focus=True):
    """A bounded log pane that draws only what is visible."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_home", "Top", show=False),
    ]

    DEFAULT_CSS = """
    LogView {
        height: 1fr;
        background: $surface;
        color: $foreground;
        overflow: auto auto;
    }
    """

    class Scrolled(Message):
        """The user moved away from the end (`at_end` False) or back to it."""

        def __init__(self, log_view: LogView, at_end: bool) -> None:
            super().__init__()
            self.log_view = log_view
            self.at_end = at_end

        @property
        def control(self) -> LogView:
            return self.log_view

    def __init__(
        self,
        *,
        max_lines: int = 50_000,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.max_lines = max_lines
        self.rows: list[Any] = []
        self.base = 0
        """Absolute number of the first row in `rows` (rows dropped so far)."""
        self.dropped = 0
        self.dropped_note = ""
        self.labels: list[tuple[str, str]] = []
        self.gone: set[int] = set()
        self.show_prefix = False
        self.show_timestamps = False
        self.wrap = False
        self.pretty = False
        self.follow = True
        self.search: re.Pattern[str] | None = None
        self.current: int | None = None
        """Absolute number of the row the last jump landed on."""
        self._width = 0
        self._layout: list[int] | None = None
        """With wrap or pretty: the first display line of each row (prefix sums; one more
        entry than rows, the total at the end), offset by `_layout[0]`."""
        self._layout_width = 0
        self._pieces: BoundedCache[tuple[int, int], list[tuple[Text, int]]] = BoundedCache(4096)
        self._strips: BoundedCache[tuple[int, int, int], Strip] = BoundedCache(1024)
        self._version = 0

    # ------------------------------------------------------------ data

    def set_sources(self, labels: Sequence[tuple[str, str]], gone: set[int] | None = None) -> None:
        """Per source index: `(label, colour)` of its prefix; `gone` sources are struck out."""
        self.labels = list(labels)
        self.gone = set(gone or ())
        self._changed()

    def append(self, rows: Sequence[Any], dropped: int = 0) -> None:
        """Add rows at the end (dropping the oldest beyond `max_lines`)."""
        if not rows and not dropped:
            return
        self.rows.extend(rows)
        self.dropped += dropped
        excess = len(self.rows) - self.max_lines
        if excess > 0:
            del self.rows[:excess]
            self.base += excess
            self.dropped += excess
        prefix = self._prefix_width()
        widest = max((len(r.text) for r in rows), default=0) + prefix
        if self._layout is not None:
            if excess > 0:
                del self._layout[: min(excess, len(self._layout) - 1)]
            self._extend_layout(self.rows[-len(rows) :] if rows else [])
        self._width = max(self._width, widest)
        self._resize()
        if self.follow:
            self._to_end()
        self.refresh()

    def retract(self, count: int) -> None:
        """Remove the last `count` rows (the caller re-appends them merged with late ones)."""
        count = min(count, len(self.rows))
        if count <= 0:
            return
        del self.rows[-count:]
        end = self.base + len(self.rows)
        if self._layout is not None:
            del self._layout[len(self.rows) + 1 :]
        if self.current is not None and self.current >= end:
            self.current = None
        self._pieces.clear()
        self._strips.clear()

    def replace(self, rows: Sequence[Any], dropped: int = 0) -> None:
        """Show exactly `rows` (after a filter change or a resume)."""
        self.rows = list(rows)[-self.max_lines :]
        self.dropped = dropped + max(0, len(rows) - self.max_lines)
        self.base = 0
        self.current = None
        prefix = self._prefix_width()
        self._width = max((len(r.text) for r in self.rows), default=0) + prefix
        self._changed()
        if self.follow:
            self._to_end()

    def clear(self) -> None:
        self.replace([])

    @property
    def line_count(self) -> int:
        """Display lines (wrapped / pretty lines count each), including the dropped marker."""
        marker = 1 if self.dropped else 0
        if self._layout is not None:
            return marker + self._layout[-1] - self._layout[0]
        return marker + len(self.rows)

    def configure(self, **options: Any) -> None:
        """Set `wrap`, `pretty`, `show_prefix`, `show_timestamps` or `search` and redraw
        (a new search only restyles; the others lay the lines out again)."""
        for key, value in options.items():
            setattr(self, key, value)
        if set(options) == {"search"}:
            self._restyle()
        else:
            self._changed()

    def _restyle(self) -> None:
        self._version += 1
        self._pieces.clear()
        self._strips.clear()
        self.refresh()

    # ------------------------------------------------------------ jumps

    def jump(self, predicate: Callable[[Any], bool], forward: bool = True) -> bool:
        """Move to the next (or previous) row after the current one for which `predicate`
        holds; stops following. False when there is none."""
        if not self.rows:
            return False
        start = self._anchor()
        indices = range(start + 1, len(self.rows)) if forward else range(start - 1, -1, -1)
        for i in indices:
            if predicate(self.rows[i]):
                self.current = self.base + i
                self.follow = False
                self._restyle()
                self._show_row(i)
                return True
        return False

    def jump_match(self, forward: bool = True) -> bool:
        pattern = self.search
        if pattern is None:
            return False
        return self.jump(lambda row: pattern.search(row.text) is not None, forward)

    def jump_error(self, forward: bool = True) -> bool:
        return self.jump(lambda row: row.level == "error", forward)

    def jump_end(self) -> None:
        self.follow = True
        self.current = None
        self._to_end()

    def _to_end(self) -> None:
        """Scroll to the last line now and once more after the next layout (the virtual
        size just changed, and before the first layout the widget has no height)."""
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.call_after_refresh(self._stick_to_end)

    def _stick_to_end(self) -> None:
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def _anchor(self) -> int:
        if self.current is not None and self.current >= self.base:
            return self.current - self.base
        top = int(self.scroll_offset.y) - (1 if self.dropped else 0)
        if self._layout is not None and top >= 0:
            return self._row_at(top)[0] - 1
        return max(-1, min(top, len(self.rows)) - 1)

    def _show_row(self, index: int) -> None:
        line = index
        if self._layout is not None:
            line = self._layout[index] - self._layout[0]
        line += 1 if self.dropped else 0
        target = max(0, line - self.scrollable_content_region.height // 3)
        self.scroll_to(y=target, animate=False, immediate=True)
        self.refresh()

    def _on_mouse_scroll_up(self, event: Any) -> None:
        if self.follow:
            self.follow = False
            self.post_message(self.Scrolled(self, False))

    def action_scroll_up(self) -> None:
        self._leave_end()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._leave_end()
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._leave_end()
        self.scroll_home(animate=False, immediate=True)

    def _leave_end(self) -> None:
        if self.follow:
            self.follow = False
            self.post_message(self.Scrolled(self, False))

    # ------------------------------------------------------------ layout

    def _prefix_width(self) -> int:
        width = 24 if self.show_timestamps else 0
        if self.show_prefix and self.labels:
            width += max(len(label) for label, _ in self.labels) + 1
        return width

    def _changed(self) -> None:
        self._version += 1
        self._pieces.clear()
        self._strips.clear()
        self._layout = None
        if self.wrap or self.pretty:
            self._layout = [0]
            self._layout_width = self._text_width()
            self._extend_layout(self.rows)
        self._width = (
            max((len(r.text) for r in self.rows[-2000:]), default=0) + self._prefix_width()
        )
        self._resize()
        self.refresh()

    def _text_width(self) -> int:
        return max(10, self.scrollable_content_region.width or self.size.width or 80)

    def _extend_layout(self, rows: Sequence[Any]) -> None:
        """Add the display-line counts of `rows` (appended at the end) to the layout; the
        counts follow `_row_pieces` (wrapping cuts every `_layout_width` characters)."""
        assert self._layout is not None
        head = self._prefix_width()
        width = self._layout_width
        if self.pretty:
            counts = [self._count(row, head, width) for row in rows]
        elif self.wrap:
            counts = [(head + len(row.text) - 1) // width + 1 if head + len(row.text) else 1
                      for row in rows]  # fmt: skip
        else:
            counts = [1] * len(rows)
        self._layout.extend(accumulate(counts, initial=self._layout[-1]))
        del self._layout[-len(counts) - 1]  # `initial` repeated the previous total

    def _count(self, row: Any, head: int, width: int) -> int:
        texts = pretty_lines(row.text) if row.json else [row.text]
        if not self.wrap:
            return len(texts)
        return sum((head + len(t) - 1) // width + 1 if head + len(t) else 1 for t in texts)

    def _row_at(self, line: int) -> tuple[int, int]:
        """(row index, piece) of display line `line` (layout mode)."""
        assert self._layout is not None
        target = line + self._layout[0]
        index = bisect_right(self._layout, target) - 1
        index = min(index, len(self.rows) - 1)
        return index, target - self._layout[index]

    def _resize(self) -> None:
        width = self._layout_width if self._layout is not None and self.wrap else self._width
        self.virtual_size = Size(width, self.line_count)

    def on_resize(self) -> None:
        if self._layout is not None and self.wrap and self._text_width() != self._layout_width:
            self._changed()
        else:
            self._strips.clear()
        if self.follow:
            self._to_end()

    # ------------------------------------------------------------ drawing

    def _head(self, row: Any) -> Text:
        head = Text(no_wrap=True)
        if self.show_prefix and self.labels and 0 <= row.source < len(self.labels):
            label, colour = self.labels[row.source]
            width = max(len(name) for name, _ in self.labels)
            style = GONE if row.source in self.gone else Style(color=colour, bold=True)
            head.append(label.ljust(width), style)
            head.append(" ")
        if self.show_timestamps:
            head.append(stamp(row.ts), Style(dim=True))
            head.append(" ")
        return head

    def _body(self, row: Any, absolute: int) -> list[Text]:
        texts = pretty_lines(row.text) if self.pretty and row.json else [row.text]
        style = LEVEL_STYLES.get(row.level)
        out = []
        for text in texts:
            body = Text(text, style=style or "", no_wrap=True)
            if self.search is not None:
                hit = CURRENT if absolute == self.current else MATCH
                for m in self.search.finditer(text):
                    if m.end() > m.start():
                        body.stylize(hit, m.start(), m.end())
            out.append(body)
        return out

    def _row_pieces(self, absolute: int, row: Any) -> list[tuple[Text, int]]:
        """The display lines of one row: `(text, cell width)` each."""
        key = (absolute, self._version)
        cached = self._pieces.get(key)
        if cached is not None:
            return cached
        head = self._head(row)
        pieces: list[tuple[Text, int]] = []
        indent = Text(" " * head.cell_len)
        for n, body in enumerate(self._body(row, absolute)):
            line = (head if n == 0 else indent).copy()
            line.append_text(body)
            if self.wrap:
                width = self._layout_width or self._text_width()
                plain = line.plain
                if len(plain) <= width:
                    pieces.append((line, cell_len(plain)))
                    continue
                for start in range(0, len(plain), width):
                    piece = line[start : start + width]
                    pieces.append((piece, cell_len(piece.plain)))
            else:
                pieces.append((line, cell_len(line.plain)))
        self._pieces.put(key, pieces)
        return pieces

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        line = scroll_y + y
        width = self.scrollable_content_region.width
        rich_style = self.rich_style
        if self.dropped:
            if line == 0:
                note = f"… {self.dropped:,} older lines dropped {self.dropped_note}".rstrip()
                text = Text(note, style=DROPPED, no_wrap=True)
                strip = Strip(text.render(self.app.console), text.cell_len)
                return strip.crop_extend(scroll_x, scroll_x + width, rich_style)
            line -= 1
        if self._layout is not None:
            if line >= self._layout[-1] - self._layout[0] or not self.rows:
                return Strip.blank(width, rich_style)
            index, piece = self._row_at(line)
            absolute = self.base + index
        else:
            if line >= len(self.rows):
                return Strip.blank(width, rich_style)
            absolute, piece = self.base + line, 0
        key = (absolute, piece, self._version)
        strip = self._strips.get(key)
        if strip is None or absolute == self.current:
            index = absolute - self.base
            if not 0 <= index < len(self.rows):
                return Strip.blank(width, rich_style)
            pieces = self._row_pieces(absolute, self.rows[index])
            if piece >= len(pieces):
                return Strip.blank(width, rich_style)
            text, cells = pieces[piece]
            strip = Strip(text.render(self.app.console), cells)
            self._strips.put(key, strip)
        return strip.crop_extend(scroll_x, scroll_x + width, rich_style).apply_style(rich_style)
