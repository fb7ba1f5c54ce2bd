"""Pods in the states `kubectl get pods` has words for, for the demo (issue 9).

An init container in a crash loop (`Init:Error` → `Init:CrashLoopBackOff`), a training pod
OOM-killed and restarted (`OOMKilled` until the kubelet's back-off, then `CrashLoopBackOff`,
its last state `OOMKilled`), one OOM-killed under `restartPolicy: Never` (`OOMKilled`), one
whose runtime gave no reason (`ExitCode:2`), a pod held by Kueue's scheduling gate
(`SchedulingGated`) and one stuck `Terminating` on a finalizer on the cordoned node.
(Completed pods come from the demo's finished jobs.)

Every object here gets a uid derived from its name and is written after the demo's pods
were created and placed, so those keep their names, uids and nodes.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..kinds import by_kind
from ..podspec import (
    EXIT_CODE,
    EXIT_REASON,
    FAIL_AFTER,
    INIT_FAIL_AFTER,
    PROFILE,
    RESTART_HOLD,
    default_pod_spec,
    qos_class,
)
from ..runtime import SimContext
from .manifests import A100, H100, L4, PYTORCH, TOLERATE_GPU, container, template, training_job

OOM = {EXIT_CODE: "137", EXIT_REASON: "OOMKilled"}
KUEUE_GATE = "kueue.x-k8s.io/admission"


def _uid(kind: str, namespace: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kmc-sim/{kind}/{namespace}/{name}"))


def _create(ctx: SimContext, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    meta.setdefault("uid", _uid(kind, meta.get("namespace", ""), meta["name"]))
    return ctx.store.create(by_kind(kind), obj)


def _cordoned_gpu_node(ctx: SimContext) -> str | None:
    for entry in ctx.store.entries(by_kind("Node")):
        node = entry.obj()
        if node["spec"].get("unschedulable") and "nvidia.com/gpu" in node["status"]["capacity"]:
            return node["metadata"]["name"]
    return None


def write(ctx: SimContext) -> None:
    """Write the objects a moment after the controllers made and placed the demo's own pods
    (the seeded RNG names them: drawing first would rename and move everything)."""
    ctx.after(0.25, lambda: write_now(ctx))


def write_now(ctx: SimContext) -> None:
    """Write the objects now (the Terminating pod on the first cordoned GPU node, if any)."""
    research, platform = "ml-research", "ml-platform"
    training = {PROFILE: "training"}
    oom_restarts = {**training, FAIL_AFTER: "75", RESTART_HOLD: "25", **OOM}
    one = {"Master": (1, 1)}
    _create(
        ctx,
        "PyTorchJob",
        training_job(
            "PyTorchJob", "gemma2-9b-sft", research, one, A100, oom_restarts, backoff=1000
        ),
    )
    oom_once = {**training, FAIL_AFTER: "40", **OOM}
    eval_job = training_job(
        "PyTorchJob", "qwen2-7b-eval", platform, one, A100, oom_once, restart="Never", backoff=0
    )
    _create(ctx, "PyTorchJob", eval_job)
    no_reason = {**training, FAIL_AFTER: "35", EXIT_CODE: "2", EXIT_REASON: ""}
    quantize = training_job(
        "PyTorchJob", "phi3-mini-awq", platform, one, L4, no_reason, restart="Never", backoff=0
    )
    _create(ctx, "PyTorchJob", quantize)
    _create(ctx, "StatefulSet", _init_crash_loop())
    _create(ctx, "Pod", _gated_pod(ctx, research))
    cordoned = _cordoned_gpu_node(ctx)
    if cordoned:
        _create(ctx, "Pod", _terminating_pod(ctx, platform, cordoned))


def _init_crash_loop() -> dict[str, Any]:
    """A Triton server whose model download (an init container) fails: bad credentials."""
    labels = {"app.kubernetes.io/name": "triton", "app.kubernetes.io/instance": "triton-ensemble"}
    server = container(
        "triton",
        "nvcr.io/nvidia/tritonserver:24.05-py3",
        1,
        cpu="8",
        memory="32Gi",
        command=["tritonserver", "--model-repository=/models"],
        port=8000,
    )
    pods = template(
        [server], L4, labels=labels, annotations={INIT_FAIL_AFTER: "6", RESTART_HOLD: "4"}
    )
    fetch = container(
        "model-fetch",
        "amazon/aws-cli:2.15.30",
        cpu="1",
        memory="2Gi",
        command=["aws", "s3", "sync", "s3://ml-models/ensemble/", "/models/"],
    )
    pods["spec"]["initContainers"] = [fetch]
    return {
        "metadata": {"name": "triton-ensemble", "namespace": "serving", "labels": dict(labels)},
        "spec": {
            "replicas": 1,
            "serviceName": "triton-ensemble",
            "selector": {"matchLabels": dict(labels)},
            "template": pods,
        },
    }


def _gated_pod(ctx: SimContext, namespace: str) -> dict[str, Any]:
    """A pod Kueue holds at admission (its pod integration): Pending, not yet schedulable."""
    c = container("train", PYTORCH, 8, cpu="32", memory="256Gi", command=["torchrun", "train.py"])
    spec = default_pod_spec(
        {
            "containers": [c],
            "nodeSelector": {"nvidia.com/gpu.product": H100},
            "tolerations": [dict(TOLERATE_GPU)],
            "schedulingGates": [{"name": KUEUE_GATE}],
        }
    )
    now = ctx.clock.iso()
    return {
        "metadata": {
            "name": "llama3-70b-lora-queued",
            "namespace": namespace,
            "labels": {
                "kueue.x-k8s.io/queue-name": "research-h100",
                "kueue.x-k8s.io/managed": "true",
            },
        },
        "spec": spec,
        "status": {
            "phase": "Pending",
            "qosClass": qos_class(spec),
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": now,
                    "reason": "SchedulingGated",
                    "message": "Scheduling is blocked due to non-empty scheduling gates",
                }
            ],
        },
    }


def _terminating_pod(ctx: SimContext, namespace: str, node: str) -> dict[str, Any]:
    """A pod deleted 4 minutes ago and still there: its finalizer waits for a checkpoint upload."""
    c = container("trainer", PYTORCH, 1, cpu="8", memory="64Gi", command=["python", "finetune.py"])
    spec = default_pod_spec(
        {"containers": [c], "nodeName": node, "tolerations": [dict(TOLERATE_GPU)]}
    )
    now = ctx.clock.now()
    started, deleted = ctx.clock.iso(now - 3 * 3600), ctx.clock.iso(now - 240)
    name = "mistral-7b-ckpt-export"
    uid = _uid("Pod", namespace, name)
    ready = [
        {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": started}
        for t in (
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled",
        )
    ]
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid,
            "creationTimestamp": started,
            "deletionTimestamp": deleted,
            "deletionGracePeriodSeconds": 30,
            "finalizers": ["ml-platform.example.com/checkpoint-upload"],
            "labels": {"app": name},
        },
        "spec": spec,
        "status": {
            "phase": "Running",
            "qosClass": qos_class(spec),
            "conditions": ready,
            "startTime": started,
            "containerStatuses": [
                {
                    "name": "trainer",
                    "image": PYTORCH,
                    "imageID": "",
                    "containerID": f"containerd://{uid.replace('-', '')}",
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": started}},
                    "lastState": {},
                }
            ],
        },
    }
