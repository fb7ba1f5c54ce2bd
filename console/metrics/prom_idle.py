"""How long allocated GPUs have been idle, from Prometheus's own history (for triage).

One instant query over the nodes of the units asked about: per GPU (and per MIG instance)
the last step of a subquery over `lookback` at which utilization was at or above the idle
threshold, and the first step it has any sample at all. A unit idle now has been idle
since the step after its last busy one; without a busy step in the window, since its
first sample there (at least: the history starts later than the idle stretch).

The subquery's step is the refresh interval, coarsened so that a window has at most 720
steps; the query is restricted to the nodes asked about, so its cost follows the idle
units, not the cluster.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import requests
from prometheus_api_client import PrometheusApiClientException

from console.cluster.connection import ClusterError
from console.metrics.mig import MIG_ID
from console.metrics.model import SlotKey
from console.metrics.parse import COMPAT_FIELDS, FIELDS, gpu_index
from console.text import clean_line

log = logging.getLogger(__name__)

MAX_STEPS = 720


def _names(field: str) -> str:
    names = [field, *(c for c, a in COMPAT_FIELDS.items() if a == FIELDS[field])]
    return json.dumps("|".join(names))


def idle_query(
    source: Any, nodes: frozenset[str], below: float, lookback: float, step: float
) -> str:
    """The PromQL (see the module docstring); `source` is a `PrometheusSource`."""
    hg, hgi = source._by("gpu"), source._by("gpu", MIG_ID)
    util = " or ".join(source._selectors(_names("DCGM_FI_DEV_GPU_UTIL"), nodes))
    mig = " or ".join(
        sel[:-1] + f', {MIG_ID}!=""}}'
        for sel in source._selectors(_names("DCGM_FI_PROF_GR_ENGINE_ACTIVE"), nodes)
    )
    window = f"[{max(1, round(lookback))}s:{max(1, round(step))}s]"
    parts = {
        "busy": f"max by ({hg}) (max_over_time(timestamp(({util}) >= {below:g}){window}))",
        "first": f"min by ({hg}) (min_over_time(timestamp({util}){window}))",
        "busy_mig": f"max by ({hgi}) (max_over_time(timestamp(({mig}) >= {below / 100:g})"
        f"{window}))",
        "first_mig": f"min by ({hgi}) (min_over_time(timestamp({mig}){window}))",
    }
    return " or ".join(f'label_replace({q}, "kmc_stat", "{k}", "", "")' for k, q in parts.items())


def idle_since(
    source: Any, keys: list[SlotKey], below: float, lookback: float, now: float
) -> dict[SlotKey, tuple[float, bool]] | None:
    """Key → (idle since, at least) for the `keys` Prometheus has history of; None when the
    query fails (the caller falls back to what it has seen itself)."""
    nodes = frozenset(k[0] for k in keys)
    if not nodes:
        return {}
    step = max(float(getattr(source, "interval", 5.0)), lookback / MAX_STEPS, 1.0)
    promql = idle_query(source, nodes, below, lookback, step)
    try:
        result = source.client.custom_query(promql)
    except (
        requests.RequestException,
        PrometheusApiClientException,
        ValueError,
        KeyError,
        ClusterError,
    ) as exc:
        log.warning("idle history query failed: %s", clean_line(exc)[:200])
        return None
    busy: dict[SlotKey, float] = {}
    first: dict[SlotKey, float] = {}
    for series in result if isinstance(result, list) else []:
        labels = series.get("metric") or {}
        stat = labels.get("kmc_stat", "")
        node = clean_line(source.resolver.node(labels))
        index = gpu_index(labels.get("gpu", ""))
        value = _seconds(series.get("value"))
        if not node or index is None or value is None:
            continue
        key: SlotKey = (node, index)
        if stat.endswith("_mig"):
            instance = gpu_index(labels.get(MIG_ID, ""))
            if instance is None:
                continue
            key = (node, index, instance)
        into = busy if stat.startswith("busy") else first
        into[key] = (
            max(into.get(key, value), value) if into is busy else min(into.get(key, value), value)
        )
    out: dict[SlotKey, tuple[float, bool]] = {}
    for key in keys:
        if key in busy:
            out[key] = (min(now, busy[key] + step), False)
        elif key in first:
            out[key] = (min(now, first[key]), True)
    return out


def _seconds(pair: Any) -> float | None:
    """An instant-query value (`[ts, "1733000000"]`) as finite epoch seconds."""
    try:
        value = float(pair[1])
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    return value if 0 < value < 1e11 else None
