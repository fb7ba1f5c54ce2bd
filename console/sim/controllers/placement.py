"""Where a pod may run: taints against tolerations, and nodeSelector plus required node
affinity against a node. Shared by the scheduler and the DaemonSet controller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def tolerates(tolerations: list[dict[str, Any]], key: str, value: str, effect: str) -> bool:
    """Whether any toleration tolerates the taint (operators Equal and Exists, empty effect = all)."""
    for tol in tolerations:
        if tol.get("effect") and tol["effect"] != effect:
            continue
        if tol.get("operator") == "Exists":
            if not tol.get("key") or tol["key"] == key:
                return True
        elif tol.get("key") == key and (tol.get("value") or "") == value:
            return True
    return False


def _expression(expr: dict[str, Any], value: str | None) -> bool:
    op, values = expr.get("operator"), expr.get("values") or []
    if op == "In":
        return value in values
    if op == "NotIn":
        return value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            a, b = int(value), int(values[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def node_matcher(spec: dict[str, Any]) -> Callable[[str, dict[str, str]], bool] | None:
    """nodeSelector + required node affinity as one predicate on (node name, labels); None = any."""
    selector = spec.get("nodeSelector") or {}
    terms = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        or {}
    ).get("nodeSelectorTerms") or []
    if not selector and not terms:
        return None

    def match(name: str, labels: dict[str, str]) -> bool:
        for key, value in selector.items():
            if labels.get(key) != value:
                return False
        if not terms:
            return True
        for term in terms:
            if all(_expression(e, labels.get(e.get("key"))) for e in term.get("matchExpressions") or ()) and all(
                _expression(e, name if e.get("key") == "metadata.name" else None)
                for e in term.get("matchFields") or ()
            ):  # fmt: skip
                return True
        return False

    return match
