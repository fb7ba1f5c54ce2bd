"""Sorting and filtering one built snapshot of a view's rows, as the user asks for them.

An `Arrangement` belongs to one snapshot (rows built from the caches at one moment) and
keeps what the next request can reuse: the last filter's result, so a filter that extends
the previous literal text narrows that result instead of scanning every row again, and
the rows sorted without a filter. With a filter, the rows are filtered first and only the
matches are sorted. Each row's filter text (its cells joined by newlines) is kept in a
`RowTexts` shared by the snapshots of a view: rows are immutable and reused from one
build to the next, so a new snapshot pays only for the rows that changed. No threads here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from console.render.base import Column, Row
from console.render.filter import RowFilter, parse_filter
from console.render.sort import sort_rows

_REGEX_META = re.compile(r"[\\.^$*+?{}\[\]|()]")


class RowTexts:
    """Row key → (row, its filter text); a row replaced by a new object gets a new text."""

    def __init__(self) -> None:
        self._texts: dict[str, tuple[Row, str]] = {}

    def of(self, rows: Sequence[Row]) -> list[str]:
        texts = self._texts
        out = []
        for row in rows:
            entry = texts.get(row.key)
            if entry is None or entry[0] is not row:
                entry = texts[row.key] = (row, "\n".join(row.cells))
            out.append(entry[1])
        if len(texts) > 2 * len(rows) + 1000:  # rows that went away
            keep = {row.key for row in rows}
            self._texts = {k: v for k, v in texts.items() if k in keep}
        return out


class Arrangement:
    """The answers to sort and filter requests over one snapshot's rows."""

    def __init__(self, rows: Sequence[Row], columns: Sequence[Column], texts: RowTexts) -> None:
        self.rows = rows
        self.columns = columns
        self._texts = texts
        self._sorted: tuple[tuple[str, bool], list[Row]] | None = None
        self._last: tuple[tuple[str, bool], str, list[Row], list[str] | None] | None = None

    def arrange(self, sort: tuple[str, bool], text: str) -> tuple[list[Row], bool]:
        """The rows that pass filter `text`, sorted by `sort`; and whether the filter was
        an invalid regex matched literally."""
        row_filter = parse_filter(text)
        literal = False
        texts: list[str] | None = None
        if not row_filter.active:
            rows = self._all_sorted(sort)
        elif row_filter.selector:
            rows = self._sort([r for r in self.rows if row_filter.matches((), r.labels)], sort)
        else:
            literal = row_filter.literal
            last = self._last
            if last is not None and last[0] == sort and _narrows(last[1], text, row_filter):
                rows, texts = _search(row_filter, last[2], last[3] or self._texts.of(last[2]))
            else:
                matches, _ = _search(row_filter, self.rows, self._texts.of(self.rows))
                rows = self._sort(matches, sort)  # only the matches are sorted
        self._last = (sort, text, rows, texts)
        return rows, literal

    def _all_sorted(self, sort: tuple[str, bool]) -> list[Row]:
        if self._sorted is None or self._sorted[0] != sort:
            self._sorted = (sort, self._sort(self.rows, sort))
        return self._sorted[1]

    def _sort(self, rows: Sequence[Row], sort: tuple[str, bool]) -> list[Row]:
        key, reverse = sort
        index = next((i for i, c in enumerate(self.columns) if c.key == key), None)
        if index is None:
            return list(rows)
        return sort_rows(rows, self.columns[index], index, reverse)


def _narrows(before: str, text: str, row_filter: RowFilter) -> bool:
    """Whether the matches of `text` are a subset of those of `before` (a literal extended)."""
    return (
        bool(before)
        and text.startswith(before)
        and not row_filter.invert
        and not before.startswith("!")
        and not _REGEX_META.search(text)
    )


def _search(
    row_filter: RowFilter, rows: Sequence[Row], texts: Sequence[str]
) -> tuple[list[Row], list[str]]:
    """The rows (and their texts) that pass a regex filter, in their order."""
    assert row_filter.pattern is not None
    # `^`/`$` anchor per cell and `.` never crosses into the next cell.
    pattern = re.compile(row_filter.pattern.pattern, row_filter.pattern.flags | re.MULTILINE)
    search, invert = pattern.search, row_filter.invert
    pairs = [(r, t) for r, t in zip(rows, texts, strict=True) if bool(search(t)) != invert]
    return [r for r, _ in pairs], [t for _, t in pairs]
