"""KServe InferenceService in-process: predictor Deployment, readiness, min replicas and
scale to zero, revision bumps, model status."""

from __future__ import annotations

from typing import Any

from console.sim.clock import SimClock
from console.sim.controllers import start_controllers
from console.sim.kinds import by_kind
from console.sim.nodes import make_node
from console.sim.runtime import SimContext
from console.sim.store import Store

NODE, POD, SVC = by_kind("Node"), by_kind("Pod"), by_kind("Service")
DEPLOY, ISVC = by_kind("Deployment"), by_kind("InferenceService")


def cluster() -> SimContext:
    clock = SimClock(start=1_700_000_000, speed=0)
    store = Store(clock, seed=3)
    ctx = SimContext(store, clock, 3)
    store.create(NODE, make_node("gpu-0", "l4", "l4", 4, 48, 192, index=0))
    start_controllers(ctx)
    return ctx


def isvc(name: str, min_replicas: int | None = None, **annotations: str) -> dict[str, Any]:
    predictor: dict[str, Any] = {
        "maxReplicas": 3,
        "model": {
            "modelFormat": {"name": "huggingface"},
            "storageUri": "hf://meta-llama/Llama-3.1-8B-Instruct",
            "resources": {"limits": {"nvidia.com/gpu": "1", "cpu": "4", "memory": "24Gi"}},
        },
    }
    if min_replicas is not None:
        predictor["minReplicas"] = min_replicas
    annotations.setdefault("serving.kserve.io/deploymentMode", "RawDeployment")
    return {
        "metadata": {"name": name, "namespace": "serve", "annotations": annotations},
        "spec": {"predictor": predictor},
    }


def cond(obj: dict[str, Any], type_: str) -> str:
    return next(c["status"] for c in obj["status"]["conditions"] if c["type"] == type_)


def predictor_pods(ctx: SimContext, name: str) -> list[dict[str, Any]]:
    return [
        p
        for p in ctx.store.objects(POD)
        if p["metadata"]["labels"].get("serving.kserve.io/inferenceservice") == name
    ]


def test_isvc_becomes_ready_with_its_predictor() -> None:
    ctx = cluster()
    ctx.store.create(ISVC, isvc("llama", **{"sim.kmc.dev/log-kind": "vllm"}))
    ctx.advance(0.1)
    obj = ctx.store.get(ISVC, "serve", "llama")
    assert cond(obj, "Ready") == "False" and cond(obj, "PredictorReady") == "False"
    assert obj["status"]["modelStatus"]["transitionStatus"] == "InProgress"
    dep = ctx.store.get(DEPLOY, "serve", "llama-predictor")
    assert dep["spec"]["replicas"] == 1 and ctx.store.get(SVC, "serve", "llama-predictor")
    ctx.advance(10)
    obj = ctx.store.get(ISVC, "serve", "llama")
    status = obj["status"]
    assert [c["type"] for c in status["conditions"]] == ["IngressReady", "PredictorReady", "Ready"]
    assert all(c["status"] == "True" and c["lastTransitionTime"] for c in status["conditions"])
    assert status["url"] == "http://llama-serve.example.com"
    assert status["address"]["url"] == "http://llama-predictor.serve.svc.cluster.local"
    predictor = status["components"]["predictor"]
    assert (
        predictor["latestCreatedRevision"]
        == predictor["latestReadyRevision"]
        == ("llama-predictor-00001")
    )
    assert status["modelStatus"]["transitionStatus"] == "UpToDate"
    assert status["modelStatus"]["states"] == {
        "activeModelState": "Loaded",
        "targetModelState": "Loaded",
    }
    (pod,) = predictor_pods(ctx, "llama")
    labels = pod["metadata"]["labels"]
    assert labels["component"] == "predictor" and labels["app"] == "isvc.llama-predictor"
    assert pod["spec"]["containers"][0]["name"] == "kserve-container"
    assert pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    ann = pod["metadata"]["annotations"]
    assert ann["sim.kmc.dev/profile"] == "serving" and ann["sim.kmc.dev/log-kind"] == "vllm"


def test_min_replicas_and_scale_to_zero() -> None:
    ctx = cluster()
    ctx.store.create(ISVC, isvc("multi", min_replicas=2))
    ctx.advance(10)
    assert len(predictor_pods(ctx, "multi")) == 2
    # scaling the Deployment by hand is clamped to [minReplicas, maxReplicas]
    ctx.store.mutate(DEPLOY, "serve", "multi-predictor", lambda d: d["spec"].update(replicas=9))
    ctx.advance(10)
    assert ctx.store.get(DEPLOY, "serve", "multi-predictor")["spec"]["replicas"] == 3
    ctx.store.mutate(ISVC, "serve", "multi", lambda o: o["spec"]["predictor"].update(minReplicas=0))
    ctx.advance(5)
    assert not predictor_pods(ctx, "multi")
    obj = ctx.store.get(ISVC, "serve", "multi")
    assert cond(obj, "Ready") == "False"
    assert obj["status"]["modelStatus"]["states"]["targetModelState"] == "Pending"


def test_spec_change_bumps_the_revision() -> None:
    ctx = cluster()
    ctx.store.create(ISVC, isvc("rev"))
    ctx.advance(10)

    def change(obj: dict[str, Any]) -> None:
        obj["spec"]["predictor"]["model"]["storageUri"] = "hf://meta-llama/Llama-3.2-3B"

    ctx.store.mutate(ISVC, "serve", "rev", change)
    ctx.advance(0.1)
    predictor = ctx.store.get(ISVC, "serve", "rev")["status"]["components"]["predictor"]
    assert predictor["latestCreatedRevision"] == "rev-predictor-00002"
    assert predictor["latestReadyRevision"] == "rev-predictor-00001"
    ctx.advance(20)
    obj = ctx.store.get(ISVC, "serve", "rev")
    assert obj["status"]["components"]["predictor"]["latestReadyRevision"] == "rev-predictor-00002"
    assert cond(obj, "Ready") == "True"
    (pod,) = predictor_pods(ctx, "rev")
    assert pod["spec"]["initContainers"][0]["args"][0] == "hf://meta-llama/Llama-3.2-3B"


def test_crashing_model_server_is_blocked_by_failed_load() -> None:
    ctx = cluster()
    ctx.store.create(ISVC, isvc("broken", **{"sim.kmc.dev/fail-after": "3"}))
    ctx.advance(8)
    obj = ctx.store.get(ISVC, "serve", "broken")
    assert cond(obj, "Ready") == "False"
    model = obj["status"]["modelStatus"]
    assert model["transitionStatus"] == "BlockedByFailedLoad"
    assert model["states"]["targetModelState"] == "FailedToLoad"
    assert model["lastFailureInfo"]["reason"] == "ModelLoadFailed"


def test_deleting_the_isvc_removes_its_predictor() -> None:
    ctx = cluster()
    ctx.store.create(ISVC, isvc("bye"))
    ctx.advance(10)
    ctx.store.delete(ISVC, "serve", "bye")
    ctx.advance(1)
    assert not predictor_pods(ctx, "bye") and not ctx.store.objects(DEPLOY)
    assert not ctx.store.objects(SVC)
