"""The training jobs (`JOBS`) and model servers (`SERVERS`) views, with the mean utilization
and allocated-but-idle GPU count of each workload's GPUs (`WorkloadTelemetry`, keyed
`(kind, namespace, name)` like the rows).

With MLflow, a job's LOSS (the primary metric), STEP, STEPS/MIN and LAST (time since the
last metric) come from its run (`console.render.training`), and a job whose pods run but
log no new step reads `Stalled`.

At 80 columns a job keeps name, state, GPUs, UTIL and IDLE, then LOSS; a server name,
ready, replicas, GPUs, UTIL and IDLE; the namespace comes next, then the rest with the
width (a job's step, rate and LAST before its kind and replicas)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from console.cluster import views as cv
from console.cluster import views_servers as cs
from console.cluster.session import PLURAL_OF_KIND
from console.render.base import (
    AGE,
    EMPTY,
    NAMESPACE,
    UTIL,
    Column,
    Hint,
    Row,
    RowCache,
    RowContext,
    Scope,
    View,
    age_key,
    styles_of,
)
from console.render.fmt import INVALID, age, gpus, idle, util
from console.render.training import STALLED, progress_cells

if TYPE_CHECKING:
    from console.cluster.session import ClusterSession

IDLE = Column("idle", "IDLE", 1, 4, "right", "number", telemetry=True)
"""Allocated GPUs idle for the idle window (`console.metrics.IDLE_UTIL`)."""


def _gauges(
    figures: Mapping[Any, Any], key: tuple[str, str, str]
) -> tuple[tuple[str, Hint], tuple[str, Hint], int]:
    """(UTIL cell, IDLE cell, idle count) of one workload."""
    w = figures.get(key)
    if w is None or not w.gpus:
        return (util(None) if figures else ("", None)), ("", None), 0
    return util(w.mean_util), idle(w.idle_gpus), w.idle_gpus


def _telemetry(ctx: RowContext) -> Mapping[Any, Any]:
    return ctx.telemetry.workloads() if ctx.telemetry is not None else {}


# ---------------------------------------------------------------- jobs

_JOB_HINTS = {
    "Failed": "bad",
    "Succeeded": "dim",
    "Complete": "dim",
    "Completed": "dim",
    "Restarting": "warn",
    "Created": "warn",
    "Pending": "warn",
    "Suspended": "dim",
    STALLED: "bad",
}


Tracked = tuple[tuple[str, ...], tuple[Hint, ...], bool]
"""(LOSS, STEP, STEPS/MIN, LAST) cells, their hints, stalled (`render.training`)."""
_UNTRACKED: Tracked = (("",) * 4, (None,) * 4, False)


def job_row(
    row: cv.JobRow,
    record: Any,
    figures: Mapping[Any, Any],
    now: float,
    tracked: Tracked = _UNTRACKED,
) -> Row:
    """The row of one training job (`record`: its `JobRecord`, or None; `tracked`: its
    MLflow progress cells)."""
    (util_text, util_hint), (idle_text, idle_hint), idle_count = _gauges(figures, _pods_key(row))
    state = row.state or "-"
    if record is not None and record.suspended and state != "Failed":
        state = "Suspended"
    progress, progress_hints, stalled = tracked
    if stalled:
        state = STALLED
    replicas = " ".join(
        f"{r.name} {r.ready}/{r.desired}" if r.name else f"{r.ready}/{r.desired}" for r in row.roles
    )
    cells = (
        row.namespace,
        row.name,
        row.kind,
        state,
        replicas,
        INVALID if getattr(record, "invalid", ()) else gpus(row.gpus),
        util_text,
        idle_text,
        *progress,
        str(row.restarts),
        row.queue,
        age(row.duration) if row.duration else "",
        age(row.age),
    )
    hint = _JOB_HINTS.get(state) or ("warn" if row.pending_pods or idle_count else None)
    styles = styles_of((None,) * 6 + (util_hint, idle_hint, *progress_hints) + (None,) * 4)
    return Row(
        f"{row.kind}/{row.namespace}/{row.name}",
        cells,
        hint,
        styles,
        record.labels if record is not None else EMPTY,
        record if record is not None else row,
        _job_sorts(row, now),
    )


def _pods_key(row: cv.JobRow) -> tuple[str, str, str]:
    """The key of a job's telemetry: what its pods name as their workload (a TrainJob's
    pods name its JobSet)."""
    return row.pods_key if row.pods_key[2] else row.key


def _job_sorts(row: cv.JobRow, now: float) -> dict[str, float | None]:
    return {"age": age_key(row.age, now), "duration": row.duration or None}


def build_jobs(session: ClusterSession, ctx: RowContext, cache: RowCache) -> list[Row]:
    """The job rows; a row is rebuilt when its record, its pods' readiness, restarts or
    pending count, or its telemetry figures changed; DURATION and AGE tick in place."""
    figures = _telemetry(ctx)
    cache.begin((ctx.namespace, bool(figures)))
    now = ctx.now
    tracking = ctx.tracking if ctx.tracking is not None and ctx.tracking.enabled else None
    runs = tracking.progress() if tracking is not None else EMPTY
    down = tracking.down if tracking is not None else ""
    out = []
    for row in cv.job_rows(session.cache, ctx.namespace, now=now):
        record = session.get(PLURAL_OF_KIND[row.kind], (row.namespace, row.name))
        key = f"{row.kind}/{row.namespace}/{row.name}"
        progress = runs.get(row.key)
        tracked = (
            progress_cells(progress, row.state, now, tracking.stall_seconds, down)
            if tracking is not None
            else _UNTRACKED
        )
        # LAST ticks in place; what else the run shows is an input
        steady = (tracked[0][:3], tracked[1], tracked[2])
        figure = figures.get(_pods_key(row))
        inputs = (
            record,
            figure,
            row.roles,
            row.gpus,
            row.state,
            row.restarts,
            row.pending_pods,
            steady,
        )
        built = cache.get(key, inputs) if record is not None else None
        if built is None:
            built = cache.put(key, inputs, job_row(row, record, figures, now, tracked))
        else:
            sorts = _job_sorts(row, now)
            duration = age(row.duration) if row.duration else ""
            built = cache.with_cell(key, built, JOB_LAST_INDEX, tracked[0][3])
            built = cache.with_cell(key, built, JOB_DURATION_INDEX, duration, sorts)
            built = cache.with_cell(key, built, JOB_AGE_INDEX, age(row.age))
        out.append(built)
    cache.end()
    return out


JOBS = View(
    "jobs",
    "Training jobs",
    (
        NAMESPACE,
        Column("name", "NAME", 0, 18, cut="middle"),
        Column("kind", "KIND", 4, 10),
        Column("state", "STATE", 0, 9),
        Column("replicas", "REPLICAS", 4, 14),
        Column("gpus", "GPUS", 1, 4, "right", "number"),
        UTIL,
        IDLE,
        Column("loss", "LOSS", 2, 6, "right", "number", tracking=True),
        Column("step", "STEP", 3, 6, "right", "number", tracking=True),
        Column("rate", "STEPS/MIN", 3, 9, "right", "number", tracking=True),
        Column("last", "LAST", 3, 7, tracking=True),
        Column("restarts", "RESTARTS", 6, 8, "right", "number"),
        Column("queue", "QUEUE", 7, 8),
        Column("duration", "DURATION", 5, 8, sort="value"),
        AGE,
    ),
    build_jobs,
    lambda job: (
        "pods",
        Scope(f"pods of {job.kind} {job.namespace}/{job.name}", job=(job.namespace, job.name)),
    ),
    lambda job: PLURAL_OF_KIND[job.kind],
)
JOB_LAST_INDEX = [c.key for c in JOBS.columns].index("last")
JOB_DURATION_INDEX = len(JOBS.columns) - 2
JOB_AGE_INDEX = len(JOBS.columns) - 1


# ---------------------------------------------------------------- servers


def _model(record: Any) -> str:
    fmt = getattr(record, "model_format", "")
    if fmt or getattr(record, "runtime", ""):
        return "/".join(x for x in (fmt, record.runtime) if x)
    images = getattr(record, "images", ())
    return images[0].rsplit("/", 1)[-1] if images else ""


def _short_revision(revision: str, name: str) -> str:
    """`llama-predictor-00002` → `00002` (the service's name is on the row already)."""
    for prefix in (f"{name}-predictor-default-", f"{name}-predictor-"):
        if revision.startswith(prefix) and len(revision) > len(prefix):
            return revision[len(prefix) :]
    return revision


_INSUFFICIENT = re.compile(r"Insufficient [\w./-]+")


def _insufficient(message: str) -> str:
    """What a scheduler message says is missing (`Insufficient nvidia.com/gpu`), or ""
    (the detail shows the message whole)."""
    found = _INSUFFICIENT.findall(message)
    return ", ".join(dict.fromkeys(f.rstrip(".") for f in found))


def rollout_cell(row: cs.ServerRow) -> tuple[str, Hint]:
    """An InferenceService's revisions: its traffic split (`00002 10% · 00001 90%`), the
    ready revision when there is no split, and a newer revision that is not ready with why
    (`00002; 00003: Insufficient nvidia.com/gpu`, else `00003 not ready: <message>`, amber)."""
    split = [t for t in row.traffic if t.percent or t.latest]
    if len(split) > 1 or (split and split[0].percent < 100):
        text = " · ".join(f"{_short_revision(t.revision, row.name)} {t.percent}%" for t in split)
    else:
        text = _short_revision(row.revision, row.name)
    if not row.pending_revision:
        return text, None
    pending = _short_revision(row.pending_revision, row.name)
    missing = _insufficient(row.rollout_message)
    if missing:  # the scheduler's word for what the new revision's pods lack
        why = f"{pending}: {missing}"
    else:
        message = row.rollout_message.partition("\n")[0]  # a cell is one line; detail has all
        why = f"{pending} not ready: {message}" if message else pending
    return (f"{text}; {why}" if text else why), "warn"


def server_row(row: cs.ServerRow, record: Any, figures: Mapping[Any, Any], now: float) -> Row:
    """The row of one model server (`record`: its `IsvcRecord` / `WorkloadRecord`, or None)."""
    (util_text, util_hint), (idle_text, idle_hint), _count = _gauges(figures, row.key)
    ok = row.ready == "True"
    hint = None if ok else ("warn" if row.ready == "Unknown" or row.ready_replicas else "bad")
    rollout, rollout_hint = rollout_cell(row)
    if rollout_hint and hint is None:
        hint = rollout_hint
    # A condition's message may span lines (the detail view shows it whole); a cell is one.
    ready = "True" if ok else (row.reason or row.ready).partition("\n")[0]
    if row.scaled_to_zero and ok:
        ready = "scaled to zero"
    elif ok and row.pending_revision:  # still serving; says so where REVISION does not fit
        ready = f"True · {_short_revision(row.pending_revision, row.name)} pending"
    cells = (
        row.namespace,
        row.name,
        row.kind,
        ready,
        f"{row.ready_replicas}/{row.desired_replicas}",
        INVALID if getattr(record, "invalid", ()) else gpus(row.gpus),
        util_text,
        idle_text,
        _model(record),
        rollout,
        row.mode,
        row.url,
        age(row.age),
    )
    return Row(
        f"{row.kind}/{row.namespace}/{row.name}",
        cells,
        hint,
        styles_of((None,) * 6 + (util_hint, idle_hint, None, rollout_hint) + (None,) * 3),
        record.labels if record is not None else EMPTY,
        record if record is not None else row,
        {"age": age_key(row.age, now)},
    )


def build_servers(session: ClusterSession, ctx: RowContext, cache: RowCache) -> list[Row]:
    """The server rows; a row is rebuilt when its record, its replica or GPU counts, or its
    telemetry figures changed; AGE ticks in place."""
    figures = _telemetry(ctx)
    cache.begin((ctx.namespace, bool(figures)))
    now = ctx.now
    out = []
    for row in cs.server_rows(session.cache, ctx.namespace, now):
        record = session.get(PLURAL_OF_KIND[row.kind], (row.namespace, row.name))
        key = f"{row.kind}/{row.namespace}/{row.name}"
        inputs = (
            record,
            figures.get(row.key),
            row.ready_replicas,
            row.desired_replicas,
            row.gpus,
            row.gpus_per_pod,
            row.pending_revision,
            row.scaled_to_zero,
        )
        built = cache.get(key, inputs) if record is not None else None
        if built is None:
            built = cache.put(key, inputs, server_row(row, record, figures, now))
        else:
            built = cache.with_cell(key, built, SERVER_AGE_INDEX, age(row.age))
        out.append(built)
    cache.end()
    return out


def _server_kind(record: Any) -> str:
    return getattr(record, "kind", "") or "InferenceService"


SERVERS = View(
    "servers",
    "Model servers",
    (
        NAMESPACE,
        Column("name", "NAME", 0, 18, cut="middle"),
        Column("kind", "KIND", 4, 10),
        Column("ready", "READY", 0, 6),
        Column("replicas", "REPLICAS", 1, 8),
        Column("gpus", "GPUS", 1, 4, "right", "number"),
        UTIL,
        IDLE,
        Column("model", "MODEL", 4, 12, cut="middle"),
        Column("revision", "REVISION", 3, 14),
        Column("mode", "MODE", 6, 10),
        Column("url", "URL", 5, 20, cut="middle"),
        AGE,
    ),
    build_servers,
    lambda rec: (
        "pods",
        Scope(
            f"pods of {_server_kind(rec)} {rec.namespace}/{rec.name}",
            workload=(rec.namespace, _server_kind(rec), rec.name),
        ),
    ),
    lambda rec: PLURAL_OF_KIND[_server_kind(rec)],
)
SERVER_AGE_INDEX = len(SERVERS.columns) - 1
