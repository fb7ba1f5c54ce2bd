"""Decoding a pod list: client models vs json.loads vs orjson vs our msgspec records.

Prints JSON: µs per pod for each method on a generated list of realistic (~2 KB)
training pods. The client's model deserialization is measured on a subset (it is
~1 ms per pod) and reported per pod.

    .venv/bin/python benchmarks/decode_pods.py [--pods 20000] [--client-pods 2000]
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from typing import Any

import msgspec
import orjson

from console.cluster import wire
from console.cluster.kinds import KINDS


def training_pod(i: int) -> dict[str, Any]:
    job = f"llm-finetune-{i // 8}"
    role = "master" if i % 8 == 0 else "worker"
    return {
        "metadata": {
            "name": f"{job}-{role}-{i % 8}",
            "namespace": f"team-{i % 40}",
            "uid": f"6b1f0c2e-{i:08d}-4d3a-9c1e-1f2a3b4c5d6e",
            "resourceVersion": str(100000 + i),
            "creationTimestamp": "2024-05-01T10:00:00Z",
            "labels": {
                "training.kubeflow.org/job-name": job,
                "training.kubeflow.org/operator-name": "pytorchjob-controller",
                "training.kubeflow.org/replica-type": role,
                "training.kubeflow.org/replica-index": str(i % 8),
                "kueue.x-k8s.io/queue-name": "research",
            },
            "annotations": {"sidecar.istio.io/inject": "false"},
            "ownerReferences": [
                {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "name": job,
                 "uid": f"job-{i // 8}", "controller": True, "blockOwnerDeletion": True}
            ],
        },
        "spec": {
            "nodeName": f"gpu-a100-{i // 8}",
            "schedulerName": "default-scheduler",
            "restartPolicy": "OnFailure",
            "serviceAccountName": "default",
            "containers": [
                {
                    "name": "pytorch",
                    "image": "ghcr.io/example/llm-train:2024.05",
                    "command": ["torchrun", "--nproc_per_node=8", "train.py"],
                    "env": [{"name": "MASTER_PORT", "value": "23456"},
                            {"name": "NCCL_DEBUG", "value": "INFO"}],
                    "resources": {
                        "limits": {"nvidia.com/gpu": "8", "cpu": "90", "memory": "1000Gi"},
                        "requests": {"nvidia.com/gpu": "8", "cpu": "90", "memory": "1000Gi"},
                    },
                    "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
                }
            ],
            "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}}],
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        },
        "status": {
            "phase": "Running",
            "hostIP": "10.0.0.1",
            "podIP": f"10.1.{i // 250 % 250}.{i % 250}",
            "startTime": "2024-05-01T10:00:03Z",
            "qosClass": "Guaranteed",
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": "2024-05-01T10:00:09Z"}
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "containerStatuses": [
                {"name": "pytorch", "ready": True, "restartCount": i % 3, "started": True,
                 "image": "ghcr.io/example/llm-train:2024.05",
                 "imageID": "ghcr.io/example/llm-train@sha256:" + "ab" * 32,
                 "containerID": "containerd://" + "cd" * 32,
                 "state": {"running": {"startedAt": "2024-05-01T10:00:08Z"}}}
            ],
        },
    }  # fmt: skip


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=20000)
    parser.add_argument("--client-pods", type=int, default=2000)
    args = parser.parse_args()

    def body(n: int) -> bytes:
        items = [training_pod(i) for i in range(n)]
        return orjson.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items})  # fmt: skip

    full = body(args.pods)
    small = body(args.client_pods)
    text_small = small.decode()
    from kubernetes.client import ApiClient  # imported late: its import cost is not measured

    client = ApiClient()
    wire_list = msgspec.json.Decoder(msgspec.defstruct("PodList", [("items", list[wire.Pod])]))
    kind = KINDS["pods"]
    per_pod = {
        "client_model_deserialize": timed(
            lambda: client.deserialize(text_small, "V1PodList", "application/json"), 1
        ) / args.client_pods,
        "json_loads": timed(lambda: json.loads(full)) / args.pods,
        "orjson_loads": timed(lambda: orjson.loads(full)) / args.pods,
        "msgspec_wire_structs": timed(lambda: wire_list.decode(full)) / args.pods,
        "msgspec_to_records": timed(lambda: kind.decode_list(full)) / args.pods,
    }  # fmt: skip
    result = {
        "benchmark": "decode_pods",
        "pods": args.pods,
        "client_pods": args.client_pods,
        "bytes_per_pod": round(len(full) / args.pods),
        "us_per_pod": {k: round(v * 1e6, 2) for k, v in per_pod.items()},
        "seconds_for_200k_pods": {k: round(v * 200_000, 2) for k, v in per_pod.items()},
        "baseline": "client_model_deserialize",
        "speedup_vs_client": {
            k: round(per_pod["client_model_deserialize"] / v, 1) for k, v in per_pod.items()
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
