"""Which MLflow run a training job is: the linking rules, tried in the configured order, the
first match wins (`Settings.mlflow_link_rules`, default `annotation,env,tag,name`):

- `annotation`: the job's annotation `Settings.mlflow_run_annotation` (`mlflow.org/run-id`)
  holds the run id;
- `env`: a container of the job's pod template sets `Settings.mlflow_run_env`
  (`MLFLOW_RUN_ID`, which the MLflow client itself resumes);
- `tag`: a run's tag `Settings.mlflow_job_tag` (`k8s.job`) is `<namespace>/<job>` — what
  a training script sets with `mlflow.set_tag`;
- `name`: the run's name equals the job's name (the newest such run, among the newest
  `4 × unlinked jobs + 100` runs: MLflow cannot search for many names at once).

Each link says which rule matched; the job detail shows it. No Textual.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from console.tracking.client import RunFacts, valid_run_id

RULE_LABELS = {"annotation": "annotation", "env": "env", "tag": "run tag", "name": "run name"}


@dataclass(frozen=True, slots=True)
class LinkRules:
    order: tuple[str, ...] = ("annotation", "env", "tag", "name")
    annotation: str = "mlflow.org/run-id"
    env: str = "MLFLOW_RUN_ID"
    tag: str = "k8s.job"

    @classmethod
    def from_settings(cls, settings: object) -> LinkRules:
        order = str(getattr(settings, "mlflow_link_rules", "") or ",".join(cls.order))
        return cls(
            tuple(r.strip() for r in order.split(",") if r.strip() in RULE_LABELS),
            getattr(settings, "mlflow_run_annotation", cls.annotation),
            getattr(settings, "mlflow_run_env", cls.env),
            getattr(settings, "mlflow_job_tag", cls.tag),
        )

    @property
    def needs_search(self) -> bool:
        """Whether a rule matches on runs (tag, name) rather than on the job alone."""
        return "tag" in self.order or "name" in self.order


@dataclass(frozen=True, slots=True)
class JobRef:
    """What linking and progress need of one training job (from its `JobRecord`)."""

    kind: str
    namespace: str
    name: str
    state: str
    annotations: Mapping[str, str] = field(default_factory=dict)
    run_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class Link:
    run_id: str
    rule: str  # a key of RULE_LABELS

    @property
    def label(self) -> str:
        return RULE_LABELS.get(self.rule, self.rule)


class Candidates:
    """Recent runs indexed for the tag and run-name rules (newest first wins)."""

    def __init__(self, runs: Iterable[RunFacts], tag: str) -> None:
        self.by_tag: dict[str, str] = {}
        self.by_name: dict[str, str] = {}
        for run in runs:
            value = run.tags.get(tag)
            if value:
                self.by_tag.setdefault(value, run.run_id)
            if run.run_name:
                self.by_name.setdefault(run.run_name, run.run_id)


def direct_value(job: JobRef, rules: LinkRules, rule: str) -> str | None:
    """The run id the job itself names under `rule` (annotation or env), if any."""
    if rule == "annotation":
        value = job.annotations.get(rules.annotation)
    elif rule == "env":
        value = job.run_env.get(rules.env)
    else:
        return None
    return value.strip() if value and value.strip() else None


def resolve(job: JobRef, rules: LinkRules, candidates: Candidates | None) -> Link | None:
    """The first rule that matches, or None (None also while the runs are not searched yet
    and no earlier rule matched). An annotation or env value that is no run id still
    links: the job detail then says the run was not found."""
    for rule in rules.order:
        if rule in ("annotation", "env"):
            value = direct_value(job, rules, rule)
            if value:
                return Link(value if valid_run_id(value) else value[:64], rule)
            continue
        if candidates is None:
            return None
        if rule == "tag":
            run_id = candidates.by_tag.get(f"{job.namespace}/{job.name}")
        else:
            run_id = candidates.by_name.get(job.name)
        if run_id:
            return Link(run_id, rule)
    return None
