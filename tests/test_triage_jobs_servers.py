"""The training-job and model-server triage rules on hand-made records: stalled-job (MLflow
silent while the GPUs idle or spin), crashloop, job-failed, server-not-ready. Telemetry is a
real `TelemetryStore` fed frames as a source would; the cluster a session fed records."""

from __future__ import annotations

from typing import Any

from test_render_support import NOW, decode, node, pod, session
from test_triage_workloads import frame

from console.metrics.store import TelemetryStore
from console.triage.engine import Thresholds, Triage
from console.triage.model import ObjectRef

MIN = 60.0

# ---------------------------------------------------------------- training jobs


def job_pod(name: str, job: str = "llm", **extra: Any) -> Any:
    meta = {
        "labels": {
            "training.kubeflow.org/job-name": job,
            "training.kubeflow.org/replica-type": "master",
        },
        "ownerReferences": [{"kind": "PyTorchJob", "name": job, "uid": "j", "controller": True}],
        **extra.pop("metadata", {}),
    }
    return pod(name, metadata=meta, **extra)


def progress(last: float, step: int = 1200) -> Any:
    from console.tracking.client import MetricPoint, RunFacts
    from console.tracking.progress import FOUND, JobProgress

    point = MetricPoint(0.5, step, last)
    run = RunFacts("r1", "run", "1", "RUNNING", False, last - 3600, None, metrics={"loss": point})
    return JobProgress("r1", "tag", FOUND, run, point, 10.0, last)


def jobs_triage(**limits: float) -> Triage:
    from console.triage import rules_jobs

    return Triage(Thresholds(**limits), rules=rules_jobs.RULES)


def test_stalled_job_needs_mlflow_silence_and_idle_or_pegged_gpus():
    s = session(
        ("nodes", node("gpu-0")),
        ("pytorchjobs", decode("pytorchjobs", _running_job())),
        ("pods", job_pod("llm-master-0", gpus=8)),
    )
    store = TelemetryStore()
    held = (("ml", "llm-master-0"),)
    stalled = {("PyTorchJob", "ml", "llm"): progress(NOW - 20 * MIN)}
    for util in (0.0, 100.0, 60.0):
        store.apply(frame(*(("gpu-0", i, util, held) for i in range(8))))
        report = jobs_triage(stall_minutes=5).evaluate(
            s, store=store, telemetry="dcgm", progress=stalled, now=NOW
        )
        found = [f for f in report.findings if f.rule == "stalled-job"]
        if util == 60.0:
            assert found == []  # the GPUs work: an evaluation or a checkpoint, not a hang
            continue
        [finding] = found
        assert finding.severity == "warning" and finding.action_key == "l"
        assert finding.object == ObjectRef("pytorchjobs", "ml", "llm", "jobs")
        assert finding.data["last_step"] == 1200 and finding.data["minutes_since_step"] == 20.0
        assert finding.data["util"] == util and finding.gpus == 8
    fresh = {("PyTorchJob", "ml", "llm"): progress(NOW - 60)}
    report = jobs_triage(stall_minutes=5).evaluate(
        s, store=store, telemetry="dcgm", progress=fresh, now=NOW
    )
    assert [f for f in report.findings if f.rule == "stalled-job"] == []
    no_mlflow = jobs_triage().evaluate(s, store=store, telemetry="dcgm", progress=None, now=NOW)
    assert any("stalled-job" in n for n in no_mlflow.notes)


def _running_job(**changes: Any) -> dict[str, Any]:
    from test_cluster_records import pytorchjob_json

    data = pytorchjob_json("llm", workers=0)
    data["spec"]["pytorchReplicaSpecs"].pop("Worker")
    data["status"].update(changes)
    return data


def crashing_pod(name: str, restarts: int, waiting: str = "CrashLoopBackOff") -> Any:
    status = {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": "pytorch",
                "ready": False,
                "restartCount": restarts,
                "state": {"waiting": {"reason": waiting}} if waiting else {"running": {}},
                "lastState": {
                    "terminated": {
                        "reason": "OOMKilled",
                        "exitCode": 137,
                        "finishedAt": "2024-05-02T23:50:00Z",
                    }
                },
            }
        ],
    }
    return job_pod(name, gpus=8, status=status)


def test_crashloop_reports_restarts_and_last_termination():
    s = session(
        ("nodes", node("gpu-0")),
        ("pytorchjobs", decode("pytorchjobs", _running_job())),
        ("pods", crashing_pod("llm-master-0", 5)),
    )
    [finding] = jobs_triage(restarts=3).evaluate(s, now=NOW).findings
    assert finding.rule == "crashloop" and finding.severity == "warning"
    assert finding.data["restarts"] == 5 and finding.data["last_termination"] == "OOMKilled (137)"
    assert "OOMKilled (137)" in finding.title and finding.action_key == "l"
    restarting = session(
        ("nodes", node("gpu-0")),
        ("pytorchjobs", decode("pytorchjobs", _running_job())),
        ("pods", crashing_pod("llm-master-0", 2, waiting="")),
    )
    assert jobs_triage(restarts=3).evaluate(restarting, now=NOW).findings == ()  # 2 < 3, running


def test_failed_job_within_the_window():
    failed_at = "2024-05-02T20:00:00Z"  # 4 h before NOW
    conditions = [
        {"type": "Running", "status": "False"},
        {
            "type": "Failed",
            "status": "True",
            "reason": "PyTorchJobFailed",
            "message": "master-0 exited 1",
            "lastTransitionTime": failed_at,
        },
    ]
    from test_cluster_records import pytorchjob_json

    s = session(
        ("nodes", node("gpu-0")),
        ("pytorchjobs", decode("pytorchjobs", pytorchjob_json("llm", conditions=conditions))),
    )
    [finding] = jobs_triage(failed_hours=24).evaluate(s, now=NOW).findings
    assert finding.rule == "job-failed" and finding.data["reason"] == "PyTorchJobFailed"
    assert finding.data["message"] == "master-0 exited 1" and "4.0 h ago" in finding.title
    assert jobs_triage(failed_hours=3).evaluate(s, now=NOW).findings == ()


# ---------------------------------------------------------------- model servers


def servers_triage() -> Triage:
    from console.triage import rules_servers

    return Triage(Thresholds(pending_minutes=5), rules=rules_servers.RULES)


def test_server_with_no_ready_replica_is_critical_some_ready_a_warning():
    from test_render_support import deployment

    down = session(("nodes", node("gpu-0")), ("deployments", deployment("vllm", ready=0)))
    [finding] = servers_triage().evaluate(down, now=NOW).findings
    assert finding.rule == "server-not-ready" and finding.severity == "critical"
    assert finding.object == ObjectRef("deployments", "serve", "vllm", "servers")
    assert finding.gpus == 4 and finding.data["ready"] == 0 and finding.data["desired"] == 2
    half = session(("nodes", node("gpu-0")), ("deployments", deployment("vllm", ready=1)))
    [finding] = servers_triage().evaluate(half, now=NOW).findings
    assert finding.severity == "warning" and finding.gpus == 2
    fine = session(("nodes", node("gpu-0")), ("deployments", deployment("vllm", ready=2)))
    assert servers_triage().evaluate(fine, now=NOW).findings == ()
