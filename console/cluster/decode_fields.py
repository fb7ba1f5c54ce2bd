"""Cleaning, interning and sharing the fields that the `decode_*` modules put into records.

Every cluster string passes through `console.text.clean` / `clean_line` (with the common,
already printable case inlined). Memory: at 200,000 pods the records are most of the
console's memory, and most of their strings repeat (namespaces, node names, phases,
images, label keys and values, owners), so pod records intern their strings and share
equal container tuples, label maps and GPU request maps (`share`), which halves what a
pod costs. RFC 3339 stamps repeat too: `parse_time` is memoized.
"""

from __future__ import annotations

import sys
from collections.abc import Hashable
from datetime import datetime
from typing import Any, TypeVar

from console.cluster import wire
from console.cluster.records import Cond
from console.text import clean, clean_line

_T = TypeVar("_T")
_SHARED: dict[Any, Any] = {}
_SHARED_MAX = 200_000
_TIMES: dict[str, float] = {}
_intern = sys.intern


def share(key: Hashable, value: _T) -> _T:
    """The value first stored under `key` (equal values share one object); bounded."""
    found = _SHARED.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    if len(_SHARED) >= _SHARED_MAX:
        _SHARED.clear()
    _SHARED[key] = value
    return value


def parse_time(value: str | None) -> float:
    """RFC 3339 → epoch seconds; 0.0 when absent or malformed (memoized: stamps repeat)."""
    if not value:
        return 0.0
    found = _TIMES.get(value)
    if found is not None:
        return found
    try:
        stamp = datetime.fromisoformat(value).timestamp()
    except ValueError:
        stamp = 0.0
    if len(_TIMES) >= 65_536:
        _TIMES.clear()
    _TIMES[value] = stamp
    return stamp


MAX_COUNT = 2**31 - 1
"""The most replicas, nodes or pods a count can say: the API's int32 (a tenant's 10**400 in
a custom resource would overflow the float sums of GPUs it meets)."""


def count(value: int | None, default: int | None = 0) -> int | None:
    """A replica / node / pod count within 0..MAX_COUNT; `default` when not given."""
    if value is None:
        return default
    return min(max(value, 0), MAX_COUNT)


def line(value: str) -> str:
    """`clean_line` with the common case (already printable) inlined: this runs ~25× per pod."""
    return value if value.isprintable() else clean_line(value)


def iline(value: str) -> str:
    """`line`, interned: for strings many records repeat (namespaces, nodes, phases, …)."""
    return _intern(value if value.isprintable() else clean_line(value))


def clean_labels(labels: dict[str, str]) -> dict[str, str]:
    # The wire struct is dropped after mapping, so a clean dict is kept as is.
    if all(k.isprintable() and v.isprintable() for k, v in labels.items()):
        return labels
    return {clean_line(k): clean_line(v) for k, v in labels.items()}


def shared_labels(labels: dict[str, str]) -> dict[str, str]:
    """Clean labels with interned keys and values, one dict per distinct label set."""
    clean = {iline(k): iline(v) for k, v in labels.items()}
    return share(("labels", *clean.items()), clean)


def conds(conditions: list[wire.Condition]) -> tuple[Cond, ...]:
    return tuple(
        Cond(
            line(c.type),
            line(c.status),
            line(c.reason),
            clean(c.message),
            parse_time(c.last_transition_time or c.last_update_time),
        )
        for c in conditions
    )
