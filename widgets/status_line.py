"""Lines that fit their width: a line is made of `Part`s, each with shorter forms and an
importance; `fit_line` shortens the least important first — a shorter form, then cut at
a word boundary (never mid-word; names in the middle), then dropped. `StatusLine` is a
one-line `Static` that fits its parts to its width at each render (so a resize refits).

Every text is shown literally (Rich `Text`, never markup); the caller keeps the full text
somewhere one key away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.widgets import Static

ELLIPSIS = "…"
_TRAILING = " ,;:·-—("
"""Dropped from the end of a cut before the ellipsis goes on."""


@dataclass(frozen=True)
class Part:
    """A piece of a line.

    `forms`: its texts, longest first (the same facts in fewer cells). `importance`: 0 is
    never dropped; higher numbers are shortened and dropped first (ties: the rightmost).
    `cut`: what happens when even the last form does not fit: "words" cut at a word
    boundary with "…", "middle" keeps head and tail (names), "none" drops the part.
    `gap`: spaces before the part. `right`: in the right-aligned group of the line.
    """

    forms: tuple[Text, ...]
    importance: int = 0
    cut: str = "words"
    gap: int = 2
    right: bool = False

    @classmethod
    def of(cls, *forms: str | Text, style: str = "", **options: object) -> Part:
        """A part from plain strings (shown literally) or Texts."""
        texts = tuple(f if isinstance(f, Text) else Text(f, style=style, end="") for f in forms)
        return cls(texts, **options)  # type: ignore[arg-type]

    @property
    def full(self) -> str:
        """The longest form as plain text."""
        return self.forms[0].plain if self.forms else ""


def full_text(parts: Sequence[Part]) -> str:
    """The parts in their longest forms, each after its gap (plain text, one line)."""
    out = ""
    for part in parts:
        if part.forms:
            out += (" " * part.gap if out else "") + part.full
    return out


def cut_words(text: Text, width: int) -> Text | None:
    """`text` cut at the last word boundary that leaves room for "…" in `width` cells, or
    None when not even the first word fits."""
    plain = text.plain
    if cell_len(plain) <= width:
        return text
    best = None
    for i, char in enumerate(plain):
        if char != " " or not i:
            continue
        head = plain[:i].rstrip(_TRAILING)
        if not head:
            continue
        if cell_len(head) + 1 > width:
            break
        best = len(head)
    if best is None:
        return None
    out = text[:best]
    out.append(ELLIPSIS)
    return out


def cut_middle(text: Text, width: int) -> Text | None:
    """`text` in `width` cells with "…" in the middle (head and tail kept), or None when
    `width` is under 5 cells."""
    plain = text.plain
    if cell_len(plain) <= width:
        return text
    if width < 5:
        return None
    head = (width - 1) // 2
    tail = width - 1 - head
    start = set_cell_size(plain, head).rstrip(" ")
    end = ""
    for char in reversed(plain):
        if cell_len(char + end) > tail:
            break
        end = char + end
    return Text(start + ELLIPSIS + end, style=text.style, end="")


def fit_line(parts: Sequence[Part], width: int) -> Text:
    """The parts on one line of `width` cells, the right-aligned group at the right edge;
    shortened by importance (see `Part`) until they fit."""
    texts: list[Text | None] = [p.forms[0] if p.forms else None for p in parts]

    def length() -> int:
        total, seen = 0, {False: False, True: False}
        for part, text in zip(parts, texts, strict=True):
            if text is None:
                continue
            total += text.cell_len + (part.gap if seen[part.right] else 0)
            seen[part.right] = True
        return total + (2 if seen[False] and seen[True] else 0)

    order = sorted(range(len(parts)), key=lambda i: (parts[i].importance, i), reverse=True)
    for i in order:
        over = length() - width
        if over <= 0:
            break
        text = texts[i]
        if text is None:
            continue
        texts[i] = _shorter(parts[i], text.cell_len - over)
    left, right = Text(end=""), Text(end="")
    for part, text in zip(parts, texts, strict=True):
        if text is None:
            continue
        line = right if part.right else left
        if line.cell_len:
            line.append(" " * part.gap)
        line.append_text(text)
    if right.cell_len:
        left.append(" " * max(2 if left.cell_len else 0, width - left.cell_len - right.cell_len))
        left.append_text(right)
    if left.cell_len > width:  # only parts that are never dropped are left
        left.truncate(width, overflow="ellipsis")
    return left


def _shorter(part: Part, room: int) -> Text | None:
    """The longest text of `part` that fits `room` cells: a form, or (`cut="words"`) a form
    cut at a word boundary, or (`cut="middle"`) the last form cut in the middle. None: the
    part goes — never for importance 0, which keeps its last form."""
    best: Text | None = None
    for form in part.forms:
        if form.cell_len <= room:
            candidate: Text | None = form
        elif part.cut == "words":
            candidate = cut_words(form, room)
        else:
            continue
        if candidate is not None and (best is None or candidate.cell_len > best.cell_len):
            best = candidate
    if best is None and part.cut == "middle":
        best = cut_middle(part.forms[-1], room)
    if best is not None or part.importance:
        return best
    return part.forms[-1]


class StatusLine(Static):
    """One line of `Part`s fitted to the widget's width at each render."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, markup=False)
        self._parts: tuple[Part, ...] = ()

    @property
    def parts(self) -> tuple[Part, ...]:
        return self._parts

    @property
    def full_text(self) -> str:
        """Every part in its longest form."""
        return full_text(self._parts)

    def set_parts(self, parts: Sequence[Part]) -> bool:
        """Show `parts`; False (and no repaint) when they are the ones shown."""
        parts = tuple(parts)
        if parts == self._parts:
            return False
        self._parts = parts
        self.refresh()
        return True

    def render(self) -> Text:
        width = self.content_region.width
        if width <= 0:
            return Text(self.full_text, end="")
        return fit_line(self._parts, width)
