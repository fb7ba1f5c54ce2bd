"""Sorting and filtering one built snapshot of a view's rows, as the user asks for them.

An `Arrangement` belongs to one snapshot (rows built from the caches at one moment) and
keeps what later requests can reuse: the rows sorted by the last sort, each row's text
(cells joined by newlines, made on the first regex filter), and the last filter's result,
so a filter that extends the previous literal text narrows that result instead of scanning
every row again. Plain data; no threads here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from console.render.base import Column, Row
from console.render.filter import RowFilter, parse_filter
from console.render.sort import sort_rows

_REGEX_META = re.compile(r"[\\.^$*+?{}\[\]|()]")


@dataclass
class Arrangement:
    rows: Sequence[Row]
    """As built (any order)."""
    columns: Sequence[Column]
    sort: tuple[str, bool] | None = None
    sorted_rows: list[Row] = field(default_factory=list)
    texts: list[str] | None = None
    filter_text: str = ""
    filtered: list[Row] = field(default_factory=list)
    filtered_texts: list[str] | None = None

    def arrange(self, sort: tuple[str, bool], text: str) -> tuple[list[Row], bool]:
        """The rows sorted by `sort` that pass filter `text`; and whether the filter was an
        invalid regex matched literally."""
        if sort != self.sort:
            self.sort = sort
            self.sorted_rows = self._sorted(sort)
            self.texts, self.filter_text, self.filtered_texts = None, "", None
        return self._filter(text)

    def _sorted(self, sort: tuple[str, bool]) -> list[Row]:
        key, reverse = sort
        index = next((i for i, c in enumerate(self.columns) if c.key == key), None)
        if index is None:
            return list(self.rows)
        return sort_rows(self.rows, self.columns[index], index, reverse)

    def _filter(self, text: str) -> tuple[list[Row], bool]:
        row_filter = parse_filter(text)
        rows = self.sorted_rows
        if not row_filter.active:
            self.filter_text, self.filtered, self.filtered_texts = "", rows, self.texts
            return rows, False
        if row_filter.selector:
            kept = [r for r in rows if row_filter.matches((), r.labels)]
            self.filter_text, self.filtered, self.filtered_texts = text, kept, None
            return kept, False
        narrows = (
            self.filter_text
            and self.filtered_texts is not None
            and text.startswith(self.filter_text)
            and not row_filter.invert
            and not self.filter_text.startswith("!")
            and not _REGEX_META.search(text)
        )
        if narrows:
            texts = self.filtered_texts
            rows = self.filtered
        else:
            if self.texts is None:
                self.texts = ["\n".join(r.cells) for r in rows]
            texts = self.texts
        assert texts is not None
        search = _multiline(row_filter).search
        invert = row_filter.invert
        pairs = [(r, t) for r, t in zip(rows, texts, strict=True) if bool(search(t)) != invert]
        kept = [r for r, _ in pairs]
        self.filter_text, self.filtered, self.filtered_texts = text, kept, [t for _, t in pairs]
        return kept, row_filter.literal


def _multiline(row_filter: RowFilter) -> re.Pattern[str]:
    """The filter's pattern over one row's cells joined by newlines: `^`/`$` anchor per cell
    and `.` never crosses into the next cell."""
    assert row_filter.pattern is not None
    return re.compile(row_filter.pattern.pattern, row_filter.pattern.flags | re.MULTILINE)
