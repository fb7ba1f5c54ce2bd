"""The triage view (`TRIAGE`): one row per finding of a `console.triage.model.Report`, in
the report's ranking (severity, then GPUs affected) — severity, what is wrong, the object,
GPUs affected, since when, the first line of evidence, the suggested action and its key,
and (wide) all the evidence. The builder reads the report through `RowContext.triage`.

Column priorities follow what on-call needs first: at 80 columns a finding keeps its
severity, title and object, then GPUs and the action; the evidence, since when and the
rule id come with the width. `kmc triage -o table` prints the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from console.cluster.kinds import JOB_KINDS
from console.render.base import Column, Hint, Row, RowCache, RowContext, Scope, View
from console.render.fmt import age, gpus
from console.text import clean_line
from console.triage.model import CRITICAL, INFO, SEVERITIES, WARNING, Finding, Report

if TYPE_CHECKING:
    from console.cluster.session import ClusterSession

SEVERITY_HINT: dict[str, Hint] = {CRITICAL: "bad", WARNING: "warn", INFO: "dim"}
SEVERITY_TEXT = {CRITICAL: "CRIT", WARNING: "WARN", INFO: "INFO"}
_RANK = {s: i for i, s in enumerate(SEVERITIES)}

COLUMNS = (
    Column("sev", "SEV", 0, 4, sort="value"),
    Column("finding", "FINDING", 0, 24),
    Column("object", "OBJECT", 0, 20, cut="middle"),
    Column("gpus", "GPUS", 1, 4, "right", "number"),
    Column("since", "SINCE", 5, 5, sort="value"),
    Column("evidence", "EVIDENCE", 3, 20),
    Column("action", "ACTION", 2, 16),
    Column("rule", "RULE", 6, 8),
    Column("details", "ALL EVIDENCE", 9, 20),
)
SINCE_INDEX = [c.key for c in COLUMNS].index("since")


def _text(value: object) -> str:
    return clean_line(value).strip()


def action_text(finding: Finding) -> str:
    """`cordon the node, then drain it [c]`: the action, and its key when it has one."""
    text = _text(finding.action)
    key = _text(finding.action_key)
    if key:
        return f"{text} [{key}]" if text else f"[{key}]"
    return text or "-"


def since_text(finding: Finding, now: float) -> str:
    return age(now - finding.since) if finding.since else "-"


def finding_row(finding: Finding, now: float) -> Row:
    evidence = [_text(line) for line in finding.evidence if _text(line)]
    cells = (
        SEVERITY_TEXT.get(finding.severity, _text(finding.severity).upper() or "?"),
        _text(finding.title) or finding.rule,
        _text(finding.object.label()),
        gpus(finding.gpus) if finding.gpus else "-",
        since_text(finding, now),
        evidence[0] if evidence else "-",
        action_text(finding),
        _text(finding.rule),
        " · ".join(evidence) or "-",
    )
    hint = SEVERITY_HINT.get(finding.severity)
    styles = (hint, *(None,) * (len(cells) - 1))
    sort_values = {
        "sev": float(_RANK.get(finding.severity, 9)),
        "since": finding.since or None,
    }
    return Row(finding.id, cells, hint, styles, record=finding, sort_values=sort_values)


def triage_rows(report: Report | None, now: float) -> list[Row]:
    """The rows of `report`'s findings, in its order (empty without a report)."""
    if report is None:
        return []
    return [finding_row(f, now) for f in report.findings]


def report_of(source: Any) -> Report | None:
    """The report behind `RowContext.triage`: a `Report`, or what its `report()` returns."""
    if source is None or isinstance(source, Report):
        return source
    getter = getattr(source, "report", None)
    return getter() if callable(getter) else None


def _in_namespace(findings: Iterable[Finding], namespace: str | None) -> list[Finding]:
    if not namespace:
        return list(findings)
    return [f for f in findings if not f.namespace or f.namespace == namespace]


def build_triage(session: ClusterSession, ctx: RowContext, cache: RowCache) -> list[Row]:
    """The findings of `ctx.triage`'s report in the namespace (cluster-scoped ones always);
    a finding's row is rebuilt when the finding changed, its SINCE ticks in place."""
    report = report_of(ctx.triage)
    cache.begin((ctx.namespace,))
    out = []
    for finding in _in_namespace(report.findings if report else (), ctx.namespace):
        key = finding.id
        inputs = (finding,)
        row = cache.get(key, inputs)
        if row is None:
            row = cache.put(key, inputs, finding_row(finding, ctx.now))
        else:
            row = cache.with_cell(key, row, SINCE_INDEX, since_text(finding, ctx.now))
        out.append(row)
    cache.end()
    return out


def drill(finding: Any) -> tuple[str, Scope] | None:
    """Where Enter on a finding leads: the node's row for a node, the job's pods for a job."""
    obj = getattr(finding, "object", None)
    if obj is None:
        return None
    if obj.kind == "nodes":
        return "nodes", Scope(f"node {obj.name}", name=obj.name)
    if obj.kind in JOB_KINDS:
        return "pods", Scope(f"pods of {obj.namespace}/{obj.name}", job=(obj.namespace, obj.name))
    return None


TRIAGE = View(
    "triage",
    "Triage",
    COLUMNS,
    build_triage,
    drill,
    lambda finding: getattr(getattr(finding, "object", None), "kind", "") or "nodes",
)
