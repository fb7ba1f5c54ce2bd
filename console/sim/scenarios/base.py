"""The healthy cluster every scenario starts from: its nodes, by role, and its workloads.

17 nodes: 4 H100 ×8 and 6 A100 ×8 (tainted `nvidia.com/gpu`), 5 L4 ×4, 2 system nodes; the GPU
Operator's objects (its DaemonSets run a pod on every GPU node). Each node has a role, so
every incident lands on a node of its own and `all` shows each of them apart:

    h100[0..3]  a 32-GPU pretraining PyTorchJob (4 h old)   xid on h100[0], memory on h100[3]
    a100[0..1]  a 16-GPU fine-tune logging to MLflow        (its run is never stalled)
    a100[2]     a vLLM Deployment (4 GPUs)                  hot-gpu
    a100[3..4]                                              nccl-hang, crashloop
    a100[5]                                                 node-notready
    l4[0]       a KServe InferenceService (2 replicas)
    l4[1]                                                   idle-allocated
    l4[2]                                                   server-down
    l4[3]                                                   timeslice-stuck
    l4[4]       a reranker Deployment (2 GPUs)              exporter-down

Every pod is pinned to its node (`kubernetes.io/hostname`), so placements do not depend on
the scheduler's order. Allocated GPUs are all busy: nothing idle, hot, failing or Pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..podspec import PROFILE
from ..presets.manifests import (
    A100,
    H100,
    VLLM,
    container,
    deployment,
    gpu_operator_objects,
    inference_service,
    template,
    training_job,
    write_namespaces,
)
from ..presets.small import MLFLOW, TRAINING, _Writer
from ..runtime import SimContext

NAMESPACES = ("ml-research", "ml-platform", "serving", "notebooks")
HOSTNAME = "kubernetes.io/hostname"


@dataclass(frozen=True)
class Layout:
    """The scenario cluster's node names by pool (index = role, see the module docstring)."""

    h100: tuple[str, ...]
    a100: tuple[str, ...]
    l4: tuple[str, ...]
    system: tuple[str, ...]


def on(node: str) -> dict[str, str]:
    """A node selector that pins a pod to `node`."""
    return {HOSTNAME: node}


def pin(job: dict[str, Any], nodes: dict[str, str]) -> dict[str, Any]:
    """Pin a Kubeflow job's replica types to nodes (`{"Master": node, ...}`); returns `job`."""
    for key, specs in job["spec"].items():
        if not key.endswith("ReplicaSpecs"):
            continue
        for rtype, node in nodes.items():
            if rtype in specs:
                specs[rtype]["template"]["spec"]["nodeSelector"] = on(node)
    return job


def write_nodes(ctx: SimContext, w: _Writer, faults: dict[str, dict[str, str]]) -> Layout:
    """Create the nodes; `faults` maps `pool/index` (e.g. `h100/0`) to annotations to add."""
    pools = {
        "h100": w.pool("kmc-sc", "h100-pool", 4, "H100-80GB-HBM3", 8, 208, 1872, taint=True),
        "a100": w.pool("kmc-sc", "a100-pool", 6, "A100-SXM4-80GB", 8, 96, 1360, taint=True),
        "l4": w.pool("kmc-sc", "l4-pool", 5, "L4", 4, 48, 192),
        "system": w.pool("kmc-sc", "system-pool", 2, None, 0, 16, 64),
    }
    for where, notes in faults.items():
        pool, _, index = where.partition("/")
        node = pools[pool][int(index)]
        node["metadata"].setdefault("annotations", {}).update(notes)
    for nodes in pools.values():
        w.nodes(nodes)
    names = {pool: tuple(n["metadata"]["name"] for n in nodes) for pool, nodes in pools.items()}
    return Layout(**names)


def write_cluster(ctx: SimContext, faults: dict[str, dict[str, str]]) -> tuple[_Writer, Layout]:
    """Namespaces, the GPU Operator, the nodes and the long-running workloads (at build time,
    hours before the scenario serves)."""
    w = _Writer(ctx)
    write_namespaces(ctx, NAMESPACES)
    gpu_operator_objects(ctx)
    layout = write_nodes(ctx, w, faults)
    pretrain = training_job(
        "PyTorchJob",
        "llama3-70b-pretrain",
        "ml-research",
        {"Master": (1, 8), "Worker": (3, 8)},
        H100,
        dict(TRAINING),
    )
    w.create("PyTorchJob", pin(pretrain, {"Master": layout.h100[0]}))
    _serving(w, layout)
    dns = container(
        "coredns", "registry.k8s.io/coredns/coredns:v1.11.1", cpu="100m", memory="70Mi", port=53
    )
    w.create(
        "Deployment",
        deployment("coredns", "kube-system", 2, {"k8s-app": "kube-dns"}, template([dns])),
    )
    return w, layout


def _serving(w: _Writer, layout: Layout) -> None:
    llama = "hf://meta-llama/Meta-Llama-3-8B-Instruct"
    isvc = inference_service("llama3-8b-instruct", "serving", llama, 1, 2, on(layout.l4[0]))
    w.create("InferenceService", isvc)
    model = "mistralai/Mixtral-8x7B-Instruct-v0.1"
    labels = {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": "vllm-mixtral"}
    cmd = ["python3", "-m", "vllm.entrypoints.openai.api_server", "--model", model]
    cmd += ["--tensor-parallel-size", "4"]
    c = container("vllm", VLLM, 4, cpu="16", memory="128Gi", command=cmd, port=8000)
    pods = template([c], A100, annotations={PROFILE: "serving"})
    pods["spec"]["nodeSelector"] = on(layout.a100[2])
    w.create("Deployment", deployment("vllm-mixtral", "serving", 1, labels, pods))
    rerank = container(
        "reranker",
        "ghcr.io/huggingface/text-embeddings-inference:1.5",
        2,
        cpu="8",
        memory="32Gi",
        command=["text-embeddings-router", "--model-id", "BAAI/bge-reranker-large"],
        port=8080,
    )
    pods = template([rerank], annotations={PROFILE: "serving"})
    pods["spec"]["nodeSelector"] = on(layout.l4[4])
    labels = {"app.kubernetes.io/name": "tei", "app.kubernetes.io/instance": "bge-reranker"}
    w.create("Deployment", deployment("bge-reranker", "serving", 1, labels, pods))


def healthy_finetune(w: _Writer, layout: Layout) -> None:
    """A 16-GPU fine-tune whose run logs to MLflow (linked by tag), started minutes before the
    scenario serves, so its whole history is logged at once and it is never seen stalled."""
    job = training_job(
        "PyTorchJob",
        "mistral-7b-sft",
        "ml-research",
        {"Master": (1, 8), "Worker": (1, 8)},
        A100,
        {**TRAINING, MLFLOW: "tag"},
    )
    w.create("PyTorchJob", pin(job, {"Master": layout.a100[0], "Worker": layout.a100[1]}))
