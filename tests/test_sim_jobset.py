"""The simulated JobSet and TrainJob controllers in-process: child Jobs and pods with the real
labels, Job-counting `replicatedJobsStatus`, suspend/resume as Kueue does it, completion, a
restart under `failurePolicy.maxRestarts`, and a TrainJob run as a JobSet from its runtime."""

from __future__ import annotations

from typing import Any

from console.sim.clock import SimClock
from console.sim.controllers import start_controllers
from console.sim.kinds import by_kind
from console.sim.nodes import make_node
from console.sim.runtime import SimContext
from console.sim.store import Store

NODE, POD, JOB = by_kind("Node"), by_kind("Pod"), by_kind("Job")
JOBSET, TRAINJOB, CTR = by_kind("JobSet"), by_kind("TrainJob"), by_kind("ClusterTrainingRuntime")


def cluster() -> SimContext:
    clock = SimClock(start=1_700_000_000, speed=0)
    store = Store(clock, seed=11)
    ctx = SimContext(store, clock, 11)
    for i in range(2):
        store.create(NODE, make_node(f"gpu-{i}", "a100", "a100", 8, 96, 1024, index=i))
    start_controllers(ctx)
    return ctx


def pod_template(gpus: int, **annotations: str) -> dict[str, Any]:
    return {
        "metadata": {"annotations": annotations},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "trainer",
                    "image": "ghcr.io/acme/train:1.0",
                    "resources": {"limits": {"nvidia.com/gpu": str(gpus)}},
                }
            ],
        },
    }


def jobset(name: str, workers: int, suspend: bool = False, **ann: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {
            "suspend": suspend,
            "failurePolicy": {"maxRestarts": 1},
            "replicatedJobs": [
                {
                    "name": "workers",
                    "replicas": workers,
                    "template": {"spec": {"parallelism": 2, "template": pod_template(2, **ann)}},
                }
            ],
        },
    }


def pods_of(ctx: SimContext, jobset_name: str) -> list[dict[str, Any]]:
    return [
        p
        for p in ctx.store.objects(POD)
        if p["metadata"]["labels"].get("jobset.sigs.k8s.io/jobset-name") == jobset_name
    ]


def test_jobset_jobs_pods_and_job_counts() -> None:
    ctx = cluster()
    ctx.store.create(JOBSET, jobset("llm", 2, **{"sim.kmc.dev/run-seconds": "100"}))
    ctx.advance(10)
    jobs = sorted(j["metadata"]["name"] for j in ctx.store.objects(JOB))
    assert jobs == ["llm-workers-0", "llm-workers-1"]
    pods = pods_of(ctx, "llm")
    assert len(pods) == 4
    labels = pods[0]["metadata"]["labels"]
    assert labels["batch.kubernetes.io/job-name"].startswith("llm-workers-")
    assert labels["jobset.sigs.k8s.io/replicatedjob-name"] == "workers"
    assert labels["jobset.sigs.k8s.io/restart-attempt"] == "0"
    assert {p["status"]["phase"] for p in pods} == {"Running"}
    status = ctx.store.get(JOBSET, "ml", "llm")["status"]
    assert status["replicatedJobsStatus"] == [
        {"name": "workers", "ready": 2, "succeeded": 0, "failed": 0, "active": 2, "suspended": 0}
    ]
    assert "conditions" not in status  # a running JobSet has no Running condition
    ctx.advance(120)
    status = ctx.store.get(JOBSET, "ml", "llm")["status"]
    assert status["terminalState"] == "Completed"
    done = status["conditions"][-1]
    assert (done["type"], done["status"], done["reason"]) == (
        "Completed",
        "True",
        "AllJobsCompleted",
    )
    assert status["replicatedJobsStatus"][0]["succeeded"] == 2


def test_jobset_suspend_and_resume() -> None:
    ctx = cluster()
    ctx.store.create(JOBSET, jobset("queued", 1, suspend=True))
    ctx.advance(5)
    assert pods_of(ctx, "queued") == []
    cond = ctx.store.get(JOBSET, "ml", "queued")["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("Suspended", "True", "SuspendedJobs")
    ctx.store.mutate(JOBSET, "ml", "queued", lambda js: js["spec"].update(suspend=False))
    ctx.advance(10)
    status = ctx.store.get(JOBSET, "ml", "queued")["status"]
    cond = status["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("Suspended", "False", "ResumeJobs")
    assert len(pods_of(ctx, "queued")) == 2
    assert status["replicatedJobsStatus"][0]["active"] == 1


def test_jobset_restarts_then_fails() -> None:
    ctx = cluster()
    ctx.store.create(JOBSET, jobset("flaky", 1, **{"sim.kmc.dev/fail-after": "20"}))
    ctx.advance(40)
    status = ctx.store.get(JOBSET, "ml", "flaky")["status"]
    assert status["restarts"] == 1
    ctx.advance(60)
    status = ctx.store.get(JOBSET, "ml", "flaky")["status"]
    assert status["terminalState"] == "Failed"
    failed = status["conditions"][-1]
    assert (failed["type"], failed["reason"]) == ("Failed", "ReachedMaxRestarts")


RUNTIME = {
    "metadata": {"name": "torch-distributed", "labels": {"trainer.kubeflow.org/framework": "torch"}},
    "spec": {
        "mlPolicy": {"numNodes": 1, "torch": {"numProcPerNode": "auto"}},
        "template": {
            "spec": {
                "replicatedJobs": [
                    {
                        "name": "node",
                        "template": {
                            "metadata": {"labels": {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}},
                            "spec": {"template": {"spec": {"containers": [
                                {"name": "node", "image": "pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime",
                                 "resources": {"limits": {"nvidia.com/gpu": "4"}}}
                            ]}}},
                        },
                    }
                ]
            }
        },
    },
}  # fmt: skip


def test_trainjob_runs_as_a_jobset_from_its_runtime() -> None:
    ctx = cluster()
    ctx.store.create(CTR, RUNTIME)
    ctx.store.create(
        TRAINJOB,
        {
            "metadata": {"name": "ft", "namespace": "ml"},
            "spec": {
                "runtimeRef": {"name": "torch-distributed"},
                "trainer": {"numNodes": 2},
                "suspend": True,
            },
        },
    )
    ctx.advance(5)
    js = ctx.store.get(JOBSET, "ml", "ft")
    assert js["metadata"]["ownerReferences"][0]["kind"] == "TrainJob"
    node = js["spec"]["replicatedJobs"][0]
    assert node["replicas"] == 1 and node["template"]["spec"]["parallelism"] == 2
    assert js["spec"]["suspend"] is True
    cond = ctx.store.get(TRAINJOB, "ml", "ft")["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("Suspended", "True", "Suspended")
    # Kueue admits it: unsuspends
    ctx.store.mutate(TRAINJOB, "ml", "ft", lambda j: j["spec"].update(suspend=False))
    ctx.advance(10)
    status = ctx.store.get(TRAINJOB, "ml", "ft")["status"]
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == [
        ("Suspended", "False", "Resumed")
    ]
    assert status["jobsStatus"][0]["active"] == 1
    pods = pods_of(ctx, "ft")
    assert len(pods) == 2
    assert pods[0]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "4"
