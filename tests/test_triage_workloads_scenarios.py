"""The workload triage rules on the simulator's incident scenarios (`SimCluster(scenario=)`),
read as the console reads a cluster (`console.headless.load`: the Kubernetes API, the
direct DCGM scrape, the scenario's SQLite MLflow store): each incident's finding with its
object, evidence and figures."""

from __future__ import annotations

from typing import Any

import pytest

from console.headless.load import load
from console.sim.cluster import SimCluster
from console.triage.engine import Thresholds, Triage
from console.triage.model import ObjectRef
from tests.test_tracking_support import sqlite_uri

pytestmark = pytest.mark.slow


def evaluate(scenario: str, tmp_path: Any, **limits: float) -> Any:
    uri = sqlite_uri(tmp_path)
    sim = SimCluster(scenario=scenario, seed=1, mlflow_uri=uri).start()
    layer = {
        "kubeconfig": str(sim.kubeconfig_path),
        "all_namespaces": True,
        "mlflow_tracking_uri": uri,
        "telemetry_source": "dcgm",
    }
    loaded = load(layer, "triage", tracking=True)
    try:
        return Triage(Thresholds(**limits)).evaluate(
            loaded.session,
            store=loaded.store,
            telemetry=loaded.telemetry_source,
            progress=loaded.progress(),
        )
    finally:
        loaded.close()
        sim.stop()


def of(report: Any, rule: str) -> dict[ObjectRef, Any]:
    return {f.object: f for f in report.findings if f.rule == rule}


def test_idle_allocated(tmp_path) -> None:
    # a direct scrape has no history: with triage_idle_minutes 0 the allocations idle at the
    # read are warnings; by default the console has watched too little to tell (info)
    report = evaluate("idle-allocated", tmp_path, idle_minutes=0)
    idle = of(report, "idle-allocated")
    assert set(idle) == {
        ObjectRef("deployments", "ml-platform", "sd-webui-scratch", "servers"),
        ObjectRef("statefulsets", "notebooks", "jupyter-alice", "servers"),
        ObjectRef("statefulsets", "notebooks", "jupyter-bob", "servers"),
    }
    assert sum(f.gpus for f in idle.values()) == 4
    assert all(f.severity == "warning" for f in idle.values())
    webui = idle[ObjectRef("deployments", "ml-platform", "sd-webui-scratch", "servers")]
    assert webui.action_key == "s" and webui.gpus == 2
    bob = idle[ObjectRef("statefulsets", "notebooks", "jupyter-bob", "servers")]
    assert "kubeflow-resource-stopped" in bob.action  # a Kubeflow notebook: stopped, not scaled
    assert idle[
        ObjectRef("statefulsets", "notebooks", "jupyter-alice", "servers")
    ].title.startswith("notebook holds 1 GPU idle")
    assert report.findings[0].rule == "idle-allocated"
    assert set(report.idle_gpu_hours) == {"ml-platform", "notebooks"}
    assert report.sources["idle_duration"].startswith("seen since ")


def test_idle_allocated_by_default_is_undated(tmp_path) -> None:
    report = evaluate("idle-allocated", tmp_path)
    idle = of(report, "idle-allocated")
    assert len(idle) == 3 and report.findings[0].rule == "idle-allocated"
    assert all(f.severity == "info" and f.data["undated"] for f in idle.values())
    assert all("not known yet" in f.title for f in idle.values())


def test_nccl_hang(tmp_path) -> None:
    report = evaluate("nccl-hang", tmp_path)
    job = ObjectRef("pytorchjobs", "ml-research", "gpt-neox-20b-pretrain", "jobs")
    top = report.findings[0]
    assert (top.rule, top.object) == ("stalled-job", job)
    assert top.data["minutes_since_step"] >= 25 and top.data["run_id"]
    assert top.data["util"] is not None and (top.data["util"] < 5 or top.data["util"] >= 95)
    assert top.action_key == "l" and any(line.startswith("last step") for line in top.evidence)
    assert job not in of(report, "idle-allocated")  # its idle GPUs are this finding's


def test_crashloop_and_failed_job(tmp_path) -> None:
    report = evaluate("crashloop", tmp_path)
    loop = of(report, "crashloop")[
        ObjectRef("pytorchjobs", "ml-platform", "bert-large-finetune", "jobs")
    ]
    assert loop.data["restarts"] >= 9 and loop.data["crash_loop_back_off"] >= 1
    assert loop.data["last_termination"] and "last termination:" in loop.evidence[1]
    assert report.findings[0] is loop
    [failed] = of(report, "job-failed").values()
    assert failed.object.name == "vit-l16-eval"
    assert 5 <= (report.generated - failed.since) / 60 <= 60  # "Failed 10 min ago"
    assert "ago" in failed.title and failed.data["reason"]


def test_pending_gpus(tmp_path) -> None:
    report = evaluate("pending-gpus", tmp_path)
    pending = {f.data["reason"]: f for f in of(report, "pending-gpus").values()}
    assert set(pending) >= {"insufficient", "taint", "selector", "queue"}
    short = pending["insufficient"]
    assert short.data["detail"] == "NVIDIA-H100-80GB-HBM3" and "H100" in short.title
    assert short.data["waiting_minutes"] > 5 and short.gpus >= 8
    queue = pending["queue"]
    assert queue.data["detail"] == "research-h100" and queue.data["jobs"] and queue.data["pods"]
    assert "{" in pending["taint"].data["detail"]
    assert report.findings[0].rule == "pending-gpus"


def test_server_down(tmp_path) -> None:
    report = evaluate("server-down", tmp_path)
    top = report.findings[0]
    assert (top.rule, top.severity) == ("server-not-ready", "critical")
    assert top.object == ObjectRef("inferenceservices", "serving", "sdxl-turbo", "servers")
    assert top.data["ready"] == 0 and top.action_key == "l"
    assert any("CrashLoopBackOff" in line for line in top.evidence)
    pinned = of(report, "server-max-replicas")
    assert ObjectRef("inferenceservices", "serving", "qwen2-7b-chat", "servers") in pinned
