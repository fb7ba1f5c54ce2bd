"""What triage produces: findings, their ranking, the report and its stable JSON.

A `Finding` is one thing wrong right now: a rule id, a severity, the object it is about
(and the view Enter jumps to), the evidence (lines for people, `data` for scripts), the
suggested action and the key that does it from the object's view, and its impact in GPUs.
`Report.to_json()` is the documented, stable shape of `kmc triage -o json` (README,
"Headless commands"): keys are only ever added, never renamed or removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CRITICAL, WARNING, INFO = "critical", "warning", "info"
SEVERITIES = (CRITICAL, WARNING, INFO)
_RANK = {s: i for i, s in enumerate(SEVERITIES)}

SCHEMA_VERSION = 1

RULE_IDS: dict[str, str] = {
    "xid": "a GPU reported an XID error (code, meaning; hardware critical, application warning)",
    "row-remap": "a GPU's row remapping failed (critical) or it has uncorrectable remapped rows",
    "hot-gpu": "a GPU at or above triage_hot_celsius (+5 °C critical), or throttling",
    "node-not-ready": "a GPU node NotReady or Unknown (critical while it holds GPU pods)",
    "node-pressure": "a GPU node under memory, disk or PID pressure",
    "device-plugin-down": "the NVIDIA device plugin is not running on a GPU node",
    "exporter-down": "the DCGM exporter is not running on a GPU node, or sends nothing",
    "timeslice-stuck": "a node's requested time-slicing is not applied",
    "idle-allocated": "GPUs held by a pod below triage_idle_util for triage_idle_minutes",
    "stalled-job": "a Running job whose MLflow run logged no step for mlflow_stall_minutes",
    "crashloop": "training replicas crash-looping or restarting triage_restarts times",
    "job-failed": "a job Failed within triage_failed_hours",
    "pending-gpus": "GPU pods Pending longer than triage_pending_minutes, grouped by reason",
    "server-not-ready": "a model server with 0 ready replicas (critical) or a stuck rollout",
    "server-max-replicas": "an autoscaled model server pinned at its maxReplicas",
}
"""Every rule id a finding may carry, with what it checks (the README's table)."""


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """The object a finding is about.

    `kind` is the console's cache name (`nodes`, `pods`, `pytorchjobs`, `inferenceservices`,
    `deployments`, …: `console.cluster.kinds.KINDS`); `view` is where Enter leads
    (`nodes`, `jobs`, `servers`, `pods`); `gpu` narrows a node finding to one GPU index."""

    kind: str
    namespace: str
    name: str
    view: str
    gpu: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    def label(self) -> str:
        """`ns/name`, `name` for cluster-scoped objects, `name GPU 3` for one GPU."""
        text = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return text if self.gpu is None else f"{text} GPU {self.gpu}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "view": self.view,
            "gpu": self.gpu,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    """Stable id of the rule (`xid`, `hot-gpu`, `idle-allocated`, …): see `RULE_IDS`."""
    severity: str
    title: str
    """One line: what is wrong, e.g. `XID 79 (GPU fell off the bus)`."""
    object: ObjectRef
    evidence: tuple[str, ...] = ()
    """Short lines for people: values, events, durations."""
    action: str = ""
    """What to do, in words: `cordon the node, then drain it`."""
    action_key: str = ""
    """The key that does it from the object's view (`c`, `r`, `l`, `s`, `t`), or ""."""
    gpus: float = 0.0
    """GPUs affected: the impact the ranking uses after severity."""
    since: float = 0.0
    """Epoch seconds the condition began, 0.0 when unknown."""
    data: Mapping[str, Any] = field(default_factory=dict)
    """Machine-readable evidence (numbers, codes, durations): JSON-serialisable values."""

    @property
    def namespace(self) -> str:
        return self.object.namespace

    @property
    def id(self) -> str:
        """Unique within one report: rule and object (a row key)."""
        gpu = "" if self.object.gpu is None else f"#{self.object.gpu}"
        return f"{self.rule}:{self.object.kind}:{self.object.namespace}/{self.object.name}{gpu}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "severity": self.severity,
            "title": self.title,
            "object": self.object.to_json(),
            "evidence": list(self.evidence),
            "action": {"text": self.action, "key": self.action_key},
            "gpus": self.gpus,
            "since": self.since or None,
            "data": dict(self.data),
        }


def rank(findings: Iterable[Finding]) -> list[Finding]:
    """Severity first, then GPUs affected (more first), then rule and object for a stable
    order."""
    return sorted(findings, key=lambda f: (_RANK.get(f.severity, 9), -f.gpus, f.rule, f.id))


def exit_code(findings: Iterable[Finding]) -> int:
    """`kmc triage`'s exit code: 2 with any critical finding, 1 with warnings, else 0
    (info findings alone are 0)."""
    severities = {f.severity for f in findings}
    if CRITICAL in severities:
        return 2
    return 1 if WARNING in severities else 0


@dataclass(frozen=True, slots=True)
class Report:
    """One evaluation: ranked findings plus what the rules could and could not see."""

    findings: tuple[Finding, ...]
    generated: float
    """Epoch seconds of the evaluation."""
    context: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)
    """What each input was: `{"cluster": "live", "telemetry": "dcgm" | "prometheus" |
    "none: <why>", "tracking": "mlflow <uri>" | "none", "idle_duration": "prometheus
    history" | "seen since <time>"}`."""
    notes: tuple[str, ...] = ()
    """Rules that could not run and why (`telemetry unavailable: XID, heat and idle rules
    skipped`), kinds that are forbidden, …"""
    idle_gpu_hours: Mapping[str, float] = field(default_factory=dict)
    """Namespace → GPU-hours held idle so far (the idle-allocated findings summed)."""

    @property
    def exit_code(self) -> int:
        return exit_code(self.findings)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            out[f.severity] = out.get(f.severity, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "context": self.context,
            "generated": self.generated,
            "summary": {
                **self.counts(),
                "idle_gpu_hours_by_namespace": dict(sorted(self.idle_gpu_hours.items())),
            },
            "sources": dict(self.sources),
            "notes": list(self.notes),
            "findings": [f.to_json() for f in self.findings],
        }
