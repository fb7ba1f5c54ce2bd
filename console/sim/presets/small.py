"""The small presets, `tiny` and `demo`: nodes and workload *objects* only.

The controllers create, schedule and run the pods; `sim.kmc.dev/*` annotations on the pod
templates script their fate (see `controllers.kubelet`).
"""

from __future__ import annotations

import random
from typing import Any

from ..kinds import by_kind
from ..nodes import apply_sharing, make_node
from ..podspec import FAIL_AFTER, PROFILE, RUN_SECONDS, SAFE_ALPHABET
from ..runtime import SimContext
from ..telemetry import HOT_ANNOTATION, XID_ANNOTATION
from . import gpu_shapes, ml_shapes, pod_statuses
from .manifests import (
    A100,
    H100,
    L4,
    PYTORCH,
    VLLM,
    container,
    deployment,
    inference_service,
    template,
    training_job,
)

TRAINING = {PROFILE: "training"}
MLFLOW, MLFLOW_STALL = "sim.kmc.dev/mlflow", "sim.kmc.dev/mlflow-stall-after"
"""How the job's run is linked (see `console.sim.mlflow_feed`), and when it stops logging."""


def _logs(mode: str) -> dict[str, str]:
    """A training job that logs its run to MLflow, linked by `mode` (when the demo has MLflow)."""
    return {**TRAINING, MLFLOW: mode}


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

    def job(
        self,
        kind: str,
        name: str,
        ns: str,
        replicas: dict[str, tuple[int, int]],
        product: str,
        annotations: dict[str, str] | None = None,
        **options: Any,
    ) -> None:
        """Create a Kubeflow job (see `training_job` for `replicas` and `options`); its pods
        train unless `annotations` script otherwise."""
        annotations = dict(annotations or TRAINING)
        self.create(kind, training_job(kind, name, ns, replicas, product, annotations, **options))

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
            suffix = "".join(self.rng.choice(SAFE_ALPHABET) for _ in range(4))
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


def tiny(ctx: SimContext) -> None:
    w = _Writer(ctx)
    w.nodes(w.pool("tiny", "l4-pool", 1, "L4", 4, 48, 192))
    w.nodes(w.pool("tiny", "a100-pool", 1, "A100-SXM4-80GB", 8, 96, 1360, taint=True))
    w.nodes(w.pool("tiny", "default-pool", 1, None, 0, 8, 32))
    w.job("PyTorchJob", "llama-ft", "ml", {"Master": (1, 2), "Worker": (1, 2)}, A100)
    crash = {**TRAINING, FAIL_AFTER: "120"}
    w.job("PyTorchJob", "bert-crashloop", "ml", {"Master": (1, 1)}, L4, crash, backoff=1000)
    llama = "hf://meta-llama/Meta-Llama-3-8B-Instruct"
    l4_only = {"nvidia.com/gpu.product": L4}
    w.create("InferenceService", inference_service("llama3-8b", "ml", llama, 1, 1, l4_only))


def demo(ctx: SimContext) -> None:
    w = _Writer(ctx)
    _demo_nodes(w)
    _demo_training(w)
    _demo_serving(w)
    _demo_services(w)
    pod_statuses.write(ctx)  # last: the objects above keep their names and placements
    gpu_shapes.write(ctx, w.index, w.iso(30 * 86400))  # MIG, renamed sharing, GKE w/o GFD
    ml_shapes.write(ctx)  # JobSet, TrainJob, XGBoostJob, KServe canary and stuck rollout


def _demo_nodes(w: _Writer) -> None:
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
    # Something for triage: a GPU that logged an XID error, and one running hot.
    h100[0]["metadata"].setdefault("annotations", {})[XID_ANNOTATION] = "3"
    a100[2]["metadata"].setdefault("annotations", {})[HOT_ANNOTATION] = "5"
    w.nodes(a100 + h100 + l4 + system)


def _demo_training(w: _Writer) -> None:
    """Jobs in every state: running, succeeding, failed, suspended, crash-looping, hung."""
    research, platform = "ml-research", "ml-platform"
    pair = {"Master": (1, 8), "Worker": (1, 8)}
    four_nodes = {"Master": (1, 8), "Worker": (3, 8)}
    one_node = {"Master": (1, 8)}
    w.job("PyTorchJob", "llama3-8b-sft", research, four_nodes, H100, _logs("annotation"))
    w.job(
        "PyTorchJob",
        "bert-large-pretrain",
        research,
        {"Master": (1, 4), "Worker": (1, 4)},
        H100,
        _logs("env"),
    )
    w.job("PyTorchJob", "mistral-7b-dpo", research, pair, A100, _logs("tag"))
    done = {**_logs("tag"), RUN_SECONDS: "45"}
    w.job("PyTorchJob", "resnet50-imagenet", platform, one_node, A100, done)
    failed = {**_logs("tag"), FAIL_AFTER: "30"}
    w.job(
        "PyTorchJob",
        "vit-huge-finetune",
        research,
        one_node,
        A100,
        failed,
        restart="Never",
        backoff=0,
    )
    w.job("PyTorchJob", "neox-20b-pretrain", research, four_nodes, H100, _logs("env"))
    w.job("PyTorchJob", "whisper-large-v3-ft", research, one_node, A100, suspend=True)
    crash = {**TRAINING, FAIL_AFTER: "40"}
    w.job("PyTorchJob", "t5-xl-distill", platform, {"Master": (1, 4)}, A100, crash, backoff=1000)
    # hung: GPUs busy, no new step logged to MLflow after its first 4 minutes
    hung = {PROFILE: "hung", MLFLOW: "tag", MLFLOW_STALL: "240"}
    w.job("PyTorchJob", "llava-13b-eval", research, {"Master": (1, 4)}, A100, hung)
    chief = {"Chief": (1, 4), "Worker": (1, 4)}
    w.job("TFJob", "dlrm-recsys", platform, chief, A100, _logs("name"))
    mpi = {"Launcher": (1, 0), "Worker": (1, 8)}
    w.job("MPIJob", "horovod-resnet152", platform, mpi, A100, _logs("annotation"))
    embed = container("embed", PYTORCH, 1, cpu="4", memory="16Gi", command=["python", "embed.py"])
    shards = {**TRAINING, RUN_SECONDS: "120"}
    w.create(
        "Job",
        {
            "metadata": {"name": "embed-corpus-shards", "namespace": platform},
            "spec": {
                "parallelism": 4,
                "completions": 8,
                "backoffLimit": 4,
                "template": template([embed], L4, annotations=shards, restart="Never"),
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
    notebook = template([jupyter], L4, annotations={PROFILE: "idle"})
    w.create(
        "Deployment",
        deployment("jupyter-alice", research, 1, {"app": "jupyter-alice"}, notebook),
    )


def _demo_serving(w: _Writer) -> None:
    l4_only = {"nvidia.com/gpu.product": L4}
    for name, uri, replicas, selector in (
        ("llama3-8b-instruct", "hf://meta-llama/Meta-Llama-3-8B-Instruct", 2, l4_only),
        ("sdxl-turbo", "hf://stabilityai/sdxl-turbo", 1, l4_only),
        (
            "bge-reranker",
            "hf://BAAI/bge-reranker-large",
            3,
            {"nvidia.com/gpu.sharing-strategy": "time-slicing"},
        ),
    ):
        w.create("InferenceService", inference_service(name, "serving", uri, 1, replicas, selector))
    for name, model, gpus, replicas in (
        ("vllm-mixtral-8x7b", "mistralai/Mixtral-8x7B-Instruct-v0.1", 2, 2),
        ("vllm-llama3-70b", "meta-llama/Meta-Llama-3-70B-Instruct", 4, 1),
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
        pods = template([c], A100, annotations={PROFILE: "serving"})
        w.create("Deployment", deployment(name, "serving", replicas, labels, pods))
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


def _demo_services(w: _Writer) -> None:
    prom = container(
        "prometheus", "quay.io/prometheus/prometheus:v2.53.0", cpu="2", memory="8Gi", port=9090
    )
    prom_labels = {"app.kubernetes.io/name": "prometheus"}
    w.create("Deployment", deployment("prometheus", "monitoring", 1, prom_labels, template([prom])))
    dns = container(
        "coredns", "registry.k8s.io/coredns/coredns:v1.11.1", cpu="100m", memory="70Mi", port=53
    )
    w.create(
        "Deployment",
        deployment("coredns", "kube-system", 2, {"k8s-app": "kube-dns"}, template([dns])),
    )
