"""What the triage view's build adds to its rows: the session's `Triage` evaluated over
this moment of the caches, telemetry and MLflow progress (in the pipeline's builder
thread, never the UI's), and the facts the triage screen shows beside the rows — the whole
report (counts before the filter, notes, sources) and how many GPU nodes it looked at.
No Textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console.cluster.session import VIEW_KINDS
from console.triage.model import Report

TRIAGE_KINDS = tuple(dict.fromkeys(k for kinds in VIEW_KINDS.values() for k in kinds))
"""What triage reads: every view's kinds (its sync state and forbidden notes)."""


@dataclass(frozen=True)
class TriageFacts:
    """One evaluation, as the triage screen shows it beside its rows."""

    report: Report
    gpu_nodes: int


def evaluate(
    session: Any,
    triage: Any,
    telemetry: Any,
    tracking: Any,
    namespace: str | None,
    now: float,
    context: str = "",
) -> TriageFacts:
    """Run `triage` (a `console.triage.engine.Triage`, None: no rules) over the session,
    the telemetry link (None: turned off) and the MLflow link (None or disabled: none)."""
    gpu_nodes = sum(
        1
        for node in session.items("nodes")
        if getattr(node, "has_gpus", False) or getattr(node, "gpu_count", 0)
    )
    if triage is None:
        return TriageFacts(Report((), now, context), gpu_nodes)
    store, source = triage_telemetry(telemetry)
    progress = tracking.progress() if tracking is not None and tracking.enabled else None
    report = triage.evaluate(
        session,
        store=store,
        telemetry=source,
        progress=progress,
        namespace=namespace,
        now=now,
        context=context,
    )
    return TriageFacts(report, gpu_nodes)


def triage_telemetry(telemetry: Any) -> tuple[Any, str]:
    """The telemetry store the rules read and what it is (`dcgm`, `prometheus`, or
    `none: <why>`), from a `console.metrics.link.TelemetryLink` (None: turned off)."""
    if telemetry is None:
        return None, "none: off"
    status = telemetry.status()
    if telemetry.store is not None and telemetry.has_data():
        return telemetry.store, status.source
    return None, f"none: {status.label()}"


def triage_notes(session: Any, facts: TriageFacts | None) -> list[str]:
    """The triage view's notes: what the rules could not check, then the kinds the user may
    not list (an optional kind that is not installed is no news to triage)."""
    out = list(facts.report.notes) if facts is not None else []
    forbidden = [
        note
        for view in VIEW_KINDS
        for note in session.notes(view)
        if not note.startswith("not installed")
    ]
    return list(dict.fromkeys(out + forbidden))
