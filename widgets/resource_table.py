"""`ResourceTable`: a `DataTable` fed whole snapshots of plain rows, updated by diff.

Each `set_rows` call compares the snapshot with what is shown, by row key, inside
`app.batch_update()`: changed cells are updated in place (`update_cell`), new rows
are added, stale rows removed (or the table is rebuilt once when removals would
cost more). The cursor stays on the same row key; the sort survives updates.

Every cell is shown as `rich.text.Text` built without markup: strings from the
cluster show literally. A cell that should sort by something other than its text (AGE
"3d" by seconds) is given as `SortableCell(display, sort_value)`. Enter posts `DataTable.RowSelected` (`event.row_key.value`
is the row key); cursor moves post `DataTable.RowHighlighted`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from rich.style import Style
from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, ColumnKey, RowKey

CellValue = str | int | float | Text | None


class SortableCell(NamedTuple):
    """A cell shown as `display` and sorted by `sort_value` (None sorts last), whatever the
    column's `numeric` flag. Give every cell of a column a sort value, or none: the values
    of one column are compared with each other."""

    display: CellValue
    sort_value: Any


Cell = CellValue | SortableCell
Row = tuple[str, Sequence[Cell], str | None]
"""`(row_key, cells, style_hint)`; hint is one of `HINTS` or None."""

HINTS = ("ok", "warn", "error", "dim")

_NUMBER = re.compile(r"\s*([-+]?\d+(?:\.\d+)?)")
_DIGITS = re.compile(r"(\d+)")


@dataclass(frozen=True)
class ColumnSpec:
    """A column: key, header label, fixed width (None = fit content), numeric sort."""

    key: str
    label: str
    width: int | None = None
    numeric: bool = False


class _Cell(Text):
    """A `Text` cell that remembers the key it sorts by."""

    __slots__ = ("sort_value",)

    sort_value: Any


def _natural(text: str) -> tuple[Any, ...]:
    """Sort key so that `node-2` comes before `node-10` (types align position by position)."""
    parts = _DIGITS.split(text.casefold())
    return tuple(int(part) if i % 2 else part for i, part in enumerate(parts))


def to_cell(value: Cell, numeric: bool = False) -> Text:
    """Convert a plain value to a non-markup `Text` cell carrying its sort value."""
    if isinstance(value, SortableCell):
        cell = to_cell(value.display, numeric)
        cell.sort_value = value.sort_value  # type: ignore[attr-defined]
        return cell
    if isinstance(value, Text):
        cell = _Cell(value.plain, style=value.style, justify=value.justify, end="", no_wrap=True)
        cell.spans = list(value.spans)
        plain: str | None = value.plain
    elif value is None:
        cell, plain = _Cell("", end=""), None
    elif isinstance(value, bool):
        cell, plain = _Cell(str(value), end=""), str(value)
    elif isinstance(value, int):
        cell, plain = _Cell(str(value), justify="right", end=""), None
    elif isinstance(value, float):
        cell, plain = _Cell(f"{value:.1f}", justify="right", end=""), None
    else:
        text = str(value)
        cell, plain = _Cell(text, justify="right" if numeric else None, end=""), text
    cell.no_wrap = True
    cell.overflow = "ellipsis"
    if numeric:
        if isinstance(value, int | float) and not isinstance(value, bool):
            cell.sort_value = None if value != value else float(value)
        else:
            match = _NUMBER.match(plain or "")
            cell.sort_value = float(match.group(1)) if match else None
    else:
        cell.sort_value = None if value is None else _natural(cell.plain)
    return cell


class ResourceTable(DataTable[Text]):
    """A row-cursor table of resources, diff-updated from plain snapshots."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        f"resource-table--{hint}" for hint in HINTS
    }

    DEFAULT_CSS = """
    ResourceTable {
        height: 1fr;
    }
    ResourceTable > .resource-table--ok {
        color: $text-success;
    }
    ResourceTable > .resource-table--warn {
        color: $text-warning;
    }
    ResourceTable > .resource-table--error {
        color: $text-error;
        text-style: bold;
    }
    ResourceTable > .resource-table--dim {
        color: $text-muted;
    }
    """

    REMOVE_BUDGET: ClassVar[int] = 1_500_000
    """Rebuild once instead of removing rows one by one when stale × rows exceeds this
    (each `remove_row` is O(rows); a rebuild costs roughly 130 removals at 10k rows)."""

    def __init__(
        self,
        columns: Iterable[ColumnSpec | tuple[str, str] | tuple[str, str, int | None, bool]],
        *,
        zebra_stripes: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(
            cursor_type="row", zebra_stripes=zebra_stripes, name=name, id=id, classes=classes
        )
        self.specs: tuple[ColumnSpec, ...] = tuple(
            spec if isinstance(spec, ColumnSpec) else ColumnSpec(*spec) for spec in columns
        )
        self._index = {spec.key: i for i, spec in enumerate(self.specs)}
        self._raw: dict[str, tuple[tuple[Cell, ...], str | None]] = {}
        self._hint_styles: dict[str, Style] = {}
        self._sort: tuple[str, bool] | None = None
        self._columns_added = False

    def on_mount(self) -> None:
        self._ensure_columns()

    def _ensure_columns(self) -> None:
        if self._columns_added:
            return
        self._columns_added = True
        for spec in self.specs:
            self.add_column(Text(spec.label), key=spec.key, width=spec.width)

    @property
    def current_row_key(self) -> str | None:
        """The key of the row under the cursor, or None when the table is empty."""
        if not self.row_count or not self.columns:
            return None
        row_key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key
        return row_key.value

    @property
    def sort_state(self) -> tuple[str, bool] | None:
        """`(column_key, reverse)` of the current sort, or None."""
        return self._sort

    def move_to_key(self, row_key: str) -> bool:
        """Put the cursor on `row_key`; False when no such row."""
        if row_key not in self._raw:
            return False
        index = self.get_row_index(row_key)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False)
        return True

    def set_rows(self, rows: Iterable[Row]) -> None:
        """Show exactly `rows` (a full snapshot), changing only what differs."""
        self._ensure_columns()
        width = len(self.specs)
        new: dict[str, tuple[tuple[Cell, ...], str | None]] = {}
        for key, cells, hint in rows:
            values = tuple(cells)[:width]
            new[key] = (values + (None,) * (width - len(values)), hint)
        cursor_key = self.current_row_key
        cursor_index = self.cursor_row
        stale = [key for key in self._raw if key not in new]
        sort_index = self._index[self._sort[0]] if self._sort else -1
        resort = False
        with self.app.batch_update():
            if stale and (
                2 * len(stale) > len(self._raw) or len(stale) * len(self._raw) > self.REMOVE_BUDGET
            ):
                self._rebuild(new)
                resort = True
            else:
                for key in stale:
                    self.remove_row(key)
                    del self._raw[key]
                for key, (values, hint) in new.items():
                    old = self._raw.get(key)
                    if old is None:
                        self._add(key, values, hint)
                        resort = True
                    elif old != (values, hint):
                        resort |= self._update(key, old, values, hint, sort_index)
            self._update_count += 1  # invalidates DataTable's row render caches
            self.refresh()
            if self._sort and resort:
                self._apply_sort()
            self._restore_cursor(cursor_key, cursor_index)

    def sort_by(self, column_key: str, reverse: bool = False) -> None:
        """Sort by a column (numbers numerically, text naturally, empty last); kept on updates."""
        if column_key not in self._index:
            raise KeyError(column_key)
        cursor_key = self.current_row_key
        self._sort = (column_key, reverse)
        self._apply_sort()
        self._restore_cursor(cursor_key, self.cursor_row)

    def clear_rows(self) -> None:
        """Remove every row (columns and sort stay)."""
        self._raw.clear()
        self.clear()

    def _rebuild(self, new: dict[str, tuple[tuple[Cell, ...], str | None]]) -> None:
        scroll_y = self.scroll_y
        self.clear()
        self._raw.clear()
        for key, (values, hint) in new.items():
            self._add(key, values, hint)
        self.call_after_refresh(self.scroll_to, y=scroll_y, animate=False, immediate=True)

    def _add(self, key: str, values: tuple[Cell, ...], hint: str | None) -> None:
        self._raw[key] = (values, hint)
        cells = [to_cell(v, spec.numeric) for v, spec in zip(values, self.specs, strict=True)]
        self.add_row(*cells, key=key)

    def _update(
        self,
        key: str,
        old: tuple[tuple[Cell, ...], str | None],
        values: tuple[Cell, ...],
        hint: str | None,
        sort_index: int,
    ) -> bool:
        """Update the changed cells of one row; True when the sort column changed."""
        self._raw[key] = (values, hint)
        old_values, old_hint = old
        touched = False
        resort = False
        for i, (before, after) in enumerate(zip(old_values, values, strict=True)):
            if before == after and type(before) is type(after):
                continue
            spec = self.specs[i]
            cell = to_cell(after, spec.numeric)
            column = self.columns[ColumnKey(spec.key)]
            grow = spec.width is None and cell.cell_len > column.content_width
            # DataTable.update_cell without its per-cell refresh(): set_rows refreshes once.
            self._data[RowKey(key)][column.key] = cell
            if grow:
                self._updated_cells.add(CellKey(RowKey(key), column.key))
                self._require_update_dimensions = True
            touched = True
            resort |= i == sort_index
        if hint != old_hint and not touched:
            # Row style is cached per update; re-set one cell to invalidate it.
            first = self.specs[0].key
            self.update_cell(key, first, self.get_cell(key, first), update_width=False)
        return resort

    def _apply_sort(self) -> None:
        if not self._sort or not self.row_count:
            return
        column_key, reverse = self._sort

        def key(cell: Any) -> tuple[int, Any]:
            value = getattr(cell, "sort_value", None)
            missing = value is None
            # reverse=True flips the flag too, so empty cells stay last either way.
            return (int(not missing) if reverse else int(missing), 0 if missing else value)

        self.sort(column_key, key=key, reverse=reverse)

    def _restore_cursor(self, cursor_key: str | None, cursor_index: int) -> None:
        if not self.row_count:
            return
        if cursor_key is not None and cursor_key in self._raw:
            target = self.get_row_index(cursor_key)
        else:
            target = min(cursor_index, self.row_count - 1)
        if target != self.cursor_row:
            self.move_cursor(row=target, animate=False)

    def notify_style_update(self) -> None:
        self._hint_styles.clear()
        super().notify_style_update()

    def _hint_style(self, hint: str) -> Style:
        style = self._hint_styles.get(hint)
        if style is None:
            name = f"resource-table--{'error' if hint == 'bad' else hint}"
            style = (
                self.get_component_rich_style(name, partial=True)
                if name in self.COMPONENT_CLASSES
                else Style()
            )
            self._hint_styles[hint] = style
        return style

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        style = super()._get_row_style(row_index, base_style)
        if row_index < 0 or row_index >= self.row_count:
            return style
        row_key: RowKey = self._row_locations.get_key(row_index)
        entry = self._raw.get(row_key.value) if row_key is not None else None
        if entry is None or entry[1] is None:
            return style
        return style + self._hint_style(entry[1])
