"""GPU accounting in honest units, from node objects as the upstream projects label them
(tests/fixtures/nodes: MIG mixed strategy, a renamed time-sliced node, GKE time-sharing and
partitions without GFD, Karpenter on EKS, AKS): physical GPUs apart from MIG slices and
shared replicas, cloud labels as product and sharing fallbacks, the ledger's cluster units,
and the GPU nodes view's ALLOC / GPUS cells."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from test_cluster_records import pod_json

from console.cluster import gpu
from console.cluster.accounting import GpuLedger
from console.cluster.kinds import KINDS
from console.render.nodes import node_units

FIXTURES = Path(__file__).parent / "fixtures" / "nodes"


def node(name: str):
    return KINDS["nodes"].decode_item((FIXTURES / f"{name}.json").read_bytes())


def pod(name: str, node_name: str, resource: str, amount: int = 1):
    data = pod_json(name, node=node_name)
    data["spec"]["containers"][0]["resources"] = {"limits": {resource: str(amount)}}
    return KINDS["pods"].decode_item(orjson.dumps(data))


@pytest.mark.parametrize(
    ("fixture", "physical", "product", "sharing", "units"),
    [
        ("a100_mig_mixed", 4, "NVIDIA-A100-SXM4-80GB", "MIG 1g.10gb,2g.20gb,3g.40gb",
         "4 GPUs · 17 MIG slices"),
        ("t4_timesliced_renamed", 4, "Tesla-T4", "time-slicing ×4", "4 GPUs ×4 shared"),
        ("gke_l4_timesharing", 2, "nvidia-l4", "time-sharing ×3", "2 GPUs ×3 shared"),
        ("gke_a100_partition", 2, "nvidia-tesla-a100", "MIG 1g.5gb", "2 GPUs · 14 MIG slices"),
        ("eks_karpenter_a10g", 4, "a10g", "exclusive", "4 GPUs"),
        ("aks_accelerator", 1, "nvidia", "exclusive", "1 GPU"),
    ],
)  # fmt: skip
def test_nodes_in_honest_units(fixture, physical, product, sharing, units) -> None:
    record = node(fixture)
    assert (record.gpu_count, record.gpu_product, record.sharing) == (physical, product, sharing)
    ledger = GpuLedger()
    ledger.on_upsert(None, record)
    assert node_units(record, ledger.node(record.name))[3] == units


def test_the_cluster_says_gpus_only_for_gpus() -> None:
    ledger = GpuLedger()
    for name in (
        "a100_mig_mixed",
        "t4_timesliced_renamed",
        "gke_l4_timesharing",
        "eks_karpenter_a10g",
    ):
        ledger.on_upsert(None, node(name))
    ledger.on_upsert(None, pod("a", "gpu-a100-mig-0", "nvidia.com/mig-3g.40gb"))
    ledger.on_upsert(None, pod("b", "gpu-t4-shared-0", "nvidia.com/gpu.shared", 2))
    ledger.on_upsert(None, pod("c", "gke-inference-l4-pool-8d3f1a2c-x9kq", "nvidia.com/gpu"))
    ledger.on_upsert(None, pod("d", "ip-10-0-7-21.ec2.internal", "nvidia.com/gpu", 3))
    units = ledger.units()
    # the old sum said 17 + 16 + 6 + 4 = 43 "GPUs" for 14 physical ones
    assert units.physical == 4 + 4 + 2 + 4
    assert units.of(gpu.WHOLE) == (3, 4)
    assert units.of(gpu.MIG) == (1, 17)
    assert units.of(gpu.SHARED) == (3, 16 + 6)
    assert units.shared_by == 1  # ×4 and ×3 nodes: no one factor


def test_a_sharing_switch_refiles_what_pods_hold() -> None:
    ledger = GpuLedger()
    shared = node("gke_l4_timesharing")
    ledger.on_upsert(None, shared)
    ledger.on_upsert(None, pod("c", shared.name, "nvidia.com/gpu", 2))
    assert ledger.units().of(gpu.SHARED) == (2, 6) and ledger.units().shared_by == 3
    data = orjson.loads((FIXTURES / "gke_l4_timesharing.json").read_bytes())
    for key in (
        "cloud.google.com/gke-gpu-sharing-strategy",
        "cloud.google.com/gke-max-shared-clients-per-gpu",
    ):
        del data["metadata"]["labels"][key]
    data["status"]["allocatable"]["nvidia.com/gpu"] = data["status"]["capacity"][
        "nvidia.com/gpu"
    ] = "2"
    exclusive = KINDS["nodes"].decode_item(orjson.dumps(data))
    ledger.on_upsert(shared, exclusive)
    units = ledger.units()
    assert units.of(gpu.WHOLE) == (2, 2) and units.of(gpu.SHARED) == (0, 0)
    assert units.physical == 2
    ledger.on_delete(exclusive)
    assert ledger.units().physical == 0 and ledger.units().of(gpu.WHOLE) == (2, 0)


def test_alloc_counts_the_nodes_own_unit() -> None:
    ledger = GpuLedger()
    mig = node("a100_mig_mixed")
    ledger.on_upsert(None, mig)
    ledger.on_upsert(None, pod("a", mig.name, "nvidia.com/mig-1g.10gb", 2))
    assert node_units(mig, ledger.node(mig.name))[:3] == (2.0, 17.0, "MIG")
    t4 = node("t4_timesliced_renamed")
    ledger.on_upsert(None, t4)
    assert node_units(t4, ledger.node(t4.name))[:3] == (0.0, 16.0, "×4")


def test_garbage_labels_do_not_count() -> None:
    labels = {
        "nvidia.com/gpu.count": "²",
        "cloud.google.com/gke-gpu-sharing-strategy": "time-sharing",
        "cloud.google.com/gke-max-shared-clients-per-gpu": "9" * 50,
        "cloud.google.com/gke-gpu-partition-size": "xg.bad",
    }
    # partitions of an unreadable size: how many GPUs they are is not known, so none counted
    assert gpu.physical_gpus(labels, {"nvidia.com/gpu": 14.0}) == 0
    assert (
        gpu.physical_gpus(
            {**labels, "cloud.google.com/gke-gpu-partition-size": "3g.20gb"},
            {"nvidia.com/gpu": 4.0},
        )
        == 2
    )
    assert gpu.gpu_replicas({**labels, "cloud.google.com/gke-gpu-partition-size": ""}) == 1
