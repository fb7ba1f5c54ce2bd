"""What a resource screen shows around its table, worked out without the screen: the
table's columns from a view's (`table_columns`), and the title and status lines as
`Part`s that fit the width by importance (`title_parts`, `status_parts`), with their full
text and the view's legend for the `m` screen (`messages_sections`)."""

from __future__ import annotations

from collections.abc import Sequence

from console.render.base import Column, Row, Scope, View, narrow_keys
from console.render.legend import legend
from console.text import clean_line
from widgets.status_line import Part
from widgets.virtual_table import TableColumn

Section = tuple[str, list[tuple[str, str]]]

SQUEEZE_NAMES_AT = 2
"""Long names (columns cut in the middle) are cut down to their column's `min_width` before
columns of this priority (namespace, READY) go."""


def table_columns(
    columns: tuple[Column, ...], widths: dict[str, int] | None, skip: set[str]
) -> list[TableColumn]:
    """The table's columns for a view: measured widths (at least the header and the
    column's minimum), priorities, alignment and cut, and each column's narrow form (see
    `Column.narrow`); `skip` names columns not shown."""
    measured = widths or {}
    index_of = {c.key: i for i, c in enumerate(columns)}

    def table_column(c: Column, index: int, narrow: TableColumn | None = None) -> TableColumn:
        middle = c.cut == "middle"
        return TableColumn(
            c.key,
            c.label,
            max(measured.get(c.key, c.min_width), len(c.label)),
            index,
            c.priority,
            c.align,
            min(c.min_width, len(c.label)) or 1,
            c.cut,
            narrow,
            soft_width=c.min_width if middle else 0,
            soft_priority=SQUEEZE_NAMES_AT if middle else 0,
        )

    out = []
    narrow_forms = narrow_keys(columns)
    for index, c in enumerate(columns):
        if c.key in skip or c.key in narrow_forms:
            continue
        narrow = None
        if c.narrow in index_of:
            narrow = table_column(columns[index_of[c.narrow]], index_of[c.narrow])
        out.append(table_column(c, index, narrow))
    return out


def row_name(row: Row) -> str:
    """The full name of a row's object (`namespace/name` when namespaced), plain text."""
    record = row.record
    name = getattr(record, "name", "") or row.key
    namespace = getattr(record, "namespace", "")
    return clean_line(f"{namespace}/{name}" if namespace else name)


def _headline(message: str) -> str:
    """A state message's first clause: `telemetry unavailable: <reason>` → its state."""
    for mark in (": ", " · "):
        head, found, _ = message.partition(mark)
        if found:
            return head
    return message


def headline(message: str) -> str:
    """A state message's first clause: `telemetry unavailable: <reason>` → its state."""
    for mark in (": ", " · "):
        head, found, _ = message.partition(mark)
        if found:
            return head
    return message


def title_parts(view: View, scope: Scope | None, cpu_nodes: bool, filter_text: str) -> list[Part]:
    """View, scope, CPU nodes and filter; when narrow the scope is cut first (in the middle:
    it ends with a name), the filter last."""
    parts = [Part.of(view.title, gap=0)]
    if scope:
        scope_text = "· " + clean_line(scope.title)
        parts.append(Part.of(scope_text, importance=2, gap=1, cut="middle"))
    if view.name == "nodes" and cpu_nodes:
        parts.append(Part.of("(+ CPU nodes)", "+CPU", importance=1, gap=1, cut="none"))
    if filter_text:
        parts.append(Part.of(f"/{filter_text}", style="italic", cut="middle"))
    return parts


def status_parts(
    view: View,
    shown: int,
    total: int,
    row: Row | None,
    sort: tuple[str, bool],
    literal: bool,
    telemetry: tuple[str, str | None],
) -> list[Part]:
    """Row count (kept), the full name of the cursor's row (cut in the middle last), a
    telemetry problem (an error before a warning; its first clause when short), the filter
    matched literally, then the sort (the table's header marks it too: it goes first)."""
    count = f"{shown}" if shown == total else f"{shown} of {total}"
    parts = [Part.of(f"{count} {view.name}", cut="none")]
    if row is not None:
        parts.append(Part.of(row_name(row), importance=1, cut="middle"))
    key, reverse = sort
    label = next((c.label for c in view.columns if c.key == key), key)
    parts.append(Part.of(f"sort {label} {'↓' if reverse else '↑'}", importance=4, cut="none"))
    if literal:
        long, short = "(filter is not a valid regex: matched literally)", "(literal filter)"
        parts.append(Part.of(long, short, importance=2))
    text, hint = telemetry
    if hint in ("warn", "error"):
        text = clean_line(text)
        style = "bold" if hint == "error" else ""
        forms = (f"· {text}", f"· {headline(text)}")
        parts.append(Part.of(*forms, style=style, importance=1 if style else 2))
    return parts


def messages_sections(view: str, title: str, status: str, header: Sequence[str]) -> list[Section]:
    """The `m` screen: the title, status and header lines in full, then the view's legend."""
    lines = [("title", title), ("status", status)]
    lines += [(f"header {i}", line) for i, line in enumerate(header, 1)]
    sections: list[Section] = [("In full", lines)]
    rows = legend(view)
    if rows:
        sections.append(("Legend", rows))
    return sections
