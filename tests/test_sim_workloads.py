"""Workload controllers in-process (no HTTP): Deployments, StatefulSets, DaemonSets, batch Jobs,
driven by the real scheduler and kubelet on a frozen sim clock."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import ApiClient

from console.sim.clock import SimClock
from console.sim.controllers import start_controllers
from console.sim.kinds import by_kind
from console.sim.nodes import make_node
from console.sim.podspec import pod_from_template, template_hash
from console.sim.runtime import SimContext
from console.sim.store import Store

NODE, POD, EVENT = by_kind("Node"), by_kind("Pod"), by_kind("Event")
DEPLOY, RS, STS, DS, JOB = (
    by_kind("Deployment"),
    by_kind("ReplicaSet"),
    by_kind("StatefulSet"),
    by_kind("DaemonSet"),
    by_kind("Job"),
)


def cluster(gpu_nodes: int = 2, cpu_nodes: int = 1) -> SimContext:
    clock = SimClock(start=1_700_000_000, speed=0)
    store = Store(clock, seed=7)
    ctx = SimContext(store, clock, 7)
    for i in range(gpu_nodes):
        store.create(NODE, make_node(f"gpu-{i}", "a100", "a100", 8, 96, 1024, index=i))
    for i in range(cpu_nodes):
        store.create(NODE, make_node(f"cpu-{i}", "cpu", None, 0, 16, 64, index=50 + i))
    start_controllers(ctx)
    return ctx


def template(labels: dict[str, str], gpus: int = 0, **annotations: str) -> dict[str, Any]:
    resources = {"limits": {"nvidia.com/gpu": str(gpus)}} if gpus else {}
    return {
        "metadata": {"labels": labels, "annotations": annotations},
        "spec": {"containers": [{"name": "main", "image": "app:1.0", "resources": resources}]},
    }


def pods(ctx: SimContext, **labels: str) -> list[dict[str, Any]]:
    return sorted(
        (
            p
            for p in ctx.store.objects(POD)
            if all(p["metadata"]["labels"].get(k) == v for k, v in labels.items())
        ),
        key=lambda p: p["metadata"]["name"],
    )


def reasons(ctx: SimContext, name: str) -> list[str]:
    return [e["reason"] for e in ctx.store.objects(EVENT) if e["involvedObject"]["name"] == name]


def deployment(name: str, replicas: int, **kw: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": template({"app": name}, **kw),
        },
    }


def set_spec(ctx: SimContext, rt: Any, name: str, **values: Any) -> None:
    ctx.store.mutate(rt, "ml", name, lambda o: o["spec"].update(values))


def test_pod_from_template_has_what_the_client_requires() -> None:
    owner = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "rs", "uid": "u-1", "annotations": {"sim.kmc.dev/run-seconds": "5"}},
    }
    tmpl = template({"app": "x"}, gpus=1, **{"sim.kmc.dev/profile": "idle"})
    pod = pod_from_template(None, tmpl, "rs-abcde", "ml", owner, {"extra": "1"}, {})
    ref = pod["metadata"]["ownerReferences"][0]
    assert ref == {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "rs",
        "uid": "u-1",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    ann = pod["metadata"]["annotations"]
    assert ann["sim.kmc.dev/run-seconds"] == "5" and ann["sim.kmc.dev/profile"] == "idle"
    spec = pod["spec"]
    assert spec["schedulerName"] == "default-scheduler" and spec["restartPolicy"] == "Always"
    assert {t["key"] for t in spec["tolerations"]} >= {
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    }
    assert spec["containers"][0]["resources"]["requests"] == {"nvidia.com/gpu": "1"}
    assert pod["status"] == {"phase": "Pending", "conditions": [], "qosClass": "Burstable"}
    assert template_hash(tmpl) == template_hash(dict(tmpl)) and len(template_hash(tmpl)) <= 10


def test_deployment_scales_up_and_down() -> None:
    ctx = cluster()
    ctx.store.create(DEPLOY, deployment("web", 3))
    ctx.advance(10)
    d = ctx.store.get(DEPLOY, "ml", "web")
    status = d["status"]
    assert status["replicas"] == status["readyReplicas"] == status["availableReplicas"] == 3
    assert status["updatedReplicas"] == 3 and status["observedGeneration"] == 1
    conds = {c["type"]: c for c in status["conditions"]}
    assert conds["Available"]["status"] == "True"
    assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert status["selector"] == "app=web"
    (rs,) = ctx.store.objects(RS)
    digest = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{digest}"
    assert all(p["metadata"]["name"].startswith(f"web-{digest}-") for p in pods(ctx, app="web"))
    assert "ScalingReplicaSet" in reasons(ctx, "web")
    assert reasons(ctx, rs["metadata"]["name"]).count("SuccessfulCreate") == 3

    ctx.advance(5)
    newest = max(pods(ctx, app="web"), key=lambda p: p["metadata"]["creationTimestamp"])
    set_spec(ctx, DEPLOY, "web", replicas=5)
    ctx.advance(10)
    assert len(pods(ctx, app="web")) == 5
    assert ctx.store.get(DEPLOY, "ml", "web")["status"]["readyReplicas"] == 5
    set_spec(ctx, DEPLOY, "web", replicas=3)
    ctx.advance(2)
    left = {p["metadata"]["name"] for p in pods(ctx, app="web")}
    assert len(left) == 3 and newest["metadata"]["name"] in left  # the two newest went
    set_spec(ctx, DEPLOY, "web", replicas=0)
    ctx.advance(2)
    status = ctx.store.get(DEPLOY, "ml", "web")["status"]
    assert (
        not pods(ctx, app="web") and "replicas" not in status and status["observedGeneration"] == 4
    )


def test_deployment_rolls_out_a_new_template() -> None:
    ctx = cluster()
    ctx.store.create(DEPLOY, deployment("api", 4))
    ctx.advance(10)
    new_template = template({"app": "api", "v": "2"})
    set_spec(ctx, DEPLOY, "api", template=new_template)
    ctx.advance(20)
    rss = {rs["metadata"]["labels"]["pod-template-hash"]: rs for rs in ctx.store.objects(RS)}
    assert len(rss) == 2
    new = rss[template_hash(new_template)]
    assert (
        new["spec"]["replicas"] == 4
        and new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    )
    assert [rs["spec"]["replicas"] for rs in rss.values() if rs is not new] == [0]
    assert all(p["metadata"]["labels"].get("v") == "2" for p in pods(ctx, app="api"))
    status = ctx.store.get(DEPLOY, "ml", "api")["status"]
    assert status["updatedReplicas"] == status["availableReplicas"] == 4


def test_deleting_a_deployment_cascades() -> None:
    ctx = cluster()
    ctx.store.create(DEPLOY, deployment("gone", 2))
    ctx.advance(5)
    ctx.store.delete(DEPLOY, "ml", "gone")
    ctx.advance(1)
    assert not ctx.store.objects(RS) and not pods(ctx, app="gone")


def test_statefulset_creates_ordinals_in_order() -> None:
    ctx = cluster()
    ctx.store.create(
        STS,
        {
            "metadata": {"name": "db", "namespace": "ml"},
            "spec": {
                "replicas": 3,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": template({"app": "db"}),
            },
        },
    )
    ctx.advance(0.1)
    assert [p["metadata"]["name"] for p in pods(ctx, app="db")] == ["db-0"]  # waits for db-0
    ctx.advance(15)
    names = [p["metadata"]["name"] for p in pods(ctx, app="db")]
    assert names == ["db-0", "db-1", "db-2"]
    pod = pods(ctx, app="db")[2]
    assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "db-2"
    assert pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "2"
    assert pod["spec"]["hostname"] == "db-2" and pod["spec"]["subdomain"] == "db"
    status = ctx.store.get(STS, "ml", "db")["status"]
    assert status["replicas"] == status["readyReplicas"] == status["currentReplicas"] == 3
    set_spec(ctx, STS, "db", replicas=1)
    ctx.advance(3)
    assert [p["metadata"]["name"] for p in pods(ctx, app="db")] == ["db-0"]


def daemonset() -> dict[str, Any]:
    tmpl = template({"app": "nvidia-dcgm-exporter"})
    tmpl["spec"]["nodeSelector"] = {"nvidia.com/gpu.present": "true"}
    tmpl["spec"]["tolerations"] = [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    return {
        "metadata": {"name": "nvidia-dcgm-exporter", "namespace": "gpu-operator"},
        "spec": {"selector": {"matchLabels": {"app": "nvidia-dcgm-exporter"}}, "template": tmpl},
    }


def test_daemonset_follows_gpu_nodes() -> None:
    ctx = cluster(gpu_nodes=2, cpu_nodes=1)
    ctx.store.create(DS, daemonset())
    ctx.advance(5)
    exporter = pods(ctx, app="nvidia-dcgm-exporter")
    assert sorted(p["spec"]["nodeName"] for p in exporter) == ["gpu-0", "gpu-1"]
    status = ctx.store.get(DS, "gpu-operator", "nvidia-dcgm-exporter")["status"]
    assert status["desiredNumberScheduled"] == status["currentNumberScheduled"] == 2
    assert status["numberReady"] == status["numberAvailable"] == 2
    assert status["numberMisscheduled"] == 0

    ctx.store.create(NODE, make_node("gpu-9", "h100", "h100", 8, 96, 1024, index=9, gpu_taint=True))
    ctx.advance(5)
    assert len(pods(ctx, app="nvidia-dcgm-exporter")) == 3  # tolerates the GPU taint
    ctx.store.delete(NODE, "", "gpu-0")
    ctx.advance(1)
    nodes = sorted(p["spec"]["nodeName"] for p in pods(ctx, app="nvidia-dcgm-exporter"))
    assert nodes == ["gpu-1", "gpu-9"]

    def unlabel(node: dict[str, Any]) -> None:
        node["metadata"]["labels"]["nvidia.com/gpu.present"] = "false"

    ctx.store.mutate(NODE, "", "gpu-1", unlabel)
    ctx.advance(1)
    assert [p["spec"]["nodeName"] for p in pods(ctx, app="nvidia-dcgm-exporter")] == ["gpu-9"]
    assert (
        ctx.store.get(DS, "gpu-operator", "nvidia-dcgm-exporter")["status"][
            "desiredNumberScheduled"
        ]
        == 1
    )


def job(name: str, **spec: Any) -> dict[str, Any]:
    annotations = spec.pop("annotations", {})
    tmpl = template({}, **annotations)
    tmpl["spec"]["restartPolicy"] = spec.pop("restartPolicy", "Never")
    return {"metadata": {"name": name, "namespace": "ml"}, "spec": {"template": tmpl, **spec}}


def conditions(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (c["type"], c["status"], c.get("reason", "")) for c in obj["status"].get("conditions", [])
    ]


def test_job_runs_to_completion() -> None:
    ctx = cluster()
    ctx.store.create(
        JOB,
        job("etl", parallelism=2, completions=4, annotations={"sim.kmc.dev/run-seconds": "20"}),
    )
    ctx.advance(5)
    j = ctx.store.get(JOB, "ml", "etl")
    uid = j["metadata"]["uid"]
    assert j["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    running = pods(ctx, **{"batch.kubernetes.io/job-name": "etl"})
    assert len(running) == 2 and j["status"]["active"] == 2 and j["status"]["ready"] == 2
    labels = running[0]["metadata"]["labels"]
    assert labels["job-name"] == "etl" and labels["controller-uid"] == uid
    assert running[0]["metadata"]["annotations"]["sim.kmc.dev/profile"] == "training"
    assert "startTime" in j["status"]
    ctx.advance(60)
    j = ctx.store.get(JOB, "ml", "etl")
    assert j["status"]["succeeded"] == 4 and "active" not in j["status"]
    assert conditions(j) == [
        ("SuccessCriteriaMet", "True", "CompletionsReached"),
        ("Complete", "True", "CompletionsReached"),
    ]
    assert "completionTime" in j["status"] and "Completed" in reasons(ctx, "etl")


def test_job_fails_after_backoff_limit() -> None:
    ctx = cluster()
    ctx.store.create(JOB, job("flaky", backoffLimit=1, annotations={"sim.kmc.dev/fail-after": "5"}))
    ctx.advance(120)
    j = ctx.store.get(JOB, "ml", "flaky")
    assert j["status"]["failed"] == 2
    assert conditions(j)[-1] == ("Failed", "True", "BackoffLimitExceeded")
    assert "BackoffLimitExceeded" in reasons(ctx, "flaky")
    assert len(pods(ctx, **{"job-name": "flaky"})) == 2  # one replacement after a 10 s back-off


def test_job_suspend_deletes_pods_and_resume_recreates() -> None:
    ctx = cluster()
    ctx.store.create(JOB, job("sweep", parallelism=3, completions=3))
    ctx.advance(5)
    assert len(pods(ctx, **{"job-name": "sweep"})) == 3
    set_spec(ctx, JOB, "sweep", suspend=True)
    ctx.advance(1)
    j = ctx.store.get(JOB, "ml", "sweep")
    assert not pods(ctx, **{"job-name": "sweep"}) and "active" not in j["status"]
    assert conditions(j) == [("Suspended", "True", "JobSuspended")]
    assert "startTime" not in j["status"]
    set_spec(ctx, JOB, "sweep", suspend=False)
    ctx.advance(5)
    j = ctx.store.get(JOB, "ml", "sweep")
    assert conditions(j) == [("Suspended", "False", "JobResumed")]
    assert j["status"]["active"] == 3 and "Resumed" in reasons(ctx, "sweep")


@pytest.mark.parametrize(
    ("rt", "model"),
    [
        (POD, "V1Pod"),
        (DEPLOY, "V1Deployment"),
        (RS, "V1ReplicaSet"),
        (STS, "V1StatefulSet"),
        (DS, "V1DaemonSet"),
        (JOB, "V1Job"),
        (EVENT, "CoreV1Event"),
    ],
)
def test_objects_deserialize_with_the_python_client(rt: Any, model: str) -> None:
    ctx = cluster()
    ctx.store.create(DEPLOY, deployment("web", 2, gpus=1))
    ctx.store.create(
        STS,
        {
            "metadata": {"name": "db", "namespace": "ml"},
            "spec": {
                "selector": {"matchLabels": {"app": "db"}},
                "template": template({"app": "db"}),
            },
        },
    )
    ctx.store.create(DS, daemonset())
    ctx.store.create(JOB, job("j"))
    ctx.advance(10)
    objects = ctx.store.objects(rt)
    assert objects
    client = ApiClient()
    for obj in objects:
        client._ApiClient__deserialize(obj, model)  # raises on a missing required field


def test_adopts_a_replicaset_written_with_another_hash() -> None:
    """Presets write Deployments with their ReplicaSets: no surprise rollout at start."""
    ctx = cluster()
    ctx.store.create(DEPLOY, deployment("vllm", 2, gpus=1))
    ctx.advance(10)
    (rs,) = ctx.store.objects(RS)
    old_name = rs["metadata"]["name"]
    ctx.store.delete(RS, "ml", old_name)  # cascade removes the pods
    ctx.store.delete(DEPLOY, "ml", "vllm")
    ctx.advance(1)
    dep = ctx.store.create(DEPLOY, deployment("vllm", 2, gpus=1))
    foreign = {**rs, "metadata": {**rs["metadata"], "name": "vllm-zzzz9"}}
    foreign["metadata"]["ownerReferences"] = [
        {**rs["metadata"]["ownerReferences"][0], "uid": dep["metadata"]["uid"]}
    ]
    for key in ("uid", "resourceVersion", "creationTimestamp"):
        foreign["metadata"].pop(key)
    foreign["metadata"]["labels"]["pod-template-hash"] = "zzzz9"
    foreign["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = "zzzz9"
    ctx.store.create(RS, foreign)
    ctx.advance(10)
    assert [r["metadata"]["name"] for r in ctx.store.objects(RS)] == ["vllm-zzzz9"]
    pod = pods(ctx, app="vllm")[0]
    assert pod["metadata"]["annotations"]["sim.kmc.dev/profile"] == "serving"
    assert ctx.store.get(DEPLOY, "ml", "vllm")["status"]["readyReplicas"] == 2
