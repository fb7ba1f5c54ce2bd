"""Decoding the training jobs — batch Job, Kubeflow PyTorchJob/TFJob/MPIJob/XGBoostJob/JAXJob/
PaddleJob, JobSet, TrainJob (Kubeflow Trainer v2) and its runtimes — from wire structs into
records: roles with their desired pods and per-pod GPUs, and the state an on-call engineer
reads (kubectl's State column for Kubeflow jobs; from conditions and Job counts for a JobSet
or TrainJob, which have no Running condition).
"""

from __future__ import annotations

from console.cluster import gpu, wire
from console.cluster.decode_fields import clean_labels, conds, count, line, parse_time
from console.cluster.records import Cond, JobRecord, Role, RuntimeRecord


def _job_state(conditions: tuple[Cond, ...]) -> Cond | None:
    """kubectl's State: the last condition whose status is True."""
    return next((c for c in reversed(conditions) if c.status == "True"), None)


_LONG_ANNOTATION = 512


def _annotations(meta: wire.Meta) -> dict[str, str]:
    """The job's annotations for run links: cleaned, long values (applied configs) left out."""
    kept = {k: v for k, v in meta.annotations.items() if len(v) <= _LONG_ANNOTATION}
    return clean_labels(kept) if kept else {}


def _run_env(templates: list[wire.JobTemplate]) -> dict[str, str]:
    """`MLFLOW_*` variables set in the pod templates (the first value of each name wins)."""
    found: dict[str, str] = {}
    for template in templates:
        for c in template.spec.containers:
            for var in c.env:
                if var.name.startswith("MLFLOW_") and var.name not in found:
                    found[var.name] = var.value
    return clean_labels(found) if found else {}


def _job_record(
    kind: str,
    meta: wire.Meta,
    conditions: tuple[Cond, ...],
    roles: tuple[Role, ...],
    queue: str,
    suspended: bool,
    status: wire.JobStatus | None,
    default_state: str = "",
    templates: list[wire.JobTemplate] | None = None,
    invalid: list[str] | None = None,
    state: Cond | None = None,
    times: tuple[float, float] | None = None,
    **extra: object,
) -> JobRecord:
    last = state or _job_state(conditions)
    labels = clean_labels(meta.labels)
    return JobRecord(
        kind=kind,
        namespace=line(meta.namespace),
        name=line(meta.name),
        uid=line(meta.uid),
        labels=labels,
        state=last.type if last else default_state,
        state_reason=last.reason if last else "",
        state_message=last.message if last else "",
        conditions=conditions,
        roles=roles,
        gpus=sum(r.desired * r.gpus_per_pod for r in roles),
        queue=labels.get("kueue.x-k8s.io/queue-name", "") or line(queue),
        suspended=suspended,
        created=parse_time(meta.creation_timestamp),
        started=times[0] if times else (parse_time(status.start_time) if status else 0.0),
        completed=times[1] if times else (parse_time(status.completion_time) if status else 0.0),
        annotations=_annotations(meta),
        run_env=_run_env(templates) if templates else {},
        invalid=tuple(sorted({line(n) for n in invalid})) if invalid else (),
        **extra,  # type: ignore[arg-type]
    )


def kubeflow_job_record(kind: str, job: wire.KubeflowJob) -> JobRecord:
    """PyTorchJob / TFJob / XGBoostJob / JAXJob / PaddleJob (training-operator `kubeflow.org/v1`)
    and MPIJob (mpi-operator `kubeflow.org/v2beta1`): one shape, the replica map's name differs."""
    spec = job.spec
    specs = (
        spec.pytorch_replica_specs
        or spec.tf_replica_specs
        or spec.mpi_replica_specs
        or spec.xgb_replica_specs
        or spec.jax_replica_specs
        or spec.paddle_replica_specs
    )
    statuses = job.status.replica_statuses
    roles = []
    invalid: list[str] = []
    for name, replica in specs.items():
        rs = statuses.get(name, wire.ReplicaStatus())
        desired = count(replica.replicas, 1)
        gpus = sum(gpu.template_request(replica.template, invalid).values())
        roles.append(Role(line(name), desired, rs.active, rs.succeeded, rs.failed, None, gpus))
    conditions = conds(job.status.conditions)
    policy = spec.run_policy
    return _job_record(
        kind,
        job.metadata,
        conditions,
        tuple(roles),
        policy.scheduling_policy.queue,
        policy.suspend,
        job.status,
        default_state="Created" if not conditions else "",
        templates=[replica.template for replica in specs.values()],
        invalid=invalid,
    )


def batch_job_record(job: wire.BatchJob) -> JobRecord:
    spec, status = job.spec, job.status
    desired = count(spec.parallelism, 1)
    invalid: list[str] = []
    gpus = sum(gpu.template_request(spec.template, invalid).values())
    role = Role("", desired, status.active, status.succeeded, status.failed, status.ready, gpus)
    conditions = conds(status.conditions)
    state = "Running" if status.active else ("Suspended" if spec.suspend else "Pending")
    return _job_record(
        "Job",
        job.metadata,
        conditions,
        (role,),
        "",
        spec.suspend,
        status,
        default_state=state,
        templates=[spec.template],
        invalid=invalid,
    )


def _true(conditions: tuple[Cond, ...], *types: str) -> Cond | None:
    """The first condition of `types` (in that order of precedence) whose status is True."""
    for type_ in types:
        for c in conditions:
            if c.type == type_ and c.status == "True":
                return c
    return None


def _resumed(conditions: tuple[Cond, ...]) -> Cond | None:
    return next((c for c in conditions if c.type == "Suspended" and c.status == "False"), None)


def _jobs_state(
    conditions: tuple[Cond, ...],
    statuses: list[wire.ReplicatedJobStatus],
    suspend: bool,
    created: float,
    done_types: tuple[str, ...],
) -> tuple[Cond, tuple[float, float]]:
    """State of a JobSet or TrainJob: a terminal condition, else Suspended, else Running
    while any of its Jobs is active (its Job counts), else Pending; and (started, ended).

    Neither writes a Running condition: a running one has no conditions or only
    `Suspended=False` (resumed, typical under Kueue)."""
    done = _true(conditions, *done_types)
    resumed = _resumed(conditions)
    started = resumed.since if resumed and resumed.since else created
    if done is not None:
        return done, (started, done.since)
    suspended = _true(conditions, "Suspended")
    if suspended is not None or suspend:
        return suspended or Cond("Suspended", "True"), (0.0, 0.0)
    if any(s.active or s.ready for s in statuses):
        reason = resumed.reason if resumed else ""
        return Cond("Running", "True", reason), (started, 0.0)
    return Cond("Pending", "True", resumed.reason if resumed else ""), (0.0, 0.0)


def _owner_kind(meta: wire.Meta) -> str:
    ref = next((r for r in meta.owner_references if r.controller), None)
    return line(ref.kind) if ref else ""


def jobset_record(jobset: wire.JobSet) -> JobRecord:
    """A JobSet (`jobset.x-k8s.io/v1alpha2`): one role per replicated job, in pods.

    `replicatedJobsStatus` counts Jobs; a role's active/succeeded/failed are those Job counts
    times the pods a Job runs (its parallelism); the jobs view counts ready pods itself."""
    by_name = {s.name: s for s in jobset.status.replicated_jobs_status}
    roles = []
    invalid: list[str] = []
    for rj in jobset.spec.replicated_jobs:
        st = by_name.get(rj.name, wire.ReplicatedJobStatus())
        job_spec = rj.template.spec
        per_job = 1 if job_spec.parallelism is None else max(job_spec.parallelism, 0)
        gpus = sum(gpu.template_request(job_spec.template, invalid).values())
        roles.append(
            Role(
                line(rj.name),
                max(rj.replicas, 0) * per_job,
                st.active * per_job,
                st.succeeded * per_job,
                st.failed * per_job,
                st.ready,
                gpus,
            )
        )
    conditions = conds(jobset.status.conditions)
    created = parse_time(jobset.metadata.creation_timestamp)
    state, times = _jobs_state(
        conditions,
        jobset.status.replicated_jobs_status,
        jobset.spec.suspend,
        created,
        ("Failed", "Completed"),
    )
    return _job_record(
        "JobSet",
        jobset.metadata,
        conditions,
        tuple(roles),
        "",
        jobset.spec.suspend or state.type == "Suspended",
        None,
        templates=[rj.template.spec.template for rj in jobset.spec.replicated_jobs],
        invalid=invalid,
        state=state,
        times=times,
        owner_kind=_owner_kind(jobset.metadata),
    )


TRAINER_JOB = "node"
"""The replicated job that runs the trainer in Trainer v2 runtimes (`trainer-node` before)."""


def trainer_replicated_job(spec: wire.JobSetSpec) -> wire.ReplicatedJob | None:
    """The trainer's replicated job of a runtime's (or a TrainJob's JobSet's) spec."""
    jobs = spec.replicated_jobs
    for name in (TRAINER_JOB, "trainer-node"):
        found = next((rj for rj in jobs if rj.name == name), None)
        if found is not None:
            return found
    return jobs[-1] if jobs else None


def trainjob_record(job: wire.TrainJob) -> JobRecord:
    """A TrainJob (`trainer.kubeflow.org/v1alpha1`). Nodes and per-node GPUs come from
    `spec.trainer` when set; otherwise from its runtime (`runtime`, `sized=False`), which
    the views resolve through the runtime or the TrainJob's JobSet."""
    trainer = job.spec.trainer
    invalid: list[str] = []
    resources = trainer.resources_per_node
    per_node = gpu.gpu_quantities(resources.limits, invalid)
    per_node.update(gpu.gpu_quantities(resources.requests, invalid))
    has_resources = bool(resources.limits or resources.requests)
    desired = count(trainer.num_nodes)
    role = Role(TRAINER_JOB, desired, 0, 0, 0, None, sum(per_node.values()))
    conditions = conds(job.status.conditions)
    created = parse_time(job.metadata.creation_timestamp)
    state, times = _jobs_state(
        conditions,
        job.status.jobs_status,
        job.spec.suspend,
        created,
        ("Failed", "Complete"),
    )
    ref = job.spec.runtime_ref
    return _job_record(
        "TrainJob",
        job.metadata,
        conditions,
        (role,),
        "",
        job.spec.suspend or state.type == "Suspended",
        None,
        invalid=invalid,
        state=state,
        times=times,
        runtime=(line(ref.kind) or "ClusterTrainingRuntime", line(ref.name)),
        nodes_set=trainer.num_nodes is not None,
        resources_set=has_resources,
    )


def runtime_record(kind: str, runtime: wire.TrainingRuntime) -> RuntimeRecord:
    """A ClusterTrainingRuntime or TrainingRuntime: default nodes and GPUs per node."""
    meta, spec = runtime.metadata, runtime.spec
    invalid: list[str] = []
    trainer = trainer_replicated_job(spec.template.spec)
    gpus = 0.0
    replicas = 1
    if trainer is not None:
        gpus = sum(gpu.template_request(trainer.template.spec.template, invalid).values())
        replicas = max(trainer.replicas, 0)
    nodes = spec.ml_policy.num_nodes
    return RuntimeRecord(
        kind=kind,
        namespace=line(meta.namespace),
        name=line(meta.name),
        uid=line(meta.uid),
        labels=clean_labels(meta.labels),
        num_nodes=max(nodes, 0) if nodes is not None else replicas,
        gpus_per_node=gpus,
        created=parse_time(meta.creation_timestamp),
        invalid=tuple(sorted({line(n) for n in invalid})),
    )
