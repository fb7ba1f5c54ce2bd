"""Node factory, cordon taint, and the device plugin + GFD reacting to the sharing config label."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from kubernetes.client import ApiClient

from console.sim.clock import SimClock
from console.sim.controllers import nodes
from console.sim.kinds import by_kind
from console.sim.nodes import make_node
from console.sim.presets import gpu_operator_objects
from console.sim.runtime import SimContext
from console.sim.store import Store

NODE = by_kind("Node")
LABEL = "nvidia.com/device-plugin.config"


@pytest.fixture
def ctx() -> SimContext:
    clock = SimClock(start=1_700_000_000, speed=0)
    context = SimContext(Store(clock, 5), clock, 5)
    gpu_operator_objects(context)
    context.store.create(NODE, make_node("a100-0", "a100", "A100-SXM4-80GB", 8, 96, 1360, index=0))
    context.store.create(NODE, make_node("t4-0", "t4", "Tesla-T4", 4, 32, 120, index=1))
    nodes.start(context)
    return context


def node(ctx: SimContext, name: str) -> dict[str, Any]:
    return ctx.store.get(NODE, "", name)  # type: ignore[return-value]


def set_label(ctx: SimContext, name: str, value: str | None) -> None:
    def change(obj: dict[str, Any]) -> None:
        if value is None:
            obj["metadata"]["labels"].pop(LABEL, None)
        else:
            obj["metadata"]["labels"][LABEL] = value

    ctx.store.mutate(NODE, "", name, change)


@pytest.mark.parametrize("cloud", ["gke", "eks", "aks", "karpenter"])
def test_make_node_is_complete_and_client_valid(cloud: str) -> None:
    obj = make_node("n1", "pool-a", "H100", 8, 208, 1872, cloud, gpu_taint=True, index=3)
    labels = obj["metadata"]["labels"]
    pool_label = {"gke": "cloud.google.com/gke-nodepool", "eks": "eks.amazonaws.com/nodegroup", "aks": "kubernetes.azure.com/agentpool", "karpenter": "karpenter.sh/nodepool"}[cloud]  # fmt: skip
    assert labels[pool_label] == "pool-a"
    assert labels["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3"
    assert labels["nvidia.com/gpu.count"] == "8" and labels["nvidia.com/gpu.replicas"] == "1"
    assert labels["nvidia.com/gpu.sharing-strategy"] == "none"
    assert (
        labels["nvidia.com/gpu.family"] == "hopper" and labels["nvidia.com/gpu.present"] == "true"
    )
    for key in ("kubernetes.io/hostname", "node.kubernetes.io/instance-type", "topology.kubernetes.io/zone", "topology.kubernetes.io/region", "nvidia.com/cuda.driver-version.major", "nvidia.com/mig.capable", "nvidia.com/gpu.deploy.device-plugin"):  # fmt: skip
        assert key in labels
    assert obj["status"]["allocatable"]["nvidia.com/gpu"] == "8"
    assert obj["status"]["capacity"]["memory"].endswith("Ki")
    assert obj["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]  # fmt: skip
    model = ApiClient().deserialize(orjson.dumps(obj).decode(), "V1Node", "application/json")
    assert model.status.node_info.kubelet_version.startswith("v1.30")
    assert [c.type for c in model.status.conditions][-1] == "Ready"
    cpu = make_node("sys", "system", None, 0, 8, 32, cloud)
    assert "nvidia.com/gpu" not in cpu["status"]["allocatable"]
    assert not any(k.startswith("nvidia.com/") for k in cpu["metadata"]["labels"])


def test_time_slicing_label_multiplies_allocatable_and_sets_gfd_labels(ctx: SimContext) -> None:
    set_label(ctx, "a100-0", "any")
    ctx.advance(1)
    assert (
        node(ctx, "a100-0")["status"]["allocatable"]["nvidia.com/gpu"] == "8"
    )  # plugin restarting
    ctx.advance(2)
    obj = node(ctx, "a100-0")
    labels = obj["metadata"]["labels"]
    assert obj["status"]["allocatable"]["nvidia.com/gpu"] == "32"
    assert obj["status"]["capacity"]["nvidia.com/gpu"] == "32"
    assert labels["nvidia.com/gpu.count"] == "8"
    assert labels["nvidia.com/gpu.replicas"] == "4"
    assert labels["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB-SHARED"
    assert labels["nvidia.com/gpu.sharing-strategy"] == "time-slicing"
    set_label(ctx, "a100-0", "a100-x2")
    ctx.advance(3)
    assert node(ctx, "a100-0")["status"]["allocatable"]["nvidia.com/gpu"] == "16"
    set_label(ctx, "a100-0", "no-such-key")  # unknown key: no change
    ctx.advance(3)
    assert node(ctx, "a100-0")["status"]["allocatable"]["nvidia.com/gpu"] == "16"
    set_label(ctx, "a100-0", None)  # removed: the default config (no sharing)
    ctx.advance(3)
    obj = node(ctx, "a100-0")
    assert obj["status"]["allocatable"]["nvidia.com/gpu"] == "8"
    assert obj["metadata"]["labels"]["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"
    assert obj["metadata"]["labels"]["nvidia.com/gpu.replicas"] == "1"
    assert obj["metadata"]["labels"]["nvidia.com/gpu.sharing-strategy"] == "none"


def test_rename_by_default_advertises_gpu_shared(ctx: SimContext) -> None:
    set_label(ctx, "t4-0", "t4-x4")
    ctx.advance(3)
    obj = node(ctx, "t4-0")
    assert obj["status"]["allocatable"]["nvidia.com/gpu.shared"] == "16"
    assert "nvidia.com/gpu" not in obj["status"]["allocatable"]
    assert obj["metadata"]["labels"]["nvidia.com/gpu.product"] == "Tesla-T4"
    assert obj["metadata"]["labels"]["nvidia.com/gpu.replicas"] == "4"


def test_cordon_adds_and_uncordon_removes_the_taint(ctx: SimContext) -> None:
    ctx.store.mutate(NODE, "", "t4-0", lambda n: n["spec"].update(unschedulable=True))
    ctx.run_due()
    taints = node(ctx, "t4-0")["spec"]["taints"]
    assert [(t["key"], t["effect"]) for t in taints] == [("node.kubernetes.io/unschedulable", "NoSchedule")]  # fmt: skip
    assert taints[0]["timeAdded"]
    ctx.store.mutate(NODE, "", "t4-0", lambda n: n["spec"].pop("unschedulable"))
    ctx.run_due()
    assert "taints" not in node(ctx, "t4-0")["spec"]
