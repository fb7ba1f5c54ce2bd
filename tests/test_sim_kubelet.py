"""Kubelet: pod start-up, statuses the official client accepts, exits and restarts by annotation,
and what happens to pods when their node goes NotReady or away."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from kubernetes.client import ApiClient

from console.sim.clock import SimClock
from console.sim.controllers import kubelet, nodes, scheduler
from console.sim.kinds import by_kind
from console.sim.nodes import make_node
from console.sim.runtime import SimContext
from console.sim.store import Store

NODE, POD, EVENT = by_kind("Node"), by_kind("Pod"), by_kind("Event")


def pod(name: str, policy: str = "Never", annotations: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    container = {"name": "pytorch", "image": "nvcr.io/nvidia/pytorch:24.05-py3", "resources": {"limits": {"nvidia.com/gpu": "1", "cpu": "2", "memory": "8Gi"}}}  # fmt: skip
    return {
        "metadata": {"name": name, "namespace": "ml", "annotations": annotations or {}},
        "spec": {"containers": [container], "restartPolicy": policy},
        "status": {"phase": "Pending"},
    }


@pytest.fixture
def ctx() -> SimContext:
    clock = SimClock(start=1_700_000_000, speed=0)
    context = SimContext(Store(clock, 3), clock, 3)
    context.store.create(NODE, make_node("gpu-1", "l4", "L4", 4, 48, 192, index=0))
    nodes.start(context)
    scheduler.start(context)
    kubelet.start(context)
    return context


def get(ctx: SimContext, name: str) -> dict[str, Any]:
    return ctx.store.get(POD, "ml", name)  # type: ignore[return-value]


def client_pod(obj: dict[str, Any]) -> Any:
    return ApiClient().deserialize(orjson.dumps(obj).decode(), "V1Pod", "application/json")


def conditions(p: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in p["status"]["conditions"]}


def test_pending_container_creating_running(ctx: SimContext) -> None:
    ctx.store.create(POD, pod("p"))
    ctx.run_due()
    ctx.advance(0.5, step=0.5)
    p = get(ctx, "p")
    assert p["status"]["phase"] == "Pending"
    assert p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"
    client_pod(p)
    ctx.advance(3.5)
    p = get(ctx, "p")
    status = p["status"]
    assert status["phase"] == "Running"
    assert status["podIP"].startswith("10.64.0.") and status["hostIP"] == "10.0.1.1"
    assert status["startTime"] and status["qosClass"] == "Guaranteed"
    assert conditions(p) == {c: "True" for c in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")}  # fmt: skip
    cs = status["containerStatuses"][0]
    assert cs["ready"] and cs["started"] and cs["restartCount"] == 0
    assert cs["containerID"].startswith("containerd://") and "@sha256:" in cs["imageID"]
    assert "startedAt" in cs["state"]["running"]
    model = client_pod(p)
    assert model.status.container_statuses[0].state.running.started_at is not None
    reasons = {e["reason"] for e in ctx.store.objects(EVENT)}
    assert {"Scheduled", "Pulled", "Created", "Started"} <= reasons


def test_run_seconds_succeeds(ctx: SimContext) -> None:
    ctx.store.create(POD, pod("done", "OnFailure", {"sim.kmc.dev/run-seconds": "10"}))
    ctx.advance(8)
    assert get(ctx, "done")["status"]["phase"] == "Running"
    ctx.advance(10)
    p = get(ctx, "done")
    assert p["status"]["phase"] == "Succeeded"
    term = p["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (0, "Completed")
    assert conditions(p)["Ready"] == "False"
    client_pod(p)


def test_fail_after_never_fails(ctx: SimContext) -> None:
    ctx.store.create(POD, pod("bad", "Never", {"sim.kmc.dev/fail-after": "5"}))
    ctx.advance(12)
    p = get(ctx, "bad")
    assert p["status"]["phase"] == "Failed"
    assert p["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Error"


def test_fail_after_on_failure_crash_loops_with_last_state(ctx: SimContext) -> None:
    ctx.store.create(POD, pod("loop", "OnFailure", {"sim.kmc.dev/fail-after": "5"}))
    ctx.advance(10)
    cs = get(ctx, "loop")["status"]["containerStatuses"][0]
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["state"]["waiting"]["message"].startswith("back-off 10s restarting failed container=pytorch pod=loop_ml(")  # fmt: skip
    last = cs["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (1, "Error") and last["startedAt"] and last["finishedAt"]  # fmt: skip
    assert cs["restartCount"] == 0 and get(ctx, "loop")["status"]["phase"] == "Running"
    client_pod(get(ctx, "loop"))
    ctx.advance(10)
    cs = get(ctx, "loop")["status"]["containerStatuses"][0]
    assert cs["restartCount"] == 1 and "running" in cs["state"]
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    ctx.advance(5)
    cs = get(ctx, "loop")["status"]["containerStatuses"][0]
    assert "back-off 20s" in cs["state"]["waiting"]["message"]
    assert any(e["reason"] == "BackOff" for e in ctx.store.objects(EVENT))


def test_preset_written_running_pod_with_exit_annotation_gets_a_timer() -> None:
    clock = SimClock(start=1_700_000_000, speed=0)
    ctx = SimContext(Store(clock, 3), clock, 3)
    ctx.store.create(NODE, make_node("gpu-1", "l4", "L4", 4, 48, 192, index=0))
    p = pod("pre", "Never", {"sim.kmc.dev/run-seconds": "30"})
    p["spec"]["nodeName"] = "gpu-1"
    p["status"] = {"phase": "Running", "containerStatuses": [{"name": "pytorch", "image": "x", "imageID": "", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": clock.iso(clock.now() - 20)}}}]}  # fmt: skip
    ctx.store.create(POD, p)
    kubelet.start(ctx)
    ctx.advance(5)
    assert ctx.store.get(POD, "ml", "pre")["status"]["phase"] == "Running"  # type: ignore[index]
    ctx.advance(6)
    assert ctx.store.get(POD, "ml", "pre")["status"]["phase"] == "Succeeded"  # type: ignore[index]


def _set_ready(ctx: SimContext, value: str) -> None:
    def change(node: dict[str, Any]) -> None:
        for cond in node["status"]["conditions"]:
            if cond["type"] == "Ready":
                cond["status"] = value
                cond["reason"] = "KubeletReady" if value == "True" else "KubeletNotReady"

    ctx.store.mutate(NODE, "", "gpu-1", change)


def test_not_ready_node_marks_pods_and_evicts_after_toleration(ctx: SimContext) -> None:
    ctx.store.create(POD, pod("victim", "Always"))
    ctx.advance(5)
    _set_ready(ctx, "False")
    ctx.run_due()
    node = ctx.store.get(NODE, "", "gpu-1")
    taints = {(t["key"], t["effect"]) for t in node["spec"]["taints"]}  # type: ignore[index]
    assert taints == {("node.kubernetes.io/not-ready", "NoSchedule"), ("node.kubernetes.io/not-ready", "NoExecute")}  # fmt: skip
    assert conditions(get(ctx, "victim"))["Ready"] == "False"
    ctx.store.create(POD, pod("newcomer"))
    ctx.advance(10)
    assert "nodeName" not in get(ctx, "newcomer")["spec"]
    ctx.advance(300, step=10)
    assert get(ctx, "victim") is None
    _set_ready(ctx, "True")
    ctx.advance(10)
    assert get(ctx, "newcomer")["status"]["phase"] == "Running"
    assert "taints" not in ctx.store.get(NODE, "", "gpu-1")["spec"]  # type: ignore[index]


def test_deleted_node_takes_its_pods(ctx: SimContext) -> None:
    ctx.store.create(POD, pod("orphan", "Always"))
    ctx.advance(5)
    ctx.store.delete(NODE, "", "gpu-1")
    ctx.run_due()
    assert get(ctx, "orphan") is None
