"""Row data for the views, computed from the shared cache. Pure functions, no I/O.

Each `*_rows` function reads the informers through their locked accessors and
returns frozen rows (plain data, cleaned strings, numbers not yet formatted), keyed
by `row.key` for diffing. Only GPU-relevant objects are walked: nodes/pods through
their "gpu" index, never all 200,000 pods.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import msgspec

from console.cluster.accounting import GpuUsage
from console.cluster.cache import ClusterCache
from console.cluster.kinds import JOB_KINDS
from console.cluster.records import (
    JobRecord,
    NodeRecord,
    PodRecord,
    Role,
)

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class NodeRow:
    key: Key
    name: str
    pool: str
    product: str
    sharing: str
    gpus_requested: float
    gpus_allocatable: float
    usage: GpuUsage  # per resource name
    ready: str  # Ready | NotReady | Unknown
    pressures: tuple[str, ...]
    cordoned: bool
    taints: tuple[str, ...]
    gpu_pods: int
    age: float  # seconds


@dataclass(frozen=True, slots=True)
class RoleCount:
    name: str
    ready: int
    desired: int


@dataclass(frozen=True, slots=True)
class JobRow:
    key: tuple[str, str, str]  # (kind, namespace, name)
    kind: str
    namespace: str
    name: str
    state: str
    reason: str
    message: str
    age: float
    duration: float  # running time so far, or start → completion
    roles: tuple[RoleCount, ...]
    gpus: float
    queue: str
    restarts: int
    pending_pods: int
    pods_key: tuple[str, str, str] = ("", "", "")
    """(kind, namespace, name) its pods name as their workload (a TrainJob's pods: its
    JobSet's), the key of its telemetry figures."""


@dataclass(frozen=True, slots=True)
class PodRow:
    key: Key
    namespace: str
    name: str
    node: str
    phase: str
    status: str  # what kubectl's STATUS column would say (Terminating, CrashLoopBackOff, …)
    ready: str  # "1/2"
    restarts: int
    gpus: float
    gpu_request: dict[str, float]
    workload: tuple[str, str]
    age: float
    pending_reason: str
    pending_message: str
    waiting: float  # seconds Pending so far (0 when scheduled)


@dataclass(frozen=True, slots=True)
class Totals:
    usage: GpuUsage
    gpu_nodes: int
    ready_nodes: int
    gpu_pods: int
    pending_gpu_pods: int


def age_seconds(created: float, now: float) -> float:
    """Seconds since `created` (0 when unknown)."""
    return max(0.0, now - created) if created else 0.0


def in_namespace(namespace: str | None, record_ns: str) -> bool:
    """Whether a record of `record_ns` is in scope (`namespace` None: all namespaces)."""
    return namespace is None or record_ns == namespace


def pod_ready(pod: PodRecord) -> bool:
    return pod.phase == "Running" and pod.ready_containers == pod.total_containers > 0


def pod_status(pod: PodRecord) -> str:
    """STATUS as `kubectl get pods` prints it (computed once, when the pod was decoded)."""
    return pod.status


# ------------------------------------------------------------------ nodes


def gpu_node_rows(
    cache: ClusterCache, include_cpu: bool = False, now: float | None = None
) -> list[NodeRow]:
    now = time.time() if now is None else now
    informer = cache["nodes"]
    nodes = informer.items() if include_cpu else informer.by_index("gpu", "gpu")
    return [gpu_node_row(node, cache.ledger.node(node.name), now) for node in nodes]


def gpu_node_row(node: NodeRecord, usage: GpuUsage, now: float) -> NodeRow:
    """One node's row (the console rebuilds only the rows of nodes that changed)."""
    return NodeRow(
        key=node.key,
        name=node.name,
        pool=node.pool,
        product=node.gpu_product,
        sharing=node.sharing if node.has_gpus else "",
        gpus_requested=usage.total_requested,
        gpus_allocatable=usage.total_allocatable,
        usage=usage,
        ready={True: "Ready", False: "NotReady", None: "Unknown"}[node.ready],
        pressures=node.pressures,
        cordoned=node.unschedulable,
        taints=tuple(str(t) for t in node.taints),
        gpu_pods=usage.pods,
        age=age_seconds(node.created, now),
    )


def totals(cache: ClusterCache, namespace: str | None = None) -> Totals:
    """Header figures: GPU allocatable/requested/free over GPU nodes, pod counts."""
    nodes: list[NodeRecord] = cache["nodes"].by_index("gpu", "gpu") if "nodes" in cache else []
    pods = [p for p in gpu_pods(cache, namespace) if p.phase not in ("Succeeded", "Failed")]
    return Totals(
        usage=cache.ledger.cluster({n.name for n in nodes}),
        gpu_nodes=len(nodes),
        ready_nodes=sum(1 for n in nodes if n.ready),
        gpu_pods=len(pods),
        pending_gpu_pods=sum(1 for p in pods if not p.node),
    )


# ------------------------------------------------------------------ pods


def gpu_pods(cache: ClusterCache, namespace: str | None = None) -> list[PodRecord]:
    """Pods requesting any accelerator (from the "gpu" index)."""
    return [p for p in cache["pods"].by_index("gpu", "gpu") if in_namespace(namespace, p.namespace)]


def pod_row(pod: PodRecord, now: float) -> PodRow:
    pending = pod.phase == "Pending" and not pod.node
    return PodRow(
        key=pod.key,
        namespace=pod.namespace,
        name=pod.name,
        node=pod.node,
        phase=pod.phase,
        status=pod_status(pod),
        ready=f"{pod.ready_containers}/{pod.total_containers}",
        restarts=pod.restarts,
        gpus=pod.gpus,
        gpu_request=pod.gpu_request,
        workload=pod.workload,
        age=age_seconds(pod.created, now),
        pending_reason=pod.scheduled_reason,
        pending_message=pod.scheduled_message,
        waiting=age_seconds(pod.pending_since, now) if pending else 0.0,
    )


def gpu_pod_rows(
    cache: ClusterCache, namespace: str | None = None, now: float | None = None
) -> list[PodRow]:
    now = time.time() if now is None else now
    return [pod_row(p, now) for p in gpu_pods(cache, namespace)]


# ------------------------------------------------------------------ jobs


def job_pods(cache: ClusterCache, job: JobRecord) -> list[PodRecord]:
    """Pods of a training job: by the operator's job-name label, a JobSet's (and so its
    TrainJob's) by `jobset.sigs.k8s.io/jobset-name`."""
    return cache["pods"].by_index("job", (job.namespace, job.name))


_ROLE_LABELS = (
    "training.kubeflow.org/replica-type",
    "jobset.sigs.k8s.io/replicatedjob-name",
    "training.kubeflow.org/job-role",  # the mpi-operator's only role label (launcher/worker)
)
_JOBSET_RUN = ("JobSet", "TrainJob")


def _role_of(pod: PodRecord) -> str:
    for label in _ROLE_LABELS:
        if label in pod.labels:
            return pod.labels[label].lower()
    return ""


def _trainjob_parts(cache: ClusterCache, job: JobRecord) -> tuple[tuple[Role, ...], float]:
    """A TrainJob's (roles, GPUs), with what it leaves unset taken from its runtime, else
    from the JobSet it runs as (the trainer's replicated job)."""
    if job.nodes_set and job.resources_set:
        return job.roles, job.gpus
    role = job.roles[0] if job.roles else Role("node", 0, 0, 0, 0)
    nodes, per_node = role.desired, role.gpus_per_pod
    kind, name = job.runtime
    plural = "clustertrainingruntimes" if kind == "ClusterTrainingRuntime" else "trainingruntimes"
    runtime_ns = "" if plural == "clustertrainingruntimes" else job.namespace
    runtime = cache[plural].get((runtime_ns, name)) if plural in cache and name else None
    jobset = cache["jobsets"].get(job.key) if "jobsets" in cache else None
    trainer = _trainer_role(jobset) if jobset is not None else None
    if not job.nodes_set:
        nodes = runtime.num_nodes if runtime is not None else (trainer.desired if trainer else 0)
    if not job.resources_set:
        if runtime is not None:
            per_node = runtime.gpus_per_node
        elif trainer is not None:
            per_node = trainer.gpus_per_pod
    resolved = msgspec.structs.replace(role, desired=nodes, gpus_per_pod=per_node)
    return (resolved,), nodes * per_node


def _trainer_role(jobset: JobRecord) -> Role | None:
    for name in ("node", "trainer-node"):
        found = next((r for r in jobset.roles if r.name == name), None)
        if found is not None:
            return found
    return jobset.roles[-1] if jobset.roles else None


def job_row(cache: ClusterCache, job: JobRecord, now: float) -> JobRow:
    pods = job_pods(cache, job)
    ready: dict[str, int] = {}
    for pod in pods:
        if pod_ready(pod):
            role = _role_of(pod)
            ready[role] = ready.get(role, 0) + 1
    job_roles, job_gpus = (
        _trainjob_parts(cache, job) if job.kind == "TrainJob" else (job.roles, job.gpus)
    )
    roles = tuple(RoleCount(r.name, ready.get(r.name.lower(), 0), r.desired) for r in job_roles)
    state = job.state
    if job.kind in _JOBSET_RUN and state == "Pending" and any(p.phase == "Running" for p in pods):
        state = "Running"  # no Job counts in its status (older controllers): its pods run
    end = job.completed or now
    return JobRow(
        key=(job.kind, job.namespace, job.name),
        kind=job.kind,
        namespace=job.namespace,
        name=job.name,
        state=state,
        reason=job.state_reason,
        message=job.state_message,
        age=age_seconds(job.created, now),
        duration=max(0.0, end - job.started) if job.started else 0.0,
        roles=roles,
        gpus=job_gpus,
        queue=job.queue,
        restarts=sum(p.restarts for p in pods),
        pending_pods=sum(1 for p in pods if p.phase == "Pending"),
        pods_key=("JobSet" if job.kind in _JOBSET_RUN else job.kind, job.namespace, job.name),
    )


def _run_by_trainjob(cache: ClusterCache, job: JobRecord) -> bool:
    """A JobSet that a TrainJob runs: the TrainJob's row stands for it."""
    if job.owner_kind == "TrainJob":
        return True
    return "trainjobs" in cache and cache["trainjobs"].get(job.key) is not None


def job_rows(
    cache: ClusterCache,
    namespace: str | None = None,
    gpu_only: bool = False,
    now: float | None = None,
) -> list[JobRow]:
    """Training jobs of every installed kind, each once. batch/v1 Jobs only when they request
    GPUs, and not those run by a JobSet; JobSets not those run by a TrainJob (the JobSet's or
    the TrainJob's row stands for them)."""
    now = time.time() if now is None else now
    rows = []
    for kind in JOB_KINDS:
        if kind not in cache:
            continue
        for job in cache[kind].items():
            if not in_namespace(namespace, job.namespace):
                continue
            if kind == "jobs" and "jobset.sigs.k8s.io/jobset-name" in job.labels:
                continue
            if kind == "jobsets" and _run_by_trainjob(cache, job):
                continue
            gpu_filter = gpu_only or kind == "jobs"
            if gpu_filter and job.gpus <= 0 and kind != "trainjobs":
                continue  # before building the row: most batch Jobs are CPU-only
            row = job_row(cache, job, now)
            if gpu_filter and row.gpus <= 0:
                continue
            rows.append(row)
    return rows


# ------------------------------------------------------------------ drill-down


def pods_on_node(cache: ClusterCache, node: str) -> list[PodRecord]:
    return cache["pods"].by_index("node", node)


def node_of_pod(cache: ClusterCache, pod: PodRecord) -> NodeRecord | None:
    return cache["nodes"].get(("", pod.node)) if pod.node else None


_SERVER_NAMES = frozenset({"ServerRow", "server_rows", "server_pods", "predictor_deployments"})


def __getattr__(name: str) -> object:
    """The model-server rows live in `views_servers` (imported on first use: it imports this
    module)."""
    if name in _SERVER_NAMES:
        from console.cluster import views_servers

        return getattr(views_servers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
