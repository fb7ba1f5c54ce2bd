"""Training progress as plain cells: the jobs view's LOSS, STEP, STEPS/MIN and LAST columns
and the job detail's run lines, from `console.tracking.progress.JobProgress`. No Textual.

LAST is the time since the run last logged a metric; it says `stalled` (red, and the job's
STATE reads `Stalled`) when the job is Running with no new step for the stall time, `no run`
when the linked run does not exist, `deleted` when it was deleted, and `down` while MLflow
cannot be read (the other cells keep their last values)."""

from __future__ import annotations

import math
import time
from typing import Any

from console.render.base import Hint
from console.render.fmt import age
from console.tracking.linking import RULE_LABELS

STALLED = "Stalled"
CELLS = 4


def metric_value(value: float | None) -> tuple[str, Hint]:
    """A metric value in 4 significant digits; NaN and ±Inf spelled out, in red."""
    if value is None:
        return "", None
    if math.isnan(value):
        return "NaN", "bad"
    if math.isinf(value):
        return ("Inf" if value > 0 else "-Inf"), "bad"
    return f"{value:.4g}", None


def step_count(step: int | None) -> str:
    if step is None:
        return ""
    if abs(step) >= 10_000_000:
        return f"{step / 1e6:.0f}M"
    if abs(step) >= 1_000_000:
        return f"{step / 1e6:.1f}M"
    return str(step)


def rate(per_min: float | None) -> str:
    if per_min is None or not math.isfinite(per_min):
        return ""
    return f"{per_min:.1f}" if per_min < 10 else f"{per_min:.0f}"


def progress_cells(
    progress: Any, job_state: str, now: float, stall_seconds: float, down: str = ""
) -> tuple[tuple[str, ...], tuple[Hint, ...], bool]:
    """(LOSS, STEP, STEPS/MIN, LAST) cells, their hints, and whether the job is stalled."""
    if progress is None:  # not linked, or not known while MLflow cannot be read
        if down:
            return ("", "", "", "down"), (None, None, None, "bad"), False
        return ("",) * CELLS, (None,) * CELLS, False
    if progress.found == "missing":
        return ("", "", "", "no run"), (None, None, None, "warn"), False
    if progress.found == "deleted":
        return ("", "", "", "deleted"), (None, None, None, "warn"), False
    point = progress.metric
    value, value_hint = metric_value(point.value if point is not None else None)
    stalled = progress.stalled(job_state, now, stall_seconds)
    steps = rate(0.0 if stalled else progress.steps_per_min)
    if down:
        last, last_hint = "down", "bad"
    elif stalled:
        last, last_hint = "stalled", "bad"
    elif progress.last_logged is not None:
        last, last_hint = age(now - progress.last_logged), None
    else:
        last, last_hint = "none yet", "dim"
    cells = (value, step_count(point.step if point is not None else None), steps, last)
    return cells, (value_hint, None, "bad" if stalled else None, last_hint), stalled


def run_lines(
    progress: Any, now: float, stall_seconds: float, job_state: str
) -> list[tuple[str, str]]:
    """(label, value) lines of a job's run for the job detail: link, status, start, metrics."""
    if progress is None:
        return [("run", "no run linked (see `mlflow_link_rules`)")]
    lines = [("run", progress.run_id), ("linked by", _rule(progress.rule))]
    if progress.found != "found" or progress.run is None:
        lines.append(("status", "not found" if progress.found == "missing" else "deleted"))
        return lines
    run = progress.run
    status = run.status
    if progress.stalled(job_state, now, stall_seconds):
        status += f" · stalled: no new step for {age(now - (progress.last_logged or now))}"
    lines += [
        ("name", run.run_name),
        ("experiment", run.experiment_id),
        ("status", status),
        ("started", _when(run.start_time, now)),
    ]
    if run.end_time:
        lines.append(("ended", _when(run.end_time, now)))
    if progress.steps_per_min is not None:
        lines.append(("steps/min", rate(progress.steps_per_min)))
    return lines


def _rule(rule: str) -> str:
    return RULE_LABELS.get(rule, rule)


def _when(epoch: float | None, now: float) -> str:
    if not epoch:
        return ""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))
    return f"{stamp} ({age(now - epoch)} ago)"


def metric_rows(metrics: Any) -> list[tuple[str, str, str]]:
    """(key, value, step) of the run's latest metrics, sorted by key."""
    rows = []
    for key in sorted(metrics):
        point = metrics[key]
        rows.append((key, metric_value(point.value)[0], step_count(point.step)))
    return rows
