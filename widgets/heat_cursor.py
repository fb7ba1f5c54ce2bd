"""The cell cursor of `GpuHeatmap`: moving it by cell, line and page, keeping it in view,
and the keys and clicks that move or select it.

`HeatCursor` is a mixin of `GpuHeatmap` (a `ScrollView`), reading its flat arrays
(`_row_of` looks a cell's row up) and its line layout (`_lines`: `(group, row,
first_cell_offset, count)`, row -1 a group label). Every cursor move posts
`CellHighlighted`; Enter posts `CellSelected`.
"""

from __future__ import annotations

from textual import events


class HeatCursor:
    """Cursor state and movement of `GpuHeatmap` (a mixin of it)."""

    _keys: list[str]
    _values: list[float | None]
    _index: dict[str, int]
    _cursor: int
    _row_start: list[int]
    _row_label: list[str]
    _row_group: list[int]
    _group_label: list[str]
    _lines: list[tuple[int, int, int, int]]
    _row_line: list[int]
    _per_line: int
    _label_w: int
    _layout_width: int

    @property
    def cursor_key(self) -> str | None:
        """Key of the cell under the cursor, None when empty."""
        return self._keys[self._cursor] if self._keys else None

    def move_to_key(self, key: str) -> bool:
        """Put the cursor on `key`; False when unknown."""
        if key not in self._index:
            return False
        self._set_cursor(self._index[key])
        return True

    def _position(self, cell: int) -> tuple[int, int]:
        """(line, column) of a cell."""
        row = self._row_of(cell)
        offset = cell - self._row_start[row]
        return self._row_line[row] + offset // self._per_line, offset % self._per_line

    def _cell_at(self, line: int, column: int, step: int) -> int | None:
        """Cell at `column` on `line`, or on the nearest cell line in direction `step`."""
        while 0 <= line < len(self._lines):
            _, row, offset, count = self._lines[line]
            if row >= 0 and count > 0:
                return self._row_start[row] + offset + min(column, count - 1)
            line += step
        return None

    def _set_cursor(self, cell: int) -> None:
        if not self._keys:
            return
        cell = min(max(0, cell), len(self._keys) - 1)
        if cell == self._cursor:
            return
        self._cursor = cell
        self.refresh()
        self._scroll_to_cursor()
        self._post_highlight()

    def _scroll_to_cursor(self) -> None:
        if not self._keys or self._layout_width < 0:
            return
        line, _ = self._position(self._cursor)
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_y)
        if line < top:
            self.scroll_to(y=line, animate=False, immediate=True)
        elif line >= top + height:
            self.scroll_to(y=line - height + 1, animate=False, immediate=True)

    def _message_args(self) -> tuple[str, float | None, str, str]:
        row = self._row_of(self._cursor)
        group = self._group_label[self._row_group[row]]
        return self._keys[self._cursor], self._values[self._cursor], self._row_label[row], group

    def _post_highlight(self) -> None:
        if self._keys:
            self.post_message(self.CellHighlighted(self, *self._message_args()))

    def action_move(self, dx: int, dy: int) -> None:
        if not self._keys:
            return
        if dx:
            self._set_cursor(self._cursor + dx)
            return
        line, column = self._position(self._cursor)
        target = self._cell_at(line + dy, column, dy)
        if target is not None:
            self._set_cursor(target)

    def action_page(self, direction: int) -> None:
        if not self._keys:
            return
        line, column = self._position(self._cursor)
        height = max(1, self.scrollable_content_region.height)
        target_line = min(max(0, line + direction * height), len(self._lines) - 1)
        target = self._cell_at(target_line, column, direction)
        if target is None:
            target = self._cell_at(target_line, column, -direction)
        if target is not None:
            self._set_cursor(target)

    def action_first(self) -> None:
        self._set_cursor(0)
        self.scroll_to(y=0, animate=False, immediate=True)

    def action_last(self) -> None:
        self._set_cursor(len(self._keys) - 1)

    def action_select(self) -> None:
        if self._keys:
            self.post_message(self.CellSelected(self, *self._message_args()))

    def on_click(self, event: events.Click) -> None:
        line = int(self.scroll_y) + event.y
        column = event.x - self._label_w - 1
        if 0 <= line < len(self._lines) and column >= 0:
            _, row, offset, count = self._lines[line]
            if row >= 0 and column < count:
                self._set_cursor(self._row_start[row] + offset + column)
