"""The resource types the simulated API server serves, with their discovery facts."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ScalePaths:
    """Where a scale subresource reads and writes replicas (dotted paths, like a CRD's scale spec)."""

    spec_replicas: str
    status_replicas: str
    selector: str | None = None


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    scale: ScalePaths | None = None
    verbs: tuple[str, ...] = DEFAULT_VERBS
    singular: str = field(default="")

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)


def _rt(
    group: str, version: str, kind: str, plural: str, namespaced: bool = True, **kw
) -> ResourceType:
    return ResourceType(group, version, kind, plural, namespaced, **kw)


_WORKLOAD_SCALE = ScalePaths("spec.replicas", "status.replicas", "status.selector")

RESOURCE_TYPES: tuple[ResourceType, ...] = (
    _rt("", "v1", "Namespace", "namespaces", False, short_names=("ns",), subresources=("status",)),
    _rt(
        "",
        "v1",
        "Node",
        "nodes",
        False,
        short_names=("no",),
        subresources=("status", "proxy"),
    ),
    _rt(
        "",
        "v1",
        "Pod",
        "pods",
        short_names=("po",),
        categories=("all",),
        subresources=("status", "log", "eviction", "proxy", "binding", "exec", "portforward"),
    ),
    _rt("", "v1", "Event", "events", short_names=("ev",)),
    _rt("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    _rt(
        "",
        "v1",
        "Service",
        "services",
        short_names=("svc",),
        categories=("all",),
        subresources=("status", "proxy"),
    ),
    _rt("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",)),
    _rt(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        short_names=("hpa",),
        subresources=("status",),
    ),
    _rt(
        "keda.sh",
        "v1alpha1",
        "ScaledObject",
        "scaledobjects",
        short_names=("so",),
        subresources=("status",),
    ),
    _rt(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        short_names=("pdb",),
        subresources=("status",),
    ),
    _rt(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        short_names=("deploy",),
        categories=("all",),
        subresources=("status", "scale"),
        scale=_WORKLOAD_SCALE,
    ),
    _rt(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        short_names=("sts",),
        categories=("all",),
        subresources=("status", "scale"),
        scale=_WORKLOAD_SCALE,
    ),
    _rt(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        short_names=("rs",),
        categories=("all",),
        subresources=("status", "scale"),
        scale=_WORKLOAD_SCALE,
    ),
    _rt(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        short_names=("ds",),
        categories=("all",),
        subresources=("status",),
    ),
    _rt("batch", "v1", "Job", "jobs", categories=("all",), subresources=("status",)),
    _rt(
        "kubeflow.org",
        "v1",
        "PyTorchJob",
        "pytorchjobs",
        categories=("kubeflow-org",),
        subresources=("status", "scale"),
        scale=ScalePaths(
            "spec.pytorchReplicaSpecs.Worker.replicas",
            "status.replicaStatuses.Worker.active",
            "status.replicaStatuses.Worker.selector",
        ),
    ),
    _rt(
        "kubeflow.org",
        "v1",
        "TFJob",
        "tfjobs",
        categories=("kubeflow-org",),
        subresources=("status",),
    ),
    # The mpi-operator serves MPIJob at v2beta1 only.
    _rt(
        "kubeflow.org",
        "v2beta1",
        "MPIJob",
        "mpijobs",
        categories=("kubeflow-org",),
        subresources=("status",),
    ),
    _rt(
        "kubeflow.org",
        "v1",
        "XGBoostJob",
        "xgboostjobs",
        categories=("kubeflow-org",),
        subresources=("status",),
    ),
    _rt(
        "kubeflow.org",
        "v1",
        "JAXJob",
        "jaxjobs",
        categories=("kubeflow-org",),
        subresources=("status",),
    ),
    _rt(
        "kubeflow.org",
        "v1",
        "PaddleJob",
        "paddlejobs",
        categories=("kubeflow-org",),
        subresources=("status",),
    ),
    _rt("jobset.x-k8s.io", "v1alpha2", "JobSet", "jobsets", subresources=("status",)),
    _rt(
        "trainer.kubeflow.org",
        "v1alpha1",
        "TrainJob",
        "trainjobs",
        subresources=("status",),
    ),
    _rt(
        "trainer.kubeflow.org",
        "v1alpha1",
        "ClusterTrainingRuntime",
        "clustertrainingruntimes",
        False,
    ),
    _rt("trainer.kubeflow.org", "v1alpha1", "TrainingRuntime", "trainingruntimes"),
    _rt(
        "serving.kserve.io",
        "v1beta1",
        "InferenceService",
        "inferenceservices",
        short_names=("isvc",),
        subresources=("status",),
    ),
    _rt("nvidia.com", "v1", "ClusterPolicy", "clusterpolicies", False, subresources=("status",)),
)

BY_KEY: dict[tuple[str, str], ResourceType] = {rt.key: rt for rt in RESOURCE_TYPES}
BY_KIND: dict[str, ResourceType] = {rt.kind: rt for rt in RESOURCE_TYPES}


def by_kind(kind: str) -> ResourceType:
    return BY_KIND[kind]


def groups() -> dict[str, list[str]]:
    """Group name → its versions, in a stable order (core group excluded)."""
    result: dict[str, list[str]] = {}
    for rt in RESOURCE_TYPES:
        if rt.group and rt.version not in result.setdefault(rt.group, []):
            result[rt.group].append(rt.version)
    return result
