"""What we decode from the API server: msgspec structs holding only the fields we use.

These mirror the Kubernetes JSON (camelCase via `rename`); unknown fields are skipped
by msgspec without building anything, which is what makes a 200,000-pod list cheap
(see reference/perf-facts.md). They are the raw, *uncleaned* wire form: the `decode_*`
modules turn them into the slim, cleaned row records of `records.py`. Everything is optional with a default,
because a missing field must never cost us an object.
"""

from __future__ import annotations

from typing import Any

import msgspec

Quantities = dict[str, str | int | float]


class _W(msgspec.Struct, rename="camel", omit_defaults=True, frozen=True, gc=False):
    """Base: camelCase JSON names, every field optional."""


class OwnerRef(_W):
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool = False


class Meta(_W):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    owner_references: list[OwnerRef] = []
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None


class ListMeta(_W):
    resource_version: str = ""
    # msgspec would map `continue` to `continue_`; name it explicitly.
    continue_: str = msgspec.field(default="", name="continue")
    remaining_item_count: int | None = None


class Condition(_W):
    type: str = ""
    status: str = ""
    reason: str = ""
    message: str = ""
    last_transition_time: str | None = None
    last_update_time: str | None = None


class Taint(_W):
    key: str = ""
    value: str = ""
    effect: str = ""


class Resources(_W):
    requests: Quantities = {}
    limits: Quantities = {}


class Container(_W):
    name: str = ""
    image: str = ""
    resources: Resources = Resources()
    restart_policy: str = ""  # "Always" on an init container = sidecar


class PodSpec(_W):
    node_name: str = ""
    containers: list[Container] = []
    init_containers: list[Container] = []
    overhead: Quantities = {}
    priority_class_name: str = ""
    scheduler_name: str = ""


class StateDetail(_W):
    reason: str = ""
    message: str = ""
    exit_code: int | None = None
    signal: int | None = None
    started_at: str | None = None
    finished_at: str | None = None


class ContainerState(_W):
    waiting: StateDetail | None = None
    running: StateDetail | None = None
    terminated: StateDetail | None = None


class ContainerStatus(_W):
    name: str = ""
    ready: bool = False
    restart_count: int = 0
    started: bool | None = None
    state: ContainerState = ContainerState()
    last_state: ContainerState = ContainerState()


class PodStatus(_W):
    phase: str = ""
    reason: str = ""
    message: str = ""
    conditions: list[Condition] = []
    container_statuses: list[ContainerStatus] = []
    init_container_statuses: list[ContainerStatus] = []
    start_time: str | None = None
    pod_ip: str = msgspec.field(default="", name="podIP")


class Pod(_W):
    metadata: Meta = Meta()
    spec: PodSpec = PodSpec()
    status: PodStatus = PodStatus()


class Template(_W):
    metadata: Meta = Meta()
    spec: PodSpec = PodSpec()


class EnvVar(_W):
    name: str = ""
    value: str = ""


class JobContainer(Container):
    """A container of a training job's pod template: its env holds `MLFLOW_RUN_ID` links
    (pods' containers leave env out: 200,000 pods would decode it for nothing)."""

    env: list[EnvVar] = []


class JobPodSpec(PodSpec):
    containers: list[JobContainer] = []


class JobTemplate(Template):
    spec: JobPodSpec = JobPodSpec()


class NodeInfo(_W):
    kubelet_version: str = ""
    container_runtime_version: str = ""
    os_image: str = ""
    architecture: str = ""
    kernel_version: str = ""


class NodeSpec(_W):
    unschedulable: bool = False
    taints: list[Taint] = []
    provider_id: str = msgspec.field(default="", name="providerID")


class NodeStatus(_W):
    capacity: Quantities = {}
    allocatable: Quantities = {}
    conditions: list[Condition] = []
    node_info: NodeInfo = NodeInfo()


class Node(_W):
    metadata: Meta = Meta()
    spec: NodeSpec = NodeSpec()
    status: NodeStatus = NodeStatus()


class ReplicaSpec(_W):
    replicas: int | None = None
    restart_policy: str = ""
    template: JobTemplate = JobTemplate()


class SchedulingPolicy(_W):
    queue: str = ""
    min_available: int | None = None
    priority_class: str = ""


class RunPolicy(_W):
    suspend: bool = False
    scheduling_policy: SchedulingPolicy = SchedulingPolicy()
    backoff_limit: int | None = None


class ReplicaStatus(_W):
    active: int = 0
    succeeded: int = 0
    failed: int = 0


class KubeflowSpec(_W):
    """PyTorchJob / TFJob / MPIJob share this shape; only the replica map's name differs."""

    pytorch_replica_specs: dict[str, ReplicaSpec] = {}
    tf_replica_specs: dict[str, ReplicaSpec] = msgspec.field(default={}, name="tfReplicaSpecs")
    mpi_replica_specs: dict[str, ReplicaSpec] = msgspec.field(default={}, name="mpiReplicaSpecs")
    xgb_replica_specs: dict[str, ReplicaSpec] = msgspec.field(default={}, name="xgbReplicaSpecs")
    jax_replica_specs: dict[str, ReplicaSpec] = msgspec.field(default={}, name="jaxReplicaSpecs")
    paddle_replica_specs: dict[str, ReplicaSpec] = msgspec.field(
        default={}, name="paddleReplicaSpecs"
    )
    run_policy: RunPolicy = RunPolicy()


class JobStatus(_W):
    conditions: list[Condition] = []
    replica_statuses: dict[str, ReplicaStatus] = {}
    start_time: str | None = None
    completion_time: str | None = None
    # batch/v1 Job
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    ready: int | None = None


class KubeflowJob(_W):
    metadata: Meta = Meta()
    spec: KubeflowSpec = KubeflowSpec()
    status: JobStatus = JobStatus()


class BatchJobSpec(_W):
    parallelism: int | None = None
    completions: int | None = None
    suspend: bool = False
    template: JobTemplate = JobTemplate()


class BatchJob(_W):
    metadata: Meta = Meta()
    spec: BatchJobSpec = BatchJobSpec()
    status: JobStatus = JobStatus()


class BatchJobSpecHolder(_W):
    spec: BatchJobSpec = BatchJobSpec()


class ReplicatedJob(_W):
    name: str = ""
    replicas: int = 1
    template: BatchJobSpecHolder = BatchJobSpecHolder()


class JobSetSpec(_W):
    replicated_jobs: list[ReplicatedJob] = []
    suspend: bool = False


class ReplicatedJobStatus(_W):
    name: str = ""
    ready: int = 0
    succeeded: int = 0
    failed: int = 0
    active: int = 0
    suspended: int = 0


class JobSetStatus(_W):
    conditions: list[Condition] = []
    replicated_jobs_status: list[ReplicatedJobStatus] = []
    restarts: int = 0
    terminal_state: str = ""


class JobSet(_W):
    metadata: Meta = Meta()
    spec: JobSetSpec = JobSetSpec()
    status: JobSetStatus = JobSetStatus()


class TrainerSpec(_W):
    num_nodes: int | None = None
    resources_per_node: Resources = Resources()
    image: str = ""


class RuntimeRef(_W):
    name: str = ""
    kind: str = ""  # ClusterTrainingRuntime (the default) | TrainingRuntime
    api_group: str = ""


class TrainJobSpec(_W):
    runtime_ref: RuntimeRef = RuntimeRef()
    trainer: TrainerSpec = TrainerSpec()
    suspend: bool = False


class TrainJobStatus(_W):
    conditions: list[Condition] = []
    jobs_status: list[ReplicatedJobStatus] = []


class TrainJob(_W):
    metadata: Meta = Meta()
    spec: TrainJobSpec = TrainJobSpec()
    status: TrainJobStatus = TrainJobStatus()


class MLPolicy(_W):
    num_nodes: int | None = None


class JobSetTemplate(_W):
    spec: JobSetSpec = JobSetSpec()


class TrainingRuntimeSpec(_W):
    ml_policy: MLPolicy = msgspec.field(default=MLPolicy(), name="mlPolicy")
    template: JobSetTemplate = JobSetTemplate()


class TrainingRuntime(_W):
    """ClusterTrainingRuntime and TrainingRuntime (Kubeflow Trainer v2)."""

    metadata: Meta = Meta()
    spec: TrainingRuntimeSpec = TrainingRuntimeSpec()


class LabelSelector(_W):
    match_labels: dict[str, str] = {}
    match_expressions: list[dict[str, Any]] = []


class WorkloadSpec(_W):
    replicas: int | None = None
    selector: LabelSelector = LabelSelector()
    template: Template = Template()


class WorkloadStatus(_W):
    replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    updated_replicas: int = 0
    conditions: list[Condition] = []


class Workload(_W):
    """Deployment and StatefulSet."""

    metadata: Meta = Meta()
    spec: WorkloadSpec = WorkloadSpec()
    status: WorkloadStatus = WorkloadStatus()


class ModelFormat(_W):
    name: str = ""


class ModelSpec(_W):
    model_format: ModelFormat = ModelFormat()
    runtime: str = ""
    storage_uri: str = msgspec.field(default="", name="storageUri")
    resources: Resources = Resources()


class PredictorSpec(_W):
    model: ModelSpec | None = None
    # The older framework blocks, each with its own resources (KServe v1beta1 PredictorSpec).
    sklearn: ModelSpec | None = None
    xgboost: ModelSpec | None = None
    tensorflow: ModelSpec | None = None
    pytorch: ModelSpec | None = None
    triton: ModelSpec | None = None
    onnx: ModelSpec | None = None
    huggingface: ModelSpec | None = None
    lightgbm: ModelSpec | None = None
    paddle: ModelSpec | None = None
    pmml: ModelSpec | None = None
    containers: list[Container] = []
    min_replicas: int | None = None
    max_replicas: int | None = None
    scale_target: int | None = None
    scale_metric: str = ""


class IsvcSpec(_W):
    predictor: PredictorSpec = PredictorSpec()


class TrafficTarget(_W):
    revision_name: str = ""
    percent: int | None = None
    latest_revision: bool | None = None
    tag: str = ""


class ComponentStatus(_W):
    latest_ready_revision: str = ""
    latest_created_revision: str = ""
    traffic: list[TrafficTarget] = []


class ModelStates(_W):
    active_model_state: str = ""
    target_model_state: str = ""


class ModelStatus(_W):
    transition_status: str = ""
    states: ModelStates = ModelStates()


class IsvcStatus(_W):
    url: str = ""
    deployment_mode: str = ""
    conditions: list[Condition] = []
    components: dict[str, ComponentStatus] = {}
    model_status: ModelStatus = ModelStatus()


class InferenceService(_W):
    metadata: Meta = Meta()
    spec: IsvcSpec = IsvcSpec()
    status: IsvcStatus = IsvcStatus()


class LLMModel(_W):
    uri: str = ""
    name: str = ""


class LLMWorkload(_W):
    replicas: int | None = None
    template: PodSpec | None = None
    worker: PodSpec | None = None


class LLMSpec(LLMWorkload):
    model: LLMModel = LLMModel()
    prefill: LLMWorkload | None = None


class LLMStatus(_W):
    url: str = ""
    conditions: list[Condition] = []


class LLMInferenceService(_W):
    """KServe's LLMInferenceService (llm-d): a model, replicas and pod specs; no predictor."""

    metadata: Meta = Meta()
    spec: LLMSpec = LLMSpec()
    status: LLMStatus = LLMStatus()


class ObjectRef(_W):
    kind: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""
    field_path: str = ""


class EventSource(_W):
    component: str = ""
    host: str = ""


class EventSeries(_W):
    count: int = 0
    last_observed_time: str | None = None


class Event(_W):
    metadata: Meta = Meta()
    involved_object: ObjectRef = ObjectRef()
    type: str = ""
    reason: str = ""
    message: str = ""
    count: int | None = None
    first_timestamp: str | None = None
    last_timestamp: str | None = None
    event_time: str | None = None
    series: EventSeries | None = None
    source: EventSource = EventSource()
    reporting_component: str = ""


class NamespaceStatus(_W):
    phase: str = ""


class Namespace(_W):
    metadata: Meta = Meta()
    status: NamespaceStatus = NamespaceStatus()


class Status(_W):
    """A Kubernetes Status object (errors, and watch ERROR events)."""

    kind: str = ""
    status: str = ""
    message: str = ""
    reason: str = ""
    code: int = 0


class RawList(_W):
    """A list whose items are kept as raw JSON, decoded one by one (a bad item is skipped)."""

    metadata: ListMeta = ListMeta()
    items: list[msgspec.Raw] = []


class RawEvent(_W):
    """One watch line: the object stays raw until the type is known."""

    type: str = ""
    object: msgspec.Raw = msgspec.Raw(b"null")


class VersionOnly(_W):
    """Just the resourceVersion of a watched object (bookmarks)."""

    metadata: Meta = Meta()
