"""PodDisruptionBudgets in-process: status from matching pods, and eviction that a budget
blocks (429 with the real message and cause) until enough pods are healthy again."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import ApiClient

from console.sim.clock import SimClock
from console.sim.controllers import start_controllers
from console.sim.controllers.disruption import evict
from console.sim.errors import ApiError
from console.sim.kinds import by_kind
from console.sim.nodes import make_node
from console.sim.runtime import SimContext
from console.sim.store import Store

NODE, POD, DEPLOY, PDB = (
    by_kind("Node"),
    by_kind("Pod"),
    by_kind("Deployment"),
    by_kind("PodDisruptionBudget"),
)


def cluster(replicas: int = 3) -> SimContext:
    clock = SimClock(start=1_700_000_000, speed=0)
    store = Store(clock, seed=5)
    ctx = SimContext(store, clock, 5)
    store.create(NODE, make_node("cpu-0", "cpu", None, 0, 32, 128, index=0))
    start_controllers(ctx)
    store.create(
        DEPLOY,
        {
            "metadata": {"name": "api", "namespace": "web"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "api"}},
                "template": {
                    "metadata": {"labels": {"app": "api"}},
                    "spec": {"containers": [{"name": "api", "image": "api:1"}]},
                },
            },
        },
    )
    ctx.advance(10)
    return ctx


def budget(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "api-pdb", "namespace": "web"},
        "spec": {"selector": {"matchLabels": {"app": "api"}}, **spec},
    }


def api_pods(ctx: SimContext) -> list[str]:
    return sorted(p["metadata"]["name"] for p in ctx.store.objects(POD, "web"))


def test_pdb_status_from_matching_pods() -> None:
    ctx = cluster()
    ctx.store.create(PDB, budget(minAvailable="50%"))
    ctx.advance(1)
    pdb = ctx.store.get(PDB, "web", "api-pdb")
    status = pdb["status"]
    assert (status["expectedPods"], status["currentHealthy"], status["desiredHealthy"]) == (3, 3, 2)
    assert status["disruptionsAllowed"] == 1
    (cond,) = status["conditions"]
    assert (cond["type"], cond["status"], cond["reason"]) == (
        "DisruptionAllowed",
        "True",
        "SufficientPods",
    )
    ApiClient()._ApiClient__deserialize(pdb, "V1PodDisruptionBudget")


def test_max_unavailable_budget() -> None:
    ctx = cluster(replicas=4)
    ctx.store.create(PDB, budget(maxUnavailable=1))
    ctx.advance(1)
    status = ctx.store.get(PDB, "web", "api-pdb")["status"]
    assert (status["desiredHealthy"], status["disruptionsAllowed"]) == (3, 1)


def test_pdb_blocks_then_allows_eviction() -> None:
    ctx = cluster()
    ctx.store.create(PDB, budget(minAvailable=2))
    ctx.advance(1)
    first, second, _ = api_pods(ctx)
    evict(ctx, "web", first, dry_run=True)
    assert first in api_pods(ctx)
    evict(ctx, "web", first)
    assert first not in api_pods(ctx)
    with pytest.raises(ApiError) as blocked:
        evict(ctx, "web", second)
    err = blocked.value
    assert err.code == 429 and err.reason == "TooManyRequests"
    assert err.message == "Cannot evict pod as it would violate the pod's disruption budget."
    assert err.details == {
        "causes": [
            {
                "reason": "DisruptionBudget",
                "message": "The disruption budget api-pdb needs 2 healthy pods and has 2 currently",
            }
        ]
    }
    assert second in api_pods(ctx)
    ctx.advance(10)  # the ReplicaSet replaced the evicted pod and it became ready
    assert ctx.store.get(PDB, "web", "api-pdb")["status"]["disruptionsAllowed"] == 1
    evict(ctx, "web", second)
    assert second not in api_pods(ctx)


def test_evicting_a_missing_pod_is_404() -> None:
    ctx = cluster(replicas=1)
    with pytest.raises(ApiError) as missing:
        evict(ctx, "web", "nope")
    assert missing.value.code == 404 and missing.value.message == 'pods "nope" not found'
