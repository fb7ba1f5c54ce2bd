"""Label and field selectors, parsed once and matched against an object's labels or fields."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from .errors import bad_request

Matcher = Callable[[Mapping[str, str]], bool]

_SET_EXPR = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_EQ_EXPR = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_./:-]*)\s*$")


def _split_terms(selector: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms, depth, current = [], 0, []
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(ch)
    terms.append("".join(current))
    return [t for t in terms if t.strip()]


def _term(term: str, allow_sets: bool) -> Matcher:
    m = _EQ_EXPR.match(term)
    if m:
        key, op, value = m.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    m = _SET_EXPR.match(term) if allow_sets else None
    if m:
        bang, key, op, values = m.groups()
        if op:
            if bang:
                raise bad_request(f"unable to parse requirement: {term!r}")
            options = {v.strip() for v in values.split(",") if v.strip()}
            if op == "in":
                return lambda labels: labels.get(key) in options
            return lambda labels: labels.get(key) not in options
        if bang:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise bad_request(
        f"unable to parse requirement: found '{term.strip()}', expected: selector term"
    )


def _compile(selector: str | None, allow_sets: bool) -> Matcher | None:
    if not selector or not selector.strip():
        return None
    matchers = [_term(t, allow_sets) for t in _split_terms(selector)]
    if len(matchers) == 1:
        return matchers[0]
    return lambda labels: all(m(labels) for m in matchers)


def label_selector(selector: str | None) -> Matcher | None:
    """Compile a label selector (`k=v`, `k!=v`, `k in (a,b)`, `k notin (a)`, `k`, `!k`); None = everything."""
    return _compile(selector, allow_sets=True)


SUPPORTED_FIELDS = {
    "pods": {
        "metadata.name",
        "metadata.namespace",
        "spec.nodeName",
        "status.phase",
        "spec.schedulerName",
    },
    "events": {
        "metadata.name",
        "metadata.namespace",
        "involvedObject.kind",
        "involvedObject.name",
        "involvedObject.namespace",
        "involvedObject.uid",
        "reason",
        "type",
    },
    "nodes": {"metadata.name", "spec.unschedulable"},
}


def field_selector(selector: str | None, plural: str) -> Matcher | None:
    """Compile a field selector; only the fields the real API server supports for `plural`."""
    matcher = _compile(selector, allow_sets=False)
    if matcher is None:
        return None
    allowed = SUPPORTED_FIELDS.get(plural, set()) | {"metadata.name", "metadata.namespace"}
    for term in _split_terms(selector or ""):
        m = _EQ_EXPR.match(term)
        if m and m.group(1) not in allowed:
            raise bad_request(
                f'"{m.group(1)}" is not a known field selector: only "{", ".join(sorted(allowed))}"'
            )
    return matcher


def fields_of(plural: str, obj: Mapping) -> dict[str, str]:
    """The selectable fields of an object, as strings."""
    meta = obj.get("metadata", {})
    fields = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
    }
    if plural == "pods":
        fields["spec.nodeName"] = obj.get("spec", {}).get("nodeName") or ""
        fields["status.phase"] = obj.get("status", {}).get("phase") or ""
        fields["spec.schedulerName"] = obj.get("spec", {}).get("schedulerName") or ""
    elif plural == "events":
        inv = obj.get("involvedObject", {})
        for key in ("kind", "name", "namespace", "uid"):
            fields[f"involvedObject.{key}"] = inv.get(key) or ""
        fields["reason"] = obj.get("reason") or ""
        fields["type"] = obj.get("type") or ""
    elif plural == "nodes":
        fields["spec.unschedulable"] = (
            "true" if obj.get("spec", {}).get("unschedulable") else "false"
        )
    return fields
