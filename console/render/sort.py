"""Sorting rows by a column: natural text order, leading numbers, or the rows' sort values.

`natural_key` puts `node-2` before `node-10` and never raises: it is a plain string, the
text case-folded, each run of ASCII digits zero-padded to `_PAD` places (a longer run, its
leading zeros stripped, gets `:` and a length header instead, which sorts after every
padded run), so digit runs compare by (length without leading zeros, digits) — no
`int()`, however long the run. Empty cells and missing values sort last in both
directions. At 80,000 rows the keys of a column are computed in one pass (one regex split
of the joined texts) and memoized, since the same cell strings come back refresh after
refresh."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import compress, repeat
from operator import attrgetter, is_, is_not, itemgetter
from typing import Any

from console.render.base import Column, Row

_RUN = re.compile(r"([0-9][0-9]*)")
_NUMBER = re.compile(r"\s*([-+]?[0-9]+(?:\.[0-9]+)?)")
_SEP = "\x00"
_PAD = 12
"""Digit runs up to this long are zero-padded to it."""
_MEMO_SLACK = 10_000

_MISS: Any = object()

_memos: dict[Column, dict[Any, Any]] = {}
"""Per column sorted on: cell text → key. Kept to about twice the texts of the last sort
of that column (rows that went away are forgotten at the next clear)."""


def _long_run(digits: str) -> str:
    """A run longer than `_PAD`: zero-padded when it is not after stripping its leading
    zeros, else `:` (after every digit), a length header and the digits."""
    stripped = digits.lstrip("0")
    if len(stripped) <= _PAD:
        return stripped.zfill(_PAD)
    length = str(len(stripped))
    return f":{len(length)}{length}{stripped}"


def _encode(parts: list[str]) -> str:
    """Join a `_RUN.split` result with its digit runs encoded (C-level passes but for runs
    longer than `_PAD`)."""
    if len(parts) > 1:
        runs = parts[1::2]
        padded = list(map(str.zfill, runs, repeat(_PAD)))
        if max(map(len, runs)) > _PAD:
            padded = [
                p if len(r) <= _PAD else _long_run(r) for r, p in zip(runs, padded, strict=True)
            ]
        parts[1::2] = padded
    return "".join(parts)


def natural_key(text: Any) -> str:
    """A sort key for `text` in natural order (`a2` < `a10`, case-insensitive); any input."""
    if not isinstance(text, str):
        text = "" if text is None else _str(text)
    return _encode(_RUN.split(text.casefold()))


def number_key(text: Any) -> float | None:
    """The leading number of `text` (` 73%` → 73.0, `3/8 ▇▇` → 3.0), None when none."""
    if not isinstance(text, str):
        if isinstance(text, int | float) and not isinstance(text, bool):
            value = float(text)
            return None if value != value else value
        return None
    found = _NUMBER.match(text)
    return float(found.group(1)) if found else None


def _str(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return ""


def sort_key(row: Row, column: Column, index: int) -> Any:
    """The key `row` sorts by on `column` (cell `index` of the row); None for an empty
    cell or a missing value (sorted last)."""
    if column.sort == "value":
        return _value(row.sort_values.get(column.key))
    cell = row.cells[index]
    if column.sort == "number":
        return number_key(cell)
    return natural_key(cell) if cell else None


def _column_texts(rows: Sequence[Row], index: int) -> list[str]:
    return list(map(itemgetter(index), map(attrgetter("cells"), rows)))


def _keys(texts: list[str], column: Column, compute: Any) -> list[Any]:
    """Per text its key from the column's memo, the misses computed by `compute(misses)` (a
    list of keys, in order) and remembered."""
    memo = _memos.setdefault(column, {})
    if len(memo) > 2 * len(texts) + _MEMO_SLACK:
        memo.clear()
    keys = list(map(memo.get, texts, repeat(_MISS)))
    if _MISS not in keys:
        return keys
    misses = list(dict.fromkeys(compress(texts, map(is_, keys, repeat(_MISS)))))
    computed = dict(zip(misses, compute(misses), strict=True))
    memo.update(computed)
    return list(map(computed.get, texts, keys))  # a hit keeps its key (the default)


def _natural_keys(texts: list[Any]) -> list[str | None]:
    """`natural_key` of each text (None for ''), the whole list in one regex pass."""
    if all(type(t) is str for t in texts):
        joined = _SEP.join(texts)
        if joined.count(_SEP) == len(texts) - 1:  # no text holds the separator
            keys = _encode(_RUN.split(joined.casefold())).split(_SEP)
            if len(keys) == len(texts):
                return [k or None for k in keys]
    return [natural_key(t) if t else None for t in texts]


def _number_keys(texts: list[Any]) -> list[float | None]:
    return [number_key(t) for t in texts]


def sort_rows(rows: Sequence[Row], column: Column, index: int, reverse: bool = False) -> list[Row]:
    """`rows` sorted on `column` (cell `index` of each row), stable; empty cells and
    missing values last whether `reverse` or not."""
    keys: list[Any]
    if column.sort == "value":
        name = column.key
        values = [row.sort_values.get(name) for row in rows]
        keys = [None if v != v else v for v in values]  # NaN: missing
    else:
        try:
            texts = _column_texts(rows, index)
            if column.sort == "number":
                keys = _keys(texts, column, _number_keys)
            else:
                keys = _keys(texts, column, _natural_keys)
        except Exception:  # odd cells (not strings, unhashable, missing): one row at a time
            keys = [_safe_key(row, column, index) for row in rows]
    everything = range(len(keys))
    present = list(compress(everything, map(is_not, keys, repeat(None))))
    missing = (
        []
        if len(present) == len(keys)
        else list(compress(everything, map(is_, keys, repeat(None))))
    )
    try:
        present.sort(key=keys.__getitem__, reverse=reverse)
    except TypeError:  # sort values of mixed types: order them as text
        present.sort(key=lambda i: natural_key(keys[i]), reverse=reverse)
    pick = rows.__getitem__
    return [*map(pick, present), *map(pick, missing)]


def _value(value: Any) -> Any:
    """A sort value, None when missing or NaN."""
    return None if value is None or value != value else value


def _safe_key(row: Row, column: Column, index: int) -> Any:
    try:
        return sort_key(row, column, index)
    except Exception:
        return None


def row_texts(row: Row, indexes: Sequence[int]) -> list[str]:
    """The cells at `indexes` (the visible columns): what the `/` filter searches."""
    cells = row.cells
    return [cells[i] for i in indexes]
