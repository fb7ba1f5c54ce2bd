"""The row cursor of `VirtualTable`: moving it, keeping it in view, finding a key's row,
and the keys and clicks that move or select it.

`TableCursor` is a mixin of `VirtualTable` (a `ScrollView`, whose rows, index and cursor
it reads): line 0 is the header, so row `i` is line `i + 1`. A cursor move to a row with
another key posts `RowHighlighted`; Enter or a double click posts `RowSelected`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual import events

from widgets.table_layout import TableRow


class TableCursor:
    """Cursor state and movement of `VirtualTable` (a mixin of it)."""

    _rows: Sequence[TableRow]
    _index: Mapping[str, int] | None
    _cursor: int

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
