"""The workload incidents: idle-allocated, nccl-hang, crashloop, pending-gpus, server-down, and
the GPU pods that node-notready strands.

`LONG_LIVED` ones are written with the cluster, hours before the scenario serves; the others
`PHASE` seconds before it, and the controllers run them to where they show (restarts counted,
a job failed, FailedScheduling recorded, the MLflow run stalled long ago).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..kinds import by_kind
from ..podspec import EXIT_CODE, FAIL_AFTER, PROFILE, RESTART_HOLD
from ..presets import pod_statuses
from ..presets.manifests import (
    A100,
    H100,
    PYTORCH,
    container,
    deployment,
    inference_service,
    template,
    training_job,
)
from ..presets.small import MLFLOW, MLFLOW_STALL, TRAINING, _Writer
from .base import Layout, on, pin

PHASE = 1800.0
"""Seconds before serving that the short-lived incidents start."""
FAILED_BEFORE = 600.0
STALL_AFTER = 120.0
"""The hung job's collective hangs (and its run stops logging) 2 min after it started, as its
logs say (`pod_logs.HUNG_AFTER_S`): about 28 min before the scenario serves."""
B200 = "NVIDIA-B200"
UNREACHABLE_GRACE = 3600


def idle_allocated(w: _Writer, layout: Layout) -> None:
    """Two notebooks and a forgotten Deployment holding all 4 GPUs of l4[1] at 0%, for hours."""
    idle = {PROFILE: "idle"}
    for user in ("alice", "bob"):
        name = f"jupyter-{user}"
        nb = container(
            "notebook",
            "jupyter/pytorch-notebook:cuda12-2024-05-27",
            1,
            cpu="2",
            memory="16Gi",
            port=8888,
        )
        labels = {"app": name, "notebook-name": name}
        pods = template([nb], labels=labels, annotations=idle)
        pods["spec"]["nodeSelector"] = on(layout.l4[1])
        w.create(
            "StatefulSet",
            {
                "metadata": {"name": name, "namespace": "notebooks", "labels": dict(labels)},
                "spec": {
                    "replicas": 1,
                    "serviceName": name,
                    "selector": {"matchLabels": dict(labels)},
                    "template": pods,
                },
            },
        )
    c = container("sd", PYTORCH, 2, cpu="4", memory="32Gi", command=["python", "webui.py"])
    pods = template([c], annotations=idle)
    pods["spec"]["nodeSelector"] = on(layout.l4[1])
    w.create(
        "Deployment", deployment("sd-webui-scratch", "ml-platform", 1, {"app": "sd-webui"}, pods)
    )


def stranded(w: _Writer, layout: Layout) -> None:
    """GPU pods on the node that goes NotReady; they tolerate an unreachable node for an hour
    (a training platform's setting), so they are still there when the scenario serves."""
    job = training_job(
        "PyTorchJob", "gemma2-27b-sft", "ml-research", {"Master": (1, 8)}, A100, dict(TRAINING)
    )
    spec = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    spec["tolerations"].append(
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": UNREACHABLE_GRACE,
        }
    )
    w.create("PyTorchJob", pin(job, {"Master": layout.a100[5]}))


def nccl_hang(w: _Writer, layout: Layout) -> None:
    """A 2-node job Running whose collective hung 2 min in: GPUs stuck, no MLflow step since."""
    hung = {PROFILE: "hung", MLFLOW: "annotation", MLFLOW_STALL: str(int(STALL_AFTER))}
    job = training_job(
        "PyTorchJob",
        "gpt-neox-20b-pretrain",
        "ml-research",
        {"Master": (1, 4), "Worker": (1, 4)},
        A100,
        hung,
    )
    w.create("PyTorchJob", pin(job, {"Master": layout.a100[3], "Worker": layout.a100[4]}))


def crashloop(w: _Writer, layout: Layout) -> None:
    """A replica crash-looping (restarted every ~5 min by now), and a job that failed 10 min
    before the scenario serves."""
    crash = {**TRAINING, FAIL_AFTER: "20"}  # in its 300 s back-off when the scenario serves
    job = training_job(
        "PyTorchJob",
        "bert-large-finetune",
        "ml-platform",
        {"Master": (1, 2)},
        A100,
        crash,
        backoff=1000,
    )
    w.create("PyTorchJob", pin(job, {"Master": layout.a100[3]}))
    fails = {**TRAINING, FAIL_AFTER: str(int(PHASE - FAILED_BEFORE - 3))}
    job = training_job(
        "PyTorchJob",
        "vit-l16-eval",
        "ml-platform",
        {"Master": (1, 1)},
        A100,
        fails,
        restart="Never",
        backoff=0,
    )
    w.create("PyTorchJob", pin(job, {"Master": layout.a100[4]}))


def pending_gpus(w: _Writer, layout: Layout) -> None:
    """GPU pods that cannot start, one per reason: no free H100, an untolerated taint, a
    product no node has, and a queue (a Kueue-suspended job and a pod behind Kueue's gate)."""
    w.job("PyTorchJob", "llama3-405b-lora", "ml-research", {"Master": (1, 8)}, H100)
    c = container("train", PYTORCH, 1, cpu="8", memory="64Gi", command=["python", "finetune.py"])
    untolerated = template([c], A100, annotations=dict(TRAINING), restart="Never")
    untolerated["spec"].pop("tolerations", None)  # forgot the GPU taint's toleration
    w.create(
        "Job",
        {
            "metadata": {"name": "sd-lora-finetune", "namespace": "ml-platform"},
            "spec": {"backoffLimit": 2, "template": untolerated},
        },
    )
    c = container("bench", PYTORCH, 8, cpu="32", memory="512Gi", command=["python", "bench.py"])
    nowhere = template([c], B200, annotations=dict(TRAINING), restart="Never")
    w.create(
        "Job",
        {
            "metadata": {"name": "b200-bench", "namespace": "ml-platform"},
            "spec": {"backoffLimit": 0, "template": nowhere},
        },
    )
    queued = training_job(
        "PyTorchJob",
        "mixtral-8x22b-sft",
        "ml-research",
        {"Master": (1, 8), "Worker": (1, 8)},
        H100,
        dict(TRAINING),
        suspend=True,
    )
    queued["metadata"]["labels"] = {"kueue.x-k8s.io/queue-name": "research-h100"}
    w.create("PyTorchJob", queued)
    pod_statuses._create(w.ctx, "Pod", pod_statuses._gated_pod(w.ctx, "ml-research"))


def server_down(w: _Writer, layout: Layout) -> None:
    """An InferenceService whose predictor crash-loops (0 ready, not Ready) and one scaled to
    its maxReplicas by its autoscaler."""
    selector = on(layout.l4[2])
    broken = inference_service(
        "sdxl-turbo", "serving", "hf://stabilityai/sdxl-turbo", 1, 1, selector
    )
    broken["metadata"]["annotations"].update({FAIL_AFTER: "20", EXIT_CODE: "1", RESTART_HOLD: "5"})
    w.create("InferenceService", broken)
    busy = inference_service(
        "qwen2-7b-chat", "serving", "hf://Qwen/Qwen2-7B-Instruct", 1, 1, selector
    )
    busy["spec"]["predictor"]["maxReplicas"] = 2
    w.create("InferenceService", busy)
    w.create("HorizontalPodAutoscaler", _hpa("qwen2-7b-chat-predictor", 1, 2, w.iso(0)))

    def scale_up() -> None:
        def to_max(dep: dict[str, Any]) -> None:
            dep["spec"]["replicas"] = 2

        w.ctx.store.mutate(by_kind("Deployment"), "serving", "qwen2-7b-chat-predictor", to_max)

    w.ctx.after(60, scale_up)


def _hpa(name: str, low: int, high: int, at: str) -> dict[str, Any]:
    """KServe's HPA for a RawDeployment predictor, pegged at `high` (ScalingLimited)."""
    return {
        "metadata": {"name": name, "namespace": "serving"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": low,
            "maxReplicas": high,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 80},
                    },
                }
            ],
        },
        "status": {
            "currentReplicas": high,
            "desiredReplicas": high,
            "currentMetrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "current": {"averageUtilization": 187, "averageValue": "7480m"},
                    },
                }
            ],
            "conditions": [
                {
                    "type": "AbleToScale",
                    "status": "True",
                    "reason": "ReadyForNewScale",
                    "message": "recommended size matches current size",
                    "lastTransitionTime": at,
                },
                {
                    "type": "ScalingActive",
                    "status": "True",
                    "reason": "ValidMetricFound",
                    "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)",
                    "lastTransitionTime": at,
                },
                {
                    "type": "ScalingLimited",
                    "status": "True",
                    "reason": "TooManyReplicas",
                    "message": "the desired replica count is more than the maximum replica count",
                    "lastTransitionTime": at,
                },
            ],
        },
    }


LONG_LIVED: dict[str, Callable[[_Writer, Layout], None]] = {"idle-allocated": idle_allocated}
SHORT_LIVED: dict[str, Callable[[_Writer, Layout], None]] = {
    "node-notready": stranded,
    "nccl-hang": nccl_hang,
    "crashloop": crashloop,
    "pending-gpus": pending_gpus,
    "server-down": server_down,
}
