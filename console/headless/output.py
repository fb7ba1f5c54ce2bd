"""Printing rows for the headless commands: `table` (the view's default columns), `wide`
(all of them), aligned like kubectl (three spaces between columns, numbers right-aligned,
no cut beyond the render layer's cell cap), and `json`.

Colour only on a terminal, never with NO_COLOR set or the `no_color` setting: the row's
style hints (`console.render.base.Hint`) as plain ANSI SGR codes. No Rich, no Textual.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import IO, Any

from console.render.base import Column, Hint, Row, View, narrow_keys
from console.render.sort import sort_rows
from console.text import clean_line

TABLE_PRIORITY = 4
"""`-o table` shows the columns of this priority or lower (0 is never dropped in the TUI),
plus AGE; `-o wide` shows every column."""
GAP = "   "

_SGR = {"ok": "32", "warn": "33", "bad": "31", "error": "31", "dim": "2", "none": "2"}
_SGR.update({"idle": "2", "muted": "2", "critical": "1;31", "warning": "33", "info": "36"})
_SGR["header"] = "1"


def use_color(stream: IO[str], no_color: bool = False) -> bool:
    """Colour only on a terminal, never with NO_COLOR (no-color.org) or `no_color`."""
    if no_color or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, hint: Hint, color: bool) -> str:
    code = _SGR.get(hint or "") if color else None
    return f"\x1b[{code}m{text}\x1b[0m" if code else text


def columns_for(
    view: View, wide: bool, telemetry: bool = True, tracking: bool = False
) -> list[Column]:
    """The columns of `-o table` (`wide` False) or `-o wide`, without the narrow forms and
    without telemetry / MLflow columns when those are off (as the TUI hides them)."""
    narrow = narrow_keys(view.columns)
    out = []
    for column in view.columns:
        if column.key in narrow or (column.telemetry and not telemetry):
            continue
        if column.tracking and not tracking:
            continue
        if wide or column.priority <= TABLE_PRIORITY or column.key == "age":
            out.append(column)
    return out


def sorted_rows(view: View, rows: Sequence[Row]) -> list[Row]:
    """By name, then namespace (kubectl's order), for the views that have those columns."""
    keys = [c.key for c in view.columns]
    out = list(rows)
    for key in ("name", "namespace"):
        if key in keys:
            index = keys.index(key)
            out = sort_rows(out, view.columns[index], index)
    return out


def table_lines(
    view: View, columns: Sequence[Column], rows: Sequence[Row], color: bool = False
) -> list[str]:
    """The header and one line per row, aligned; cell hints coloured when `color`."""
    indexes = [[c.key for c in view.columns].index(c.key) for c in columns]
    texts = [[clean_line(row.cells[i]).strip() for i in indexes] for row in rows]
    widths = [len(c.label) for c in columns]
    for cells in texts:
        for i, cell in enumerate(cells):
            widths[i] = max(widths[i], len(cell))
    last = len(columns) - 1

    def line(cells: Sequence[str], hints: Sequence[Hint]) -> str:
        parts = []
        for i, (cell, column) in enumerate(zip(cells, columns, strict=True)):
            pad = widths[i] - len(cell)
            if column.align == "right":
                text = " " * pad + paint(cell, hints[i], color)
            else:
                text = paint(cell, hints[i], color) + ("" if i == last else " " * pad)
            parts.append(text)
        return GAP.join(parts).rstrip()

    out = [line([c.label for c in columns], ["header"] * len(columns))]
    for row, cells in zip(rows, texts, strict=True):
        styles = row.styles or ()
        hints: list[Hint] = [styles[i] if i < len(styles) else None for i in indexes]
        if row.hint and hints and hints[0] is None:
            hints[0] = row.hint  # the row's state colours its name
        out.append(line(cells, hints))
    return out


def rows_json(
    view: View,
    rows: Sequence[Row],
    context: str,
    namespace: str | None,
    notes: Iterable[str] = (),
) -> dict[str, Any]:
    """`kmc <view> -o json`: the rows as `export.rows_as_dicts` gives them, with where they
    come from."""
    from console.render.export import rows_as_dicts

    return {
        "view": view.name,
        "context": context,
        "namespace": namespace,
        "items": rows_as_dicts(view, rows),
        "notes": list(notes),
    }


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
