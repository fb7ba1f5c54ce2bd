"""Columns of `VirtualTable`, pure (no widget, no styles): what a row must have
(`TableRow`), a column (`TableColumn`), and which columns are shown in a given width and
at what width (`fit_columns`: drop by priority, then shrink the widest left-aligned one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol


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
    """A column: shows `row.cells[index]` in `width` cells (longer text is cut with "…", at
    the end or — `cut="middle"`, for names — in the middle).

    `priority` 0 is never dropped; when the columns do not fit, the highest priority
    number goes first (ties: the rightmost). A column with a `narrow` form (the same facts
    in fewer cells: a short name, a compact status) switches to it when columns of the
    narrow form's `priority` go, before they do. A column with a `soft_width` (a long name)
    gives up its width above it when columns of its `soft_priority` go, before they do.
    Columns dropped on the way come back if the room allows in the end. If even the rest do
    not fit, the widest left-aligned column shrinks, never below `min_width`.
    """

    key: str
    label: str
    width: int
    index: int
    priority: int = 0
    align: str = "left"
    min_width: int = 0
    cut: str = "end"
    narrow: TableColumn | None = None
    """Shown in this column's place (with this column's key, label and drop priority) when
    the width is short; its `priority` says when. Its own `narrow` is ignored."""
    soft_width: int = 0
    soft_priority: int = 0


def fit_columns(columns: Sequence[TableColumn], width: int) -> list[TableColumn]:
    """The columns shown in `width` cells (each takes its width + 1 space), by the rules
    of `TableColumn`; a narrow form comes back in its column's place, a shrunk column with
    its reduced `width`."""
    full = [c if c.width >= 0 else replace(c, width=0) for c in columns]
    shown: dict[int, TableColumn] = dict(enumerate(full))  # position → column shown

    def excess() -> int:
        return sum(c.width + 1 for c in shown.values()) - width

    dropped: list[int] = []
    switched: list[int] = []
    while excess() > 0:
        # (priority, kind, order among equals, position): squeeze the longest name first,
        # switch to a narrow form next, drop the rightmost column last
        moves = [(full[i].priority, 0, i, i) for i in shown if full[i].priority > 0]
        moves += [
            (c.narrow.priority, 1, i, i)
            for i, c in shown.items()
            if c.narrow is not None and c.narrow.width < c.width
        ]
        moves += [
            (c.soft_priority, 2, c.width - c.soft_width, i)
            for i, c in shown.items()
            if c.width > c.soft_width > 0
        ]
        if not moves:
            break
        _priority, kind, _order, i = max(moves)
        if kind == 2:
            column = shown[i]
            shown[i] = replace(column, width=max(column.soft_width, column.width - excess()))
        elif kind == 1:
            narrow = shown[i].narrow
            assert narrow is not None
            shown[i] = replace(
                narrow, key=full[i].key, label=full[i].label, priority=full[i].priority
            )
            switched.append(i)
        else:
            del shown[i]
            dropped.append(i)
    for i in sorted(dropped, key=lambda i: (full[i].priority, i)):  # room left: back they come
        if excess() + full[i].width + 1 <= 0:
            shown[i] = full[i]
    for i in switched:
        if i in shown and excess() + full[i].width - shown[i].width <= 0:
            shown[i] = full[i]
    for i, column in shown.items():  # squeezed names take back what room is left
        if column.index == full[i].index and column.width < full[i].width and excess() < 0:
            shown[i] = replace(column, width=min(full[i].width, column.width - excess()))
    fitted = [shown[i] for i in sorted(shown)]
    return _shrink(fitted, sum(c.width + 1 for c in fitted) - width)


def _shrink(shown: list[TableColumn], over: int) -> list[TableColumn]:
    """Shrink the widest left-aligned columns by `over` cells in all, none below its
    `min_width`."""
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
