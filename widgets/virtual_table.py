"""`VirtualTable`: a row-cursor table on the Line API, for tables of cluster size.

Rows are plain objects (`TableRow`: `key`, `cells`, `hint`, `styles`) held by reference:
`set_rows` swaps the whole row source (O(1) apart from finding the cursor's key) and
repaints only the visible lines whose row object changed. Only visible lines are rendered,
through a small LRU of `Strip`s, so a frame costs the screen's height, not the row count:
200,000 rows are fine. The widget never sorts or filters: rows arrive in display order.

Line 0 is the column header (always visible); columns that do not fit are dropped by
priority. Cell strings are shown literally: never parsed as markup, control characters
replaced. Enter posts `RowSelected`; a cursor move to another key posts `RowHighlighted`.
Meant to replace `widgets.resource_table.ResourceTable`, a `DataTable` subclass.
"""

from __future__ import annotations

import re
import sys
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar, Protocol

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.theme import Theme

from themes import util_scale

HINTS = ("ok", "warn", "bad", "dim", "idle")
"""Style hints drawn from component classes; also "util:<0-100>", "bar:<0-100>" (its "▁"
glyphs in the no-data colour) and "none", from the theme's utilization scale."""

_ALIASES = {"error": "bad"}  # the hint name ResourceTable and themes.health_color accept
_EMPTY_BAR = "▁"
_BAR_RUNS = re.compile(f"({_EMPTY_BAR}+)")
_CONTROL = {c: "\ufffd" for c in (*range(0x20), *range(0x7F, 0xA0))}
_HINT_CACHE_MAX = 1024

Resolved = tuple[Style, Style | None]  # (colour of the text, colour of "▁" or None)
Cell = tuple[str, Style, Style | None]  # (text fitted to its width, style, style of "▁")


class TableRow(Protocol):
    """What a row must have (the console passes frozen dataclasses)."""

    @property
    def key(self) -> str: ...  # stable identity of the object the row shows
    @property
    def cells(self) -> tuple[str, ...]: ...  # one plain string per column of the view
    @property
    def hint(self) -> str | None: ...  # row style hint
    @property
    def styles(self) -> tuple[str | None, ...] | None: ...  # per-cell hints, or None


@dataclass(frozen=True)
class TableColumn:
    """A column: shows `row.cells[index]` in `width` cells (longer text is cut with "…").

    `priority` 0 is never dropped; when the columns do not fit, the highest priority
    number is dropped first (ties: the rightmost). If even the rest do not fit, the widest
    left-aligned column shrinks, never below `min_width`.
    """

    key: str
    label: str
    width: int
    index: int
    priority: int = 0
    align: str = "left"
    min_width: int = 0


def fit_columns(columns: Sequence[TableColumn], width: int) -> list[TableColumn]:
    """The columns shown in `width` cells (each takes its width + 1 space), by the rules
    of `TableColumn`; a shrunk column comes back with its reduced `width`."""
    shown = [c if c.width >= 0 else replace(c, width=0) for c in columns]

    def excess() -> int:
        return sum(c.width + 1 for c in shown) - width

    while excess() > 0:
        droppable = [i for i, c in enumerate(shown) if c.priority > 0]
        if not droppable:
            break
        del shown[max(droppable, key=lambda i: (shown[i].priority, i))]
    over = excess()
    while over > 0:
        movable = [
            i for i, c in enumerate(shown) if c.align != "right" and c.width > max(1, c.min_width)
        ]
        if not movable:
            break
        i = max(movable, key=lambda i: (shown[i].width, i))
        column = shown[i]
        runner_up = max((shown[j].width for j in movable if j != i), default=0)
        target = max(1, column.min_width, column.width - over)
        target = max(target, runner_up if runner_up < column.width else column.width - 1)
        over -= column.width - target
        shown[i] = replace(column, width=target)
    return shown


def _fit(text: str, width: int, right: bool) -> str:
    """`text` in exactly `width` terminal cells: padded, or cut with "…"."""
    if not text.isprintable():
        text = text.translate(_CONTROL)
    length = len(text) if text.isascii() else cell_len(text)
    if length > width:
        if width <= 0:
            return ""
        cut = set_cell_size(text, width - 1)
        if cut.endswith(" ") and not text.startswith(cut):  # a wide character was split
            cut = cut[:-1]
        text, length = cut + "…", cell_len(cut) + 1
    if length < width:
        pad = " " * (width - length)
        return pad + text if right else text + pad
    return text


class VirtualTable(ScrollView, can_focus=True):
    """A scrollable table of `TableRow`s with a row cursor; renders only visible lines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Cursor up", show=False, tooltip="cursor up"),
        Binding("down,j", "cursor_down", "Cursor down", show=False, tooltip="cursor down"),
        Binding("pageup,ctrl+b", "cursor_page_up", "Page up", show=False, tooltip="page up"),
        Binding("pagedown,ctrl+f,space", "cursor_page_down", "Page down", show=False,
                tooltip="page down"),
        Binding("home", "cursor_first", "First row", show=False, tooltip="first row"),
        Binding("end", "cursor_last", "Last row", show=False, tooltip="last row"),
        Binding("enter", "select_cursor", "Select row", show=False, tooltip="select the row"),
    ]  # fmt: skip
    """The tooltip is the long description (key help lists bindings that have one)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        *(f"virtual-table--{hint}" for hint in HINTS),
    }

    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        & > .virtual-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .virtual-table--cursor { background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground; text-style: $block-cursor-blurred-text-style; }
        &:focus > .virtual-table--cursor { background: $block-cursor-background;
            color: $block-cursor-foreground; text-style: $block-cursor-text-style; }
        & > .virtual-table--ok { color: $text-success; }
        & > .virtual-table--warn { color: $text-warning; }
        & > .virtual-table--bad { color: $text-error; text-style: bold; }
        & > .virtual-table--dim { color: $text-muted; }
        & > .virtual-table--idle { color: $text-warning; text-style: italic; }
    }
    """

    class RowMessage(Message):
        """Base of the table's messages: `key` and `row` of the cursor row."""

        def __init__(self, table: VirtualTable, key: str, row: TableRow) -> None:
            super().__init__()
            self.table = table
            self.key = key
            self.row = row

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowHighlighted(RowMessage):
        """The cursor moved to a row with another key."""

    class RowSelected(RowMessage):
        """Enter was pressed (or the row double-clicked)."""

    def __init__(
        self,
        columns: Sequence[TableColumn] = (),
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._columns: tuple[TableColumn, ...] = tuple(columns)
        self._sort: tuple[str, bool] | None = None
        self._rows: Sequence[TableRow] = ()
        self._index: Mapping[str, int] | None = None
        self._cursor = 0
        self._shown: list[TableColumn] = []
        self._fitted: tuple[tuple[TableColumn, ...], int] | None = None
        self._hints: dict[str, Resolved | None] = {}
        self._strips: OrderedDict[tuple[int, bool, bool], tuple[TableRow, Strip]] = OrderedDict()
        self._header: Strip | None = None
        self._strip_tag: tuple[int, int] = (-1, -1)

    # -- public API -------------------------------------------------------

    @property
    def columns(self) -> tuple[TableColumn, ...]:
        """All the columns of the view, shown or not."""
        return self._columns

    @property
    def sort(self) -> tuple[str, bool] | None:
        """`(column key, reverse)` marked in the header, or None."""
        return self._sort

    @property
    def visible_columns(self) -> list[TableColumn]:
        """The columns shown after fitting to the width (with the width they are shown at)."""
        self._refit()
        return list(self._shown)

    @property
    def rows(self) -> Sequence[TableRow]:
        """The current row source."""
        return self._rows

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def cursor_row(self) -> int:
        """Index of the cursor row (0 when empty)."""
        return self._cursor

    @property
    def current_row(self) -> TableRow | None:
        return self._rows[self._cursor] if self._cursor < len(self._rows) else None

    @property
    def current_row_key(self) -> str | None:
        row = self.current_row
        return None if row is None else row.key

    def set_columns(
        self, columns: Sequence[TableColumn], sort: tuple[str, bool] | None = None
    ) -> None:
        """Replace the columns; `sort` marks that column's label with ▲ (ascending) or
        ▼ (reverse). Rows are not sorted here: they come in display order."""
        self._columns = tuple(columns)
        self._sort = sort
        self._refit()
        self._invalidate()
        self.refresh()

    def set_rows(self, rows: Sequence[TableRow], index: Mapping[str, int] | None = None) -> None:
        """Show `rows`; `index` (key -> position in `rows`, kept for `move_to_key`) finds the
        cursor's key without a scan of the rows.

        The cursor stays on its key at the same height on screen when possible (else keeps
        its index); only the visible lines whose row object changed are repainted."""
        old_rows, old_cursor, old_key = self._rows, self._cursor, self.current_row_key
        top, page = self.scroll_offset.y, self._page()
        self._rows, self._index = rows, index
        found = None if old_key is None else self._locate(old_key, old_cursor)
        self._cursor = found if found is not None else min(old_cursor, max(0, len(rows) - 1))
        self._update_virtual_size()
        if not self.scrollable_content_region.height:
            self.refresh()  # not laid out yet: nothing on screen to spare
        else:
            self._scroll_to_cursor(top if found is None else self._cursor - (old_cursor - top))
            if self.scroll_offset.y == top:  # else the scroll repaints everything
                if rows is old_rows and not isinstance(rows, tuple):
                    self.refresh()  # mutated in place: no way to tell what changed
                else:
                    self._refresh_changed(old_rows, old_cursor, top, page)
        if self.current_row_key != old_key:
            self._post_highlight()

    def move_cursor(self, index: int) -> None:
        """Put the cursor on row `index` (clamped) and scroll it into view."""
        self._move(index)

    def move_to_key(self, key: str) -> bool:
        """Put the cursor on the row with `key`; False when absent. Uses the `index` given
        to `set_rows` (without one, a scan of the rows)."""
        found = self._locate(key, self._cursor)
        if found is None:
            return False
        self._move(found)
        return True

    # -- cursor -----------------------------------------------------------

    def _locate(self, key: str, guess: int) -> int | None:
        rows, index = self._rows, self._index
        if index is not None:
            at = index.get(key)
            if at is None:
                return None
            if 0 <= at < len(rows) and rows[at].key == key:
                return at
        if guess < len(rows) and rows[guess].key == key:
            return guess
        return next((i for i, row in enumerate(rows) if row.key == key), None)

    def _page(self) -> int:
        """Number of row lines in the viewport (the header takes one)."""
        return max(1, self.scrollable_content_region.height - 1)

    def _move(self, index: int, top: int | None = None) -> None:
        if not self._rows:
            return
        old, old_key = self._cursor, self.current_row_key
        self._cursor = min(max(0, index), len(self._rows) - 1)
        if self._cursor != old:
            self.refresh_line(old + 1)
            self.refresh_line(self._cursor + 1)
        self._scroll_to_cursor(top)
        if self.current_row_key != old_key:
            self._post_highlight()

    def _scroll_to_cursor(self, top: int | None = None) -> None:
        """Scroll to `top` (default: where it is), moved as little as needed to show the cursor."""
        if not self.scrollable_content_region.height:
            return
        page, current = self._page(), self.scroll_offset.y
        top = current if top is None else top
        top = max(0, min(top, self._cursor, len(self._rows) - page), self._cursor - page + 1)
        if top != current:
            self.scroll_to(y=top, animate=False, force=True)

    def _refresh_changed(
        self, old_rows: Sequence[TableRow], old_cursor: int, top: int, page: int
    ) -> None:
        """Repaint the visible lines whose row object or cursor state changed, in runs."""
        rows, cursor, run = self._rows, self._cursor, None
        for i in range(top, top + page + 1):
            old = old_rows[i] if i < len(old_rows) else None
            new = rows[i] if i < len(rows) else None
            changed = i < top + page and (old is not new or (i == old_cursor) != (i == cursor))
            if changed and run is None:
                run = i
            elif not changed and run is not None:
                self.refresh_lines(run + 1, i - run)
                run = None

    def _post_highlight(self) -> None:
        row = self.current_row
        if row is not None:
            self.post_message(self.RowHighlighted(self, row.key, row))

    def action_cursor_up(self) -> None:
        self._move(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._move(self._cursor + 1)

    def action_cursor_page_up(self) -> None:
        page = self._page()
        self._move(self._cursor - page, self.scroll_offset.y - page)

    def action_cursor_page_down(self) -> None:
        page = self._page()
        self._move(self._cursor + page, self.scroll_offset.y + page)

    def action_cursor_first(self) -> None:
        self._move(0)

    def action_cursor_last(self) -> None:
        self._move(len(self._rows) - 1)

    def action_select_cursor(self) -> None:
        row = self.current_row
        if row is not None:
            self.post_message(self.RowSelected(self, row.key, row))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        index = self.scroll_offset.y + offset.y - 1
        if index < len(self._rows):
            self._move(index)
            if event.chain == 2:
                self.action_select_cursor()

    # -- layout and styles --------------------------------------------------

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def on_resize(self, event: events.Resize) -> None:
        self._refit()
        self._scroll_to_cursor()

    def _refit(self) -> None:
        width = self.scrollable_content_region.width
        if self._fitted == (self._columns, width):
            return
        self._fitted = (self._columns, width)
        self._shown = fit_columns(self._columns, width if width > 0 else sys.maxsize)
        self._invalidate()
        self._update_virtual_size()

    def _update_virtual_size(self) -> None:
        size = Size(sum(c.width + 1 for c in self._shown), len(self._rows) + 1)
        if size != self.virtual_size:  # relayout (scrollbars) without repainting every line
            self.set_reactive(VirtualTable.virtual_size, size)
            self.refresh(repaint=False, layout=True)

    def _invalidate(self) -> None:
        self._strips.clear()
        self._header = None

    def _theme_changed(self, theme: Theme) -> None:
        self._hints.clear()
        self._invalidate()
        self.refresh()

    def notify_style_update(self) -> None:
        self._hints.clear()
        self._invalidate()
        super().notify_style_update()

    def _hint(self, hint: str | None) -> Resolved | None:
        if hint is None:
            return None
        if hint in self._hints:
            return self._hints[hint]
        name, resolved = _ALIASES.get(hint, hint), None
        if name in HINTS:
            # full styles: partial ones drop the alpha of $text-muted & co.
            resolved = (self.get_component_rich_style(f"virtual-table--{name}"), None)
        elif name == "none" or name.startswith(("util:", "bar:")):
            scale = util_scale(self.app.current_theme)
            none = Style(color=scale.none.hex)
            resolved = (none, None)
            if name != "none":
                kind, _, value = name.partition(":")
                try:
                    color = Style(color=scale.hex(float(value)))
                except ValueError:
                    color = None
                # a bar's empty part ("▁") in the no-data colour; a sparkline keeps its lows
                resolved = None if color is None else (color, none if kind == "bar" else None)
        if len(self._hints) >= _HINT_CACHE_MAX:
            self._hints.clear()
        self._hints[hint] = resolved
        return resolved

    # -- rendering --------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        self._refit()
        width = self.scrollable_content_region.width
        scroll_x, top = self.scroll_offset
        if self._strip_tag != (width, scroll_x):
            self._strip_tag = (width, scroll_x)
            self._invalidate()
        if y == 0:
            if self._header is None:
                self._header = self._render_header(width, scroll_x)
            return self._header
        index = top + y - 1
        if y < 0 or index >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        row = self._rows[index]
        key = (id(row), index == self._cursor, self.has_focus)
        cached = self._strips.get(key)
        if cached is not None and cached[0] is row:
            self._strips.move_to_end(key)
            return cached[1]
        strip = self._render_row(row, key[1], width, scroll_x)
        self._strips[key] = (row, strip)  # the reference keeps id(row) from being reused
        while len(self._strips) > max(64, 2 * self.size.height):
            self._strips.popitem(last=False)
        return strip

    def _line(self, cells: list[Cell], pad: Style, width: int, scroll_x: int) -> Strip:
        segments = [Segment(" ", pad)]
        for n, (text, style, bar) in enumerate(cells):
            if n:
                segments.append(Segment(" ", pad))
            if bar is None or _EMPTY_BAR not in text:
                segments.append(Segment(text, style))
                continue
            for part in _BAR_RUNS.split(text):
                if part:
                    segments.append(Segment(part, bar if part[0] == _EMPTY_BAR else style))
        length = sum(c.width for c in self._shown) + max(1, len(self._shown))
        return Strip(segments, length).crop_extend(scroll_x, scroll_x + width, pad)

    def _render_header(self, width: int, scroll_x: int) -> Strip:
        style = self.get_component_rich_style("virtual-table--header")
        sort_key, reverse = self._sort or ("", False)
        cells: list[Cell] = []
        for column in self._shown:
            label = column.label
            if column.key == sort_key and column.width > 0:
                label = set_cell_size(label, min(cell_len(label), column.width - 1))
                label += "▼" if reverse else "▲"
            cells.append((_fit(label, column.width, column.align == "right"), style, None))
        return self._line(cells, style, width, scroll_x)

    def _render_row(self, row: TableRow, is_cursor: bool, width: int, scroll_x: int) -> Strip:
        row_hint = self._hint(row.hint)
        row_style = self.rich_style + row_hint[0] if row_hint else self.rich_style
        cursor = self.get_component_rich_style("virtual-table--cursor")
        texts, hints = row.cells, row.styles
        cells: list[Cell] = []
        for column in self._shown:
            i = column.index
            text = texts[i] if 0 <= i < len(texts) else ""
            hint = self._hint(hints[i]) if hints is not None and 0 <= i < len(hints) else None
            style = row_style + hint[0] if hint else row_style
            bar = (hint or row_hint or (style, None))[1]
            if is_cursor:  # the cursor's colours win over hints
                style, bar = style + cursor, None
            elif bar is not None:
                bar = style + bar
            cells.append((_fit(str(text), column.width, column.align == "right"), style, bar))
        return self._line(cells, row_style + cursor if is_cursor else row_style, width, scroll_x)
