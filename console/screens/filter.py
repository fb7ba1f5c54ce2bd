"""The `/` filter of the resource views, k9s style.

    /a100          regex (case-insensitive) over the visible columns
    /-l app=vllm   label selector: key=value, key==value, key!=value, key, !key (comma = and)
    /!Running      a leading `!` inverts either form

A regex that does not compile is matched literally. Parsing never raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

Requirement = Callable[[Mapping[str, str]], bool]


@dataclass(frozen=True)
class RowFilter:
    """A parsed filter; `matches(texts, labels)` decides one row."""

    text: str
    invert: bool = False
    pattern: re.Pattern[str] | None = None
    selector: tuple[Requirement, ...] = ()
    literal: bool = False  # the regex did not compile and is matched as plain text

    def matches(self, texts: Sequence[str], labels: Mapping[str, str]) -> bool:
        if self.selector:
            hit = all(req(labels) for req in self.selector)
        elif self.pattern is not None:
            hit = any(self.pattern.search(t) for t in texts)
        else:
            hit = True
        return hit != self.invert

    @property
    def active(self) -> bool:
        return bool(self.selector) or self.pattern is not None


def _requirement(term: str) -> Requirement | None:
    term = term.strip()
    if not term:
        return None
    for op in ("!=", "==", "="):
        if op in term:
            key, value = (part.strip() for part in term.split(op, 1))
            if op == "!=":
                return lambda labels, k=key, v=value: labels.get(k) != v
            return lambda labels, k=key, v=value: labels.get(k) == v
    if term.startswith("!"):
        key = term[1:].strip()
        return lambda labels, k=key: k not in labels
    return lambda labels, k=term: k in labels


def parse_filter(text: str) -> RowFilter:
    """Parse the filter line (see the module docstring)."""
    raw = text.strip()
    invert = raw.startswith("!")
    body = raw[1:].strip() if invert else raw
    if not body:
        return RowFilter(raw)
    if body.startswith("-l ") or body.startswith("-l=") or body == "-l":
        terms = body[2:].lstrip(" =").split(",")
        reqs = tuple(req for req in map(_requirement, terms) if req is not None)
        return RowFilter(raw, invert, selector=reqs)
    try:
        return RowFilter(raw, invert, pattern=re.compile(body, re.IGNORECASE))
    except re.error:
        return RowFilter(
            raw, invert, pattern=re.compile(re.escape(body), re.IGNORECASE), literal=True
        )
