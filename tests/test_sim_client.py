"""The simulated cluster through the official `kubernetes` Python client: every kind lists and
watches with models that deserialize, watches resume after a drop and recover from 410."""

from __future__ import annotations

import json
import threading

import kubernetes
import pytest
from kubernetes.client.rest import ApiException

from tests.conftest import wait_for
from tests.kube import api_client

CRDS = [
    ("kubeflow.org", "v1", "pytorchjobs"),
    ("kubeflow.org", "v1", "tfjobs"),
    ("kubeflow.org", "v2beta1", "mpijobs"),
    ("kubeflow.org", "v1", "xgboostjobs"),
    ("kubeflow.org", "v1", "jaxjobs"),
    ("kubeflow.org", "v1", "paddlejobs"),
    ("jobset.x-k8s.io", "v1alpha2", "jobsets"),
    ("trainer.kubeflow.org", "v1alpha1", "trainjobs"),
    ("serving.kserve.io", "v1beta1", "inferenceservices"),
    ("nvidia.com", "v1", "clusterpolicies"),
]


@pytest.fixture(scope="module")
def client(tiny_sim):
    return api_client(tiny_sim.kubeconfig_path)


def test_core_and_builtin_kinds_deserialize(client) -> None:
    core = kubernetes.client.CoreV1Api(client)
    apps = kubernetes.client.AppsV1Api(client)
    batch = kubernetes.client.BatchV1Api(client)
    policy = kubernetes.client.PolicyV1Api(client)
    nodes = core.list_node().items
    assert len(nodes) == 3
    assert all(n.status.node_info.kubelet_version for n in nodes)
    pods = core.list_pod_for_all_namespaces().items
    assert pods and all(p.metadata.uid for p in pods)
    for listing in (
        core.list_namespace,
        core.list_event_for_all_namespaces,
        core.list_config_map_for_all_namespaces,
        core.list_service_for_all_namespaces,
        apps.list_deployment_for_all_namespaces,
        apps.list_stateful_set_for_all_namespaces,
        apps.list_daemon_set_for_all_namespaces,
        apps.list_replica_set_for_all_namespaces,
        batch.list_job_for_all_namespaces,
        policy.list_pod_disruption_budget_for_all_namespaces,
    ):
        listing()  # raises if a model rejects what the simulator sent


def test_custom_resources_list(client) -> None:
    custom = kubernetes.client.CustomObjectsApi(client)
    found = {}
    for group, version, plural in CRDS:
        if plural == "clusterpolicies":
            found[plural] = custom.list_cluster_custom_object(group, version, plural)["items"]
        else:
            found[plural] = custom.list_cluster_custom_object(group, version, plural)["items"]
    assert found["pytorchjobs"] and found["inferenceservices"] and found["clusterpolicies"]


def test_pagination_returns_every_pod_once(client) -> None:
    core = kubernetes.client.CoreV1Api(client)
    everything = {p.metadata.uid for p in core.list_pod_for_all_namespaces().items}
    seen, token = [], None
    while True:
        page = core.list_pod_for_all_namespaces(limit=2, _continue=token)
        seen += [p.metadata.uid for p in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert len(seen) == len(set(seen))
    assert set(seen) == everything


def test_selectors(client) -> None:
    core = kubernetes.client.CoreV1Api(client)
    node = core.list_node(label_selector="nvidia.com/gpu.present=true").items[0].metadata.name
    on_node = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
    assert on_node and all(p.spec.node_name == node for p in on_node)
    running = core.list_pod_for_all_namespaces(field_selector="status.phase=Running").items
    assert all(p.status.phase == "Running" for p in running)
    gpu_nodes = core.list_node(
        label_selector="nvidia.com/gpu.present in (true),!node-role.kubernetes.io/control-plane"
    )
    assert all("nvidia.com/gpu.present" in n.metadata.labels for n in gpu_nodes.items)
    with pytest.raises(ApiException) as err:
        core.list_pod_for_all_namespaces(field_selector="spec.bogus=1")
    assert err.value.status == 400


def _configmap(name: str) -> dict:
    return {"metadata": {"name": name, "labels": {"test": "watch"}}, "data": {"k": "v"}}


def test_watch_sees_changes_and_resumes_after_drop(tiny_sim, client) -> None:
    core = kubernetes.client.CoreV1Api(client)
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", _configmap("watch-a"))
    events = []
    w = kubernetes.watch.Watch()
    for event in w.stream(
        core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=5
    ):
        events.append((event["type"], event["object"].metadata.name))
        last_rv = event["object"].metadata.resource_version
        if event["object"].metadata.name == "watch-a":
            w.stop()
    assert ("ADDED", "watch-a") in events

    # A watch open while the server "restarts" ends; resuming from the last RV misses nothing.
    received: list[str] = []
    ended = threading.Event()

    def consume() -> None:
        try:
            for ev in kubernetes.watch.Watch().stream(
                core.list_namespaced_config_map,
                "default",
                resource_version=last_rv,
                timeout_seconds=10,
            ):
                received.append(ev["object"].metadata.name)
        except Exception:
            pass
        ended.set()

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    # the watch replays from last_rv, so this arrives whether it was open yet or not: once
    # it has, the watch is open
    core.create_namespaced_config_map("default", _configmap("watch-a2"))
    wait_for(lambda: "watch-a2" in received, what="the watch to deliver watch-a2")
    assert tiny_sim.faults.drop_watches() >= 1
    assert ended.wait(10), "the dropped watch did not end"
    core.create_namespaced_config_map("default", _configmap("watch-b"))
    resumed = [
        ev["object"].metadata.name
        for ev in kubernetes.watch.Watch().stream(
            core.list_namespaced_config_map, "default", resource_version=last_rv, timeout_seconds=2
        )
    ]
    assert {"watch-a2", "watch-b"} <= set(resumed)


def test_watch_410_then_relist(tiny_sim, client) -> None:
    core = kubernetes.client.CoreV1Api(client)
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", _configmap("expire-a"))
    tiny_sim.faults.expire_watches()
    with pytest.raises(ApiException) as err:
        for _ in kubernetes.watch.Watch().stream(
            core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=2
        ):
            pass
    assert err.value.status == 410
    fresh = core.list_namespaced_config_map("default")
    assert "expire-a" in {c.metadata.name for c in fresh.items}
    # Watching from the relisted RV works again.
    core.create_namespaced_config_map("default", _configmap("expire-b"))
    names = [
        ev["object"].metadata.name
        for ev in kubernetes.watch.Watch().stream(
            core.list_namespaced_config_map,
            "default",
            resource_version=fresh.metadata.resource_version,
            timeout_seconds=2,
        )
    ]
    assert "expire-b" in names


def test_patch_flavours_and_conflict(client) -> None:
    core = kubernetes.client.CoreV1Api(client)
    core.create_namespaced_config_map("default", _configmap("patchy"))
    core.patch_namespaced_config_map("patchy", "default", {"data": {"a": "1"}})  # strategic merge
    core.patch_namespaced_config_map(
        "patchy", "default", [{"op": "add", "path": "/data/b", "value": "2"}]
    )
    cm = core.read_namespaced_config_map("patchy", "default")
    assert cm.data == {"k": "v", "a": "1", "b": "2"}
    stale = cm.metadata.resource_version
    core.patch_namespaced_config_map("patchy", "default", {"data": {"c": "3"}})
    cm.metadata.resource_version = stale
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("patchy", "default", cm)
    assert err.value.status == 409
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", _configmap("patchy"))
    assert err.value.status == 409 and "AlreadyExists" in err.value.body
    dry = core.patch_namespaced_config_map("patchy", "default", {"data": {"d": "4"}}, dry_run="All")
    assert dry.data["d"] == "4"
    assert "d" not in core.read_namespaced_config_map("patchy", "default").data
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod("no-such-pod", "default")
    assert err.value.status == 404 and "NotFound" in err.value.body


def test_viewer_is_read_only(tiny_sim) -> None:
    viewer = kubernetes.client.CoreV1Api(api_client(tiny_sim.kubeconfig_path, "kmc-sim-viewer"))
    assert viewer.list_node().items
    node = viewer.list_node().items[0].metadata.name
    with pytest.raises(ApiException) as err:
        viewer.patch_node(node, {"spec": {"unschedulable": True}})
    assert err.value.status == 403
    message = json.loads(err.value.body)["message"]
    assert message == (
        f'nodes "{node}" is forbidden: User "viewer" cannot patch resource "nodes" '
        'in API group "" at the cluster scope'
    )
