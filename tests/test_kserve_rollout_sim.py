"""The simulated KServe in Serverless mode, in-process: a Deployment per revision, a canary's
traffic split, a rollout stuck on GPUs with Knative's message, scale to zero."""

from __future__ import annotations

from typing import Any

from console.sim.clock import SimClock
from console.sim.controllers import start_controllers
from console.sim.kinds import by_kind
from console.sim.nodes import make_node
from console.sim.runtime import SimContext
from console.sim.store import Store

NODE, DEPLOY, ISVC = by_kind("Node"), by_kind("Deployment"), by_kind("InferenceService")


def cluster() -> SimContext:
    clock = SimClock(start=1_700_000_000, speed=0)
    store = Store(clock, seed=5)
    ctx = SimContext(store, clock, 5)
    store.create(NODE, make_node("l4-0", "l4", "l4", 4, 48, 192, index=0))
    start_controllers(ctx)
    return ctx


def isvc(name: str, min_replicas: int = 1) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "serving"},
        "spec": {
            "predictor": {
                "minReplicas": min_replicas,
                "model": {
                    "modelFormat": {"name": "huggingface"},
                    "storageUri": "hf://meta-llama/Llama-3.1-8B-Instruct",
                    "resources": {"limits": {"nvidia.com/gpu": "1"}},
                },
            }
        },
    }


def predictor(ctx: SimContext, name: str) -> dict[str, Any]:
    return ctx.store.get(ISVC, "serving", name)["status"]["components"]["predictor"]


def condition(ctx: SimContext, name: str, type_: str) -> dict[str, Any]:
    conds = ctx.store.get(ISVC, "serving", name)["status"]["conditions"]
    return next(c for c in conds if c["type"] == type_)


def deployments(ctx: SimContext) -> dict[str, int]:
    return {d["metadata"]["name"]: d["spec"]["replicas"] for d in ctx.store.objects(DEPLOY)}


def test_canary_then_a_rollout_stuck_on_gpus() -> None:
    ctx = cluster()
    ctx.store.create(ISVC, isvc("llm"))
    ctx.advance(30)
    assert deployments(ctx) == {"llm-predictor-00001-deployment": 1}
    p = predictor(ctx, "llm")
    assert p["traffic"] == [
        {"revisionName": "llm-predictor-00001", "percent": 100, "latestRevision": True}
    ]
    status = ctx.store.get(ISVC, "serving", "llm")["status"]
    assert status["deploymentMode"] == "Serverless"
    assert condition(ctx, "llm", "Ready")["status"] == "True"

    def canary(obj: dict[str, Any]) -> None:
        obj["spec"]["predictor"]["canaryTrafficPercent"] = 10
        obj["spec"]["predictor"]["model"]["storageUri"] = "hf://meta-llama/Llama-3.2-8B-Instruct"

    ctx.store.mutate(ISVC, "serving", "llm", canary)
    ctx.advance(30)
    p = predictor(ctx, "llm")
    assert [(t["revisionName"], t["percent"], t.get("tag")) for t in p["traffic"]] == [
        ("llm-predictor-00002", 10, "latest"),
        ("llm-predictor-00001", 90, "prev"),
    ]
    assert p["previousRolledoutRevision"] == "llm-predictor-00001"

    def too_big(obj: dict[str, Any]) -> None:
        obj["spec"]["predictor"].pop("canaryTrafficPercent")
        obj["spec"]["predictor"]["model"]["resources"]["limits"]["nvidia.com/gpu"] = "8"

    ctx.store.mutate(ISVC, "serving", "llm", too_big)
    ctx.advance(30)
    p = predictor(ctx, "llm")
    assert p["latestCreatedRevision"] == "llm-predictor-00003"
    assert p["latestReadyRevision"] == "llm-predictor-00002"
    # promoted: the canary (the latest ready revision) has it all while 00003 cannot start
    assert [t["revisionName"] for t in p["traffic"]] == ["llm-predictor-00002"]
    stuck = condition(ctx, "llm", "LatestDeploymentReady")
    assert stuck["status"] == "False" and stuck["reason"] == "RevisionFailed"
    assert stuck["message"].startswith('Revision "llm-predictor-00003" failed with message: 0/1')
    assert "Insufficient nvidia.com/gpu" in stuck["message"]
    assert condition(ctx, "llm", "Ready")["status"] == "True"  # the old revision still serves
    assert deployments(ctx)["llm-predictor-00001-deployment"] == 0  # no traffic: scaled down


def test_scale_to_zero_is_ready_without_pods() -> None:
    ctx = cluster()
    ctx.store.create(ISVC, isvc("idle", min_replicas=0))
    ctx.advance(10)
    assert deployments(ctx) == {"idle-predictor-00001-deployment": 0}
    assert predictor(ctx, "idle")["traffic"][0]["percent"] == 100
    assert condition(ctx, "idle", "LatestDeploymentReady")["status"] == "True"
