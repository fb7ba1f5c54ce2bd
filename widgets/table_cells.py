"""Cells of `VirtualTable`, pure (no widget state): fitting text to a column width,
resolving style hints to styles, and the header's and a row's cells as segments.

A cell is `(text fitted to its width, style, style of its "▁" glyphs or None)`. A hint
names one of the table's component classes (`HINTS`; "error" is "bad") or a point of the
theme's utilization scale ("util:<0-100>", "bar:<0-100>", "none"). Cell strings are
shown literally: never parsed as markup, control characters replaced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

from themes import UtilScale
from widgets.table_layout import TableColumn, TableRow

HINTS = ("ok", "warn", "bad", "dim", "idle")
"""Style hints drawn from component classes; also "util:<0-100>", "bar:<0-100>" (its "▁"
glyphs in the no-data colour) and "none", from the theme's utilization scale."""

_ALIASES = {"error": "bad"}  # the hint name ResourceTable and themes.health_color accept
_EMPTY_BAR = "▁"
_BAR_RUNS = re.compile(f"({_EMPTY_BAR}+)")
_CONTROL = {c: "\ufffd" for c in (*range(0x20), *range(0x7F, 0xA0))}

Resolved = tuple[Style, Style | None]  # (colour of the text, colour of "▁" or None)
Cell = tuple[str, Style, Style | None]  # (text fitted to its width, style, style of "▁")


def fit_cell(text: str, width: int, right: bool, middle: bool = False) -> str:
    """`text` in exactly `width` terminal cells: padded, or cut with "…" — at the end, or
    (`middle`) in the middle, keeping the head and the longer tail (names)."""
    if not text.isprintable():
        text = text.translate(_CONTROL)
    length = len(text) if text.isascii() else cell_len(text)
    if length > width:
        if width <= 0:
            return ""
        if middle and width >= 5:
            text, length = _cut_middle(text, width), width
        else:
            cut = set_cell_size(text, width - 1)
            if cut.endswith(" ") and not text.startswith(cut):  # a wide character was split
                cut = cut[:-1]
            text, length = cut + "…", cell_len(cut) + 1
    if length < width:
        pad = " " * (width - length)
        return pad + text if right else text + pad
    return text


def _cut_middle(text: str, width: int) -> str:
    """`text` cut to `width` cells with "…" in the middle (the tail gets the odd cell)."""
    head = (width - 1) // 2
    tail = width - 1 - head
    if text.isascii():
        return text[:head] + "…" + text[len(text) - tail :]
    start = set_cell_size(text, head).rstrip(" ") if head else ""
    end = ""
    for char in reversed(text):
        if cell_len(char + end) > tail:
            break
        end = char + end
    return set_cell_size(start + "…" + end, width)


def resolve_hint(
    hint: str, component_style: Callable[[str], Style], scale: Callable[[], UtilScale]
) -> Resolved | None:
    """The styles of `hint`, or None for an unknown hint or a bad number.

    `component_style` gives the style of a component class ("virtual-table--ok"); `scale`
    the theme's utilization scale. Each is called only when the hint needs it.
    """
    name, resolved = _ALIASES.get(hint, hint), None
    if name in HINTS:
        # full styles: partial ones drop the alpha of $text-muted & co.
        resolved = (component_style(f"virtual-table--{name}"), None)
    elif name == "none" or name.startswith(("util:", "bar:")):
        util = scale()
        none = Style(color=util.none.hex)
        resolved = (none, None)
        if name != "none":
            kind, _, value = name.partition(":")
            try:
                color = Style(color=util.hex(float(value)))
            except ValueError:
                color = None
            # a bar's empty part ("▁") in the no-data colour; a sparkline keeps its lows
            resolved = None if color is None else (color, none if kind == "bar" else None)
    return resolved


def header_cells(
    columns: Sequence[TableColumn], sort: tuple[str, bool] | None, style: Style
) -> list[Cell]:
    """The header's cells: the labels, the sort column's marked ▲ (ascending) or ▼."""
    sort_key, reverse = sort or ("", False)
    cells: list[Cell] = []
    for column in columns:
        label = column.label
        if column.key == sort_key and column.width > 0:
            label = set_cell_size(label, min(cell_len(label), column.width - 1))
            label += "▼" if reverse else "▲"
        cells.append((fit_cell(label, column.width, column.align == "right"), style, None))
    return cells


def row_cells(
    row: TableRow,
    columns: Sequence[TableColumn],
    hint_styles: Callable[[str | None], Resolved | None],
    base: Style,
    cursor: Style,
    is_cursor: bool,
) -> tuple[list[Cell], Style]:
    """The cells of `row` in `columns`, and the style of the spaces between them.

    `hint_styles` resolves a hint (see `resolve_hint`); `base` is the table's style,
    `cursor` the cursor row's, whose colours win over hints.
    """
    row_hint = hint_styles(row.hint)
    row_style = base + row_hint[0] if row_hint else base
    texts, hints = row.cells, row.styles
    cells: list[Cell] = []
    for column in columns:
        i = column.index
        text = texts[i] if 0 <= i < len(texts) else ""
        hint = hint_styles(hints[i]) if hints is not None and 0 <= i < len(hints) else None
        style = row_style + hint[0] if hint else row_style
        bar = (hint or row_hint or (style, None))[1]
        if is_cursor:  # the cursor's colours win over hints
            style, bar = style + cursor, None
        elif bar is not None:
            bar = style + bar
        fitted = fit_cell(str(text), column.width, column.align == "right", column.cut == "middle")
        cells.append((fitted, style, bar))
    return cells, row_style + cursor if is_cursor else row_style


def cell_segments(cells: Sequence[Cell], pad: Style) -> list[Segment]:
    """A line's segments: a space, then the cells one space apart; "▁" runs of a cell
    with a bar style are drawn in it."""
    segments = [Segment(" ", pad)]
    for n, (text, style, bar) in enumerate(cells):
        if n:
            segments.append(Segment(" ", pad))
        if bar is None or _EMPTY_BAR not in text:
            segments.append(Segment(text, style))
            continue
        for part in _BAR_RUNS.split(text):
            if part:
                segments.append(Segment(part, bar if part[0] == _EMPTY_BAR else style))
    return segments
