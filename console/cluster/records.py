"""Slim, immutable, cleaned row records — what the caches hold and the views read.

Each `*_record` function maps a wire struct (`wire.py`) to a frozen record, passing
every cluster string through `console.text.clean` / `clean_line` and computing the
derived fields once (effective GPU request, pool, sharing, job state, …). Times are
epoch seconds (0.0 = unknown). Mappings inside records are read-only by convention —
they may be shared between records.

Memory: at 200,000 pods the records are most of the console's memory, and most of their
strings repeat (namespaces, node names, phases, images, label keys and values, owners).
Pod records therefore intern their strings and share equal container tuples, label maps
and GPU request maps (`_share`), which halves what a pod costs.
"""

from __future__ import annotations

import sys
from collections.abc import Hashable
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from console.cluster import gpu, wire
from console.text import clean, clean_line

Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped kinds


class Cond(msgspec.Struct, frozen=True, gc=False):
    type: str
    status: str
    reason: str = ""
    message: str = ""
    since: float = 0.0


class Taint(msgspec.Struct, frozen=True, gc=False):
    key: str
    value: str
    effect: str

    def __str__(self) -> str:
        return (
            f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"
        )


class NodeRecord(msgspec.Struct, frozen=True, gc=False):
    name: str
    uid: str
    labels: dict[str, str]
    taints: tuple[Taint, ...]
    unschedulable: bool
    gpu_allocatable: dict[str, float]  # accelerator resource → count (time-sliced: × replicas)
    gpu_capacity: dict[str, float]
    cpu_allocatable: str
    memory_allocatable: str
    conditions: tuple[Cond, ...]
    ready: bool | None  # None: no Ready condition reported
    pressures: tuple[str, ...]  # condition types among Memory/Disk/PID pressure that are True
    pool: str
    gpu_product: str
    gpu_count: int  # physical GPUs (GFD gpu.count), 0 if unknown
    sharing: str  # exclusive | time-slicing ×N | mps ×N | MIG <profiles>
    kubelet_version: str
    os_image: str
    created: float

    @property
    def key(self) -> Key:
        return ("", self.name)

    @property
    def has_gpus(self) -> bool:
        return bool(self.gpu_allocatable) or bool(self.gpu_capacity)


class ContainerRecord(msgspec.Struct, frozen=True, gc=False):
    name: str
    image: str
    init: bool
    ready: bool
    restarts: int
    state: str  # running | waiting | terminated | ""
    reason: str  # CrashLoopBackOff, OOMKilled, …
    last_reason: str  # reason of the previous termination


class PodRecord(msgspec.Struct, frozen=True, gc=False):
    namespace: str
    name: str
    uid: str
    labels: dict[str, str]
    owner_kind: str  # controller owner
    owner_name: str
    owner_uid: str
    workload: tuple[
        str, str
    ]  # (kind, name): Deployment / StatefulSet / PyTorchJob / JobSet / InferenceService / …
    node: str
    phase: str
    reason: str  # status.reason (Evicted, …) or the first waiting container reason
    gpu_request: dict[str, float]  # effective accelerator request (§7)
    containers: tuple[ContainerRecord, ...]
    restarts: int
    ready_containers: int
    total_containers: int  # app containers
    scheduled_reason: str  # PodScheduled=False reason (Unschedulable) and message
    scheduled_message: str
    pending_since: float  # PodScheduled=False lastTransitionTime, else creation
    created: float
    started: float
    deleting: float  # deletionTimestamp, 0.0 if not terminating
    pod_ip: str

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    @property
    def gpus(self) -> float:
        return sum(self.gpu_request.values())

    @property
    def holds_resources(self) -> bool:
        """Bound to a node and not finished: counts against the node's allocatable (§7)."""
        return bool(self.node) and self.phase not in ("Succeeded", "Failed")


class Role(msgspec.Struct, frozen=True, gc=False):
    name: str  # Master / Worker / Launcher / a replicated job name / "" for batch Job
    desired: int
    active: int
    succeeded: int
    failed: int
    ready: int | None = None
    gpus_per_pod: float = 0.0


class JobRecord(msgspec.Struct, frozen=True, gc=False):
    kind: str  # PyTorchJob | TFJob | MPIJob | Job | JobSet | TrainJob
    namespace: str
    name: str
    uid: str
    labels: dict[str, str]
    state: str  # type of the last True condition (kubectl's State column), else "Created"/""
    state_reason: str
    state_message: str
    conditions: tuple[Cond, ...]
    roles: tuple[Role, ...]
    gpus: float  # Σ desired replicas × per-pod effective GPU request
    queue: str  # kueue.x-k8s.io/queue-name label or runPolicy.schedulingPolicy.queue
    suspended: bool
    created: float
    started: float
    completed: float

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)


class WorkloadRecord(msgspec.Struct, frozen=True, gc=False):
    kind: str  # Deployment | StatefulSet
    namespace: str
    name: str
    uid: str
    labels: dict[str, str]
    desired: int
    ready: int
    available: int
    updated: int
    selector: dict[str, str]  # matchLabels
    gpus_per_pod: float
    gpu_request: dict[str, float]
    images: tuple[str, ...]
    isvc: str  # serving.kserve.io/inferenceservice label: owned by a KServe isvc
    conditions: tuple[Cond, ...]
    created: float

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)


class IsvcRecord(msgspec.Struct, frozen=True, gc=False):
    namespace: str
    name: str
    uid: str
    labels: dict[str, str]
    url: str
    ready: str  # status of the Ready condition: True | False | Unknown
    ready_reason: str
    ready_message: str
    conditions: tuple[Cond, ...]
    min_replicas: int | None
    max_replicas: int | None
    model_format: str
    runtime: str
    storage_uri: str
    deployment_mode: str
    gpus_per_pod: float
    latest_ready_revision: str
    latest_created_revision: str
    model_state: str
    created: float

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)


class EventRecord(msgspec.Struct, frozen=True, gc=False):
    namespace: str
    name: str
    uid: str
    object_kind: str
    object_name: str
    object_uid: str
    type: str  # Normal | Warning
    reason: str
    message: str
    count: int
    source: str
    first_seen: float
    last_seen: float

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)


class NamespaceRecord(msgspec.Struct, frozen=True, gc=False):
    name: str
    uid: str
    phase: str
    labels: dict[str, str]
    created: float

    @property
    def key(self) -> Key:
        return ("", self.name)


# ---------------------------------------------------------------- helpers


_T = TypeVar("_T")
_SHARED: dict[Any, Any] = {}
_SHARED_MAX = 200_000
_TIMES: dict[str, float] = {}
_intern = sys.intern


def _share(key: Hashable, value: _T) -> _T:
    """The value first stored under `key` (equal values share one object); bounded."""
    found = _SHARED.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    if len(_SHARED) >= _SHARED_MAX:
        _SHARED.clear()
    _SHARED[key] = value
    return value


def parse_time(value: str | None) -> float:
    """RFC 3339 → epoch seconds; 0.0 when absent or malformed (memoized: stamps repeat)."""
    if not value:
        return 0.0
    found = _TIMES.get(value)
    if found is not None:
        return found
    try:
        stamp = datetime.fromisoformat(value).timestamp()
    except ValueError:
        stamp = 0.0
    if len(_TIMES) >= 65_536:
        _TIMES.clear()
    _TIMES[value] = stamp
    return stamp


def _line(value: str) -> str:
    """`clean_line` with the common case (already printable) inlined: this runs ~25× per pod."""
    return value if value.isprintable() else clean_line(value)


def _iline(value: str) -> str:
    """`_line`, interned: for strings many records repeat (namespaces, nodes, phases, …)."""
    return _intern(value if value.isprintable() else clean_line(value))


def _labels(labels: dict[str, str]) -> dict[str, str]:
    # The wire struct is dropped after mapping, so a clean dict is kept as is.
    if all(k.isprintable() and v.isprintable() for k, v in labels.items()):
        return labels
    return {clean_line(k): clean_line(v) for k, v in labels.items()}


def _shared_labels(labels: dict[str, str]) -> dict[str, str]:
    """Clean labels with interned keys and values, one dict per distinct label set."""
    clean = {_iline(k): _iline(v) for k, v in labels.items()}
    return _share(("labels", *clean.items()), clean)


def _conds(conditions: list[wire.Condition]) -> tuple[Cond, ...]:
    return tuple(
        Cond(
            _line(c.type),
            _line(c.status),
            _line(c.reason),
            clean(c.message),
            parse_time(c.last_transition_time or c.last_update_time),
        )
        for c in conditions
    )


def _controller(meta: wire.Meta) -> wire.OwnerRef | None:
    for ref in meta.owner_references:
        if ref.controller:
            return ref
    return meta.owner_references[0] if meta.owner_references else None


def _workload_of(meta: wire.Meta, owner: wire.OwnerRef | None) -> tuple[str, str]:
    labels = meta.labels
    if "serving.kserve.io/inferenceservice" in labels:
        return ("InferenceService", labels["serving.kserve.io/inferenceservice"])
    if "jobset.sigs.k8s.io/jobset-name" in labels:
        return ("JobSet", labels["jobset.sigs.k8s.io/jobset-name"])
    if owner is None:
        return ("", "")
    pod_hash = labels.get("pod-template-hash", "")
    if owner.kind == "ReplicaSet" and pod_hash and owner.name.endswith("-" + pod_hash):
        return ("Deployment", owner.name[: -len(pod_hash) - 1])
    return (owner.kind, owner.name)


def _state_of(state: wire.ContainerState) -> tuple[str, str]:
    if state.waiting is not None:
        return "waiting", state.waiting.reason
    if state.terminated is not None:
        return "terminated", state.terminated.reason
    if state.running is not None:
        return "running", ""
    return "", ""


def _containers(pod: wire.Pod) -> tuple[ContainerRecord, ...]:
    statuses = {s.name: s for s in pod.status.container_statuses}
    statuses.update({s.name: s for s in pod.status.init_container_statuses})
    out = []
    for init, containers in ((True, pod.spec.init_containers), (False, pod.spec.containers)):
        for c in containers:
            s = statuses.get(c.name)
            state, reason = _state_of(s.state) if s else ("", "")
            last = _state_of(s.last_state)[1] if s else ""
            record = ContainerRecord(
                _iline(c.name),
                _iline(c.image),
                init,
                s.ready if s else False,
                s.restart_count if s else 0,
                state,
                _iline(reason),
                _iline(last),
            )
            out.append(_share(record, record))
    containers = tuple(out)
    return _share(("containers", *containers), containers)


# ---------------------------------------------------------------- wire → record


def node_record(node: wire.Node, pool_label: str | None = None) -> NodeRecord:
    """Map a wire Node; `pool_label` is the configured node-pool label (settings)."""
    labels = _labels(node.metadata.labels)
    allocatable = gpu.gpu_quantities(node.status.allocatable)
    capacity = gpu.gpu_quantities(node.status.capacity)
    conditions = _conds(node.status.conditions)
    ready = next((c.status == "True" for c in conditions if c.type == "Ready"), None)
    pressures = tuple(
        c.type
        for c in conditions
        if c.status == "True" and c.type in ("MemoryPressure", "DiskPressure", "PIDPressure")
    )
    try:
        count = int(labels.get("nvidia.com/gpu.count", "0"))
    except ValueError:
        count = 0
    info = node.status.node_info
    return NodeRecord(
        name=_line(node.metadata.name),
        uid=_line(node.metadata.uid),
        labels=labels,
        taints=tuple(
            Taint(_line(t.key), _line(t.value), _line(t.effect)) for t in node.spec.taints
        ),
        unschedulable=node.spec.unschedulable,
        gpu_allocatable=allocatable,
        gpu_capacity=capacity,
        cpu_allocatable=_line(node.status.allocatable.get("cpu", "")),
        memory_allocatable=_line(node.status.allocatable.get("memory", "")),
        conditions=conditions,
        ready=ready,
        pressures=pressures,
        pool=gpu.node_pool(labels, pool_label),
        gpu_product=gpu.gpu_product(labels),
        gpu_count=count,
        sharing=gpu.sharing_mode(labels, allocatable.keys() | capacity.keys()),
        kubelet_version=_line(info.kubelet_version),
        os_image=_line(info.os_image),
        created=parse_time(node.metadata.creation_timestamp),
    )


def pod_record(pod: wire.Pod) -> PodRecord:
    meta, status = pod.metadata, pod.status
    owner = _controller(meta)
    containers = _containers(pod)
    app = [c for c in containers if not c.init]
    scheduled = next((c for c in status.conditions if c.type == "PodScheduled"), None)
    unscheduled = scheduled is not None and scheduled.status == "False"
    created = parse_time(meta.creation_timestamp)
    waiting = next((c.reason for c in app if c.state == "waiting" and c.reason), "")
    workload = _workload_of(meta, owner)
    request = gpu.effective_request(pod.spec)
    return PodRecord(
        namespace=_iline(meta.namespace),
        name=_line(meta.name),
        uid=_line(meta.uid),
        labels=_shared_labels(meta.labels),
        owner_kind=_iline(owner.kind) if owner else "",
        owner_name=_iline(owner.name) if owner else "",
        owner_uid=_iline(owner.uid) if owner else "",
        workload=_share(("workload", *workload), (_iline(workload[0]), _iline(workload[1]))),
        node=_iline(pod.spec.node_name),
        phase=_iline(status.phase),
        reason=_iline(status.reason) or waiting,
        gpu_request=_share(("request", *request.items()), request),
        containers=containers,
        restarts=sum(c.restarts for c in containers),
        ready_containers=sum(1 for c in app if c.ready),
        total_containers=len(app),
        scheduled_reason=_iline(scheduled.reason) if unscheduled and scheduled else "",
        scheduled_message=clean(scheduled.message) if unscheduled and scheduled else "",
        pending_since=(
            parse_time(scheduled.last_transition_time) or created
            if unscheduled and scheduled
            else created
        ),
        created=created,
        started=parse_time(status.start_time),
        deleting=parse_time(meta.deletion_timestamp),
        pod_ip=_line(status.pod_ip),
    )


def _job_state(conditions: tuple[Cond, ...]) -> Cond | None:
    """kubectl's State: the last condition whose status is True."""
    return next((c for c in reversed(conditions) if c.status == "True"), None)


def _job_record(
    kind: str,
    meta: wire.Meta,
    conditions: tuple[Cond, ...],
    roles: tuple[Role, ...],
    queue: str,
    suspended: bool,
    status: wire.JobStatus | None,
    default_state: str = "",
) -> JobRecord:
    last = _job_state(conditions)
    labels = _labels(meta.labels)
    return JobRecord(
        kind=kind,
        namespace=_line(meta.namespace),
        name=_line(meta.name),
        uid=_line(meta.uid),
        labels=labels,
        state=last.type if last else default_state,
        state_reason=last.reason if last else "",
        state_message=last.message if last else "",
        conditions=conditions,
        roles=roles,
        gpus=sum(r.desired * r.gpus_per_pod for r in roles),
        queue=labels.get("kueue.x-k8s.io/queue-name", "") or _line(queue),
        suspended=suspended,
        created=parse_time(meta.creation_timestamp),
        started=parse_time(status.start_time) if status else 0.0,
        completed=parse_time(status.completion_time) if status else 0.0,
    )


def kubeflow_job_record(kind: str, job: wire.KubeflowJob) -> JobRecord:
    """PyTorchJob / TFJob / MPIJob (Kubeflow training-operator v1)."""
    spec = job.spec
    specs = spec.pytorch_replica_specs or spec.tf_replica_specs or spec.mpi_replica_specs
    statuses = job.status.replica_statuses
    roles = []
    for name, replica in specs.items():
        rs = statuses.get(name, wire.ReplicaStatus())
        desired = 1 if replica.replicas is None else replica.replicas
        gpus = sum(gpu.template_request(replica.template).values())
        roles.append(Role(_line(name), desired, rs.active, rs.succeeded, rs.failed, None, gpus))
    conditions = _conds(job.status.conditions)
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
    )


def batch_job_record(job: wire.BatchJob) -> JobRecord:
    spec, status = job.spec, job.status
    desired = spec.parallelism if spec.parallelism is not None else 1
    gpus = sum(gpu.template_request(spec.template).values())
    role = Role("", desired, status.active, status.succeeded, status.failed, status.ready, gpus)
    conditions = _conds(status.conditions)
    state = "Running" if status.active else ("Suspended" if spec.suspend else "Pending")
    return _job_record(
        "Job", job.metadata, conditions, (role,), "", spec.suspend, status, default_state=state
    )


def jobset_record(jobset: wire.JobSet) -> JobRecord:
    by_name = {s.name: s for s in jobset.status.replicated_jobs_status}
    roles = []
    for rj in jobset.spec.replicated_jobs:
        st = by_name.get(rj.name, wire.ReplicatedJobStatus())
        per_job = rj.template.spec.parallelism or 1
        gpus = sum(gpu.template_request(rj.template.spec.template).values())
        roles.append(
            Role(
                _line(rj.name),
                rj.replicas * per_job,
                st.active,
                st.succeeded,
                st.failed,
                st.ready,
                gpus,
            )
        )
    conditions = _conds(jobset.status.conditions)
    return _job_record(
        "JobSet", jobset.metadata, conditions, tuple(roles), "", jobset.spec.suspend, None
    )


def trainjob_record(job: wire.TrainJob) -> JobRecord:
    trainer = job.spec.trainer
    per_node = gpu.gpu_quantities(trainer.resources_per_node.limits)
    per_node.update(gpu.gpu_quantities(trainer.resources_per_node.requests))
    desired = trainer.num_nodes or 1
    role = Role("node", desired, 0, 0, 0, None, sum(per_node.values()))
    conditions = _conds(job.status.conditions)
    return _job_record(
        "TrainJob", job.metadata, conditions, (role,), "", job.spec.suspend, job.status
    )


def workload_record(kind: str, obj: wire.Workload) -> WorkloadRecord:
    """Deployment or StatefulSet."""
    meta, spec, status = obj.metadata, obj.spec, obj.status
    request = gpu.template_request(spec.template)
    labels = _labels(meta.labels)
    return WorkloadRecord(
        kind=kind,
        namespace=_line(meta.namespace),
        name=_line(meta.name),
        uid=_line(meta.uid),
        labels=labels,
        desired=1 if spec.replicas is None else spec.replicas,
        ready=status.ready_replicas,
        available=status.available_replicas,
        updated=status.updated_replicas,
        selector=_labels(spec.selector.match_labels),
        gpus_per_pod=sum(request.values()),
        gpu_request=request,
        images=tuple(_line(c.image) for c in spec.template.spec.containers),
        isvc=labels.get("serving.kserve.io/inferenceservice", ""),
        conditions=_conds(status.conditions),
        created=parse_time(meta.creation_timestamp),
    )


def isvc_record(isvc: wire.InferenceService) -> IsvcRecord:
    meta, predictor, status = isvc.metadata, isvc.spec.predictor, isvc.status
    conditions = _conds(status.conditions)
    ready = next((c for c in conditions if c.type == "Ready"), None)
    model = predictor.model or wire.ModelSpec()
    request = gpu.gpu_quantities(model.resources.limits)
    request.update(gpu.gpu_quantities(model.resources.requests))
    if not request:
        request = gpu.effective_request(wire.PodSpec(containers=predictor.containers))
    component = status.components.get("predictor", wire.ComponentStatus())
    mode = meta.annotations.get("serving.kserve.io/deploymentMode", "")
    return IsvcRecord(
        namespace=_line(meta.namespace),
        name=_line(meta.name),
        uid=_line(meta.uid),
        labels=_labels(meta.labels),
        url=_line(status.url),
        ready=ready.status if ready else "Unknown",
        ready_reason=ready.reason if ready else "",
        ready_message=ready.message if ready else "",
        conditions=conditions,
        min_replicas=predictor.min_replicas,
        max_replicas=predictor.max_replicas,
        model_format=_line(model.model_format.name),
        runtime=_line(model.runtime),
        storage_uri=_line(model.storage_uri),
        deployment_mode=_line(mode),
        gpus_per_pod=sum(request.values()),
        latest_ready_revision=_line(component.latest_ready_revision),
        latest_created_revision=_line(component.latest_created_revision),
        model_state=_line(status.model_status.states.active_model_state),
        created=parse_time(meta.creation_timestamp),
    )


def event_record(event: wire.Event) -> EventRecord:
    ref = event.involved_object
    series = event.series
    last = parse_time(
        (series.last_observed_time if series else None) or event.last_timestamp or event.event_time
    )
    first = parse_time(event.first_timestamp or event.event_time) or last
    count = series.count if series and series.count else (event.count or 1)
    return EventRecord(
        namespace=_line(event.metadata.namespace),
        name=_line(event.metadata.name),
        uid=_line(event.metadata.uid),
        object_kind=_line(ref.kind),
        object_name=_line(ref.name),
        object_uid=_line(ref.uid),
        type=_line(event.type),
        reason=_line(event.reason),
        message=clean(event.message),
        count=count,
        source=_line(event.source.component or event.reporting_component),
        first_seen=first,
        last_seen=last or parse_time(event.metadata.creation_timestamp),
    )


def namespace_record(ns: wire.Namespace) -> NamespaceRecord:
    return NamespaceRecord(
        name=_line(ns.metadata.name),
        uid=_line(ns.metadata.uid),
        phase=_line(ns.status.phase),
        labels=_labels(ns.metadata.labels),
        created=parse_time(ns.metadata.creation_timestamp),
    )
