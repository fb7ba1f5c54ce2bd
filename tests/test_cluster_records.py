"""Decoding wire JSON into slim records: fields, cleaning, malformed items, GPU derivations."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
import pytest

from console.cluster import gpu, wire
from console.cluster.kinds import KINDS, decode_watch_line

EVIL = "[/x]\x1b]52;c;AAAA\x07"


def pod_json(
    name: str = "p",
    namespace: str = "ml",
    node: str = "gpu-0",
    phase: str = "Running",
    gpus: int | str = 1,
    **extra: Any,
) -> dict[str, Any]:
    """A realistic-enough pod; `extra` keys update metadata/spec/status."""
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{namespace}-{name}",
            "resourceVersion": "10",
            "labels": {"app": "train"},
            "creationTimestamp": "2024-05-01T10:00:00Z",
        },
        "spec": {
            "nodeName": node,
            "containers": [
                {
                    "name": "pytorch",
                    "image": "pytorch:2",
                    "resources": {"limits": {"nvidia.com/gpu": str(gpus), "cpu": "4"}},
                }
            ],
        },
        "status": {
            "phase": phase,
            "startTime": "2024-05-01T10:00:05Z",
            "containerStatuses": [
                {"name": "pytorch", "ready": True, "restartCount": 2, "state": {"running": {}}}
            ],
        },
    }
    for part in ("metadata", "spec", "status"):
        pod[part].update(extra.get(part, {}))
    if not node:
        pod["spec"].pop("nodeName")
    return pod


def node_json(name: str = "gpu-0", gpus: int = 8, **labels: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "uid": f"uid-{name}",
            "labels": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB", **labels},
            "creationTimestamp": "2024-05-01T00:00:00Z",
        },
        "spec": {},
        "status": {
            "capacity": {"nvidia.com/gpu": str(gpus), "cpu": "96"},
            "allocatable": {"nvidia.com/gpu": str(gpus), "cpu": "95", "memory": "1Ti"},
            "conditions": [{"type": "Ready", "status": "True"}],
            "nodeInfo": {"kubeletVersion": "v1.30.1"},
        },
    }


def body(*items: dict[str, Any], cont: str = "") -> bytes:
    return orjson.dumps({"kind": "List", "metadata": {"resourceVersion": "42", "continue": cont}, "items": list(items)})  # fmt: skip


def decode_pod(data: dict[str, Any]):
    return KINDS["pods"].decode_item(orjson.dumps(data))


def test_pod_fields() -> None:
    pod = decode_pod(pod_json())
    assert pod.key == ("ml", "p")
    assert pod.node == "gpu-0" and pod.phase == "Running"
    assert pod.gpu_request == {"nvidia.com/gpu": 1.0}
    assert pod.restarts == 2 and pod.ready_containers == 1 and pod.total_containers == 1
    assert pod.created == 1714557600.0 and pod.started == 1714557605.0
    assert pod.holds_resources


def test_strings_are_cleaned() -> None:
    data = pod_json(name=EVIL, metadata={"labels": {EVIL: EVIL}})
    data["status"]["conditions"] = [
        {"type": "PodScheduled", "status": "False", "reason": EVIL, "message": "no\x1b[31m GPUs"}
    ]
    pod = decode_pod(data)
    assert pod.name == "[/x]" and pod.labels == {"[/x]": "[/x]"}
    assert pod.scheduled_reason == "[/x]" and pod.scheduled_message == "no GPUs"
    node = KINDS["nodes"].decode_item(orjson.dumps(node_json(name=EVIL)))
    assert node.name == "[/x]"


def test_malformed_items_are_skipped_and_counted() -> None:
    bad = pod_json(name="bad", metadata={"labels": 5})
    records, meta, skipped = KINDS["pods"].decode_list(body(pod_json(), bad, pod_json(name="q")))
    assert [p.name for p in records] == ["p", "q"]
    assert skipped == 1 and meta.resource_version == "42"


def test_bad_quantity_does_not_crash() -> None:
    pod = decode_pod(pod_json(gpus="lots"))
    assert pod is not None and pod.gpu_request == {"nvidia.com/gpu": 0.0} and pod.gpus == 0


def test_pending_pod_reason_and_wait() -> None:
    data = pod_json(node="", phase="Pending")
    data["status"]["conditions"] = [
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": "0/4 nodes are available: 4 Insufficient nvidia.com/gpu.",
            "lastTransitionTime": "2024-05-01T10:01:00Z",
        }
    ]
    pod = decode_pod(data)
    assert pod.scheduled_reason == "Unschedulable"
    assert "Insufficient nvidia.com/gpu" in pod.scheduled_message
    assert pod.pending_since == 1714557660.0 and not pod.holds_resources


def test_workload_of_deployment_pod() -> None:
    data = pod_json(
        metadata={
            "labels": {"pod-template-hash": "5d8f7"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "vllm-5d8f7",
                    "uid": "rs1",
                    "controller": True,
                }
            ],
        }
    )
    assert decode_pod(data).workload == ("Deployment", "vllm")
    data["metadata"]["labels"]["serving.kserve.io/inferenceservice"] = "llama"
    assert decode_pod(data).workload == ("InferenceService", "llama")


def _spec(containers=(), init=(), overhead=None) -> wire.PodSpec:
    def c(n, restart=""):
        return wire.Container(
            resources=wire.Resources(requests={"nvidia.com/gpu": str(n)}), restart_policy=restart
        )

    return wire.PodSpec(
        containers=[c(n) for n in containers],
        init_containers=[c(n, r) for n, r in init],
        overhead=overhead or {},
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (_spec([1, 2]), 3),  # sum of app containers
        (_spec([1], [(4, "")]), 4),  # larger init container wins
        (_spec([2], [(1, ""), (1, "")]), 2),
        (_spec([1], [(1, "Always")]), 2),  # a sidecar counts with the app containers
        (_spec([1], [(1, "Always"), (2, "")]), 3),  # init after a sidecar runs beside it
        (_spec([1], overhead={"nvidia.com/gpu": "1"}), 2),  # plus overhead
        (_spec([]), 0),
    ],
)
def test_effective_request(spec: wire.PodSpec, expected: float) -> None:
    assert sum(gpu.effective_request(spec).values()) == expected


def test_limit_only_counts_as_request_and_mig_resources_stay_separate() -> None:
    spec = wire.PodSpec(
        containers=[
            wire.Container(resources=wire.Resources(limits={"nvidia.com/mig-1g.10gb": "2"})),
            wire.Container(resources=wire.Resources(requests={"nvidia.com/gpu": "1", "cpu": "2"})),
        ]
    )
    assert gpu.effective_request(spec) == {"nvidia.com/mig-1g.10gb": 2.0, "nvidia.com/gpu": 1.0}


@pytest.mark.parametrize(
    ("labels", "configured", "pool"),
    [
        ({"cloud.google.com/gke-nodepool": "a100"}, None, "a100"),
        ({"eks.amazonaws.com/nodegroup": "p4d"}, None, "p4d"),
        ({"kubernetes.azure.com/agentpool": "nd"}, None, "nd"),
        ({"karpenter.sh/nodepool": "gpu"}, None, "gpu"),
        ({"karpenter.sh/nodepool": "gpu", "team/pool": "x"}, "team/pool", "x"),
        ({}, "team/pool", ""),
    ],
)
def test_node_pool(labels: dict[str, str], configured: str | None, pool: str) -> None:
    assert gpu.node_pool(labels, configured) == pool


def test_sharing_modes() -> None:
    sliced = {
        "nvidia.com/gpu.replicas": "4",
        "nvidia.com/gpu.sharing-strategy": "time-slicing",
        "nvidia.com/gpu.product": "Tesla-T4-SHARED",
    }
    assert gpu.sharing_mode(sliced, ["nvidia.com/gpu"]) == "time-slicing ×4"
    assert gpu.gpu_product(sliced) == "Tesla-T4"
    assert gpu.sharing_mode({}, ["nvidia.com/gpu"]) == "exclusive"
    mig = ["nvidia.com/mig-1g.10gb", "nvidia.com/mig-3g.40gb"]
    assert gpu.sharing_mode({}, mig) == "MIG 1g.10gb,3g.40gb"
    single = {"nvidia.com/mig.strategy": "single", "nvidia.com/gpu.product": "A100-SXM4-40GB-MIG-1g.5gb"}  # fmt: skip
    assert gpu.sharing_mode(single, ["nvidia.com/gpu"]) == "MIG 1g.5gb"


def test_node_record() -> None:
    data = node_json(**{"nvidia.com/gpu.count": "4", "nvidia.com/gpu.replicas": "4",
                        "nvidia.com/gpu.sharing-strategy": "time-slicing",
                        "cloud.google.com/gke-nodepool": "t4"}, gpus=16)  # fmt: skip
    data["spec"] = {"unschedulable": True, "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]}  # fmt: skip
    data["status"]["conditions"].append({"type": "DiskPressure", "status": "True"})
    node = KINDS["nodes"].decode_item(orjson.dumps(data))
    assert node.gpu_allocatable == {"nvidia.com/gpu": 16.0} and node.gpu_count == 4
    assert node.sharing == "time-slicing ×4" and node.pool == "t4"
    assert (
        node.unschedulable and str(node.taints[0]) == "node.kubernetes.io/unschedulable:NoSchedule"
    )
    assert node.ready is True and node.pressures == ("DiskPressure",)


def pytorchjob_json(name: str = "llm", workers: int = 3, conditions: list | None = None) -> dict:
    def role(n: int) -> dict:
        return {"replicas": n, "template": {"spec": {"containers": [{"name": "pytorch", "resources": {"limits": {"nvidia.com/gpu": "8"}}}]}}}  # fmt: skip

    return {
        "metadata": {
            "name": name,
            "namespace": "ml",
            "uid": f"uid-{name}",
            "labels": {"kueue.x-k8s.io/queue-name": "team-a"},
            "creationTimestamp": "2024-05-01T10:00:00Z",
        },
        "spec": {
            "pytorchReplicaSpecs": {"Master": role(1), "Worker": role(workers)},
            "runPolicy": {"schedulingPolicy": {"queue": "ignored"}},
        },
        "status": {
            "conditions": conditions
            or [
                {"type": "Created", "status": "True", "reason": "PyTorchJobCreated"},
                {"type": "Running", "status": "True", "reason": "PyTorchJobRunning"},
            ],
            "replicaStatuses": {"Master": {"active": 1}, "Worker": {"active": 2}},
            "startTime": "2024-05-01T10:00:10Z",
        },
    }


def test_pytorchjob_record() -> None:
    job = KINDS["pytorchjobs"].decode_item(orjson.dumps(pytorchjob_json()))
    assert job.kind == "PyTorchJob" and job.state == "Running"
    assert [(r.name, r.desired, r.active) for r in job.roles] == [
        ("Master", 1, 1),
        ("Worker", 3, 2),
    ]
    assert job.gpus == 32 and job.queue == "team-a"
    failed = pytorchjob_json(conditions=[
        {"type": "Running", "status": "False"}, {"type": "Failed", "status": "True", "reason": "x"},
    ])  # fmt: skip
    assert KINDS["pytorchjobs"].decode_item(orjson.dumps(failed)).state == "Failed"


def test_isvc_and_deployment_records() -> None:
    isvc = {
        "metadata": {
            "name": "llama",
            "namespace": "serve",
            "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"},
        },
        "spec": {
            "predictor": {
                "minReplicas": 1,
                "maxReplicas": 4,
                "model": {
                    "modelFormat": {"name": "huggingface"},
                    "resources": {"limits": {"nvidia.com/gpu": "1"}},
                },
            }
        },
        "status": {
            "url": "http://llama.serve",
            "conditions": [{"type": "Ready", "status": "True"}],
            "components": {"predictor": {"latestReadyRevision": "llama-predictor-00002"}},
        },
    }
    rec = KINDS["inferenceservices"].decode_item(orjson.dumps(isvc))
    assert (rec.ready, rec.url, rec.gpus_per_pod, rec.max_replicas) == ("True", "http://llama.serve", 1.0, 4)  # fmt: skip
    assert rec.latest_ready_revision == "llama-predictor-00002"
    deploy = {
        "metadata": {"name": "vllm", "namespace": "serve"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "vllm"}},
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "vllm",
                            "image": "vllm/vllm-openai",
                            "resources": {"limits": {"nvidia.com/gpu": "2"}},
                        }
                    ]
                }
            },
        },
        "status": {"readyReplicas": 1},
    }
    wl = KINDS["deployments"].decode_item(orjson.dumps(deploy))
    assert (wl.kind, wl.desired, wl.ready, wl.gpus_per_pod) == ("Deployment", 2, 1, 2.0)


def test_watch_lines() -> None:
    kind = KINDS["pods"]
    event = decode_watch_line(kind, orjson.dumps({"type": "MODIFIED", "object": pod_json()}))
    assert event.type == "MODIFIED" and event.record.name == "p" and event.resource_version == "10"
    expired = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}
    assert decode_watch_line(kind, orjson.dumps(expired)).status.code == 410
    bad = decode_watch_line(kind, orjson.dumps({"type": "ADDED", "object": {"metadata": []}}))
    assert bad.record is None


@pytest.mark.parametrize(
    "value", ["1e999", "NaN", "-1", "99999999999Ei", "12Qi", ".", "²", "9" * 400]
)
def test_absurd_gpu_quantities_count_as_zero_and_are_marked_invalid(value: str) -> None:
    pod = decode_pod(pod_json(gpus=value))
    assert pod is not None and pod.gpu_request == {"nvidia.com/gpu": 0.0} and pod.gpus == 0
    assert pod.invalid == ("nvidia.com/gpu",)  # still a GPU pod, shown as invalid
    node_data = node_json()
    node_data["status"]["allocatable"]["nvidia.com/gpu"] = value
    node = KINDS["nodes"].decode_item(orjson.dumps(node_data))
    assert node is not None and node.gpu_allocatable == {"nvidia.com/gpu": 0.0}
    assert node.invalid == ("nvidia.com/gpu",) and node.gpu_capacity == {"nvidia.com/gpu": 8.0}


def test_quantities_as_json_numbers_beyond_a_float() -> None:
    raw = b'{"limits": {"nvidia.com/gpu": ' + b"9" * 400 + b"}}"
    decoded = msgspec.json.decode(raw, type=wire.Resources)  # msgspec keeps it as an int
    invalid: list[str] = []
    assert gpu.gpu_quantities(decoded.limits, invalid) == {"nvidia.com/gpu": 0.0}
    assert invalid == ["nvidia.com/gpu"]
    with pytest.raises(ValueError):
        gpu.parse_quantity(10**400)


def test_valid_quantities_are_not_invalid() -> None:
    pod = decode_pod(pod_json(gpus="2"))
    assert pod.gpu_request == {"nvidia.com/gpu": 2.0} and pod.invalid == ()
    assert gpu.parse_quantity("500m") == 0.5 and gpu.parse_quantity("1e3") == 1000.0


@pytest.mark.parametrize(
    ("text", "count"), [("8", 8), ("²", 4), ("9" * 5000, 4), ("-1", 4), ("", 4)]
)
def test_gpu_count_label(text: str, count: int) -> None:
    # a garbage gpu.count is not read: the physical count falls back to the whole GPUs advertised
    data = node_json(gpus=4, **{"nvidia.com/gpu.count": text})
    node = KINDS["nodes"].decode_item(orjson.dumps(data))
    assert node is not None and node.gpu_count == count
