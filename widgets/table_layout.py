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
