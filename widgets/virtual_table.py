"""`VirtualTable`: a row-cursor table on the Line API, for tables of cluster size.

Rows are plain objects (`TableRow`: `key`, `cells`, `hint`, `styles`) held by reference:
`set_rows` swaps the whole row source (O(1) apart from finding the cursor's key) and
repaints only the visible lines whose row object changed. Only visible lines are rendered,
through a small LRU of `Strip`s, so a frame costs the screen's height, not the row count:
200,000 rows are fine. The widget never sorts or filters: rows arrive in display order.

Line 0 is the column header (always visible); columns that do not fit are dropped by
priority. Cell strings are shown literally: never parsed as markup, control characters
replaced. Enter posts `RowSelected`; a cursor move to another key posts `RowHighlighted`.
Every table of the console is one (it replaced a `DataTable` subclass that could not hold
cluster-size data).

The pieces: `table_layout` (rows, columns, fitting columns to the width), `table_cells`
(fitting text, style hints, a line's cells), `table_cursor` (the cursor mixin); this
module is the widget: row updates, repaints, the strip cache, theme and style changes.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.theme import Theme

from themes import util_scale
from widgets.table_cells import (
    HINTS,
    Cell,
    Resolved,
    cell_segments,
    header_cells,
    resolve_hint,
    row_cells,
)
from widgets.table_cursor import TableCursor
from widgets.table_layout import TableColumn, TableRow, fit_columns

_HINT_CACHE_MAX = 1024


class VirtualTable(TableCursor, ScrollView, can_focus=True):
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
        resolved = resolve_hint(
            hint, self.get_component_rich_style, lambda: util_scale(self.app.current_theme)
        )
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
        length = sum(c.width for c in self._shown) + max(1, len(self._shown))
        strip = Strip(cell_segments(cells, pad), length)
        return strip.crop_extend(scroll_x, scroll_x + width, pad)

    def _render_header(self, width: int, scroll_x: int) -> Strip:
        style = self.get_component_rich_style("virtual-table--header")
        return self._line(header_cells(self._shown, self._sort, style), style, width, scroll_x)

    def _render_row(self, row: TableRow, is_cursor: bool, width: int, scroll_x: int) -> Strip:
        cursor = self.get_component_rich_style("virtual-table--cursor")
        cells, pad = row_cells(row, self._shown, self._hint, self.rich_style, cursor, is_cursor)
        return self._line(cells, pad, width, scroll_x)
