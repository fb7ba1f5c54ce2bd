"""The render layer: per view its columns and a row builder from the cluster records, the
GPU ledger and the telemetry figures to plain rows (text, style hints, sort values), plus
the `/` filter and sorting. No Textual, no Rich: the TUI maps hints to theme colours at the
edge, and the headless commands print the same rows (`export.rows_as_dicts`).

    base       Column, Row, Scope, RowContext, View, RowCache, visible_columns, measure
    fmt        cell text helpers (ages, GPU counts, utilization, bars, sparklines, …)
    filter     parse_filter → RowFilter
    sort       natural_key, number_key, sort_key, sort_rows, row_texts
    nodes, pods, workloads, gpus    the views; `VIEWS` names the four resource views
"""

from __future__ import annotations

from console.render.base import View
from console.render.nodes import NODES
from console.render.pods import PODS
from console.render.workloads import JOBS, SERVERS

VIEWS: dict[str, View] = {v.name: v for v in (NODES, JOBS, SERVERS, PODS)}

__all__ = ["JOBS", "NODES", "PODS", "SERVERS", "VIEWS"]
