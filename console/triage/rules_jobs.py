"""Triage rules about training jobs: `stalled-job`, `crashloop`, `job-failed`. No Textual.

- `stalled-job`: a Running job whose MLflow run logged no new step for the stall time
  (`JobProgress.stalled`) while its GPUs are idle or pegged — the NCCL-hang pattern (every
  rank waits in a collective: utilization drops to 0, or spins at 100 %). A job whose GPUs
  show ordinary work (between the two) is left out: it may be evaluating or checkpointing.
  Without telemetry the MLflow silence alone reports it, saying utilization is unknown.
  Severity *warning*: the evidence is inferred (a long evaluation or a rarely-logging
  script looks the same), the harm is bounded by its own GPUs — the ranking puts a large
  stalled job at the top of the warnings — and a hardware fault (critical) is a common
  cause of such a hang, so the cause ranks above its symptom.
- `crashloop`: a job's replicas in CrashLoopBackOff or restarted `restarts` times or more.
- `job-failed`: a job Failed within `failed_hours`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from console.cluster import views
from console.cluster.records import PodRecord
from console.triage.engine import Rule, Thresholds, TriageInputs
from console.triage.model import WARNING, Finding, ObjectRef
from console.triage.owners import clock, duration, gpus_text, names

PEGGED = 95.0
"""Mean utilization at or above which a stalled job's GPUs count as spinning."""


def _ref(row: views.JobRow) -> ObjectRef:
    from console.cluster.session import PLURAL_OF_KIND

    return ObjectRef(PLURAL_OF_KIND.get(row.kind, "jobs"), row.namespace, row.name, "jobs")


def _rows(inputs: TriageInputs) -> list[views.JobRow]:
    """The jobs view's rows, built once per evaluation for the three rules."""
    cache = getattr(inputs.session, "cache", None)
    if cache is None:
        return []
    return inputs.once("job-rows", lambda: views.job_rows(cache, inputs.namespace, now=inputs.now))


def _pods(inputs: TriageInputs, row: views.JobRow) -> list[PodRecord]:
    return list(inputs.session.pods_of_job(row.namespace, row.name))


def _held(pods: list[PodRecord]) -> float:
    return sum(p.gpus for p in pods if p.holds_resources)


def _progress(inputs: TriageInputs, row: views.JobRow) -> Any:
    progress = inputs.progress or {}
    return progress.get(row.key) or progress.get((row.namespace, row.name))


def stalled_job(inputs: TriageInputs, t: Thresholds) -> Iterator[Finding]:
    if inputs.progress is None:
        inputs.notes.append("stalled-job skipped: no MLflow tracking")
        return
    stall = max(0.0, t.stall_minutes * 60.0)
    for row in _rows(inputs):
        progress = _progress(inputs, row)
        if progress is None or not progress.stalled(row.state, inputs.now, stall):
            continue
        pods = _pods(inputs, row)
        util = _util(inputs, row, pods)
        if util is not None and t.idle_util <= util < PEGGED:
            continue  # the GPUs work: not the hang pattern
        last = progress.last_logged or (progress.run.start_time if progress.run else None) or 0.0
        point = progress.metric
        step = f"step {point.step}" if point is not None else "no step logged"
        pattern = "unknown (no telemetry)" if util is None else f"{util:.0f}%"
        held = _held(pods) or row.gpus
        how = "idle" if util is not None and util < t.idle_util else "pegged"
        yield Finding(
            rule="stalled-job",
            severity=WARNING,
            title=f"training stalled: no new step for {duration(inputs.now - last)}"
            + ("" if util is None else f", GPUs {how}"),
            object=_ref(row),
            evidence=(
                f"last {step} at {clock(last)} ({duration(inputs.now - last)} ago)",
                f"GPU utilization {pattern} on {gpus_text(held)}",
                f"MLflow run {progress.run_id}",
            ),
            action="tail the job's logs (l) for an NCCL timeout or a stuck rank, then "
            "delete it (ctrl+d) and restart from the last checkpoint",
            action_key="l",
            gpus=held,
            since=last,
            data={
                "last_step": point.step if point is not None else None,
                "minutes_since_step": round((inputs.now - last) / 60.0, 1),
                "util": None if util is None else round(util, 1),
                "run_id": progress.run_id,
                "gpus": held,
            },
        )


def _util(inputs: TriageInputs, row: views.JobRow, pods: list[PodRecord]) -> float | None:
    store = inputs.store
    if store is None or inputs.telemetry.startswith("none"):
        return None
    figures = store.workload(row.pods_key, [p.key for p in pods])
    return figures.mean_util if figures.gpus else None


def _crashing(pod: PodRecord, restarts: float) -> bool:
    if pod.status == "CrashLoopBackOff":
        return True
    if any(c.reason == "CrashLoopBackOff" for c in pod.containers):
        return True
    return pod.restarts >= restarts and pod.phase not in ("Succeeded", "Failed")


def crashloop(inputs: TriageInputs, t: Thresholds) -> Iterator[Finding]:
    for row in _rows(inputs):
        if row.state in ("Succeeded", "Failed", "Suspended"):
            continue
        pods = [p for p in _pods(inputs, row) if _crashing(p, t.restarts)]
        if not pods:
            continue
        worst = max(pods, key=lambda p: (p.restarts, p.name))
        looping = [
            p for p in pods if "CrashLoopBackOff" in (p.status, *(c.reason for c in p.containers))
        ]
        last = worst.last_termination or "no termination recorded"
        held = _held(_pods(inputs, row)) or row.gpus
        title = "replicas crash-looping" if looping else "replicas restarting"
        yield Finding(
            rule="crashloop",
            severity=WARNING,
            title=f"{title}: {worst.restarts} restarts, last {last}",
            object=_ref(row),
            evidence=(
                f"{len(pods)} pod{'s' if len(pods) > 1 else ''}: "
                + names([f"{p.name} ({p.status}, {p.restarts} restarts)" for p in pods], 3),
                f"last termination: {last}"
                + (f" at {clock(worst.last_restart)}" if worst.last_restart else ""),
            ),
            action="read the previous container's logs (l, then p) for the error, fix and "
            "resubmit; delete the job (ctrl+d) meanwhile to free its GPUs",
            action_key="l",
            gpus=held,
            since=worst.last_restart,
            data={
                "restarts": worst.restarts,
                "last_termination": worst.last_termination,
                "pods": [p.name for p in pods],
                "crash_loop_back_off": len(looping),
                "gpus": held,
            },
        )


def job_failed(inputs: TriageInputs, t: Thresholds) -> Iterator[Finding]:
    window = max(0.0, t.failed_hours * 3600.0)
    for row in _rows(inputs):
        if row.state != "Failed":
            continue
        record = inputs.session.get(_ref(row).kind, (row.namespace, row.name))
        when = _failed_at(record)
        if not when or inputs.now - when > window:
            continue
        reason = row.reason or "Failed"
        message = row.message.splitlines()[0][:200] if row.message else ""
        held = _held(_pods(inputs, row))
        yield Finding(
            rule="job-failed",
            severity=WARNING,
            title=f"job failed {duration(inputs.now - when)} ago: {reason}",
            object=_ref(row),
            evidence=tuple(
                line
                for line in (
                    f"failed at {clock(when)} ({duration(inputs.now - when)} ago)",
                    f"reason: {reason}",
                    f"message: {message}" if message else "",
                    f"{gpus_text(row.gpus)} asked",
                )
                if line
            ),
            action="read its logs (l) for the error, fix and resubmit",
            action_key="l",
            gpus=held,
            since=when,
            data={
                "reason": reason,
                "message": message,
                "failed_at": when,
                "gpus_requested": row.gpus,
            },
        )


def _failed_at(record: Any) -> float:
    """When a job failed: its Failed condition's time, else its completion time."""
    if record is None:
        return 0.0
    for cond in getattr(record, "conditions", ()):
        if cond.type == "Failed" and cond.status == "True" and cond.since:
            return cond.since
    return getattr(record, "completed", 0.0) or 0.0


RULES: tuple[Rule, ...] = (stalled_job, crashloop, job_failed)
