"""The triage engine: runs every rule over one moment of cluster, telemetry and tracking
state and ranks what they find. No Textual.

A rule is a function `(TriageInputs, Thresholds) -> Iterable[Finding]`; rule modules list
theirs in a `RULES` tuple and `ALL_RULES` below collects them. Rules never raise on
cluster data: the engine turns a rule that does into a note (and logs it), so one bad
record cannot hide every other finding. A `Triage` lives as long as its session: rules
that need memory across evaluations (how long a GPU has been idle, since when a change
waits to converge) keep it in `TriageInputs.state`, a dict owned by that `Triage`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from console.triage.model import Finding, Report, rank

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The rules' limits (settings `triage_*`, see `console.config.Settings`)."""

    idle_util: float = 5.0
    idle_minutes: float = 30.0
    hot_celsius: float = 85.0
    stall_minutes: float = 5.0
    pending_minutes: float = 5.0
    restarts: float = 3.0
    failed_hours: float = 24.0
    converge_minutes: float = 5.0
    device_plugin_config: str = ""
    """The `device_plugin_config` setting (`namespace/name` of the sharing ConfigMap), ""
    for the GPU Operator's ClusterPolicy: where timeslice-stuck reads the configs."""

    @classmethod
    def from_settings(cls, settings: Any) -> Thresholds:
        """From a `console.config.Settings` (duck-typed: missing attributes keep defaults)."""
        names = {
            "idle_util": "triage_idle_util",
            "idle_minutes": "triage_idle_minutes",
            "hot_celsius": "triage_hot_celsius",
            "stall_minutes": "mlflow_stall_minutes",
            "pending_minutes": "triage_pending_minutes",
            "restarts": "triage_restarts",
            "failed_hours": "triage_failed_hours",
            "converge_minutes": "triage_converge_minutes",
        }
        given = {k: getattr(settings, v) for k, v in names.items() if hasattr(settings, v)}
        plugin_config = getattr(settings, "device_plugin_config", None)
        return cls(
            **{k: float(v) for k, v in given.items() if v is not None},
            device_plugin_config=plugin_config if isinstance(plugin_config, str) else "",
        )


@dataclass
class TriageInputs:
    """One moment of everything the rules read. Every part but `session` may be missing."""

    session: Any
    """A `console.cluster.session.ClusterSession` (reads: `items`, `get`, `pods_on_node`,
    `pods_of_job`, `pods_of`, `state`, `has`, `ledger`)."""
    now: float
    store: Any = None
    """The `console.metrics.store.TelemetryStore`, or None without telemetry."""
    telemetry: str = "none"
    """What telemetry is: `dcgm`, `prometheus`, or `none: <why>`."""
    progress: Mapping[Any, Any] | None = None
    """MLflow: `(kind, namespace, job) → console.tracking.progress.JobProgress`, or None."""
    namespace: str | None = None
    """Only findings in this namespace (None: all); cluster-scoped ones always show."""
    state: dict[str, Any] = field(default_factory=dict)
    """Memory across evaluations, per rule (owned by the `Triage`)."""
    notes: list[str] = field(default_factory=list)
    """Rules append what they could not check here."""
    sources: dict[str, str] = field(default_factory=dict)
    """Rules add how they got what they report (e.g. `idle_duration`)."""
    memo: dict[str, Any] = field(default_factory=dict)
    """What several rules read, computed once for this evaluation (`once`)."""

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """`compute()`'s value, computed at the first ask of this evaluation (a view's rows,
        one walk over the pods) and shared by every rule that asks after."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


Rule = Callable[[TriageInputs, Thresholds], Iterable[Finding]]


def all_rules() -> tuple[Rule, ...]:
    """Every rule module's `RULES`, imported on first use."""
    from console.triage import rules_gpu, rules_nodes, rules_workloads

    return (*rules_gpu.RULES, *rules_nodes.RULES, *rules_workloads.RULES)


class Triage:
    """Evaluates the rules; keeps their memory between evaluations of one session."""

    def __init__(self, thresholds: Thresholds | None = None, rules: Iterable[Rule] | None = None):
        self.thresholds = thresholds or Thresholds()
        self._rules = tuple(rules) if rules is not None else None
        self.state: dict[str, Any] = {}

    def evaluate(
        self,
        session: Any,
        *,
        store: Any = None,
        telemetry: str = "none",
        progress: Mapping[Any, Any] | None = None,
        namespace: str | None = None,
        now: float | None = None,
        context: str = "",
    ) -> Report:
        inputs = TriageInputs(
            session=session,
            now=time.time() if now is None else now,
            store=store,
            telemetry=telemetry,
            progress=progress,
            namespace=namespace,
            state=self.state,
        )
        inputs.sources.update(
            telemetry=telemetry, tracking="mlflow" if progress is not None else "none"
        )
        rules = self._rules if self._rules is not None else all_rules()
        found: dict[str, Finding] = {}
        for rule in rules:
            try:
                for finding in rule(inputs, self.thresholds):
                    if namespace and finding.namespace and finding.namespace != namespace:
                        continue
                    found.setdefault(finding.id, finding)
            except Exception as exc:  # one broken rule must not hide the others
                name = getattr(rule, "__name__", "rule")
                log.exception("triage rule %s failed", name)
                inputs.notes.append(f"rule {name} failed: {type(exc).__name__}")
        findings = rank(found.values())
        idle: dict[str, float] = {}
        for f in findings:
            # an undated idle allocation (for how long is not known) wastes no known hours yet
            dated = f.rule == "idle-allocated" and not f.data.get("undated")
            hours = f.data.get("gpu_hours_idle") if dated else None
            if isinstance(hours, int | float):
                idle[f.namespace] = round(idle.get(f.namespace, 0.0) + hours, 2)
        return Report(
            findings=tuple(findings),
            generated=inputs.now,
            context=context,
            sources=dict(inputs.sources),
            notes=tuple(dict.fromkeys(inputs.notes)),
            idle_gpu_hours=idle,
        )
