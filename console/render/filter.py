"""The `/` filter of the resource views, k9s style.

    /a100                regex (case-insensitive) over the visible columns
    /-l app=vllm         label selector: key=value, key==value, key!=value, key, !key,
                         key in (a,b), key notin (a,b) (comma = and)
    /!Running            a leading `!` inverts either form

A regex that does not compile (or is too deep or too large to) is matched literally.
Parsing never raises, and neither does matching on odd input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

Requirement = Callable[[Mapping[str, str]], bool]

_SET = re.compile(r"^\s*(\S+?)\s+(in|notin)\s*\((.*)\)\s*$")


@dataclass(frozen=True)
class RowFilter:
    """A parsed filter; `matches(texts, labels)` decides one row."""

    text: str
    invert: bool = False
    pattern: re.Pattern[str] | None = None
    selector: tuple[Requirement, ...] = ()
    literal: bool = False  # the regex did not compile and is matched as plain text

    def matches(self, texts: Sequence[str], labels: Mapping[str, str] | None) -> bool:
        if self.selector:
            found = labels if labels is not None else {}
            hit = all(req(found) for req in self.selector)
        elif self.pattern is not None:
            search = self.pattern.search
            hit = any(search(t) for t in texts if isinstance(t, str))
        else:
            hit = True
        return hit != self.invert

    @property
    def active(self) -> bool:
        return bool(self.selector) or self.pattern is not None


def _terms(body: str) -> list[str]:
    """Split a selector on the commas outside parentheses."""
    terms, depth, start = [], 0, 0
    for i, char in enumerate(body):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            terms.append(body[start:i])
            start = i + 1
    terms.append(body[start:])
    return terms


def _requirement(term: str) -> Requirement | None:
    term = term.strip()
    if not term:
        return None
    found = _SET.match(term)
    if found is not None:
        key, op, values = found.groups()
        allowed = frozenset(v.strip() for v in values.split(",") if v.strip())
        if op == "in":
            return lambda labels, k=key, a=allowed: labels.get(k) in a
        return lambda labels, k=key, a=allowed: labels.get(k) not in a
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


def _pattern(body: str) -> tuple[re.Pattern[str], bool]:
    """The compiled regex, or the literal text when it does not compile: (pattern, literal)."""
    try:
        return re.compile(body, re.IGNORECASE), False
    except (re.error, OverflowError, RecursionError, ValueError, MemoryError):
        return re.compile(re.escape(body), re.IGNORECASE), True


def parse_filter(text: str | None) -> RowFilter:
    """Parse the filter line (see the module docstring); never raises."""
    raw = (text if isinstance(text, str) else "").strip()
    invert = raw.startswith("!")
    body = raw[1:].strip() if invert else raw
    if not body:
        return RowFilter(raw)
    if body.startswith("-l ") or body.startswith("-l=") or body == "-l":
        terms = _terms(body[2:].lstrip(" ="))
        reqs = tuple(req for req in map(_requirement, terms) if req is not None)
        return RowFilter(raw, invert, selector=reqs)
    pattern, literal = _pattern(body)
    return RowFilter(raw, invert, pattern=pattern, literal=literal)
