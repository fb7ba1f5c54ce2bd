"""Rows as plain data for the headless commands (`kmc nodes -o json`)."""

from __future__ import annotations

from collections.abc import Sequence

from console.render.base import Row, View, narrow_keys


def rows_as_dicts(view: View, rows: Sequence[Row]) -> list[dict[str, str]]:
    """One dict per row: `"key"`, then column key → cell text (alignment padding stripped);
    narrow forms (short names, compact status) are left out: the full ones are there."""
    narrow = narrow_keys(view.columns)
    keys = [(i, c.key) for i, c in enumerate(view.columns) if c.key not in narrow]
    out = []
    for row in rows:
        item = {"key": row.key}
        cells = row.cells
        item.update((key, cells[i].strip()) for i, key in keys)
        out.append(item)
    return out
