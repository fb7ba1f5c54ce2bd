"""What every preset writes — namespaces and the GPU Operator's objects — and the builders of
workload manifests (containers, pod templates, Kubeflow jobs, InferenceServices, Deployments)."""

from __future__ import annotations

from typing import Any

from ..controllers.nodes import CLUSTER_POLICY, OPERATOR_NAMESPACE
from ..kinds import by_kind
from ..nodes import GPU
from ..runtime import SimContext

PYTORCH = "nvcr.io/nvidia/pytorch:24.05-py3"
VLLM = "vllm/vllm-openai:v0.6.3"
TENSORFLOW = "tensorflow/tensorflow:2.15.0-gpu"
HOROVOD = "horovod/horovod:0.28.1"
TOLERATE_GPU = {"key": GPU, "operator": "Exists", "effect": "NoSchedule"}
H100 = "NVIDIA-H100-80GB-HBM3"
A100 = "NVIDIA-A100-SXM4-80GB"
L4 = "NVIDIA-L4"

SHARING_CONFIGS = {
    "any": "version: v1\nflags:\n  migStrategy: none\nsharing:\n  timeSlicing:\n    renameByDefault: false\n    failRequestsGreaterThanOne: false\n    resources:\n    - name: nvidia.com/gpu\n      replicas: 4\n",
    "a100-x2": "version: v1\nflags:\n  migStrategy: none\nsharing:\n  timeSlicing:\n    resources:\n    - name: nvidia.com/gpu\n      replicas: 2\n",
    "t4-x4": "version: v1\nflags:\n  migStrategy: none\nsharing:\n  timeSlicing:\n    renameByDefault: true\n    resources:\n    - name: nvidia.com/gpu\n      replicas: 4\n",
    "no-sharing": "version: v1\nflags:\n  migStrategy: none\n",
}

NAMESPACES = (
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "gpu-operator",
    "monitoring",
)


def write_namespaces(ctx: SimContext, extra: tuple[str, ...]) -> None:
    """The cluster's standard namespaces plus `extra`, all created 40 days ago."""
    created = ctx.clock.iso(ctx.clock.now() - 40 * 86400)
    for ns in (*NAMESPACES, *extra):
        meta = {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}
        meta["creationTimestamp"] = created
        ctx.store.create(
            by_kind("Namespace"),
            {
                "metadata": meta,
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            },
        )


def gpu_operator_objects(ctx: SimContext, default_config: str = "") -> dict[str, dict[str, Any]]:
    """ClusterPolicy, the time-slicing ConfigMap, the operator's DaemonSets and the DCGM Service.
    Returns the DaemonSets by name (stored, with uids)."""
    store, ns = ctx.store, OPERATOR_NAMESPACE
    store.create(
        by_kind("ConfigMap"),
        {
            "metadata": {"name": "time-slicing-config", "namespace": ns},
            "data": dict(SHARING_CONFIGS),
        },
    )
    policy_spec = {
        "operator": {"defaultRuntime": "containerd"},
        "driver": {"enabled": True, "version": "550.54.15"},
        "toolkit": {"enabled": True},
        "devicePlugin": {
            "enabled": True,
            "config": {"name": "time-slicing-config", "default": default_config},
        },
        "dcgmExporter": {"enabled": True, "serviceMonitor": {"enabled": False}},
        "gfd": {"enabled": True},
        "migManager": {"enabled": True},
        "mig": {"strategy": "single"},
    }
    store.create(
        by_kind("ClusterPolicy"),
        {
            "metadata": {"name": CLUSTER_POLICY},
            "spec": policy_spec,
            "status": {"state": "ready", "namespace": ns},
        },
    )
    daemonsets = {}
    for name, image, port in (
        ("nvidia-device-plugin-daemonset", "nvcr.io/nvidia/k8s-device-plugin:v0.16.2", None),
        ("gpu-feature-discovery", "nvcr.io/nvidia/k8s-device-plugin:v0.16.2", None),
        ("nvidia-dcgm-exporter", "nvcr.io/nvidia/k8s/dcgm-exporter:3.3.7-3.5.0-ubuntu22.04", 9400),
    ):
        daemonsets[name] = store.create(
            by_kind("DaemonSet"),
            daemonset(name, ns, image, port, {"nvidia.com/gpu.present": "true"}),
        )
    store.create(
        by_kind("Service"),
        {
            "metadata": {
                "name": "nvidia-dcgm-exporter",
                "namespace": ns,
                "labels": {"app": "nvidia-dcgm-exporter"},
                "annotations": {"prometheus.io/scrape": "true"},
            },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": "10.96.12.40",
                "clusterIPs": ["10.96.12.40"],
                "selector": {"app": "nvidia-dcgm-exporter"},
                "ports": [
                    {"name": "gpu-metrics", "port": 9400, "protocol": "TCP", "targetPort": 9400}
                ],
            },
            "status": {"loadBalancer": {}},
        },
    )
    return daemonsets


def daemonset(
    name: str, ns: str, image: str, port: int | None, node_selector: dict[str, str] | None
) -> dict[str, Any]:
    """A DaemonSet whose pods carry `app=<name>` and tolerate GPU and lifecycle taints."""
    container: dict[str, Any] = {
        "name": name.removeprefix("nvidia-").removesuffix("-daemonset"),
        "image": image,
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    }
    if port:
        container["ports"] = [{"name": "metrics", "containerPort": port, "protocol": "TCP"}]
    template_spec: dict[str, Any] = {
        "containers": [container],
        "tolerations": [TOLERATE_GPU, {"key": "CriticalAddonsOnly", "operator": "Exists"}],
        "priorityClassName": "system-node-critical",
        "serviceAccountName": name,
    }
    if node_selector:
        template_spec["nodeSelector"] = node_selector
    return {
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": template_spec},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        },
    }


# ----- workload objects ---------------------------------------------------------------------


def container(
    name: str,
    image: str,
    gpus: int = 0,
    cpu: str = "4",
    memory: str = "32Gi",
    command: list[str] | None = None,
    port: int | None = None,
) -> dict[str, Any]:
    limits = {"cpu": cpu, "memory": memory}
    if gpus:
        limits[GPU] = str(gpus)
    c: dict[str, Any] = {
        "name": name,
        "image": image,
        "resources": {"requests": dict(limits), "limits": limits},
    }
    if command:
        c["command"] = command
    if port:
        c["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    return c


def template(
    containers: list[dict[str, Any]],
    product: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    restart: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": containers}
    if any(GPU in (c["resources"].get("limits") or {}) for c in containers):
        spec["tolerations"] = [dict(TOLERATE_GPU)]
    if product:
        spec["nodeSelector"] = {"nvidia.com/gpu.product": product}
    if restart:
        spec["restartPolicy"] = restart
    meta: dict[str, Any] = {}
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": spec}


def training_job(
    kind: str,
    name: str,
    ns: str,
    replicas: dict[str, tuple[int, int]],
    product: str | None,
    annotations: dict[str, str] | None = None,
    restart: str = "OnFailure",
    suspend: bool = False,
    backoff: int = 3,
) -> dict[str, Any]:
    """A Kubeflow job; `replicas` maps replica type → (count, GPUs per pod)."""
    image, cname, key = {
        "PyTorchJob": (PYTORCH, "pytorch", "pytorchReplicaSpecs"),
        "TFJob": (TENSORFLOW, "tensorflow", "tfReplicaSpecs"),
        "MPIJob": (HOROVOD, "mpi", "mpiReplicaSpecs"),
    }[kind]
    specs = {}
    for rtype, (count, gpus) in replicas.items():
        command = [
            "torchrun",
            "--nnodes",
            str(sum(c for c, _ in replicas.values())),
            "--nproc-per-node",
            str(max(gpus, 1)),
            "train.py",
        ]
        if kind == "MPIJob" and rtype == "Launcher":
            command = [
                "mpirun",
                "-np",
                str(replicas.get("Worker", (1, 8))[0] * 8),
                "python",
                "train.py",
            ]
        c = container(
            cname,
            image,
            gpus,
            cpu="16" if gpus else "2",
            memory="128Gi" if gpus else "4Gi",
            command=command,
        )
        specs[rtype] = {
            "replicas": count,
            "restartPolicy": restart,
            "template": template([c], product if gpus else None, annotations=annotations),
        }
    spec: dict[str, Any] = {
        key: specs,
        "runPolicy": {"cleanPodPolicy": "None", "backoffLimit": backoff, "suspend": suspend},
    }
    if kind == "MPIJob":
        spec["slotsPerWorker"] = 8
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


def inference_service(
    name: str, ns: str, uri: str, gpus: int, replicas: int, node_selector: dict[str, str]
) -> dict[str, Any]:
    resources = {"cpu": "8", "memory": "48Gi", GPU: str(gpus)}
    predictor = {
        "minReplicas": replicas,
        "maxReplicas": replicas + 2,
        "scaleMetric": "concurrency",
        "scaleTarget": 8,
        "model": {
            "modelFormat": {"name": "huggingface"},
            "runtime": "kserve-huggingfaceserver",
            "storageUri": uri,
            "resources": {"requests": dict(resources), "limits": resources},
        },
        "tolerations": [dict(TOLERATE_GPU)],
        "nodeSelector": node_selector,
    }
    return {
        "metadata": {
            "name": name,
            "namespace": ns,
            "annotations": {
                "serving.kserve.io/deploymentMode": "RawDeployment",
                "sim.kmc.dev/profile": "serving",
            },
        },
        "spec": {"predictor": predictor},
    }


def deployment(
    name: str, ns: str, replicas: int, labels: dict[str, str], tmpl: dict[str, Any]
) -> dict[str, Any]:
    tmpl["metadata"].setdefault("labels", {}).update(labels)
    return {
        "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": tmpl,
            "strategy": {"type": "RollingUpdate"},
        },
    }
