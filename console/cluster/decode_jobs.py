"""Decoding the training jobs — batch Job, Kubeflow PyTorchJob/TFJob/MPIJob, JobSet, TrainJob —
from wire structs into `JobRecord`s: roles with their desired replicas and per-pod GPUs,
and kubectl's State column.
"""

from __future__ import annotations

from console.cluster import gpu, wire
from console.cluster.decode_fields import clean_labels, conds, line, parse_time
from console.cluster.records import Cond, JobRecord, Role


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
) -> JobRecord:
    last = _job_state(conditions)
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
        started=parse_time(status.start_time) if status else 0.0,
        completed=parse_time(status.completion_time) if status else 0.0,
        annotations=_annotations(meta),
        run_env=_run_env(templates) if templates else {},
        invalid=tuple(sorted({line(n) for n in invalid})) if invalid else (),
    )


def kubeflow_job_record(kind: str, job: wire.KubeflowJob) -> JobRecord:
    """PyTorchJob / TFJob / MPIJob (Kubeflow training-operator v1)."""
    spec = job.spec
    specs = spec.pytorch_replica_specs or spec.tf_replica_specs or spec.mpi_replica_specs
    statuses = job.status.replica_statuses
    roles = []
    invalid: list[str] = []
    for name, replica in specs.items():
        rs = statuses.get(name, wire.ReplicaStatus())
        desired = 1 if replica.replicas is None else replica.replicas
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
    desired = spec.parallelism if spec.parallelism is not None else 1
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


def jobset_record(jobset: wire.JobSet) -> JobRecord:
    by_name = {s.name: s for s in jobset.status.replicated_jobs_status}
    roles = []
    invalid: list[str] = []
    for rj in jobset.spec.replicated_jobs:
        st = by_name.get(rj.name, wire.ReplicatedJobStatus())
        per_job = rj.template.spec.parallelism or 1
        gpus = sum(gpu.template_request(rj.template.spec.template, invalid).values())
        roles.append(
            Role(
                line(rj.name),
                rj.replicas * per_job,
                st.active,
                st.succeeded,
                st.failed,
                st.ready,
                gpus,
            )
        )
    conditions = conds(jobset.status.conditions)
    return _job_record(
        "JobSet",
        jobset.metadata,
        conditions,
        tuple(roles),
        "",
        jobset.spec.suspend,
        None,
        invalid=invalid,
    )


def trainjob_record(job: wire.TrainJob) -> JobRecord:
    trainer = job.spec.trainer
    invalid: list[str] = []
    per_node = gpu.gpu_quantities(trainer.resources_per_node.limits, invalid)
    per_node.update(gpu.gpu_quantities(trainer.resources_per_node.requests, invalid))
    desired = trainer.num_nodes or 1
    role = Role("node", desired, 0, 0, 0, None, sum(per_node.values()))
    conditions = conds(job.status.conditions)
    return _job_record(
        "TrainJob",
        job.metadata,
        conditions,
        (role,),
        "",
        job.spec.suspend,
        job.status,
        invalid=invalid,
    )
