"""Helpers of the render tests: a cluster session fed with records (no API server, no
threads), records decoded from wire JSON, and a fake telemetry source."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from test_cluster_records import node_json, pod_json, pytorchjob_json

from console.cluster.decode_fields import parse_time
from console.cluster.informer import LIVE, SyncState
from console.cluster.kinds import KINDS
from console.cluster.session import ClusterSession

CREATED = parse_time("2024-05-01T00:00:00Z")
"""Creation time of `node_json` nodes (pods and jobs are 10 h younger)."""
NOW = CREATED + 2 * 86400


class FakeConnection:
    """What a session needs of a connection until it is started: its context name."""

    context = "render-test"

    def close(self) -> None:
        pass


def session(*records: tuple[str, Any], pods_synced: bool = True) -> ClusterSession:
    """A session (never started) whose caches hold `records`, as (kind, record) pairs."""
    s = ClusterSession(FakeConnection())  # type: ignore[arg-type]
    if pods_synced:
        s.state_overrides["pods"] = SyncState(LIVE, 0)
    load(s, *records)
    return s


def load(s: ClusterSession, *records: tuple[str, Any], change: str = "ADDED") -> None:
    """Apply `records` to the session's informers as watch events would (indexes, ledger)."""
    for kind, record in records:
        s.cache[kind]._apply([(change, record)])


def decode(kind: str, data: Mapping[str, Any]) -> Any:
    return KINDS[kind].decode_item(orjson.dumps(data))


def node(name: str = "gpu-0", gpus: int = 8, **changes: Any) -> Any:
    """A node record; `changes` update its JSON: `spec`, `status`, `taints`, `conditions`."""
    data = node_json(name, gpus=gpus)
    data["spec"].update(changes.get("spec", {}))
    if "conditions" in changes:
        data["status"]["conditions"] = changes["conditions"]
    if "taints" in changes:
        data["spec"]["taints"] = changes["taints"]
    if gpus == 0:
        data["metadata"]["labels"] = {}
        for part in ("capacity", "allocatable"):
            data["status"][part].pop("nvidia.com/gpu")
    return decode("nodes", data)


def pod(name: str = "p", node: str = "gpu-0", gpus: int = 1, **extra: Any) -> Any:
    return decode("pods", pod_json(name, node=node, gpus=gpus, **extra))


def job(name: str = "llm", **kwargs: Any) -> Any:
    return decode("pytorchjobs", pytorchjob_json(name, **kwargs))


def isvc(ready: str = "True") -> Any:
    return decode(
        "inferenceservices",
        {
            "metadata": {"name": "llama", "namespace": "serve"},
            "spec": {
                "predictor": {
                    "model": {
                        "modelFormat": {"name": "huggingface"},
                        "runtime": "vllm",
                        "resources": {"limits": {"nvidia.com/gpu": "1"}},
                    }
                }
            },
            "status": {
                "url": "http://llama.serve",
                "conditions": [{"type": "Ready", "status": ready, "reason": "Loading"}],
            },
        },
    )


def deployment(name: str = "vllm", ready: int = 1) -> Any:
    container = {
        "name": "vllm",
        "image": "docker.io/vllm/vllm-openai:v0.5",
        "resources": {"limits": {"nvidia.com/gpu": "2"}},
    }
    return decode(
        "deployments",
        {
            "metadata": {"name": name, "namespace": "serve"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": name}},
                "template": {"spec": {"containers": [container]}},
            },
            "status": {"readyReplicas": ready},
        },
    )


class FakeTelemetry:
    """`nodes()` and `workloads()` as `TelemetryLink` gives them (the dicts given, so a test
    can change a figure as a new sample would)."""

    def __init__(
        self, nodes: dict[str, Any] | None = None, workloads: dict[Any, Any] | None = None
    ) -> None:
        self._nodes = nodes if nodes is not None else {}
        self._workloads = workloads if workloads is not None else {}

    def nodes(self) -> dict[str, Any]:
        return self._nodes

    def workloads(self) -> dict[Any, Any]:
        return self._workloads
