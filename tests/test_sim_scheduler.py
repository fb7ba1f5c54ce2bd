"""Scheduler: GPU-aware binding, the real FailedScheduling messages, taints, cordon, retries."""

from __future__ import annotations

from typing import Any

import pytest

from console.sim.clock import SimClock
from console.sim.controllers import scheduler
from console.sim.kinds import by_kind
from console.sim.nodes import make_node
from console.sim.runtime import SimContext
from console.sim.store import Store

NODE, POD, EVENT = by_kind("Node"), by_kind("Pod"), by_kind("Event")
TOLERATE = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def pod(name: str, gpus: int = 0, **spec: Any) -> dict[str, Any]:
    limits = {"nvidia.com/gpu": str(gpus)} if gpus else {}
    container = {"name": "main", "image": "busybox:1.36", "resources": {"limits": limits}}
    return {
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {"containers": [container], **spec},
        "status": {"phase": "Pending"},
    }


@pytest.fixture
def ctx() -> SimContext:
    clock = SimClock(start=1_700_000_000, speed=0)
    context = SimContext(Store(clock, 1), clock, 1)
    store = context.store
    store.create(NODE, make_node("gpu-4", "l4", "L4", 4, 48, 192, index=0))
    store.create(NODE, make_node("gpu-8", "a100", "A100-SXM4-80GB", 8, 96, 1360, index=1))
    store.create(NODE, make_node("gpu-8t", "a100", "A100-SXM4-80GB", 8, 96, 1360, index=2, gpu_taint=True))  # fmt: skip
    store.create(NODE, make_node("cpu", "system", None, 0, 16, 64, index=3))
    context.sched = scheduler.start(context)  # type: ignore[attr-defined]
    return context


def get(ctx: SimContext, name: str) -> dict[str, Any]:
    return ctx.store.get(POD, "ml", name)  # type: ignore[return-value]


def scheduled(p: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in p["status"]["conditions"] if c["type"] == "PodScheduled")


def test_binds_by_gpus_with_bin_packing(ctx: SimContext) -> None:
    ctx.store.create(POD, pod("three", 3))
    ctx.store.create(POD, pod("six", 6))
    ctx.store.create(POD, pod("cpu-only"))
    ctx.run_due()
    assert get(ctx, "three")["spec"]["nodeName"] == "gpu-4"  # fewest free GPUs that fit
    assert get(ctx, "six")["spec"]["nodeName"] == "gpu-8"  # gpu-8t is tainted
    assert get(ctx, "cpu-only")["spec"]["nodeName"] in ("cpu",)
    cond = scheduled(get(ctx, "six"))
    assert cond["status"] == "True" and cond["lastTransitionTime"]
    events = [e for e in ctx.store.objects(EVENT) if e["reason"] == "Scheduled"]
    assert any(e["message"] == "Successfully assigned ml/six to gpu-8" for e in events)
    assert ctx.sched.free("gpu-8") == 2  # type: ignore[attr-defined]


def test_too_big_pod_stays_pending_with_the_real_message(ctx: SimContext) -> None:
    ctx.store.create(POD, pod("huge", 16))
    ctx.run_due()
    p = get(ctx, "huge")
    assert "nodeName" not in p["spec"] and p["status"]["phase"] == "Pending"
    cond = scheduled(p)
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    assert cond["message"] == (
        "0/4 nodes are available: 1 node(s) had untolerated taint {nvidia.com/gpu: present}, "
        "3 Insufficient nvidia.com/gpu. preemption: 0/4 nodes are available: "
        "1 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod."
    )
    warnings = [e for e in ctx.store.objects(EVENT) if e["reason"] == "FailedScheduling"]
    assert warnings and warnings[0]["type"] == "Warning"
    assert warnings[0]["message"] == cond["message"]


def test_reasons_are_sorted_as_strings_like_the_scheduler(ctx: SimContext) -> None:
    for i in range(10):
        ctx.store.create(NODE, make_node(f"extra-{i}", "l4", "L4", 1, 8, 32, index=10 + i))
    ctx.store.mutate(NODE, "", "gpu-8", lambda n: n["spec"].update(unschedulable=True))
    ctx.store.create(POD, pod("big", 8, tolerations=[]))
    ctx.run_due()
    message = scheduled(get(ctx, "big"))["message"]
    assert message.startswith(
        "0/14 nodes are available: 1 node(s) had untolerated taint {nvidia.com/gpu: present}, "
        "1 node(s) were unschedulable, 12 Insufficient nvidia.com/gpu."
    )


def test_tolerations_and_node_selector(ctx: SimContext) -> None:
    ctx.store.create(POD, pod("tolerant", 8, tolerations=TOLERATE))
    ctx.store.create(POD, pod("tolerant2", 8, tolerations=TOLERATE))
    ctx.store.create(POD, pod("picky", 1, nodeSelector={"nvidia.com/gpu.product": "NVIDIA-L4"}))
    ctx.run_due()
    assert {get(ctx, "tolerant")["spec"]["nodeName"], get(ctx, "tolerant2")["spec"]["nodeName"]} == {"gpu-8", "gpu-8t"}  # fmt: skip
    assert get(ctx, "picky")["spec"]["nodeName"] == "gpu-4"
    ctx.store.create(POD, pod("nowhere", 1, nodeSelector={"pool": "none"}))
    ctx.run_due()
    assert scheduled(get(ctx, "nowhere"))["message"].startswith(
        "0/4 nodes are available: 1 node(s) had untolerated taint {nvidia.com/gpu: present}, "
        "3 node(s) didn't match Pod's node affinity/selector. preemption:"
    )


def test_cordoned_node_is_skipped_and_freed_resources_are_retried(ctx: SimContext) -> None:
    ctx.store.mutate(NODE, "", "gpu-8", lambda n: n["spec"].update(unschedulable=True))
    ctx.store.create(POD, pod("first", 8, tolerations=TOLERATE))
    ctx.store.create(POD, pod("second", 8, tolerations=TOLERATE))
    ctx.run_due()
    assert get(ctx, "first")["spec"]["nodeName"] == "gpu-8t"
    assert "1 node(s) were unschedulable" in scheduled(get(ctx, "second"))["message"]
    ctx.store.delete(POD, "ml", "first")
    ctx.advance(2)
    assert get(ctx, "second")["spec"]["nodeName"] == "gpu-8t"


def test_finished_pods_release_their_gpus(ctx: SimContext) -> None:
    ctx.store.create(POD, pod("a", 4, nodeName="gpu-4"))
    ctx.store.create(POD, pod("b", 4, nodeSelector={"kubernetes.io/hostname": "gpu-4"}))
    ctx.run_due()
    assert "nodeName" not in get(ctx, "b")["spec"]
    ctx.store.mutate(POD, "ml", "a", lambda p: p["status"].update(phase="Succeeded"))
    ctx.advance(2)
    assert get(ctx, "b")["spec"]["nodeName"] == "gpu-4"


def test_effective_requests_follow_the_init_container_rule() -> None:
    spec = {
        "initContainers": [
            {"name": "fetch", "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}},
            {"name": "sidecar", "restartPolicy": "Always", "resources": {"requests": {"cpu": "500m"}}},
        ],
        "containers": [
            {"name": "a", "resources": {"limits": {"cpu": "1", "nvidia.com/gpu": "2"}}},
            {"name": "b", "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}}},
        ],
        "overhead": {"cpu": "100m"},
    }  # fmt: skip
    req = scheduler.pod_requests(spec)
    assert req == {"cpu": 2100, "memory": 1024**3, "nvidia.com/gpu": 2}
    assert scheduler.parse_quantity("memory", "1.5Gi") == 1610612736
    assert scheduler.parse_quantity("cpu", "95690m") == 95690
