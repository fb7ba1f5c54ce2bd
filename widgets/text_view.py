"""`TextView`: read-only plain lines on the Line API, with less/k9s keys and search.

Only the visible lines are drawn (a frame costs the screen's height, not the text's
size), so a 10,000-line YAML scrolls like a short one. Lines are shown literally: never
parsed as markup; tabs expanded and control characters replaced.

Keys: ↑/↓ or `k`/`j` a line, ←/→ sideways (`h`/`l` stay free for the screen's own keys),
PageUp/PageDown (`ctrl+b`, `ctrl+f`, space) a page, `ctrl+u`/`ctrl+d` half a page,
Home/`g` and End/`G` the ends, `n`/`N` the next/previous match of the search (`search()`: a case-insensitive regex, a
pattern that is not one is searched literally). Matches are highlighted; the current one
stands out and is scrolled into view. `SearchChanged` reports the pattern, the number
of matches and which one is current.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

_CONTROL = {c: "\ufffd" for c in (*range(0x20), *range(0x7F, 0xA0))}
MAX_MATCHES = 100_000
"""Matches beyond this many are not counted (a one-letter search of a huge text)."""

Match = tuple[int, int, int]  # (line, start, end) in characters of the shown line


def shown_line(text: str) -> str:
    """`text` as drawn: tabs expanded, control characters replaced with U+FFFD."""
    if "\t" in text:
        text = text.expandtabs(8)
    return text if text.isprintable() else text.translate(_CONTROL)


def compile_search(pattern: str) -> re.Pattern[str]:
    """A case-insensitive regex of `pattern`; literal when it is not a valid regex."""
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error:
        return re.compile(re.escape(pattern), re.IGNORECASE)


class TextView(ScrollView, can_focus=True):
    """Scrollable, searchable plain text (a list of lines)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "line_up", "Up", show=False, tooltip="scroll up a line"),
        Binding("down,j", "line_down", "Down", show=False, tooltip="scroll down a line"),
        Binding("left", "column_left", "Left", show=False, tooltip="scroll left"),
        Binding("right", "column_right", "Right", show=False, tooltip="scroll right"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, tooltip="page up"),
        Binding("pagedown,ctrl+f,space", "page_down", "Page down", show=False,
                tooltip="page down"),
        Binding("ctrl+u", "half_page(-1)", "Half up", show=False, tooltip="half a page up"),
        Binding("ctrl+d", "half_page(1)", "Half down", show=False, tooltip="half a page down"),
        Binding("home,g", "top", "Top", show=False, tooltip="top"),
        Binding("end,G", "bottom", "Bottom", show=False, tooltip="bottom"),
        Binding("n", "next_match", "Next", show=False, tooltip="next match of the search"),
        Binding("N", "previous_match", "Previous", show=False,
                tooltip="previous match of the search"),
    ]  # fmt: skip

    COMPONENT_CLASSES: ClassVar[set[str]] = {"text-view--match", "text-view--match-current"}

    DEFAULT_CSS = """
    TextView {
        height: 1fr;
        background: $surface;
        color: $foreground;
        padding: 0 1;
        & > .text-view--match { background: $warning 40%; }
        & > .text-view--match-current { background: $warning; color: $background;
            text-style: bold; }
    }
    """

    class SearchChanged(Message):
        """The search, its matches or the current match changed (`current` is -1 with none)."""

        def __init__(self, view: TextView, pattern: str, count: int, current: int) -> None:
            super().__init__()
            self.view = view
            self.pattern = pattern
            self.count = count
            self.current = current

        @property
        def control(self) -> TextView:
            return self.view

    def __init__(
        self,
        lines: Sequence[str] = (),
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._lines: list[str] = []
        self._pattern = ""
        self._regex: re.Pattern[str] | None = None
        self._matches: list[Match] = []
        self._by_line: dict[int, list[int]] = {}  # line -> indexes into _matches
        self._current = -1
        self.set_lines(lines)

    # -- content ----------------------------------------------------------

    @property
    def lines(self) -> list[str]:
        """The lines as shown (tabs expanded, control characters replaced)."""
        return self._lines

    def set_lines(self, lines: Sequence[str]) -> None:
        """Show `lines`, keeping the scroll position (clamped) and the search: the current
        match stays on its line when that line still matches."""
        shown = [shown_line(line) for line in lines]
        if shown == self._lines:
            return
        self._lines = shown
        width = max((cell_len(line) for line in shown), default=0)
        self.virtual_size = Size(width, len(shown))
        if self._regex is not None:
            old = self._matches[self._current] if self._current >= 0 else None
            self._find(keep=old)
            self._post_search()
        self.refresh()

    @property
    def text(self) -> str:
        return "\n".join(self._lines)

    @property
    def visible_lines(self) -> list[str]:
        """The lines on screen now, top to bottom (not cut to the width)."""
        top = round(self.scroll_offset.y)
        return self._lines[top : top + self.scrollable_content_region.height]

    # -- search -----------------------------------------------------------

    @property
    def search_pattern(self) -> str:
        return self._pattern

    @property
    def match_count(self) -> int:
        return len(self._matches)

    @property
    def current_index(self) -> int:
        """Which match is current (0-based), -1 without matches."""
        return self._current

    @property
    def current_match(self) -> Match | None:
        """`(line, start, end)` of the current match, or None."""
        return self._matches[self._current] if self._current >= 0 else None

    def search(self, pattern: str) -> int:
        """Highlight the matches of `pattern` and go to the first one at or below the top
        line (wrapping); an empty pattern clears the search. Returns the match count."""
        if not pattern:
            self.clear_search()
            return 0
        self._pattern = pattern
        self._regex = compile_search(pattern)
        self._find()
        if self._matches:
            top = round(self.scroll_offset.y)
            first = next((i for i, m in enumerate(self._matches) if m[0] >= top), 0)
            self._go(first)
        self._post_search()
        self.refresh()
        return len(self._matches)

    def clear_search(self) -> None:
        """Drop the search and its highlights (the scroll position stays)."""
        had = self._regex is not None
        self._pattern, self._regex = "", None
        self._matches, self._by_line, self._current = [], {}, -1
        if had:
            self._post_search()
            self.refresh()

    def _find(self, keep: Match | None = None) -> None:
        assert self._regex is not None
        regex, matches, by_line = self._regex, [], {}
        for number, line in enumerate(self._lines):
            for found in regex.finditer(line):
                if found.end() > found.start():  # an empty match highlights nothing
                    by_line.setdefault(number, []).append(len(matches))
                    matches.append((number, found.start(), found.end()))
            if len(matches) >= MAX_MATCHES:
                break
        self._matches, self._by_line = matches, by_line
        self._current = 0 if matches else -1
        if keep is not None and keep[0] in by_line:
            self._current = next(
                (i for i in by_line[keep[0]] if matches[i][1] >= keep[1]), by_line[keep[0]][0]
            )

    def _post_search(self) -> None:
        self.post_message(
            self.SearchChanged(self, self._pattern, len(self._matches), self._current)
        )

    def _go(self, index: int) -> None:
        """Make match `index` current and scroll it into view (a third down the page)."""
        previous = self._current
        self._current = index
        line, start, end = self._matches[index]
        height = max(1, self.scrollable_content_region.height)
        top = round(self.scroll_offset.y)
        y = top if top <= line < top + height else max(0, line - height // 3)
        width = max(1, self.scrollable_content_region.width)
        left, right = cell_len(self._lines[line][:start]), cell_len(self._lines[line][:end])
        x = round(self.scroll_offset.x)
        if left < x or right > x + width:
            x = max(0, left - width // 4)
        self.scroll_to(x, y, animate=False, immediate=True)
        for match in (previous, index):
            if 0 <= match < len(self._matches):
                self._refresh_line(self._matches[match][0])

    def _refresh_line(self, line: int) -> None:
        y = line - round(self.scroll_offset.y)
        if 0 <= y < self.size.height:
            self.refresh_line(y)

    def action_next_match(self) -> None:
        if self._matches:
            self._go((self._current + 1) % len(self._matches))
            self._post_search()

    def action_previous_match(self) -> None:
        if self._matches:
            self._go((self._current - 1) % len(self._matches))
            self._post_search()

    # -- scrolling --------------------------------------------------------

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height)

    def _scroll_y(self, y: float) -> None:
        self.scroll_to(y=max(0, y), animate=False, immediate=True)

    def action_line_up(self) -> None:
        self._scroll_y(self.scroll_offset.y - 1)

    def action_line_down(self) -> None:
        self._scroll_y(self.scroll_offset.y + 1)

    def action_column_left(self) -> None:
        self.scroll_to(x=max(0, self.scroll_offset.x - 4), animate=False, immediate=True)

    def action_column_right(self) -> None:
        self.scroll_to(x=self.scroll_offset.x + 4, animate=False, immediate=True)

    def action_page_up(self) -> None:
        self._scroll_y(self.scroll_offset.y - self._page())

    def action_page_down(self) -> None:
        self._scroll_y(self.scroll_offset.y + self._page())

    def action_half_page(self, direction: int) -> None:
        self._scroll_y(self.scroll_offset.y + direction * max(1, self._page() // 2))

    def action_top(self) -> None:
        self.scroll_to(0, 0, animate=False, immediate=True)

    def action_bottom(self) -> None:
        self.scroll_to(0, self.max_scroll_y, animate=False, immediate=True)

    # -- rendering --------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, top = self.scroll_offset
        width = self.scrollable_content_region.width
        index = top + y
        base = self.rich_style
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, base)
        text = self._lines[index]
        found = self._by_line.get(index)
        if not found:
            segments = [Segment(text, base)]
        else:
            plain = base + self.get_component_rich_style("text-view--match", partial=True)
            current = base + self.get_component_rich_style("text-view--match-current", partial=True)
            segments, at = [], 0
            for i in found:
                _line, start, end = self._matches[i]
                if start > at:
                    segments.append(Segment(text[at:start], base))
                segments.append(Segment(text[start:end], current if i == self._current else plain))
                at = end
            if at < len(text):
                segments.append(Segment(text[at:], base))
        strip = Strip(segments, cell_len(text))
        return strip.crop_extend(scroll_x, scroll_x + width, base)
