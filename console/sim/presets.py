"""Presets: deterministic simulated clusters, from a 3-node laptop toy to 10,000 GPU nodes.

`build(ctx, name)` writes one into the store before the controllers start. The small presets
(`tiny`, `demo`) write nodes, the GPU Operator's objects and workload *objects* (PyTorchJob, TFJob,
MPIJob, InferenceService, Deployment, Job) and let the controllers create, schedule and run the
pods; `sim.kmc.dev/*` annotations on pod templates script their fate (see `controllers.kubelet`).
The scale presets (`large`, `huge`) write everything directly — owners, then bound, Running pods
with complete statuses — because a scheduling pass over 200,000 pods would blow the time budget.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from .controllers.nodes import CLUSTER_POLICY, OPERATOR_NAMESPACE
from .kinds import by_kind
from .nodes import GPU, apply_sharing, make_node, node_ip
from .runtime import SimContext

PRESETS: dict[str, str] = {
    "tiny": "3 nodes (4×L4, 8×A100, 1 CPU); one PyTorchJob, one InferenceService",
    "demo": "24 nodes, 144 GPUs (A100, H100, L4) + system pool; training jobs in every state, "
    "model servers, a time-sliced and a cordoned node",
    "large": "1,008 nodes, 8,000 GPUs, ~20,000 pods",
    "huge": "10,040 nodes, 80,000 GPUs, ~200,000 pods",
}

PYTORCH = "nvcr.io/nvidia/pytorch:24.05-py3"
VLLM = "vllm/vllm-openai:v0.6.3"
TENSORFLOW = "tensorflow/tensorflow:2.15.0-gpu"
HOROVOD = "horovod/horovod:0.28.1"
KSERVE_HF = "kserve/huggingfaceserver:v0.13.1"
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


def build(ctx: SimContext, name: str) -> None:
    """Write preset `name` into `ctx.store` (deterministic under `ctx.seed`)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    if name in ("large", "huge"):
        _Scale(ctx, name).build()
        return
    writer = _Writer(ctx)
    writer.namespaces(("ml-research", "ml-platform", "serving") if name == "demo" else ("ml",))
    gpu_operator_objects(ctx)
    (_tiny if name == "tiny" else _demo)(writer)


class _Writer:
    """Small helpers over the store for the object-level presets."""

    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.rng = random.Random(ctx.seed)
        self.now = ctx.clock.now()
        self.index = 0

    def iso(self, ago: float) -> str:
        return self.ctx.clock.iso(self.now - ago)

    def create(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        return self.ctx.store.create(by_kind(kind), obj)

    def namespaces(self, extra: tuple[str, ...]) -> None:
        for ns in (*NAMESPACES, *extra):
            meta = {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}
            meta["creationTimestamp"] = self.iso(40 * 86400)
            self.create(
                "Namespace",
                {
                    "metadata": meta,
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                },
            )

    def pool(
        self,
        cluster: str,
        pool: str,
        count: int,
        model: str | None,
        gpus: int,
        cpu: int,
        mem: int,
        taint: bool = False,
    ) -> list[dict[str, Any]]:
        prefix = f"gke-{cluster}-{pool}-{self.rng.getrandbits(32):08x}"
        made = []
        for _ in range(count):
            suffix = "".join(self.rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(4))
            node = make_node(
                f"{prefix}-{suffix}",
                pool,
                model,
                gpus,
                cpu,
                mem,
                "gke",
                index=self.index,
                gpu_taint=taint,
                created=self.iso(30 * 86400),
            )
            self.index += 1
            made.append(node)
        return made

    def nodes(self, nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            self.create("Node", node)


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


def _tiny(w: _Writer) -> None:
    w.nodes(w.pool("tiny", "l4-pool", 1, "L4", 4, 48, 192))
    w.nodes(w.pool("tiny", "a100-pool", 1, "A100-SXM4-80GB", 8, 96, 1360, taint=True))
    w.nodes(w.pool("tiny", "default-pool", 1, None, 0, 8, 32))
    w.create(
        "PyTorchJob",
        training_job(
            "PyTorchJob",
            "llama-ft",
            "ml",
            {"Master": (1, 2), "Worker": (1, 2)},
            A100,
            {"sim.kmc.dev/profile": "training"},
        ),
    )
    w.create(
        "PyTorchJob",
        training_job(
            "PyTorchJob",
            "bert-crashloop",
            "ml",
            {"Master": (1, 1)},
            L4,
            {"sim.kmc.dev/profile": "training", "sim.kmc.dev/fail-after": "120"},
            backoff=1000,
        ),
    )
    w.create(
        "InferenceService",
        inference_service(
            "llama3-8b",
            "ml",
            "hf://meta-llama/Meta-Llama-3-8B-Instruct",
            1,
            1,
            {"nvidia.com/gpu.product": L4},
        ),
    )


def _demo(w: _Writer) -> None:
    a100 = w.pool("kmc-demo", "a100-pool", 8, "A100-SXM4-80GB", 8, 96, 1360, taint=True)
    h100 = w.pool("kmc-demo", "h100-pool", 7, "H100-80GB-HBM3", 8, 208, 1872, taint=True)
    l4 = w.pool("kmc-demo", "l4-pool", 6, "L4", 4, 48, 192)
    system = w.pool("kmc-demo", "system-pool", 3, None, 0, 16, 64)
    # One L4 node time-sliced ×4 through the device-plugin label (GFD already applied it);
    # one H100 node cordoned (the lifecycle taint already added).
    l4[-1]["metadata"]["labels"]["nvidia.com/device-plugin.config"] = "any"
    apply_sharing(l4[-1], 4)
    h100[-1]["spec"]["unschedulable"] = True
    h100[-1]["spec"]["taints"].append(
        {
            "key": "node.kubernetes.io/unschedulable",
            "effect": "NoSchedule",
            "timeAdded": w.iso(3600),
        }
    )
    w.nodes(a100 + h100 + l4 + system)

    prof = lambda p, **extra: {"sim.kmc.dev/profile": p, **extra}  # noqa: E731
    jobs = [
        (
            "PyTorchJob",
            "llama3-8b-sft",
            "ml-research",
            {"Master": (1, 8), "Worker": (3, 8)},
            H100,
            prof("training"),
            "OnFailure",
            False,
        ),
        (
            "PyTorchJob",
            "bert-large-pretrain",
            "ml-research",
            {"Master": (1, 4), "Worker": (1, 4)},
            H100,
            prof("training"),
            "OnFailure",
            False,
        ),
        (
            "PyTorchJob",
            "mistral-7b-dpo",
            "ml-research",
            {"Master": (1, 8), "Worker": (1, 8)},
            A100,
            prof("training"),
            "OnFailure",
            False,
        ),
        (
            "PyTorchJob",
            "resnet50-imagenet",
            "ml-platform",
            {"Master": (1, 8)},
            A100,
            prof("training", **{"sim.kmc.dev/run-seconds": "45"}),
            "OnFailure",
            False,
        ),
        (
            "PyTorchJob",
            "vit-huge-finetune",
            "ml-research",
            {"Master": (1, 8)},
            A100,
            prof("training", **{"sim.kmc.dev/fail-after": "30"}),
            "Never",
            False,
        ),
        (
            "PyTorchJob",
            "neox-20b-pretrain",
            "ml-research",
            {"Master": (1, 8), "Worker": (3, 8)},
            H100,
            prof("training"),
            "OnFailure",
            False,
        ),
        (
            "PyTorchJob",
            "whisper-large-v3-ft",
            "ml-research",
            {"Master": (1, 8)},
            A100,
            prof("training"),
            "OnFailure",
            True,
        ),
        (
            "PyTorchJob",
            "t5-xl-distill",
            "ml-platform",
            {"Master": (1, 4)},
            A100,
            prof("training", **{"sim.kmc.dev/fail-after": "40"}),
            "OnFailure",
            False,
        ),
        (
            "PyTorchJob",
            "llava-13b-eval",
            "ml-research",
            {"Master": (1, 4)},
            A100,
            prof("hung"),
            "OnFailure",
            False,
        ),
        (
            "TFJob",
            "dlrm-recsys",
            "ml-platform",
            {"Chief": (1, 4), "Worker": (1, 4)},
            A100,
            prof("training"),
            "OnFailure",
            False,
        ),
        (
            "MPIJob",
            "horovod-resnet152",
            "ml-platform",
            {"Launcher": (1, 0), "Worker": (1, 8)},
            A100,
            prof("training"),
            "OnFailure",
            False,
        ),
    ]
    for kind, name, ns, replicas, product, ann, restart, suspend in jobs:
        w.create(
            kind,
            training_job(
                kind,
                name,
                ns,
                replicas,
                product,
                ann,
                restart,
                suspend,
                backoff=0 if restart == "Never" else 3,
            ),
        )
    embed = container("embed", PYTORCH, 1, cpu="4", memory="16Gi", command=["python", "embed.py"])
    w.create(
        "Job",
        {
            "metadata": {"name": "embed-corpus-shards", "namespace": "ml-platform"},
            "spec": {
                "parallelism": 4,
                "completions": 8,
                "backoffLimit": 4,
                "template": template(
                    [embed],
                    L4,
                    annotations=prof("training", **{"sim.kmc.dev/run-seconds": "120"}),
                    restart="Never",
                ),
            },
        },
    )
    jupyter = container(
        "notebook",
        "jupyter/pytorch-notebook:cuda12-2024-05-27",
        1,
        cpu="2",
        memory="16Gi",
        port=8888,
    )
    w.create(
        "Deployment",
        deployment(
            "jupyter-alice",
            "ml-research",
            1,
            {"app": "jupyter-alice"},
            template([jupyter], L4, annotations=prof("idle")),
        ),
    )

    for name, uri, gpus, replicas, selector in (
        (
            "llama3-8b-instruct",
            "hf://meta-llama/Meta-Llama-3-8B-Instruct",
            1,
            2,
            {"nvidia.com/gpu.product": L4},
        ),
        ("sdxl-turbo", "hf://stabilityai/sdxl-turbo", 1, 1, {"nvidia.com/gpu.product": L4}),
        (
            "bge-reranker",
            "hf://BAAI/bge-reranker-large",
            1,
            3,
            {"nvidia.com/gpu.sharing-strategy": "time-slicing"},
        ),
    ):
        w.create(
            "InferenceService", inference_service(name, "serving", uri, gpus, replicas, selector)
        )
    for name, model, gpus, replicas, product in (
        ("vllm-mixtral-8x7b", "mistralai/Mixtral-8x7B-Instruct-v0.1", 2, 2, A100),
        ("vllm-llama3-70b", "meta-llama/Meta-Llama-3-70B-Instruct", 4, 1, A100),
    ):
        labels = {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": name}
        cmd = [
            "python3",
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            model,
            "--tensor-parallel-size",
            str(gpus),
        ]
        c = container("vllm", VLLM, gpus, cpu="16", memory="128Gi", command=cmd, port=8000)
        w.create(
            "Deployment",
            deployment(
                name,
                "serving",
                replicas,
                labels,
                template([c], product, annotations=prof("serving")),
            ),
        )
        w.create(
            "Service",
            {
                "metadata": {"name": name, "namespace": "serving", "labels": labels},
                "spec": {
                    "selector": labels,
                    "ports": [
                        {"name": "http", "port": 8000, "targetPort": 8000, "protocol": "TCP"}
                    ],
                },
            },
        )
    w.create(
        "PodDisruptionBudget",
        {
            "metadata": {"name": "vllm-mixtral-8x7b", "namespace": "serving"},
            "spec": {
                "minAvailable": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/instance": "vllm-mixtral-8x7b"}},
            },
        },
    )
    prom = container(
        "prometheus", "quay.io/prometheus/prometheus:v2.53.0", cpu="2", memory="8Gi", port=9090
    )
    w.create(
        "Deployment",
        deployment(
            "prometheus",
            "monitoring",
            1,
            {"app.kubernetes.io/name": "prometheus"},
            template([prom]),
        ),
    )
    dns = container(
        "coredns", "registry.k8s.io/coredns/coredns:v1.11.1", cpu="100m", memory="70Mi", port=53
    )
    w.create(
        "Deployment",
        deployment("coredns", "kube-system", 2, {"k8s-app": "kube-dns"}, template([dns])),
    )


# ----- scale presets: everything written directly, bound and Running -------------------------

_SAFE = "bcdfghjklmnpqrstvwxz2456789"
_DEFAULT_TOLERATIONS = [
    {
        "key": "node.kubernetes.io/not-ready",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
    {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
]
_SCALE_POOLS = (  # share of GPU nodes, pool, model, cpu, memory Gi, product label
    (0.4, "p5-h100", "H100-80GB-HBM3", 192, 2048, H100),
    (0.5, "p4de-a100", "A100-SXM4-80GB", 96, 1152, A100),
    (0.1, "g6-l4", "L4", 192, 768, L4),
)


def _hash(text: str) -> str:
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return "".join(_SAFE[b % len(_SAFE)] for b in digest)[:10]


class _App:
    """What all pods of one owner share (dicts shared between pods: never mutated after)."""

    __slots__ = ("annotations", "conds", "created", "cs", "labels", "ns", "owners", "qos", "spec")

    def __init__(
        self,
        ns: str,
        owner: dict[str, Any],
        containers: list[dict[str, Any]],
        labels: dict[str, str],
        extra_spec: dict[str, Any],
        annotations: dict[str, str],
        started: str,
    ) -> None:
        self.ns, self.labels, self.annotations, self.created = ns, labels, annotations, started
        meta = owner["metadata"]
        self.owners = [
            {
                "apiVersion": owner["apiVersion"],
                "kind": owner["kind"],
                "name": meta["name"],
                "uid": meta["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        for c in containers:
            c.setdefault("imagePullPolicy", "IfNotPresent")
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
        self.spec = {
            "containers": containers,
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
            "serviceAccountName": "default",
            "serviceAccount": "default",
            "securityContext": {},
            "enableServiceLinks": True,
            "priority": 0,
            "preemptionPolicy": "PreemptLowerPriority",
            "tolerations": _DEFAULT_TOLERATIONS,
            **extra_spec,
        }
        self.conds = [
            {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": started}
            for t in (
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled",
            )
        ]
        self.cs = [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": c["image"].rsplit(":", 1)[0]
                + "@sha256:"
                + hashlib.sha256(c["image"].encode()).hexdigest(),
                "ready": True,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": started}},
                "lastState": {},
            }
            for c in containers
        ]
        limits = [c.get("resources", {}).get("limits", {}) for c in containers]
        self.qos = (
            "Guaranteed" if all("cpu" in lim and "memory" in lim for lim in limits) else "Burstable"
        )


class _Scale:
    """`large` / `huge`: GPU pools, DaemonSet pods on every node, training jobs on whole nodes,
    vLLM Deployments, GPU notebooks, and CPU services filling the pod count."""

    def __init__(self, ctx: SimContext, name: str) -> None:
        self.ctx, self.store = ctx, ctx.store
        self.gpu_nodes, self.system_nodes, self.teams = (
            (1000, 8, 5) if name == "large" else (10000, 40, 50)
        )
        self.rng = random.Random(ctx.seed)
        self.now = ctx.clock.now()
        self.pod_rt = by_kind("Pod")
        self.nodes: list[
            list[Any]
        ] = []  # [name, host IP, pod IP prefix, next IP, pods, free GPUs, product]
        self.pods = self.serial = 0

    def iso(self, ago: float) -> str:
        return self.ctx.clock.iso(self.now - ago)

    def create(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        return self.store.create(by_kind(kind), obj)

    def build(self) -> None:
        writer = _Writer(self.ctx)
        team_names = tuple(f"team-{i:02d}" for i in range(self.teams))
        writer.namespaces(team_names)
        self._nodes()
        daemonsets = gpu_operator_objects(self.ctx)
        daemonsets["kube-proxy"] = self.create(
            "DaemonSet",
            daemonset(
                "kube-proxy",
                "kube-system",
                "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/kube-proxy:v1.30.0-minimal-eksbuild.3",
                None,
                None,
            ),
        )
        daemonsets["node-exporter"] = self.create(
            "DaemonSet",
            daemonset(
                "node-exporter", "monitoring", "quay.io/prometheus/node-exporter:v1.8.1", 9100, None
            ),
        )
        for ds in daemonsets.values():
            self._daemon_pods(ds)
        gpu = [n for n in self.nodes if n[5]]
        self.rng.shuffle(gpu)
        train, serve, dev = (
            gpu[: len(gpu) * 6 // 10],
            gpu[len(gpu) * 6 // 10 : len(gpu) * 85 // 100],
            gpu[len(gpu) * 85 // 100 :],
        )
        self._training(train, team_names)
        self._serving(serve, team_names)
        self._notebooks(dev, team_names)
        self._cpu_services(team_names, self.gpu_nodes * 20 - self.pods)

    def _nodes(self) -> None:
        created = self.iso(30 * 86400)
        index = 0
        for share, pool, model, cpu, mem, product in _SCALE_POOLS:
            for _ in range(int(self.gpu_nodes * share)):
                self._node(index, pool, model, 8, cpu, mem, created, product)
                index += 1
        for _ in range(self.system_nodes):
            self._node(index, "system", None, 0, 16, 64, created, None)
            index += 1

    def _node(
        self,
        index: int,
        pool: str,
        model: str | None,
        gpus: int,
        cpu: int,
        mem: int,
        created: str,
        product: str | None,
    ) -> None:
        ip = node_ip(index)
        name = f"ip-{ip.replace('.', '-')}.ec2.internal"
        node = make_node(name, pool, model, gpus, cpu, mem, "eks", index=index, created=created)
        self.create("Node", node)
        prefix = node["spec"]["podCIDR"].rsplit(".", 1)[0] + "."
        self.nodes.append([name, ip, prefix, 2, 0, gpus, product])

    def _pod(
        self,
        app: _App,
        name: str,
        node: list[Any],
        gpus: int = 0,
        labels: dict[str, str] | None = None,
    ) -> None:
        ip = node[2] + str(node[3])
        node[3] += 1
        node[4] += 1
        node[5] -= gpus
        self.pods += 1
        getbits = self.rng.getrandbits
        self.store.create(
            self.pod_rt,
            {
                "metadata": {
                    "name": name,
                    "namespace": app.ns,
                    "labels": labels or app.labels,
                    "annotations": app.annotations,
                    "ownerReferences": app.owners,
                    "creationTimestamp": app.created,
                },
                "spec": {**app.spec, "nodeName": node[0]},
                "status": {
                    "phase": "Running",
                    "conditions": app.conds,
                    "hostIP": node[1],
                    "hostIPs": [{"ip": node[1]}],
                    "podIP": ip,
                    "podIPs": [{"ip": ip}],
                    "startTime": app.created,
                    "containerStatuses": [
                        {**cs, "containerID": f"containerd://{getbits(256):064x}"} for cs in app.cs
                    ],
                    "qosClass": app.qos,
                },
            },
        )

    def _suffix(self) -> str:
        """A unique 5-letter pod name suffix: a scrambled counter (a bijection mod 27⁵)."""
        self.serial += 1
        value, out = (self.serial * 7368787 + self.ctx.seed) % 27**5, []
        for _ in range(5):
            value, digit = divmod(value, 27)
            out.append(_SAFE[digit])
        return "".join(out)

    def _daemon_pods(self, ds: dict[str, Any]) -> None:
        tmpl = ds["spec"]["template"]
        gpu_only = "nodeSelector" in tmpl["spec"]
        nodes = [n for n in self.nodes if n[5] or not gpu_only]
        labels = {
            "app": ds["metadata"]["name"],
            "controller-revision-hash": _hash(ds["metadata"]["name"]),
            "pod-template-generation": "1",
        }
        extra = {k: v for k, v in tmpl["spec"].items() if k != "containers"}
        extra["tolerations"] = [*extra.get("tolerations", []), *_DEFAULT_TOLERATIONS]
        app = _App(
            ds["metadata"]["namespace"],
            ds,
            [dict(c) for c in tmpl["spec"]["containers"]],
            labels,
            extra,
            {},
            self.iso(29 * 86400),
        )
        name = ds["metadata"]["name"]
        for node in nodes:
            self._pod(app, f"{name}-{self._suffix()}", node)
        ready = len(nodes)
        ds["status"] = {
            "currentNumberScheduled": ready,
            "desiredNumberScheduled": ready,
            "numberAvailable": ready,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "updatedNumberScheduled": ready,
            "observedGeneration": 1,
        }
        self.store.replace(by_kind("DaemonSet"), ds)

    def _training(self, nodes: list[list[Any]], teams: tuple[str, ...]) -> None:
        nodes = sorted(nodes, key=lambda n: (n[6], n[0]))  # a job stays within one GPU model
        i = job_no = 0
        while i < len(nodes):
            size = self.rng.choice((1, 2, 2, 4, 4, 8, 16))
            group = [n for n in nodes[i : i + size] if n[6] == nodes[i][6]]
            i += len(group)
            job_no += 1
            ns, name = teams[job_no % len(teams)], f"train-{job_no:05d}-{_hash(str(job_no))[:5]}"
            replicas = {"Master": (1, 8)} | (
                {"Worker": (len(group) - 1, 8)} if len(group) > 1 else {}
            )
            job = training_job(
                "PyTorchJob", name, ns, replicas, group[0][6], {"sim.kmc.dev/profile": "training"}
            )
            started = self.iso(self.rng.uniform(600, 5 * 86400))
            job["metadata"]["creationTimestamp"] = started
            job["status"] = {
                "conditions": [
                    {
                        "type": t,
                        "status": "True",
                        "reason": f"PyTorchJob{t}",
                        "message": f"PyTorchJob {name} is {t.lower()}.",
                        "lastUpdateTime": started,
                        "lastTransitionTime": started,
                    }
                    for t in ("Created", "Running")
                ],
                "replicaStatuses": {
                    t: {
                        "active": c,
                        "selector": f"training.kubeflow.org/job-name={name},training.kubeflow.org/operator-name=pytorchjob-controller,training.kubeflow.org/replica-type={t.lower()}",
                    }
                    for t, (c, _) in replicas.items()
                },
                "startTime": started,
            }
            job = self.create("PyTorchJob", job)
            for rtype, (count, _) in replicas.items():
                rs = job["spec"]["pytorchReplicaSpecs"][rtype]
                tspec = rs["template"]["spec"]
                extra = {
                    "restartPolicy": rs["restartPolicy"],
                    "tolerations": [*tspec["tolerations"], *_DEFAULT_TOLERATIONS],
                    "nodeSelector": tspec["nodeSelector"],
                }
                app = _App(
                    ns,
                    job,
                    [dict(c) for c in tspec["containers"]],
                    {},
                    extra,
                    rs["template"]["metadata"].get("annotations", {}),
                    started,
                )
                for index in range(count):
                    labels = {
                        "training.kubeflow.org/operator-name": "pytorchjob-controller",
                        "training.kubeflow.org/job-name": name,
                        "training.kubeflow.org/replica-type": rtype.lower(),
                        "training.kubeflow.org/replica-index": str(index),
                    }
                    if rtype == "Master":
                        labels["training.kubeflow.org/job-role"] = "master"
                    node = group.pop()
                    self._pod(app, f"{name}-{rtype.lower()}-{index}", node, 8, labels)

    def _deployment(
        self,
        ns: str,
        name: str,
        replicas: int,
        containers: list[dict[str, Any]],
        extra: dict[str, Any],
        annotations: dict[str, str],
        labels: dict[str, str],
    ) -> _App:
        """A Deployment + its ReplicaSet with statuses for `replicas` Running pods; the pods' _App."""
        tmpl = {
            "metadata": {"labels": dict(labels), "annotations": annotations},
            "spec": {"containers": containers, **extra},
        }
        started = self.iso(self.rng.uniform(3600, 20 * 86400))
        h = _hash(ns + name)
        ready = {
            "replicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "updatedReplicas": replicas,
            "observedGeneration": 1,
        }
        conds = [
            {
                "type": t,
                "status": "True",
                "reason": r,
                "message": m,
                "lastUpdateTime": started,
                "lastTransitionTime": started,
            }
            for t, r, m in (
                ("Available", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                (
                    "Progressing",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{name}-{h}" has successfully progressed.',
                ),
            )
        ]
        dep = self.create(
            "Deployment",
            {
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": dict(labels),
                    "annotations": {"deployment.kubernetes.io/revision": "1"},
                    "creationTimestamp": started,
                },
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": dict(labels)},
                    "template": tmpl,
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                    },
                    "revisionHistoryLimit": 10,
                    "progressDeadlineSeconds": 600,
                },
                "status": {**ready, "conditions": conds},
            },
        )
        pod_labels = {**labels, "pod-template-hash": h}
        rs_tmpl = {
            "metadata": {"labels": pod_labels, "annotations": annotations},
            "spec": tmpl["spec"],
        }
        rs = self.create(
            "ReplicaSet",
            {
                "metadata": {
                    "name": f"{name}-{h}",
                    "namespace": ns,
                    "labels": pod_labels,
                    "annotations": {
                        "deployment.kubernetes.io/revision": "1",
                        "deployment.kubernetes.io/desired-replicas": str(replicas),
                    },
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": name,
                            "uid": dep["metadata"]["uid"],
                            "controller": True,
                            "blockOwnerDeletion": True,
                        }
                    ],
                    "creationTimestamp": started,
                },
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": pod_labels},
                    "template": rs_tmpl,
                },
                "status": {**ready, "fullyLabeledReplicas": replicas},
            },
        )
        return _App(ns, rs, [dict(c) for c in containers], pod_labels, extra, annotations, started)

    def _serving(self, nodes: list[list[Any]], teams: tuple[str, ...]) -> None:
        nodes = sorted(nodes, key=lambda n: (n[6], n[0]))
        i = n = 0
        while i < len(nodes):
            group = [x for x in nodes[i : i + self.rng.choice((1, 2, 4, 8))] if x[6] == nodes[i][6]]
            i += len(group)
            n += 1
            gpus = self.rng.choice((1, 2, 4))
            ns, name = teams[n % len(teams)], f"vllm-{n:04d}"
            c = container(
                "vllm",
                VLLM,
                gpus,
                cpu=str(6 * gpus),
                memory=f"{48 * gpus}Gi",
                command=[
                    "python3",
                    "-m",
                    "vllm.entrypoints.openai.api_server",
                    "--tensor-parallel-size",
                    str(gpus),
                ],
                port=8000,
            )
            extra = {
                "tolerations": [TOLERATE_GPU, *_DEFAULT_TOLERATIONS],
                "nodeSelector": {"nvidia.com/gpu.product": group[0][6]},
            }
            per_node = 8 // gpus
            app = self._deployment(
                ns,
                name,
                per_node * len(group),
                [c],
                extra,
                {"sim.kmc.dev/profile": "serving"},
                {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": name},
            )
            rs_name = app.owners[0]["name"]
            for node in group:
                for _ in range(per_node):
                    self._pod(app, f"{rs_name}-{self._suffix()}", node, gpus)

    def _notebooks(self, nodes: list[list[Any]], teams: tuple[str, ...]) -> None:
        per_team: dict[str, list[list[Any]]] = {}
        for k, node in enumerate(nodes):
            for _ in range(self.rng.choice((0, 1, 2, 4))):
                per_team.setdefault(teams[k % len(teams)], []).append(node)
        for ns, placed in per_team.items():
            c = container(
                "notebook",
                "jupyter/pytorch-notebook:cuda12-2024-05-27",
                1,
                cpu="2",
                memory="16Gi",
                port=8888,
            )
            extra = {"tolerations": [TOLERATE_GPU, *_DEFAULT_TOLERATIONS]}
            app = self._deployment(
                ns,
                "gpu-notebooks",
                len(placed),
                [c],
                extra,
                {"sim.kmc.dev/profile": "idle"},
                {"app": "gpu-notebooks"},
            )
            for node in placed:
                self._pod(app, f"{app.owners[0]['name']}-{self._suffix()}", node, 1)

    def _cpu_services(self, teams: tuple[str, ...], total: int) -> None:
        kinds = (
            ("feature-store", "redis:7.2"),
            ("data-loader", "python:3.11-slim"),
            ("tokenizer-svc", "ghcr.io/huggingface/text-embeddings-inference:cpu-1.5"),
        )
        apps = [(ns, name, image) for ns in teams for name, image in kinds]
        share, cursor = total // len(apps), 0
        for k, (ns, name, image) in enumerate(apps):
            count = share + (1 if k < total % len(apps) else 0)
            c = container(name, image, cpu="250m", memory="512Mi")
            app = self._deployment(ns, name, count, [c], {}, {}, {"app": name})
            rs_name = app.owners[0]["name"]
            for _ in range(count):
                node = self.nodes[cursor % len(self.nodes)]
                cursor += 1
                while node[4] >= 100:
                    node = self.nodes[cursor % len(self.nodes)]
                    cursor += 1
                self._pod(app, f"{rs_name}-{self._suffix()}", node)
