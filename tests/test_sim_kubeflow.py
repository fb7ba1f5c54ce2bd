"""Kubeflow training jobs in-process: PyTorchJob conditions, replica statuses, worker scaling,
suspend/resume, restarts and failures; TFJob and MPIJob pod naming."""

from __future__ import annotations

from typing import Any

from console.sim.clock import SimClock
from console.sim.controllers import start_controllers
from console.sim.kinds import by_kind
from console.sim.nodes import make_node
from console.sim.runtime import SimContext
from console.sim.store import Store

NODE, POD, EVENT = by_kind("Node"), by_kind("Pod"), by_kind("Event")
PT, TF, MPI = by_kind("PyTorchJob"), by_kind("TFJob"), by_kind("MPIJob")


def cluster(gpu_nodes: int = 2) -> SimContext:
    clock = SimClock(start=1_700_000_000, speed=0)
    store = Store(clock, seed=11)
    ctx = SimContext(store, clock, 11)
    for i in range(gpu_nodes):
        store.create(NODE, make_node(f"gpu-{i}", "a100", "a100", 8, 96, 1024, index=i))
    start_controllers(ctx)
    return ctx


def replica(
    replicas: int, gpus: int = 1, policy: str = "OnFailure", container: str = "pytorch", **ann: str
) -> dict[str, Any]:
    return {
        "replicas": replicas,
        "restartPolicy": policy,
        "template": {
            "metadata": {"annotations": ann},
            "spec": {
                "containers": [
                    {
                        "name": container,
                        "image": "ghcr.io/acme/train:1.0",
                        "resources": {"limits": {"nvidia.com/gpu": str(gpus)}},
                    }
                ]
            },
        },
    }


def pytorchjob(name: str, master: dict | None, worker: dict | None, **run: Any) -> dict:
    specs = {}
    if master:
        specs["Master"] = master
    if worker:
        specs["Worker"] = worker
    return {
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {"pytorchReplicaSpecs": specs, "runPolicy": run},
    }


def states(ctx: SimContext, name: str, rt: Any = PT) -> list[tuple[str, str]]:
    job = ctx.store.get(rt, "ml", name)
    return [(c["type"], c["status"]) for c in job["status"]["conditions"]]


def pod_names(ctx: SimContext, job: str) -> list[str]:
    return sorted(
        p["metadata"]["name"]
        for p in ctx.store.objects(POD)
        if p["metadata"]["labels"].get("training.kubeflow.org/job-name") == job
    )


def patch(ctx: SimContext, name: str, change: Any) -> None:
    ctx.store.mutate(PT, "ml", name, change)


def test_pytorchjob_conditions_and_replica_statuses() -> None:
    ctx = cluster()
    ctx.store.create(
        PT,
        pytorchjob(
            "llm-ft",
            replica(1, **{"sim.kmc.dev/run-seconds": "100"}),
            replica(2, **{"sim.kmc.dev/run-seconds": "200"}),
        ),
    )
    ctx.advance(0.1)
    assert states(ctx, "llm-ft") == [("Created", "True")]
    assert pod_names(ctx, "llm-ft") == ["llm-ft-master-0", "llm-ft-worker-0", "llm-ft-worker-1"]
    master = ctx.store.get(POD, "ml", "llm-ft-master-0")
    labels = master["metadata"]["labels"]
    assert labels["training.kubeflow.org/operator-name"] == "pytorchjob-controller"
    assert labels["training.kubeflow.org/replica-type"] == "master"
    assert labels["training.kubeflow.org/replica-index"] == "0"
    assert labels["training.kubeflow.org/job-role"] == "master"
    assert (
        "training.kubeflow.org/job-role"
        not in (ctx.store.get(POD, "ml", "llm-ft-worker-0")["metadata"]["labels"])
    )
    assert master["metadata"]["annotations"]["sim.kmc.dev/profile"] == "training"
    env = {e["name"]: e["value"] for e in master["spec"]["containers"][0]["env"]}
    assert env["MASTER_ADDR"] == "llm-ft-master-0" and env["WORLD_SIZE"] == "3"

    ctx.advance(10)
    job = ctx.store.get(PT, "ml", "llm-ft")
    assert states(ctx, "llm-ft") == [("Created", "True"), ("Running", "True")]
    worker = job["status"]["replicaStatuses"]["Worker"]
    assert worker["active"] == 2
    assert worker["selector"] == (
        "training.kubeflow.org/job-name=llm-ft,"
        "training.kubeflow.org/operator-name=pytorchjob-controller,"
        "training.kubeflow.org/replica-type=worker"
    )
    assert worker["labelSelector"]["matchLabels"]["training.kubeflow.org/replica-type"] == "worker"
    cond = job["status"]["conditions"][-1]
    assert (
        cond["reason"] == "PyTorchJobRunning" and cond["message"] == "PyTorchJob llm-ft is running."
    )
    assert {"lastUpdateTime", "lastTransitionTime"} <= set(cond) and "startTime" in job["status"]

    ctx.advance(100)
    job = ctx.store.get(PT, "ml", "llm-ft")
    assert states(ctx, "llm-ft") == [
        ("Created", "True"),
        ("Running", "False"),
        ("Succeeded", "True"),
    ]
    assert job["status"]["replicaStatuses"]["Master"]["succeeded"] == 1
    assert "completionTime" in job["status"]
    kinds = [
        e["reason"] for e in ctx.store.objects(EVENT) if e["involvedObject"]["name"] == "llm-ft"
    ]
    assert "SuccessfulCreatePod" in kinds and "PyTorchJobSucceeded" in kinds


def test_worker_scaling_creates_and_deletes_pods() -> None:
    ctx = cluster()
    ctx.store.create(PT, pytorchjob("elastic", None, replica(2)))
    ctx.advance(10)
    assert pod_names(ctx, "elastic") == ["elastic-worker-0", "elastic-worker-1"]
    assert (
        ctx.store.get(POD, "ml", "elastic-worker-0")["metadata"]["labels"][
            "training.kubeflow.org/job-role"
        ]
        == "master"
    )  # worker 0 leads when there is no master
    patch(ctx, "elastic", lambda o: o["spec"]["pytorchReplicaSpecs"]["Worker"].update(replicas=4))
    ctx.advance(10)
    assert len(pod_names(ctx, "elastic")) == 4
    status = ctx.store.get(PT, "ml", "elastic")["status"]
    assert status["replicaStatuses"]["Worker"]["active"] == 4
    patch(ctx, "elastic", lambda o: o["spec"]["pytorchReplicaSpecs"]["Worker"].update(replicas=1))
    ctx.advance(2)
    assert pod_names(ctx, "elastic") == ["elastic-worker-0"]


def test_suspend_deletes_pods_and_resume_recreates_them() -> None:
    ctx = cluster()
    ctx.store.create(PT, pytorchjob("sus", replica(1), replica(1)))
    ctx.advance(10)
    patch(ctx, "sus", lambda o: o["spec"]["runPolicy"].update(suspend=True))
    ctx.advance(1)
    job = ctx.store.get(PT, "ml", "sus")
    assert not pod_names(ctx, "sus")
    assert states(ctx, "sus") == [("Created", "True"), ("Running", "False"), ("Suspended", "True")]
    assert job["status"]["conditions"][-1]["reason"] == "PyTorchJobSuspended"
    assert "startTime" not in job["status"]
    assert "active" not in job["status"]["replicaStatuses"]["Worker"]
    patch(ctx, "sus", lambda o: o["spec"]["runPolicy"].update(suspend=False))
    ctx.advance(10)
    assert pod_names(ctx, "sus") == ["sus-master-0", "sus-worker-0"]
    assert states(ctx, "sus") == [("Created", "True"), ("Suspended", "False"), ("Running", "True")]


def test_restart_then_backoff_limit_fails_the_job() -> None:
    ctx = cluster()
    ctx.store.create(
        PT,
        pytorchjob(
            "crashy",
            replica(1),
            replica(1, **{"sim.kmc.dev/fail-after": "20"}),
            backoffLimit=1,
        ),
    )
    ctx.advance(25)  # the worker exited 1 and waits in CrashLoopBackOff
    job = ctx.store.get(PT, "ml", "crashy")
    last = job["status"]["conditions"][-1]
    assert (last["type"], last["reason"]) == ("Restarting", "PyTorchJobRestarting")
    assert "Running" not in [c["type"] for c in job["status"]["conditions"]]
    ctx.advance(10)  # restarted (restartCount 1): running again
    assert states(ctx, "crashy")[-1] == ("Running", "True")
    ctx.advance(60)  # second crash and restart: 2 restarts > backoffLimit 1
    job = ctx.store.get(PT, "ml", "crashy")
    last = job["status"]["conditions"][-1]
    assert (last["type"], last["reason"]) == ("Failed", "PyTorchJobFailed")
    assert "backoff limit" in last["message"]
    assert not [p for p in ctx.store.objects(POD) if p["status"]["phase"] in ("Pending", "Running")]


def test_never_policy_failure_fails_the_job() -> None:
    ctx = cluster()
    ctx.store.create(
        PT,
        pytorchjob("once", replica(1, policy="Never", **{"sim.kmc.dev/fail-after": "5"}), None),
    )
    ctx.advance(15)
    job = ctx.store.get(PT, "ml", "once")
    assert states(ctx, "once")[-1] == ("Failed", "True")
    assert job["status"]["conditions"][-1]["message"] == (
        "PyTorchJob once is failed because 1 Master replica(s) failed."
    )
    assert job["status"]["replicaStatuses"]["Master"]["failed"] == 1


def test_unschedulable_job_stays_created() -> None:
    ctx = cluster(gpu_nodes=1)
    ctx.store.create(PT, pytorchjob("huge", replica(1, gpus=8), replica(2, gpus=8)))
    ctx.advance(30)
    assert states(ctx, "huge") == [("Created", "True")]
    phases = {p["metadata"]["name"]: p["status"]["phase"] for p in ctx.store.objects(POD)}
    assert list(phases.values()).count("Pending") >= 2


def test_tfjob_and_mpijob_names() -> None:
    ctx = cluster()
    ctx.store.create(
        TF,
        {
            "metadata": {"name": "tf", "namespace": "ml"},
            "spec": {
                "tfReplicaSpecs": {
                    "Chief": replica(1, container="tensorflow"),
                    "PS": replica(1, gpus=0, container="tensorflow"),
                    "Worker": replica(2, container="tensorflow"),
                }
            },
        },
    )
    ctx.store.create(
        MPI,
        {
            "metadata": {"name": "mpi", "namespace": "ml"},
            "spec": {
                "mpiReplicaSpecs": {
                    "Launcher": replica(1, gpus=0, container="mpi"),
                    "Worker": replica(2, container="mpi"),
                }
            },
        },
    )
    ctx.advance(10)
    assert pod_names(ctx, "tf") == ["tf-chief-0", "tf-ps-0", "tf-worker-0", "tf-worker-1"]
    assert pod_names(ctx, "mpi") == ["mpi-launcher", "mpi-worker-0", "mpi-worker-1"]
    chief = ctx.store.get(POD, "ml", "tf-chief-0")
    assert chief["metadata"]["labels"]["training.kubeflow.org/operator-name"] == "tfjob-controller"
    assert "TF_CONFIG" in {e["name"] for e in chief["spec"]["containers"][0]["env"]}
    assert states(ctx, "tf", TF)[-1] == ("Running", "True")
    assert ctx.store.get(MPI, "ml", "mpi")["status"]["conditions"][-1]["reason"] == (
        "MPIJobRunning"
    )
