"""The slim, immutable row records the caches hold and the views read.

One frozen struct per watched kind (plus the parts they share: conditions, taints,
containers, job roles). Decoding wire structs into these records lives in the
`decode_*` modules (`decode_core`, `decode_jobs`, `decode_workloads`): every string in a
record has been cleaned and the derived fields (effective GPU request, pool, sharing,
job state, …) computed once. Times are epoch seconds (0.0 = unknown). Mappings inside
records are read-only by convention — they may be shared between records.
"""

from __future__ import annotations

import msgspec

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
    invalid: tuple[str, ...] = ()
    """GPU resources whose capacity or allocatable was malformed, not finite, negative or
    absurd: counted as 0 and shown as invalid."""

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
    exit_code: int | None = None  # of the current termination
    last_exit_code: int | None = None  # of the previous termination
    last_signal: int = 0
    last_finished: float = 0.0  # when the previous termination happened
    sidecar: bool = False  # an init container with restartPolicy Always

    @property
    def last_termination(self) -> str:
        """The previous termination in kubectl's words, short: `OOMKilled (137)`, `Error (1)`,
        `ExitCode:2` / `Signal:9` without a reason; "" when the container never terminated."""
        if self.last_exit_code is None and not self.last_reason:
            return ""
        if not self.last_reason:
            return (
                f"Signal:{self.last_signal}"
                if self.last_signal
                else f"ExitCode:{self.last_exit_code}"
            )
        code = f"signal {self.last_signal}" if self.last_signal else str(self.last_exit_code or 0)
        return f"{self.last_reason} ({code})"


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
    reason: str  # status.reason (Evicted, NodeLost, …) as the kubelet/controller set it
    gpu_request: dict[str, float]  # effective accelerator request (§7)
    containers: tuple[ContainerRecord, ...]
    restarts: int  # kubectl's RESTARTS count
    ready_containers: int  # kubectl's READY: ready app containers and started sidecars
    total_containers: int  # app containers and sidecars
    scheduled_reason: str  # PodScheduled=False reason (Unschedulable) and message
    scheduled_message: str
    pending_since: float  # PodScheduled=False lastTransitionTime, else creation
    created: float
    started: float
    deleting: float  # deletionTimestamp, 0.0 if not terminating
    pod_ip: str
    invalid: tuple[str, ...] = ()
    """GPU resources whose request, limit or overhead was malformed, not finite, negative or
    absurd: counted as 0 and shown as invalid."""
    status: str = ""
    """STATUS exactly as `kubectl get pods` prints it (`console.cluster.pod_status`)."""
    last_restart: float = 0.0
    """When the latest restart kubectl counts happened (its `3 (5m ago)`), 0.0 if none."""
    last_termination: str = ""
    """The most recent previous termination among the containers: `OOMKilled (137)`."""

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
    annotations: dict[str, str] = {}
    """Cleaned; values over 512 characters left out (MLflow run links read them)."""
    run_env: dict[str, str] = {}
    """`MLFLOW_*` variables of the pod templates' containers, cleaned (run links)."""
    invalid: tuple[str, ...] = ()
    """GPU resources whose quantity in a pod template was malformed, not finite, negative
    or absurd: counted as 0 and shown as invalid."""
    owner_kind: str = ""
    """Kind of the controller owner (a JobSet run by a TrainJob: `TrainJob`)."""
    runtime: tuple[str, str] = ("", "")
    """A TrainJob's runtime (kind, name): ClusterTrainingRuntime or TrainingRuntime."""
    nodes_set: bool = True
    resources_set: bool = True
    """False for a TrainJob that leaves its node count / per-node resources to its runtime."""

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)


class RuntimeRecord(msgspec.Struct, frozen=True, gc=False):
    """A Kubeflow Trainer runtime: the nodes and per-node GPUs its TrainJobs get by default."""

    kind: str  # ClusterTrainingRuntime | TrainingRuntime
    namespace: str  # "" for a ClusterTrainingRuntime
    name: str
    uid: str
    labels: dict[str, str]
    num_nodes: int  # mlPolicy.numNodes, else the trainer replicated job's replicas
    gpus_per_node: float
    created: float
    invalid: tuple[str, ...] = ()

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)


class Traffic(msgspec.Struct, frozen=True, gc=False):
    """One entry of a KServe component's traffic split."""

    revision: str
    percent: int
    latest: bool
    tag: str


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
    invalid: tuple[str, ...] = ()
    """GPU resources whose quantity in a pod template was malformed, not finite, negative
    or absurd: counted as 0 and shown as invalid."""

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
    invalid: tuple[str, ...] = ()
    """GPU resources whose quantity in a pod template was malformed, not finite, negative
    or absurd: counted as 0 and shown as invalid."""
    traffic: tuple[Traffic, ...] = ()
    """status.components.predictor.traffic: revision → percent."""
    rollout_message: str = ""
    """Why the latest created revision is not ready (a False condition's message)."""
    kind: str = "InferenceService"
    """InferenceService, or LLMInferenceService (KServe's llm-d CRD, same row shape)."""
    replicas: int | None = None
    """An LLMInferenceService's `spec.replicas` (its pods wanted), None for an isvc."""

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
