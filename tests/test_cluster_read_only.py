"""Read-only is enforced by the connection, below every caller: writes are refused before
anything is sent, access reviews (which only ask) still go through."""

from __future__ import annotations

import json
import uuid

import pytest

from console.cluster.connection import ReadOnlyError, connect


def _configmap(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}}


def test_every_write_verb_is_refused_and_nothing_changes(tiny_sim):
    writer = connect(str(tiny_sim.kubeconfig_path), "kmc-sim")
    name = f"ro-{uuid.uuid4().hex[:8]}"
    writer.request("POST", "/api/v1/namespaces/default/configmaps", body=_configmap(name))
    path = f"/api/v1/namespaces/default/configmaps/{name}"
    before = json.loads(writer.get(path))

    reader = connect(str(tiny_sim.kubeconfig_path), "kmc-sim", read_only=True)
    attempts = [
        ("POST", "/api/v1/namespaces/default/configmaps", _configmap(name + "-new")),
        ("PUT", path, {**before, "data": {"a": "2"}}),
        ("PATCH", path, {"data": {"a": "3"}}),
        ("DELETE", path, None),
        ("post", "/api/v1/namespaces/default/pods/x/eviction?dryRun=All", {"kind": "Eviction"}),
    ]
    for method, target, body in attempts:
        headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else None
        with pytest.raises(ReadOnlyError) as info:
            reader.request(method, target, body=body, headers=headers)
        message = str(info.value)
        assert message.startswith(f"read-only: {method.upper()} ") and "\n" not in message
        assert "kmc-sim is read-only" in message
    after = json.loads(writer.get(path))
    assert after == before  # same data, same resourceVersion: nothing reached the server
    reader.request("GET", path)  # reads are untouched


def test_access_reviews_only_ask_and_pass(tiny_sim):
    reader = connect(str(tiny_sim.kubeconfig_path), "kmc-sim", read_only=True)
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "delete", "resource": "pods"}},
    }
    body = json.loads(
        reader.request(
            "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=review
        )
    )
    assert body["status"]["allowed"] is True
    # A look-alike path is still a write.
    with pytest.raises(ReadOnlyError):
        reader.check_write(
            "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/../../v1/pods"
        )
    with pytest.raises(ReadOnlyError):
        reader.check_write("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews")


def test_the_flag_can_change_on_a_live_connection(tiny_sim):
    connection = connect(str(tiny_sim.kubeconfig_path), "kmc-sim", read_only=True)
    name = f"ro-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ReadOnlyError):
        connection.request("POST", "/api/v1/namespaces/default/configmaps", body=_configmap(name))
    connection.read_only = False
    connection.request("POST", "/api/v1/namespaces/default/configmaps", body=_configmap(name))
    connection.request("DELETE", f"/api/v1/namespaces/default/configmaps/{name}")
