"""A Kubernetes `LabelSelector` (matchLabels + matchExpressions) against a pod's labels, as
the API server evaluates it for a PodDisruptionBudget: an empty selector matches every
pod, a malformed one matches none (it cannot be what blocks an eviction)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def matches_selector(selector: Any, labels: Mapping[str, str]) -> bool:
    """Whether `labels` satisfy `selector` (a LabelSelector as JSON)."""
    if selector is None:
        return False
    if not isinstance(selector, dict):
        return False
    match = selector.get("matchLabels") or {}
    if not isinstance(match, dict):
        return False
    if any(labels.get(str(k)) != str(v) for k, v in match.items()):
        return False
    for expr in selector.get("matchExpressions") or ():
        if not isinstance(expr, dict) or not _expression(expr, labels):
            return False
    return True


def _expression(expr: dict[str, Any], labels: Mapping[str, str]) -> bool:
    key, operator = str(expr.get("key", "")), expr.get("operator")
    values = [str(v) for v in expr.get("values") or () if v is not None]
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False
