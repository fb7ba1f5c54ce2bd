"""GPU accounting by the scheduler's rules, maintained incrementally."""

from __future__ import annotations

import orjson
from test_cluster_records import node_json, pod_json

from console.cluster.accounting import GpuLedger
from console.cluster.kinds import KINDS


def pod(name: str, node: str = "gpu-0", phase: str = "Running", gpus: int = 1):
    return KINDS["pods"].decode_item(
        orjson.dumps(pod_json(name, node=node, phase=phase, gpus=gpus))
    )


def node(name: str, gpus: int):
    return KINDS["nodes"].decode_item(orjson.dumps(node_json(name, gpus=gpus)))


def test_requested_free_and_totals() -> None:
    ledger = GpuLedger()
    ledger.on_upsert(None, node("gpu-0", 8))
    ledger.on_upsert(None, node("gpu-1", 4))
    ledger.on_upsert(None, pod("a", gpus=2))
    ledger.on_upsert(None, pod("b", gpus=3))
    ledger.on_upsert(None, pod("c", node="gpu-1", gpus=4))
    ledger.on_upsert(None, pod("done", phase="Succeeded", gpus=8))  # finished: holds nothing
    ledger.on_upsert(None, pod("pending", node="", phase="Pending", gpus=8))  # not bound
    usage = ledger.node("gpu-0")
    assert usage.requested == {"nvidia.com/gpu": 5.0} and usage.free == {"nvidia.com/gpu": 3.0}
    assert usage.pods == 2
    cluster = ledger.cluster()
    assert (cluster.total_allocatable, cluster.total_requested, cluster.total_free) == (12, 9, 3)
    assert ledger.cluster({"gpu-1"}).total_free == 0


def test_updates_and_deletes_move_the_sums() -> None:
    ledger = GpuLedger()
    ledger.on_upsert(None, node("gpu-0", 8))
    first = pod("a", node="", phase="Pending", gpus=2)
    ledger.on_upsert(None, first)
    assert ledger.node("gpu-0").total_requested == 0
    bound = pod("a", gpus=2)
    ledger.on_upsert(first, bound)  # scheduled
    assert ledger.node("gpu-0").total_requested == 2
    ledger.on_upsert(bound, bound)  # an unrelated update does not double count
    assert ledger.node("gpu-0").total_requested == 2
    done = pod("a", phase="Failed", gpus=2)
    ledger.on_upsert(bound, done)
    assert ledger.node("gpu-0").total_requested == 0
    ledger.on_upsert(done, bound)
    ledger.on_delete(bound)
    assert ledger.cluster().total_requested == 0 and ledger.requested_by_node() == {}
    ledger.on_delete(node("gpu-0", 8))
    assert ledger.cluster().total_allocatable == 0


def test_time_sliced_and_mig_resources_are_kept_by_name() -> None:
    ledger = GpuLedger()
    data = node_json("mig-0")
    data["status"]["allocatable"] = {"nvidia.com/mig-1g.10gb": "14", "nvidia.com/mig-3g.40gb": "2"}
    ledger.on_upsert(None, KINDS["nodes"].decode_item(orjson.dumps(data)))
    p = pod_json("m", node="mig-0")
    p["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/mig-1g.10gb": "1"}}
    ledger.on_upsert(None, KINDS["pods"].decode_item(orjson.dumps(p)))
    usage = ledger.node("mig-0")
    assert usage.free == {"nvidia.com/mig-1g.10gb": 13.0, "nvidia.com/mig-3g.40gb": 2.0}
    sliced = node("t4-0", 16)  # 4 physical × 4 replicas: allocatable already multiplied
    ledger.on_upsert(None, sliced)
    for i in range(5):
        ledger.on_upsert(None, pod(f"s{i}", node="t4-0"))
    assert ledger.node("t4-0").total_free == 11
