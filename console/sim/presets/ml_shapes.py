"""The demo's newer ML shapes (issue 9): a JobSet, a TrainJob admitted the way Kueue does it,
an XGBoostJob, a KServe canary with its traffic split and a rollout stuck on GPUs.

All run on the L4 pool, which has room for them beside the demo's own L4 workloads, so the
A100/H100 jobs keep their places. Every object gets a uid derived from its name and is
written after the demo's own pods were created and placed (like `pod_statuses`).
Admission and rollouts happen on the sim clock: the TrainJob is created suspended and
unsuspended `ADMIT_AFTER` seconds later (Kueue's admission), and both InferenceServices get
their second revision `ROLLOUT_AFTER` seconds in (a canary at 20%; one asking for 8 GPUs per
pod, which no L4 node has).
"""

from __future__ import annotations

import copy
from typing import Any

from ..kinds import by_kind
from ..podspec import PROFILE
from ..runtime import SimContext
from .manifests import L4, PYTORCH, TOLERATE_GPU, container, template
from .pod_statuses import _create

ADMIT_AFTER = 20.0
ROLLOUT_AFTER = 30.0
TRAINING = {PROFILE: "training"}
L4_ONLY = {"nvidia.com/gpu.product": L4}


def write(ctx: SimContext) -> None:
    """Write the objects once the demo's own pods are placed (see `pod_statuses.write`)."""
    ctx.after(0.5, lambda: write_now(ctx))


def write_now(ctx: SimContext) -> None:
    _jobset(ctx)
    _trainjob(ctx)
    _xgboost(ctx)
    _kserve(ctx)


def _jobset(ctx: SimContext) -> None:
    worker = container(
        "worker", PYTORCH, 2, cpu="8", memory="32Gi", command=["python", "pretrain.py"]
    )
    driver = container(
        "driver", PYTORCH, cpu="2", memory="8Gi", command=["python", "coordinator.py"]
    )
    _create(
        ctx,
        "JobSet",
        {
            "metadata": {
                "name": "gpt-neo-jobset",
                "namespace": "ml-research",
                "annotations": dict(TRAINING),
            },
            "spec": {
                "network": {"enableDNSHostnames": True},
                "failurePolicy": {"maxRestarts": 3},
                "successPolicy": {"operator": "All", "targetReplicatedJobs": ["workers"]},
                "replicatedJobs": [
                    {"name": "driver", "replicas": 1, "template": {"spec": {
                        "parallelism": 1, "completions": 1, "backoffLimit": 0,
                        "template": template([driver], restart="Never"),
                    }}},
                    {"name": "workers", "replicas": 2, "template": {"spec": {
                        "parallelism": 1, "completions": 1, "backoffLimit": 0,
                        "template": template([worker], L4, restart="Never"),
                    }}},
                ],
            },
        },
    )  # fmt: skip


def _trainjob(ctx: SimContext) -> None:
    node = container("node", PYTORCH, 2, cpu="8", memory="32Gi", command=["torchrun", "train.py"])
    pod = template([node], L4, restart="Never")
    _create(
        ctx,
        "ClusterTrainingRuntime",
        {
            "metadata": {
                "name": "torch-distributed",
                "labels": {"trainer.kubeflow.org/framework": "torch"},
            },
            "spec": {
                "mlPolicy": {"numNodes": 1, "torch": {"numProcPerNode": "auto"}},
                "template": {"spec": {"replicatedJobs": [{"name": "node", "template": {
                    "metadata": {"labels": {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}},
                    "spec": {"template": pod},
                }}]}},
            },
        },
    )  # fmt: skip
    _create(
        ctx,
        "TrainJob",
        {
            "metadata": {
                "name": "gemma-2b-sft",
                "namespace": "ml-research",
                "labels": {"kueue.x-k8s.io/queue-name": "research-l4"},
                "annotations": dict(TRAINING),
            },
            "spec": {
                "runtimeRef": {
                    "name": "torch-distributed",
                    "apiGroup": "trainer.kubeflow.org",
                    "kind": "ClusterTrainingRuntime",
                },
                "trainer": {"numNodes": 2, "image": PYTORCH},
                "suspend": True,
            },
        },
    )

    def admit() -> None:
        ctx.store.mutate(
            by_kind("TrainJob"), "ml-research", "gemma-2b-sft",
            lambda obj: obj["spec"].update(suspend=False),
        )  # fmt: skip

    ctx.after(ADMIT_AFTER, admit)


def _xgboost(ctx: SimContext) -> None:
    xgb = container("xgboost", "docker.io/kubeflow/xgboost-dist-iris:latest", cpu="4", memory="8Gi")
    specs = {
        role: {
            "replicas": count,
            "restartPolicy": "Never",
            "template": template([copy.deepcopy(xgb)]),
        }
        for role, count in (("Master", 1), ("Worker", 2))
    }
    _create(
        ctx,
        "XGBoostJob",
        {
            "metadata": {"name": "xgb-fraud-detect", "namespace": "ml-platform"},
            "spec": {"xgbReplicaSpecs": specs, "runPolicy": {"cleanPodPolicy": "None"}},
        },
    )


def _isvc(name: str, uri: str) -> dict[str, Any]:
    resources = {"cpu": "4", "memory": "24Gi", "nvidia.com/gpu": "1"}
    return {
        "metadata": {
            "name": name,
            "namespace": "serving",
            "annotations": {"serving.kserve.io/deploymentMode": "Serverless", PROFILE: "serving"},
        },
        "spec": {
            "predictor": {
                "minReplicas": 1,
                "maxReplicas": 2,
                "model": {
                    "modelFormat": {"name": "huggingface"},
                    "runtime": "kserve-huggingfaceserver",
                    "storageUri": uri,
                    "resources": {"requests": dict(resources), "limits": resources},
                },
                "tolerations": [dict(TOLERATE_GPU)],
                "nodeSelector": dict(L4_ONLY),
            }
        },
    }


def _kserve(ctx: SimContext) -> None:
    _create(ctx, "InferenceService", _isvc("qwen2-7b-chat", "hf://Qwen/Qwen2-7B-Instruct"))
    _create(ctx, "InferenceService", _isvc("phi3-mini", "hf://microsoft/Phi-3-mini-4k-instruct"))
    isvc = by_kind("InferenceService")

    def canary(obj: dict[str, Any]) -> None:
        predictor = obj["spec"]["predictor"]
        predictor["canaryTrafficPercent"] = 20
        predictor["model"]["storageUri"] = "hf://Qwen/Qwen2.5-7B-Instruct"

    def too_big(obj: dict[str, Any]) -> None:
        model = obj["spec"]["predictor"]["model"]
        model["storageUri"] = "hf://microsoft/Phi-3-medium-128k-instruct"
        for part in ("requests", "limits"):
            model["resources"][part]["nvidia.com/gpu"] = "8"

    def rollout() -> None:
        ctx.store.mutate(isvc, "serving", "qwen2-7b-chat", canary)
        ctx.store.mutate(isvc, "serving", "phi3-mini", too_big)

    ctx.after(ROLLOUT_AFTER, rollout)
