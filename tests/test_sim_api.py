"""API mechanics of the simulated server at the HTTP level: discovery, Status errors, subresources."""

from __future__ import annotations

import json

import pytest
import urllib3


@pytest.fixture(scope="module")
def http(tiny_sim):
    pool = urllib3.PoolManager(ca_certs=None, cert_reqs="CERT_NONE")

    def call(
        method: str,
        path: str,
        body: object | None = None,
        ctype: str = "application/json",
        token: str | None = None,
    ):
        headers = {
            "Authorization": f"Bearer {token or tiny_sim.admin_token}",
            "Content-Type": ctype,
        }
        data = json.dumps(body).encode() if body is not None else None
        return pool.request(method, tiny_sim.server_url + path, body=data, headers=headers)

    return call


def test_discovery_lists_subresources(http) -> None:
    core = json.loads(http("GET", "/api/v1").data)
    names = {r["name"] for r in core["resources"]}
    assert {"pods", "pods/log", "pods/eviction", "pods/status", "nodes", "nodes/status"} <= names
    groups = {g["name"] for g in json.loads(http("GET", "/apis").data)["groups"]}
    assert {"apps", "batch", "policy", "kubeflow.org", "serving.kserve.io", "nvidia.com"} <= groups
    kubeflow = json.loads(http("GET", "/apis/kubeflow.org/v1").data)
    scale = next(r for r in kubeflow["resources"] if r["name"] == "pytorchjobs/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    assert json.loads(http("GET", "/version").data)["major"] == "1"


def test_errors_are_status_objects(http) -> None:
    missing = http("GET", "/api/v1/namespaces/default/pods/nope")
    status = json.loads(missing.data)
    assert missing.status == 404
    assert status["kind"] == "Status" and status["reason"] == "NotFound" and status["code"] == 404
    assert status["message"] == 'pods "nope" not found'
    assert http("GET", "/apis/nope.io/v1").status == 404
    bad_ctype = http("PATCH", "/api/v1/namespaces/default", {"metadata": {}}, ctype="text/plain")
    assert bad_ctype.status == 415
    bad_json = http("POST", "/api/v1/namespaces/default/configmaps", None)
    assert bad_json.status == 400


def test_scale_subresource_and_negative_replicas(http) -> None:
    jobs = json.loads(http("GET", "/apis/kubeflow.org/v1/pytorchjobs").data)["items"]
    ns, name = jobs[0]["metadata"]["namespace"], jobs[0]["metadata"]["name"]
    path = f"/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs/{name}/scale"
    scale = json.loads(http("GET", path).data)
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    negative = http("PATCH", path, {"spec": {"replicas": -1}}, ctype="application/merge-patch+json")
    assert negative.status == 422
    assert json.loads(negative.data)["reason"] == "Invalid"
    after = json.loads(http("GET", path).data)
    assert after["spec"]["replicas"] == scale["spec"]["replicas"]  # a refused write changes nothing


def test_log_parameter_errors(http) -> None:
    pods = json.loads(http("GET", "/api/v1/pods?fieldSelector=status.phase%3DRunning").data)[
        "items"
    ]
    pod = pods[0]
    base = f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods/{pod['metadata']['name']}/log"
    container = pod["spec"]["containers"][0]["name"]
    assert http("GET", f"{base}?container={container}&tailLines=-1").status in (400, 422)
    assert http("GET", f"{base}?container=nope").status == 400
    ok = http("GET", f"{base}?container={container}&tailLines=3")
    assert ok.status == 200 and len(ok.data.decode().splitlines()) == 3


def test_access_review(http, tiny_sim) -> None:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {"verb": "delete", "resource": "pods", "namespace": "default"}
        },
    }
    path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    assert json.loads(http("POST", path, review).data)["status"]["allowed"] is True
    viewer = json.loads(http("POST", path, review, token=tiny_sim.viewer_token).data)
    assert viewer["status"]["allowed"] is False


def test_dcgm_exporter_through_the_pod_proxy(http) -> None:
    pods = json.loads(http("GET", "/api/v1/pods?labelSelector=app%3Dnvidia-dcgm-exporter").data)[
        "items"
    ]
    running = [p for p in pods if p["status"].get("phase") == "Running"]
    assert running
    pod = running[0]
    path = f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods/{pod['metadata']['name']}:9400/proxy/metrics"
    answer = http("GET", path)
    assert answer.status == 200
    text = answer.data.decode()
    assert "DCGM_FI_DEV_GPU_UTIL{" in text and f'Hostname="{pod["spec"]["nodeName"]}"' in text


def test_custom_resources_refuse_strategic_merge(http) -> None:
    job = json.loads(http("GET", "/apis/kubeflow.org/v1/pytorchjobs").data)["items"][0]
    path = f"/apis/kubeflow.org/v1/namespaces/{job['metadata']['namespace']}/pytorchjobs/{job['metadata']['name']}"
    patch = {"metadata": {"labels": {"x": "y"}}}
    assert http("PATCH", path, patch, ctype="application/strategic-merge-patch+json").status == 415
    assert http("PATCH", path, patch, ctype="application/merge-patch+json").status == 200
