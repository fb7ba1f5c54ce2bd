"""The cluster layer against the simulated cluster (real REST API over HTTPS on loopback).

Covers: kubeconfig contexts and connection errors, caches syncing every kind, the
views' rows, a watch picking up a change, resuming after dropped watches, relisting
after 410, 429 back-off, forbidden kinds, a CRD that is not installed, YAML and events.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from console.cluster import views
from console.cluster.cache import ClusterCache
from console.cluster.connection import (
    ClusterError,
    Connection,
    KubeconfigError,
    TLSError,
    UnreachableError,
    connect,
    list_contexts,
)
from console.cluster.detail import describe, events_for, object_yaml
from tests.conftest import wait_for

sim_cluster = pytest.importorskip("console.sim.cluster")


@pytest.fixture(scope="module")
def sim() -> Iterator[object]:
    cluster = sim_cluster.SimCluster(preset="tiny", seed=1).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def admin(sim) -> Connection:
    return connect(str(sim.kubeconfig_path), probe=True)


@pytest.fixture
def cache(admin) -> Iterator[ClusterCache]:
    cache = ClusterCache(admin, notify_interval=0.05)
    for informer in cache.informers.values():
        informer.backoff_start = 0.05
        informer.backoff_cap = 0.5
    cache.start()
    assert cache.wait_synced(20)
    yield cache
    cache.stop()


def with_token(connection: Connection, token: str) -> Connection:
    from kubernetes import client as k8s

    cfg = copy.copy(connection.configuration)
    cfg.refresh_api_key_hook = None  # else the kubeconfig loader restores the admin token
    cfg.api_key = {"BearerToken": f"Bearer {token}"}
    return Connection(k8s.ApiClient(cfg), "test", "default")


def kubeconfig_variant(sim, tmp_path: Path, edit) -> str:
    data = yaml.safe_load(Path(sim.kubeconfig_path).read_text())
    edit(data)
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_contexts_and_connection_errors(sim, admin, tmp_path: Path) -> None:
    names, current = list_contexts(str(sim.kubeconfig_path))
    assert {"kmc-sim", "kmc-sim-viewer"} <= set(names) and current == "kmc-sim"
    assert admin.check().startswith("v1.")
    with pytest.raises(KubeconfigError, match="available: kmc-sim, kmc-sim-viewer"):
        connect(str(sim.kubeconfig_path), context="prod")
    with pytest.raises(KubeconfigError, match="no kubeconfig"):
        connect(str(tmp_path / "absent"))
    broken = tmp_path / "broken"
    broken.write_text("clusters: [\n")
    with pytest.raises(KubeconfigError):
        connect(str(broken))

    def no_ca(data: dict) -> None:
        data["clusters"][0]["cluster"].pop("certificate-authority-data")

    with pytest.raises(TLSError, match="TLS"):
        connect(kubeconfig_variant(sim, tmp_path, no_ca), probe=True)

    def closed_port(data: dict) -> None:
        data["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{sim_cluster.free_port()}"

    with pytest.raises(UnreachableError, match="cannot reach"):
        connect(kubeconfig_variant(sim, tmp_path, closed_port), probe=True)
    with pytest.raises(ClusterError) as info:
        with_token(admin, "not-a-token").get("/api/v1/nodes")
    assert info.value.status == 401 and "unauthorized" in str(info.value)


def test_caches_sync_and_views(cache: ClusterCache) -> None:
    states = {name: state.state for name, state in cache.states().items()}
    assert states["nodes"] == states["pods"] == states["pytorchjobs"] == "live"
    assert states["llminferenceservices"] == "not installed"  # the simulator has no llm-d CRD
    nodes = views.gpu_node_rows(cache)
    assert nodes and all(r.gpus_allocatable > 0 for r in nodes)
    assert all(r.pool and r.product for r in nodes)
    assert len(views.gpu_node_rows(cache, include_cpu=True)) >= len(nodes)
    total = views.totals(cache)
    assert total.usage.total_requested == sum(r.gpus_requested for r in nodes)
    jobs = views.job_rows(cache)
    assert any(j.kind == "PyTorchJob" and j.gpus > 0 for j in jobs)
    servers = views.server_rows(cache)
    assert any(s.kind == "InferenceService" and s.url for s in servers)
    assert not any(s.kind == "Deployment" and s.name.endswith("-predictor") for s in servers)
    pods = views.gpu_pod_rows(cache)
    assert pods and all(p.gpus > 0 for p in pods)
    job = cache["pytorchjobs"].items()[0]
    assert views.job_pods(cache, job)
    node = nodes[0]
    assert describe(cache["nodes"].get(node.key), cache).startswith("Node:")
    assert {p.node for p in views.pods_on_node(cache, node.name)} <= {node.name}


def test_watch_sees_cordon(cache: ClusterCache, admin: Connection) -> None:
    name = views.gpu_node_rows(cache)[0].name
    patch = {"spec": {"unschedulable": True}}
    headers = {"Content-Type": "application/strategic-merge-patch+json"}
    try:
        admin.request("PATCH", f"/api/v1/nodes/{name}", body=patch, headers=headers)
        wait_for(lambda: cache["nodes"].get(("", name)).unschedulable)
    finally:
        admin.request("PATCH", f"/api/v1/nodes/{name}", body={"spec": {"unschedulable": None}}, headers=headers)  # fmt: skip
    wait_for(lambda: not cache["nodes"].get(("", name)).unschedulable)


def _label_node(admin: Connection, name: str, value: str) -> None:
    admin.request(
        "PATCH",
        f"/api/v1/nodes/{name}",
        body={"metadata": {"labels": {"kmc-test": value}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )


def test_dropped_watches_resume(sim, cache: ClusterCache, admin: Connection) -> None:
    name = views.gpu_node_rows(cache)[0].name
    lists = cache["nodes"].lists
    sim.faults.drop_watches()
    _label_node(admin, name, "after-drop")
    wait_for(lambda: cache["nodes"].get(("", name)).labels.get("kmc-test") == "after-drop")
    wait_for(lambda: cache["nodes"].state.state == "live")
    assert cache["nodes"].lists == lists  # resumed from the last resourceVersion, no relist


def test_expired_history_relists(sim, cache: ClusterCache, admin: Connection) -> None:
    name = views.gpu_node_rows(cache)[0].name
    lists = cache["nodes"].lists
    admin.request(  # a change elsewhere, so the nodes watch's resourceVersion falls behind
        "PATCH",
        "/api/v1/namespaces/default",
        body={"metadata": {"labels": {"kmc-test": str(time.time())}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    sim.faults.expire_watches()
    sim.faults.drop_watches()  # reconnecting from the old resourceVersion gets 410
    _label_node(admin, name, "after-410")
    wait_for(lambda: cache["nodes"].get(("", name)).labels.get("kmc-test") == "after-410")
    wait_for(lambda: cache["nodes"].state.state == "live")
    assert cache["nodes"].lists > lists


def test_throttled_then_recovers(sim, admin: Connection) -> None:
    sim.faults.throttle(count=2, retry_after=1)
    cache = ClusterCache(admin, kinds=("namespaces",)).start()
    try:
        began = time.monotonic()
        assert cache.wait_synced(30)
        assert time.monotonic() - began >= 0.9 and len(cache["namespaces"]) > 0
    finally:
        sim.faults.clear()
        cache.stop()


def test_forbidden_kind(sim, admin: Connection) -> None:
    auth = pytest.importorskip("console.sim.auth")
    sim.auth.add(auth.User("pods-only", "pods-only-token", [auth.Rule(auth.READ_VERBS, frozenset({""}), frozenset({"pods"}))]))  # fmt: skip
    restricted = with_token(admin, "pods-only-token")
    cache = ClusterCache(restricted, kinds=("nodes", "pods")).start()
    try:
        assert cache.wait_synced(30)
        assert cache["nodes"].state.state == "forbidden" and cache["pods"].state.state == "live"
    finally:
        cache.stop()


def test_viewer_reads_everything_we_watch(sim) -> None:
    viewer = connect(str(sim.kubeconfig_path), context="kmc-sim-viewer")
    cache = ClusterCache(viewer).start()
    try:
        assert cache.wait_synced(20)
        assert "forbidden" not in {s.state for s in cache.states().values()}
    finally:
        cache.stop()


def test_yaml_and_events(cache: ClusterCache, admin: Connection) -> None:
    pod = cache["pods"].by_index("gpu", "gpu")[0]
    text = object_yaml(admin, "pods", pod.namespace, pod.name)
    assert f"name: {pod.name}" in text and "managedFields" not in text
    with pytest.raises(PermissionError):
        object_yaml(admin, "secrets", "default", "x")  # type: ignore[arg-type]
    cached = events_for(cache, pod.uid)
    fetched = events_for(None, pod.uid, connection=admin, namespace=pod.namespace)
    assert cached and sorted(e.uid for e in cached) == sorted(e.uid for e in fetched)
