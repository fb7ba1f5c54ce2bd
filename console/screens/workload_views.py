"""The training jobs and model servers views: their columns, with the mean utilization and
allocated-but-idle GPU count of each workload's GPUs (`console.metrics.workload_telemetry`,
keyed `(kind, namespace, name)` like the rows)."""

from __future__ import annotations

from typing import Any

from console.cluster import views as cv
from console.cluster.session import PLURAL_OF_KIND, ClusterSession
from console.screens.fmt import age, gpus
from console.screens.telemetry import idle_cell
from console.screens.viewbase import (
    AGE,
    NAMESPACE,
    UTIL,
    CellValue,
    Column,
    Item,
    RowContext,
    Scope,
    View,
    age_key,
)
from widgets.gpu_bar import util_text

IDLE = Column("idle", "IDLE", 2, 4, numeric=True, telemetry=True)
"""Allocated GPUs idle for the idle window (`console.metrics.IDLE_UTIL`)."""


def _gauges(
    ctx: RowContext, figures: dict[Any, Any], key: tuple[str, str, str]
) -> tuple[CellValue, CellValue, int]:
    """(UTIL cell, IDLE cell, idle count) of one workload."""
    w = figures.get(key)
    if w is None or not w.gpus:
        return util_text(None, scale=ctx.scale) if figures else "", "", 0
    return util_text(w.mean_util, scale=ctx.scale), idle_cell(w.idle_gpus, ctx.warn), w.idle_gpus


# ---------------------------------------------------------------- jobs

_JOB_HINTS = {
    "Failed": "error",
    "Succeeded": "dim",
    "Complete": "dim",
    "Completed": "dim",
    "Restarting": "warn",
    "Created": "warn",
    "Pending": "warn",
    "Suspended": "dim",
}


def _jobs(session: ClusterSession, ctx: RowContext) -> list[Item]:
    out = []
    figures = ctx.telemetry.workloads() if ctx.telemetry is not None else {}
    for row in cv.job_rows(session.cache, ctx.namespace, now=ctx.now):
        record = session.get(PLURAL_OF_KIND[row.kind], (row.namespace, row.name))
        util, idle, idle_count = _gauges(ctx, figures, (row.kind, row.namespace, row.name))
        state = row.state or "-"
        if record is not None and record.suspended and state != "Failed":
            state = "Suspended"
        replicas = " ".join(
            f"{r.name} {r.ready}/{r.desired}" if r.name else f"{r.ready}/{r.desired}"
            for r in row.roles
        )
        cells = (
            row.namespace,
            row.name,
            row.kind,
            state,
            replicas,
            gpus(row.gpus),
            util,
            idle,
            row.restarts,
            row.queue,
            age(row.duration) if row.duration else "",
            age(row.age),
        )
        key = f"{row.kind}/{row.namespace}/{row.name}"
        labels = record.labels if record else {}
        hint = _JOB_HINTS.get(state) or ("warn" if row.pending_pods or idle_count else None)
        sorts = {"age": age_key(row.age, ctx.now), "duration": row.duration}
        out.append(Item(key, cells, hint, labels, record or row, sorts))
    return out


JOBS = View(
    "jobs",
    "Training jobs",
    (
        NAMESPACE,
        Column("name", "NAME", 0, 18),
        Column("kind", "KIND", 3, 10),
        Column("state", "STATE", 0, 9),
        Column("replicas", "REPLICAS", 4, 14),
        Column("gpus", "GPUS", 1, 4, numeric=True),
        UTIL,
        IDLE,
        Column("restarts", "RESTARTS", 6, 8, numeric=True),
        Column("queue", "QUEUE", 7, 8),
        Column("duration", "DURATION", 5, 8, by_value=True),
        AGE,
    ),
    _jobs,
    lambda job: (
        "pods",
        Scope(f"pods of {job.kind} {job.namespace}/{job.name}", job=(job.namespace, job.name)),
    ),
    lambda job: PLURAL_OF_KIND[job.kind],
)


# ---------------------------------------------------------------- servers


def _model(record: Any) -> str:
    fmt = getattr(record, "model_format", "")
    if fmt or getattr(record, "runtime", ""):
        return "/".join(x for x in (fmt, record.runtime) if x)
    images = getattr(record, "images", ())
    return images[0].rsplit("/", 1)[-1] if images else ""


def _servers(session: ClusterSession, ctx: RowContext) -> list[Item]:
    out = []
    figures = ctx.telemetry.workloads() if ctx.telemetry is not None else {}
    for row in cv.server_rows(session.cache, ctx.namespace, ctx.now):
        record = session.get(PLURAL_OF_KIND[row.kind], (row.namespace, row.name))
        util, idle, _idle = _gauges(ctx, figures, (row.kind, row.namespace, row.name))
        ok = row.ready == "True"
        hint = None if ok else ("warn" if row.ready == "Unknown" or row.ready_replicas else "error")
        cells = (
            row.namespace,
            row.name,
            row.kind,
            "True" if ok else (row.reason or row.ready),
            f"{row.ready_replicas}/{row.desired_replicas}",
            gpus(row.gpus),
            util,
            idle,
            _model(record),
            row.url,
            age(row.age),
        )
        key = f"{row.kind}/{row.namespace}/{row.name}"
        labels = record.labels if record else {}
        out.append(
            Item(key, cells, hint, labels, record or row, {"age": age_key(row.age, ctx.now)})
        )
    return out


def _server_kind(record: Any) -> str:
    return getattr(record, "kind", "") or "InferenceService"


SERVERS = View(
    "servers",
    "Model servers",
    (
        NAMESPACE,
        Column("name", "NAME", 0, 18),
        Column("kind", "KIND", 4, 10),
        Column("ready", "READY", 0, 6),
        Column("replicas", "REPLICAS", 1, 8),
        Column("gpus", "GPUS", 1, 4, numeric=True),
        UTIL,
        IDLE,
        Column("model", "MODEL", 3, 12),
        Column("url", "URL", 5, 20),
        AGE,
    ),
    _servers,
    lambda rec: (
        "pods",
        Scope(
            f"pods of {_server_kind(rec)} {rec.namespace}/{rec.name}",
            workload=(rec.namespace, _server_kind(rec), rec.name),
        ),
    ),
    lambda rec: PLURAL_OF_KIND[_server_kind(rec)],
)
