"""The shapes every resource view shares: items, columns, scopes, the row context, and how
columns are fitted to the terminal's width.

A `View` turns `console.cluster.views` rows into `Item`s (row key, every column's cell,
a health hint, the labels for `-l` filters, the cache record for the detail screen)
and knows where Enter leads. Columns carry a priority: on a narrow terminal the least
important are dropped (`visible_columns`). Plain data only; no widget is touched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text

from console.cluster.session import ClusterSession
from themes import UtilScale

if TYPE_CHECKING:
    from console.metrics.link import TelemetryLink

CellValue = str | int | float | Text | None


@dataclass(frozen=True)
class Item:
    key: str
    cells: tuple[CellValue, ...]
    hint: str | None
    labels: Mapping[str, str]
    record: Any
    sort_values: Mapping[str, float] = field(default_factory=dict)
    """Numbers that columns with `by_value` sort on (e.g. "age": `age_key`, "duration":
    seconds). Keep them steady between refreshes where the order is: a changed value
    rewrites the cell."""


@dataclass(frozen=True)
class Column:
    """A column; `priority` 0 is never dropped, higher numbers go first when narrow."""

    key: str
    label: str
    priority: int
    min_width: int
    numeric: bool = False
    by_value: bool = False
    """Sort on `Item.sort_values[key]` instead of the cell text (AGE: seconds, not "3d")."""
    telemetry: bool = False
    """A GPU telemetry figure: hidden when telemetry is turned off (`--telemetry none`)."""


@dataclass(frozen=True)
class Scope:
    """A drill-down: pods on a node, of a job, of a workload; or one node by name."""

    title: str
    node: str | None = None
    job: tuple[str, str] | None = None  # (namespace, name)
    workload: tuple[str, str, str] | None = None  # (namespace, kind, name)
    name: str | None = None


@dataclass
class RowContext:
    now: float
    namespace: str | None = None  # None: all namespaces
    show_cpu_nodes: bool = False
    scale: UtilScale | None = None
    scope: Scope | None = None
    telemetry: TelemetryLink | None = None
    warn: Style = field(default_factory=lambda: Style(color="yellow"))
    error: Style = field(default_factory=lambda: Style(color="red", bold=True))


@dataclass(frozen=True)
class View:
    name: str
    title: str
    columns: tuple[Column, ...]
    build: Callable[[ClusterSession, RowContext], list[Item]] = field(repr=False)
    drill: Callable[[Any], tuple[str, Scope] | None] = field(repr=False)
    kind_of: Callable[[Any], str] = field(repr=False)
    """The cache name of a record (for YAML and events): "nodes", "pytorchjobs", …"""
    build_cached: Callable[[ClusterSession, RowContext, ItemCache], list[Item]] | None = field(
        default=None, repr=False
    )
    """Like `build`, but reuses the `ItemCache`'s items whose inputs did not change (the
    large views: nodes and pods). Must give the same items as `build`."""


def visible_columns(
    columns: Sequence[Column],
    width: int,
    skip: Sequence[str] = (),
    widths: Mapping[str, int] | None = None,
) -> list[Column]:
    """The columns that fit `width` (by measured `widths`, else `min_width`), dropping the
    highest priority numbers first."""
    chosen = [c for c in columns if c.key not in skip]
    measured = widths or {}

    def need(c: Column) -> int:
        return measured.get(c.key, c.min_width) + 2  # DataTable pads each cell by one

    while len(chosen) > 1:
        if sum(need(c) for c in chosen) + 3 <= width:  # focus bar and scrollbar
            break
        worst = max(chosen, key=lambda c: (c.priority, columns.index(c)))
        if worst.priority == 0:
            break
        chosen.remove(worst)
    return chosen


def measure(columns: Sequence[Column], items: Sequence[Item], cap: int = 48) -> dict[str, int]:
    """The width each column needs for `items` (header included), capped at `cap`."""
    widths = {c.key: len(c.label) for c in columns}
    for item in items:
        for column, cell in zip(columns, item.cells, strict=True):
            size = cell_width(cell)
            if size > widths[column.key]:
                widths[column.key] = min(size, cap)
    return widths


def cell_width(cell: CellValue) -> int:
    """Terminal cells that `cell` takes."""
    return cell.cell_len if isinstance(cell, Text) else len(str(cell or ""))


class ItemCache:
    """Built items by row key, with the inputs each was built from, for incremental refreshes.

    A builder calls `begin(context)`, then per row `get(key, inputs)`; on a miss it builds
    the item and `put`s it; `end()` forgets rows that were not visited. `inputs` is a tuple
    of what the row is made of, compared with `==` (which takes identity first: the cluster
    records and the ledger's usages are immutable and replaced on change, the telemetry
    figures are kept for one sample), so an unchanged row costs one tuple comparison.
    `context` holds what applies to every row (theme scale, styles, scope…): a change
    drops everything. Column widths are kept as items come and go (`widths`), so no pass
    over all rows measures them.
    """

    def __init__(self, columns: Sequence[Column], cap: int = 48) -> None:
        self.columns = tuple(columns)
        self.cap = cap
        self.built = 0
        """Items built since creation (tests and diagnostics)."""
        self._entries: dict[str, tuple[tuple[Any, ...], Item]] = {}
        self._counts: list[Counter[int]] = [Counter() for _ in self.columns]
        self._context: object = None
        self._seen: set[str] = set()

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, context: object) -> None:
        """Start a pass; everything is dropped when `context` differs from the last pass."""
        if context != self._context:
            self._entries.clear()
            self._counts = [Counter() for _ in self.columns]
            self._context = context
        self._seen = set()

    def get(self, key: str, inputs: tuple[Any, ...]) -> Item | None:
        """The cached item of `key` if it was built from equal `inputs`, else None."""
        self._seen.add(key)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == inputs:
            return entry[1]
        return None

    def put(self, key: str, inputs: tuple[Any, ...], item: Item) -> Item:
        """Remember the item just built for `key` from `inputs`."""
        self.built += 1
        self._seen.add(key)
        self._store(key, inputs, item)
        return item

    def with_cell(self, key: str, item: Item, index: int, value: CellValue) -> Item:
        """`item` with cell `index` set to `value` (an AGE that ticked), updated in the cache
        without counting as a build."""
        if item.cells[index] == value:
            return item
        cells = (*item.cells[:index], value, *item.cells[index + 1 :])
        updated = replace(item, cells=cells)
        self._store(key, self._entries[key][0], updated)
        return updated

    def end(self) -> None:
        """Forget the rows this pass did not visit (gone, or filtered out by scope)."""
        if len(self._seen) == len(self._entries):
            return
        for key in [k for k in self._entries if k not in self._seen]:
            self._count(self._entries.pop(key)[1], -1)

    def widths(self) -> dict[str, int]:
        """Like `measure` over the cached items."""
        out = {}
        for column, counts in zip(self.columns, self._counts, strict=True):
            widest = max((w for w, n in counts.items() if n > 0), default=0)
            out[column.key] = max(len(column.label), min(widest, self.cap))
        return out

    def _store(self, key: str, inputs: tuple[Any, ...], item: Item) -> None:
        old = self._entries.get(key)
        if old is not None:
            self._count(old[1], -1)
        self._entries[key] = (inputs, item)
        self._count(item, 1)

    def _count(self, item: Item, step: int) -> None:
        for counts, cell in zip(self._counts, item.cells, strict=True):
            width = min(cell_width(cell), self.cap)
            counts[width] += step
            if not counts[width]:
                del counts[width]


def age_key(age: float, now: float) -> float:
    """Sorts like `age` (seconds) but stays the same from one refresh to the next (minus the
    creation time, to the millisecond): a ticking sort value would rewrite every AGE cell of
    the table on each refresh (120 ms at 10,000 rows instead of 4)."""
    return round(age - now, 3)


AGE = Column("age", "AGE", 3, 5, by_value=True)
NAMESPACE = Column("namespace", "NAMESPACE", 2, 12)
UTIL = Column("util", "UTIL", 1, 4, numeric=True, telemetry=True)
"""Mean utilization of the GPUs a row holds."""
