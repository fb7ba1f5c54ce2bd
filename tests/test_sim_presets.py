"""Presets: expected contents, determinism, objects the official client accepts, build cost."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
from kubernetes.client import ApiClient

from console.sim import presets
from console.sim.clock import SimClock
from console.sim.controllers import kubelet, nodes, scheduler, start_controllers
from console.sim.kinds import by_kind
from console.sim.runtime import SimContext
from console.sim.store import Store

NODE, POD = by_kind("Node"), by_kind("Pod")


def built(name: str, seed: int = 7) -> SimContext:
    clock = SimClock(start=1_700_000_000, speed=0)
    ctx = SimContext(Store(clock, seed), clock, seed)
    presets.build(ctx, name)
    return ctx


def deserialize(obj: dict[str, Any], model: str) -> Any:
    return ApiClient().deserialize(orjson.dumps(obj).decode(), model, "application/json")


def count(ctx: SimContext, kind: str) -> int:
    return ctx.store.count(by_kind(kind))


def gpus(ctx: SimContext) -> int:
    return sum(int(e.labels.get("nvidia.com/gpu.count", 0)) for e in ctx.store.entries(NODE))


def test_every_preset_is_described() -> None:
    assert set(presets.PRESETS) == {"tiny", "demo", "large", "huge"}
    with pytest.raises(ValueError):
        presets.build(built("tiny"), "nope")


def test_tiny() -> None:
    ctx = built("tiny")
    assert count(ctx, "Node") == 3 and gpus(ctx) == 12
    assert count(ctx, "PyTorchJob") == 2 and count(ctx, "InferenceService") == 1
    assert count(ctx, "DaemonSet") == 3 and count(ctx, "ClusterPolicy") == 1
    svc = ctx.store.get(by_kind("Service"), "gpu-operator", "nvidia-dcgm-exporter")
    assert svc["metadata"]["annotations"]["prometheus.io/scrape"] == "true"  # type: ignore[index]
    ds = ctx.store.get(by_kind("DaemonSet"), "gpu-operator", "nvidia-dcgm-exporter")
    tmpl = ds["spec"]["template"]  # type: ignore[index]
    assert tmpl["metadata"]["labels"] == {"app": "nvidia-dcgm-exporter"}
    assert tmpl["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert tmpl["spec"]["containers"][0]["ports"][0] == {"name": "metrics", "containerPort": 9400, "protocol": "TCP"}  # fmt: skip


def test_demo_contents_and_determinism() -> None:
    ctx = built("demo")
    assert count(ctx, "Node") == 24 and gpus(ctx) == 144
    jobs = count(ctx, "PyTorchJob") + count(ctx, "TFJob") + count(ctx, "MPIJob") + count(ctx, "Job")
    assert jobs >= 12
    assert count(ctx, "InferenceService") >= 3 and count(ctx, "PodDisruptionBudget") == 1
    names = {e.fields["metadata.namespace"] for e in ctx.store.entries(by_kind("Deployment"))}
    assert {"serving", "ml-research", "monitoring", "kube-system"} <= names
    all_nodes = ctx.store.objects(NODE)
    shared = [
        n for n in all_nodes if n["metadata"]["labels"].get("nvidia.com/device-plugin.config")
    ]
    assert len(shared) == 1 and shared[0]["status"]["allocatable"]["nvidia.com/gpu"] == "16"
    assert sum(1 for n in all_nodes if n["spec"].get("unschedulable")) == 1
    again = built("demo")
    assert [e.raw for e in ctx.store.entries(NODE)] == [e.raw for e in again.store.entries(NODE)]
    for node in all_nodes:
        deserialize(node, "V1Node")


def test_demo_runs_under_the_controllers() -> None:
    ctx = built("demo")
    nodes.start(ctx)
    sched = scheduler.start(ctx)
    kubelet.start(ctx)
    ctx.run_due()
    assert not sched.pending and not sched.unschedulable  # nothing to bind until pods exist
    for node in ctx.store.objects(NODE):  # presets write nodes the controllers agree with
        assert ctx.store.get(NODE, "", node["metadata"]["name"]) == node


def test_demo_keeps_one_job_crash_looping() -> None:
    ctx = built("demo")
    start_controllers(ctx)
    minutes = []
    for _ in range(120):  # two hours: well past the few crashes a backoff limit of 3 allows
        ctx.advance(60, step=5)
        job = ctx.store.get(by_kind("PyTorchJob"), "ml-platform", "t5-xl-distill")
        conditions = job["status"]["conditions"]  # type: ignore[index]
        minutes.append({c["type"] for c in conditions if c["status"] == "True"})
    assert not any("Failed" in true for true in minutes)
    # in back-off most of the time, Running for the 40 s between restarts
    assert sum("Restarting" in true for true in minutes) > 0.75 * len(minutes)


def test_large_is_bound_running_and_within_capacity() -> None:
    """(How long `large` takes to build, with kubectl listing it: benchmarks/sim_scale.py.)"""
    ctx = built("large")
    assert count(ctx, "Node") == 1008 and gpus(ctx) == 8000
    assert 19_000 <= count(ctx, "Pod") <= 21_000
    sched = scheduler.start(ctx)
    for name, info in sched.nodes.items():
        used = sched.used.get(name, {})
        for resource_name, amount in used.items():
            assert amount <= info.alloc.get(resource_name, 0), (name, resource_name)
    sample = random.Random(1).sample(list(ctx.store.entries(POD)), 200)
    for entry in sample:
        pod = deserialize(entry.obj(), "V1Pod")
        assert pod.status.phase == "Running" and pod.spec.node_name
        assert pod.metadata.owner_references[0].controller


@pytest.mark.slow
def test_huge_builds_and_its_controllers_start() -> None:
    """(Build time and memory of `huge`, with kubectl listing it: benchmarks/sim_scale.py.)"""
    ctx = built("huge")
    nodes.start(ctx)
    scheduler.start(ctx)
    kubelet.start(ctx)
    ctx.run_due()
    assert count(ctx, "Node") == 10_040 and gpus(ctx) == 80_000
    assert 195_000 <= count(ctx, "Pod") <= 205_000
    for entry in random.Random(2).sample(list(ctx.store.entries(POD)), 50):
        deserialize(entry.obj(), "V1Pod")
