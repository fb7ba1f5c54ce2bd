"""Rows as plain data for the headless commands (`kmc nodes -o json`)."""

from __future__ import annotations

from collections.abc import Sequence

from console.render.base import Row, View


def rows_as_dicts(view: View, rows: Sequence[Row]) -> list[dict[str, str]]:
    """One dict per row: `"key"`, then column key → cell text (alignment padding stripped)."""
    keys = [c.key for c in view.columns]
    out = []
    for row in rows:
        item = {"key": row.key}
        item.update(zip(keys, (cell.strip() for cell in row.cells), strict=True))
        out.append(item)
    return out
