"""The shapes every view shares: columns, rows, scopes, the row context, the incremental
row cache, and how columns are fitted to a terminal's width.

A `View` turns the cluster layer's records (plus the GPU ledger and telemetry figures)
into `Row`s of plain text: one string per column, a row hint and per-cell hints (see
`Hint`), the labels for `-l` filters, the cache record for drill-down, and the numbers
that some columns sort on. No Rich, no Textual: the TUI maps hints to theme colours at the
edge, and the headless commands print the same rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
import msgspec.structs

if TYPE_CHECKING:
    from console.cluster.session import ClusterSession

Hint = str | None
"""A style hint: "ok", "warn", "bad", "dim", "idle", "none" (the no-data colour), or
"util:<0-100>" (coloured on the theme's utilization scale), or "bar:<0-100>" (the same, with
the bar's empty glyphs "▁" in the no-data colour). None: no style."""

EMPTY: Mapping[Any, Any] = MappingProxyType({})
"""The shared empty mapping (rows without labels or sort values; the default of both)."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column; `priority` 0 is never dropped, higher numbers go first when narrow."""

    key: str
    label: str
    priority: int
    min_width: int
    align: str = "left"
    """"right" for numbers."""
    sort: str = "text"
    """"text": natural order of the cell text; "number": the leading number of the text;
    "value": `Row.sort_values[key]` (AGE: seconds, not "3d")."""
    telemetry: bool = False
    """A GPU telemetry figure: hidden when telemetry is turned off (`--telemetry none`)."""
    tracking: bool = False
    """An MLflow figure: hidden when no tracking URI is set."""
    narrow: str = ""
    """The key of a column with the same facts in fewer cells (a node's distinguishing name,
    a compact status): a width too small for this column shows that one in its place,
    when columns of the narrow one's priority go. A column named so is never shown alone."""
    cut: str = "end"
    """Where text too long for the width is cut: "end", or "middle" for names (their head
    and tail tell them apart)."""


def narrow_keys(columns: Sequence[Column]) -> set[str]:
    """The keys of the columns that are another column's narrow form."""
    return {c.narrow for c in columns if c.narrow}


class Row(msgspec.Struct, frozen=True, gc=False):
    """One row of a view: plain cells (one per view column) and hints.

    Not tracked by the cycle collector (`gc=False`: a row refers to nothing that refers
    back to it): a view holds tens of thousands, rebuilt as the cluster changes, and a
    full collection that walks them stops every thread, the UI's included."""

    key: str
    cells: tuple[str, ...]
    hint: Hint = None
    styles: tuple[Hint, ...] | None = None
    """Per-cell hints, or None when no cell has one."""
    labels: Mapping[str, str] = EMPTY
    record: Any = None
    """The cache record (detail screens, drill-down)."""
    sort_values: Mapping[str, float | None] = EMPTY
    """Numbers that "value" columns sort on. Keep them steady between refreshes where the
    order is (AGE: `age_key`): a changed value means a changed row."""


CELL_MAX = 256
"""The most characters a cell holds: longer cluster text (a 10,000-character image name or
label) is cut with `…` where rows are built; detail views show it in full. Longer than any
Kubernetes name (253), so names are never cut here."""


def capped(cells: tuple[str, ...]) -> tuple[str, ...]:
    """`cells`, each cut to `CELL_MAX` characters (the same tuple when none is longer)."""
    if max(map(len, cells), default=0) <= CELL_MAX:
        return cells
    return tuple(c if len(c) <= CELL_MAX else c[: CELL_MAX - 1] + "…" for c in cells)


def capped_row(row: Row) -> Row:
    """`row` with its cells `capped` (the same object when none is too long)."""
    cells = capped(row.cells)
    return row if cells is row.cells else msgspec.structs.replace(row, cells=cells)


def styles_of(styles: Sequence[Hint]) -> tuple[Hint, ...] | None:
    """`styles` as a tuple, or None when no cell has a hint."""
    return tuple(styles) if any(s is not None for s in styles) else None


@dataclass(frozen=True)
class Scope:
    """A drill-down: pods on a node, of a job, of a workload; or one node by name."""

    title: str
    node: str | None = None
    job: tuple[str, str] | None = None  # (namespace, name)
    workload: tuple[str, str, str] | None = None  # (namespace, kind, name)
    name: str | None = None


class Telemetry(Protocol):
    """What the builders read of telemetry (`console.metrics.link.TelemetryLink` is one)."""

    def nodes(self) -> Mapping[str, Any]: ...  # node → NodeTelemetry

    def workloads(self) -> Mapping[Any, Any]: ...  # (kind, ns, name) → WorkloadTelemetry


@dataclass(frozen=True)
class RowContext:
    """What applies to every row of one build."""

    now: float
    namespace: str | None = None  # None: all namespaces
    show_cpu_nodes: bool = False
    scope: Scope | None = None
    telemetry: Telemetry | None = None
    tracking: Any = None
    """The MLflow link (`console.tracking.link.TrackingLink`), or None."""
    triage: Any = None
    """Where the triage view reads findings: a `console.triage.model.Report`, or an object
    whose `report()` returns the latest one (None: none yet), or None."""


@dataclass(frozen=True)
class View:
    name: str
    title: str
    columns: tuple[Column, ...]
    build: Callable[[ClusterSession, RowContext, RowCache], list[Row]] = field(repr=False)
    """The rows; reuses the `RowCache`'s rows whose inputs did not change (a fresh cache
    gives a full build)."""
    drill: Callable[[Any], tuple[str, Scope] | None] = field(repr=False)
    """Where Enter on a record leads: (view name, scope), or None."""
    kind_of: Callable[[Any], str] = field(repr=False)
    """The cache name of a record (for YAML and events): "nodes", "pytorchjobs", …"""


def visible_columns(
    columns: Sequence[Column],
    width: int,
    skip: Sequence[str] = (),
    widths: Mapping[str, int] | None = None,
) -> list[Column]:
    """The columns that fit `width` (by measured `widths`, else `min_width`): narrow forms
    take their column's place and columns go, highest priority number first (at a tie the
    narrow form first, then the rightmost column)."""
    by_key = {c.key: c for c in columns}
    hidden = narrow_keys(columns) | set(skip)
    chosen = [(c, c) for c in columns if c.key not in hidden]  # (shown, its column)
    measured = widths or {}

    def need(c: Column) -> int:
        return measured.get(c.key, c.min_width) + 2  # one cell of padding each side

    while len(chosen) > 1 and sum(need(c) for c, _ in chosen) + 3 > width:  # focus, scrollbar
        moves = [(full.priority, 0, i) for i, (_, full) in enumerate(chosen) if full.priority]
        moves += [
            (by_key[shown.narrow].priority, 1, i)
            for i, (shown, _) in enumerate(chosen)
            if shown.narrow in by_key and need(by_key[shown.narrow]) < need(shown)
        ]
        if not moves:
            break
        _priority, switch, index = max(moves)
        if switch:
            shown, full = chosen[index]
            chosen[index] = (by_key[shown.narrow], full)
        else:
            del chosen[index]
    return [shown for shown, _ in chosen]


def measure(columns: Sequence[Column], rows: Sequence[Row], cap: int = 48) -> dict[str, int]:
    """The width each column needs for `rows` (header included), capped at `cap`."""
    widths = {c.key: len(c.label) for c in columns}
    for row in rows:
        for column, cell in zip(columns, row.cells, strict=True):
            size = len(cell)
            if size > widths[column.key]:
                widths[column.key] = min(size, cap)
    return widths


class RowCache:
    """Built rows by key, with the inputs each was built from, for incremental builds.

    A builder calls `begin(context)`, then per row `get(key, inputs)`; on a miss it builds
    the row and `put`s it; `end()` forgets rows that were not visited. `inputs` is a tuple
    of what the row is made of, compared with `==` (which takes identity first: the cluster
    records and the ledger's usages are immutable and replaced on change, the telemetry
    figures are kept for one sample), so an unchanged row costs one tuple comparison.
    `context` holds what applies to every row (scope, CPU nodes shown…): a change drops
    everything. Column widths are kept as rows come and go (`widths`), so no pass over
    all rows measures them.
    """

    def __init__(self, columns: Sequence[Column], cap: int = 48) -> None:
        self.columns = tuple(columns)
        self.cap = cap
        self.built = 0
        """Rows built since creation (tests and diagnostics)."""
        self._entries: dict[str, tuple[tuple[Any, ...], Row]] = {}
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

    def get(self, key: str, inputs: tuple[Any, ...]) -> Row | None:
        """The cached row of `key` if it was built from equal `inputs`, else None."""
        self._seen.add(key)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == inputs:
            return entry[1]
        return None

    def put(self, key: str, inputs: tuple[Any, ...], row: Row) -> Row:
        """Remember the row just built for `key` from `inputs` (its cells `capped`)."""
        self.built += 1
        self._seen.add(key)
        row = capped_row(row)
        self._store(key, inputs, row)
        return row

    def with_cell(
        self,
        key: str,
        row: Row,
        index: int,
        value: str,
        sort_values: Mapping[str, float | None] | None = None,
    ) -> Row:
        """`row` with cell `index` set to `value` (an AGE that ticked), and its sort values
        replaced by `sort_values` when given, updated in the cache without counting as a
        build. The same object when nothing changed."""
        same_sorts = sort_values is None or sort_values == row.sort_values
        if row.cells[index] == value and same_sorts:
            return row
        if len(value) > CELL_MAX:
            value = capped((value,))[0]
        cells = (*row.cells[:index], value, *row.cells[index + 1 :])
        updated = msgspec.structs.replace(row, cells=cells)
        if not same_sorts:
            updated = msgspec.structs.replace(updated, sort_values=sort_values)
        self._store(key, self._entries[key][0], updated)
        return updated

    def end(self) -> None:
        """Forget the rows this pass did not visit (gone, or filtered out by scope)."""
        if len(self._seen) == len(self._entries):
            return
        for key in [k for k in self._entries if k not in self._seen]:
            self._count(self._entries.pop(key)[1], -1)

    def widths(self) -> dict[str, int]:
        """Like `measure` over the cached rows."""
        out = {}
        for column, counts in zip(self.columns, self._counts, strict=True):
            widest = max((w for w, n in counts.items() if n > 0), default=0)
            out[column.key] = max(len(column.label), min(widest, self.cap))
        return out

    def _store(self, key: str, inputs: tuple[Any, ...], row: Row) -> None:
        old = self._entries.get(key)
        if old is not None:
            self._count(old[1], -1)
        self._entries[key] = (inputs, row)
        self._count(row, 1)

    def _count(self, row: Row, step: int) -> None:
        cap = self.cap
        for counts, cell in zip(self._counts, row.cells, strict=True):
            width = min(len(cell), cap)
            counts[width] += step
            if not counts[width]:
                del counts[width]


def age_key(age: float, now: float) -> float:
    """Sorts like `age` (seconds) but stays the same from one refresh to the next (minus the
    creation time, to the millisecond): a ticking sort value would change every row."""
    return round(age - now, 3)


AGE = Column("age", "AGE", 3, 5, sort="value")
NAMESPACE = Column("namespace", "NAMESPACE", 2, 12)
UTIL = Column("util", "UTIL", 1, 4, align="right", sort="number", telemetry=True)
"""Mean utilization of the GPUs a row holds."""
