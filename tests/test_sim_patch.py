"""The simulated API server validates an update before storing it: a rejected PATCH or PUT
leaves the object and every resourceVersion as they were (checked with the Python client
path the console uses and with kubectl). `/_sim/advance` is bounded."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from console.cluster.connection import ClusterError, Connection, connect
from console.sim.cluster import SimCluster
from tests.conftest import require_binary
from tests.kube import kubectl

MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}


@pytest.fixture(scope="module")
def frozen() -> Iterator[tuple[SimCluster, Connection]]:
    """A tiny cluster whose clock stands still once settled: nothing changes but our writes."""
    sim = SimCluster(preset="tiny", seed=13).start()
    sim.advance(30)
    sim.clock.set_speed(0)
    connection = connect(str(sim.kubeconfig_path), "kmc-sim")
    _settled(sim)
    yield sim, connection
    sim.stop()


def _store_rv(sim: SimCluster) -> int:
    return sim.call(lambda: sim.store.rv)


def _settled(sim: SimCluster) -> int:
    """The global resourceVersion once the controllers' queued and due work is done: run on
    the simulator's loop, so none is left (a quiet spell of wall time proves nothing on a
    loaded machine). The clock is frozen: no timer falls due afterwards."""

    def settle() -> int:
        sim.ctx.run_due()  # runs until nothing queued and no timer due is left
        return sim.store.rv

    return sim.call(settle)


def _first(connection: Connection, path: str, where=lambda item: True) -> dict:
    items = json.loads(connection.get(path))["items"]
    return next(item for item in items if where(item))


def _path(kind_path: str, obj: dict) -> str:
    meta = obj["metadata"]
    if "namespace" in meta:
        prefix, _, plural = kind_path.rpartition("/")
        return f"{prefix}/namespaces/{meta['namespace']}/{plural}/{meta['name']}"
    return f"{kind_path}/{meta['name']}"


REJECTED = [
    # (collection, a filter, content type, patch body, status, text in the message)
    ("/api/v1/nodes", None, MERGE, {"metadata": {"labels": {"not valid!": "x"}}}, 422,
     "metadata.labels: Invalid value"),
    ("/api/v1/nodes", None, MERGE, {"metadata": {"labels": {"-bad-key": "x"}}}, 422,
     "metadata.labels"),
    ("/api/v1/nodes", None, MERGE, {"metadata": {"labels": {"n": 5}}}, 400, "of type string"),
    ("/api/v1/nodes", None, MERGE, {"metadata": {"name": "someone-else"}}, 422,
     "metadata.name: Invalid value"),
    ("/api/v1/nodes", None, MERGE,
     {"spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}}, 422, "spec.taints[0].effect"),
    ("/api/v1/nodes", None, JSON_PATCH, [{"op": "replace", "path": "/metadata", "value": "x"}],
     400, "not an object"),
    ("/api/v1/nodes", None, JSON_PATCH, [{"op": "replace", "path": "/spec", "value": 7}], 400,
     "spec"),
    ("/apis/apps/v1/deployments", None, MERGE, {"spec": {"replicas": -1}}, 422,
     "spec.replicas"),
    ("/apis/apps/v1/deployments", None, MERGE, {"spec": {"replicas": "three"}}, 422,
     "must be a whole number"),
    ("/api/v1/pods", lambda p: p["spec"].get("nodeName"), STRATEGIC,
     {"spec": {"nodeName": "elsewhere"}}, 422, "pod updates may not change fields"),
    ("/api/v1/pods", lambda p: p["spec"].get("nodeName"), MERGE, {"spec": {"tolerations": []}},
     422, "spec"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("collection", "where", "headers", "patch", "status", "text"),
    REJECTED,
    ids=[f"{r[0].rsplit('/', 1)[1]}-{r[5][:24]}" for r in REJECTED],
)
def test_a_rejected_patch_stores_nothing(frozen, collection, where, headers, patch, status, text):
    sim, connection = frozen
    obj = _first(connection, collection, where or (lambda item: True))
    path = _path(collection, obj)
    before_rv = _settled(sim)
    before = json.loads(connection.get(path))
    with pytest.raises(ClusterError) as info:
        connection.request("PATCH", path, body=patch, headers=headers)
    assert info.value.status == status, str(info.value)
    assert text in str(info.value)
    assert json.loads(connection.get(path)) == before
    assert _store_rv(sim) == before_rv  # no write anywhere (no other object renamed)


def test_a_rejected_put_and_status_put_store_nothing(frozen):
    sim, connection = frozen
    node = _first(connection, "/api/v1/nodes")
    path = _path("/api/v1/nodes", node)
    before_rv = _settled(sim)
    bad = json.loads(connection.get(path))
    bad["metadata"]["labels"]["spaces are not allowed"] = "x"
    with pytest.raises(ClusterError) as info:
        connection.request("PUT", path, body=bad)
    assert info.value.status == 422
    with pytest.raises(ClusterError) as info:
        connection.request("PUT", path + "/status", body=["not", "an", "object"])
    assert info.value.status == 400
    with pytest.raises(ClusterError) as info:
        connection.request("PUT", path + "/status", body={"status": "running"})
    assert info.value.status == 400
    assert json.loads(connection.get(path)) == node
    assert _store_rv(sim) == before_rv


def test_a_valid_patch_still_lands(frozen):
    sim, connection = frozen
    node = _first(connection, "/api/v1/nodes")
    path = _path("/api/v1/nodes", node)
    before_rv = _settled(sim)
    after = json.loads(
        connection.request(
            "PATCH", path, body={"metadata": {"labels": {"team": "ml-infra"}}}, headers=MERGE
        )
    )
    assert after["metadata"]["labels"]["team"] == "ml-infra"
    assert int(after["metadata"]["resourceVersion"]) > before_rv


@pytest.mark.kubectl
def test_kubectl_patch_rejected_leaves_the_object(frozen):
    binary = require_binary("kubectl")
    sim, connection = frozen
    deployment = _first(connection, "/apis/apps/v1/deployments")
    name, namespace = deployment["metadata"]["name"], deployment["metadata"]["namespace"]
    path = _path("/apis/apps/v1/deployments", deployment)
    before_rv = _settled(sim)
    before = json.loads(connection.get(path))
    result = kubectl(
        binary, sim.kubeconfig_path, "-n", namespace, "patch", "deployment", name,
        "--type=merge", "-p", '{"spec":{"replicas":-3}}', check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "is invalid" in result.stderr and "spec.replicas" in result.stderr
    result = kubectl(
        binary, sim.kubeconfig_path, "-n", namespace, "patch", "deployment", name,
        "--type=strategic", "-p", '{"metadata":{"labels":{"bad key":"x"}}}', check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "metadata.labels: Invalid value" in result.stderr
    assert json.loads(connection.get(path)) == before
    assert _store_rv(sim) == before_rv


@pytest.mark.parametrize(
    "body",
    [
        b'{"seconds": -5}',
        b'{"seconds": 1e12}',
        b'{"seconds": 1e999}',
        b'{"seconds": NaN}',
        b'{"seconds": "60"}',
        b'{"seconds": true}',
        b"[60]",
        b"not json",
    ],
)
def test_advance_is_bounded(frozen, body):
    sim, connection = frozen
    before = sim.clock.now()
    with pytest.raises(ClusterError) as info:
        connection.request(
            "POST", "/_sim/advance", body=body, headers={"Content-Type": "application/json"}
        )
    assert info.value.status == 400
    assert "\n" not in str(info.value)
    assert sim.clock.now() == before  # time did not move


def test_advance_within_bounds_moves_time(frozen):
    sim, connection = frozen
    before = sim.clock.now()
    reply = json.loads(connection.request("POST", "/_sim/advance", body={"seconds": 30}))
    assert reply["ok"] is True
    assert sim.clock.now() == pytest.approx(before + 30)
