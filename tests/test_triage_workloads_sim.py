"""The workload triage rules end to end: the simulated cluster over its Kubernetes API, its
DCGM exporters (directly, or scraped by a real Prometheus), its training runs in a real
SQLite MLflow store — read by the console's own loading path (`console.headless.load`).

- the demo preset: its hung job (MLflow stalled, GPUs at 0 %), crash-looping and failed
  jobs, pending pods by reason, the stuck KServe rollout and the server with no ready
  replica, the idle notebook — and the XID GPU still ranks first, exit code 2;
- Prometheus: an idle allocation's duration comes from Prometheus's history.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from console.cluster.connection import connect
from console.config import Settings
from console.headless.load import load
from console.metrics import TelemetryPoller
from console.sim.cluster import SimCluster
from console.triage import rules_idle
from console.triage.engine import Thresholds, Triage
from console.triage.model import ObjectRef
from tests.conftest import require_binary, wait_for
from tests.kube import IDLE_JOB
from tests.prometheus import PrometheusServer
from tests.test_tracking_support import sqlite_uri

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[tuple[SimCluster, str]]:
    uri = sqlite_uri(tmp_path_factory.mktemp("triage-mlflow"))
    sim = SimCluster(preset="demo", seed=5, mlflow_uri=uri).start()
    yield sim, uri
    sim.stop()


def loaded_demo(demo: tuple[SimCluster, str]) -> Any:
    sim, uri = demo
    layer = {
        "kubeconfig": str(sim.kubeconfig_path),
        "all_namespaces": True,
        "mlflow_tracking_uri": uri,
        "telemetry_source": "dcgm",
    }
    return load(layer, "triage", tracking=True)


def by_rule(report: Any, rule: str) -> dict[ObjectRef, Any]:
    return {f.object: f for f in report.findings if f.rule == rule}


HUNG = ("PyTorchJob", "ml-research", "llava-13b-eval")


def test_demo_workload_findings_and_the_xid_first(demo) -> None:
    loads: list[Any] = []

    def hung_run_seen() -> bool:  # the simulator's MLflow feed writes its runs once started
        if loads:
            loads.pop().close()
        loads.append(loaded_demo(demo))
        return HUNG in (loads[-1].progress() or {})

    wait_for(hung_run_seen, 90, "the hung job's MLflow run")
    loaded = loads.pop()
    try:
        assert loaded.telemetry_source == "dcgm"
        # idle_minutes 0: an allocation idle at the refresh counts (the console has seen it
        # for no time yet: a one-shot read without Prometheus cannot date it further)
        triage = Triage(Thresholds(idle_minutes=0))
        report = triage.evaluate(
            loaded.session,
            store=loaded.store,
            telemetry=loaded.telemetry_source,
            progress=loaded.progress(),
        )
    finally:
        loaded.close()
    assert report.findings[0].rule == "xid" and report.exit_code == 2

    [hung] = by_rule(report, "stalled-job").values()
    assert hung.object == ObjectRef("pytorchjobs", "ml-research", "llava-13b-eval", "jobs")
    assert hung.severity == "warning" and hung.data["util"] == 0.0 and hung.gpus == 4
    assert hung.data["minutes_since_step"] > 5 and hung.action_key == "l"

    crash = by_rule(report, "crashloop")
    t5 = crash[ObjectRef("pytorchjobs", "ml-platform", "t5-xl-distill", "jobs")]
    assert t5.data["restarts"] >= 3 and t5.data["crash_loop_back_off"] == 1
    assert t5.data["last_termination"].startswith("Error")

    failed = by_rule(report, "job-failed")
    vit = failed[ObjectRef("pytorchjobs", "ml-research", "vit-huge-finetune", "jobs")]
    assert vit.data["gpus_requested"] == 8 and vit.data["reason"] == "PyTorchJobFailed"

    pending = {
        (f.data["reason"], f.data["detail"]): f for f in by_rule(report, "pending-gpus").values()
    }
    h100 = pending[("insufficient", "NVIDIA-H100-80GB-HBM3")]
    assert h100.object == ObjectRef("pytorchjobs", "ml-research", "neox-20b-pretrain", "jobs")
    assert h100.gpus == 24 and h100.data["waiting_minutes"] > 5
    assert ("queue", "research-h100") in pending

    servers = by_rule(report, "server-not-ready")
    down = servers[ObjectRef("statefulsets", "serving", "triton-ensemble", "servers")]
    assert down.severity == "critical" and down.data["ready"] == 0
    rollout = servers[ObjectRef("inferenceservices", "serving", "phi3-mini", "servers")]
    assert rollout.severity == "warning" and "rollout stuck" in rollout.title

    idle = by_rule(report, "idle-allocated")
    notebook = idle[ObjectRef("deployments", "ml-research", "jupyter-alice", "servers")]
    assert notebook.title.startswith("notebook holds 1 GPU idle") and notebook.action_key == "s"
    assert report.sources["idle_duration"].startswith("seen since ")
    # the hung job's idle GPUs are the stalled-job finding's, the crash-looping job's the
    # crashloop finding's: not idle allocations as well
    assert not {hung.object, t5.object} & set(idle)
    assert set(report.idle_gpu_hours) >= {"ml-research"}


@pytest.fixture(scope="module")
def idle_sim() -> Iterator[SimCluster]:
    sim = SimCluster(preset="tiny", seed=13).start()
    admin = connect(str(sim.kubeconfig_path), "kmc-sim")
    admin.request("POST", "/apis/batch/v1/namespaces/ml/jobs", body=IDLE_JOB)

    def running() -> bool:  # its GPU is its own from then on: Prometheus's history starts idle
        body = admin.request(
            "GET", "/api/v1/namespaces/ml/pods", {"labelSelector": "job-name=idle-notebook"}
        )
        return any(p["status"].get("phase") == "Running" for p in json.loads(body)["items"])

    wait_for(running, 60, "the idle notebook running")
    yield sim
    sim.stop()


def test_idle_duration_from_prometheus_history(idle_sim, tmp_path) -> None:
    binary = require_binary("prometheus")
    server = PrometheusServer(idle_sim.metrics_url, tmp_path, binary).start()
    layer = {"kubeconfig": str(idle_sim.kubeconfig_path), "all_namespaces": True}
    loaded = load(layer, "triage", telemetry=False)
    poller = TelemetryPoller(
        Settings(telemetry_source="prometheus", prometheus_url=server.url),
        loaded.session.connection,
        loaded.session.cache,
        interval=1,
    )
    try:
        server.wait_for_targets(expected=2)
        started = time.time()

        def idle_pod_scraped() -> bool:
            found = server.query(
                'count_over_time(DCGM_FI_DEV_GPU_UTIL{pod=~"idle-notebook.*"}[1m])'
            )
            return bool(found) and float(found[0]["value"][1]) >= 3

        wait_for(idle_pod_scraped, 60, "three scrapes of the idle notebook's GPU")
        reports = []

        def dated_by_prometheus() -> bool:
            # the history query's subquery steps are aligned (30 s here): the first step
            # after Prometheus's first scrape is when its history starts to answer
            poller.refresh_once()
            triage = Triage(Thresholds(idle_minutes=0), rules=rules_idle.RULES)
            reports.append(
                triage.evaluate(loaded.session, store=poller.store, telemetry="prometheus")
            )
            return reports[-1].sources.get("idle_duration") == "prometheus history" and any(
                f.data.get("duration_source") == "prometheus history" for f in reports[-1].findings
            )

        wait_for(dated_by_prometheus, 90, "an idle duration from Prometheus history")
        assert poller.store.keeps_history
        report = reports[-1]
    finally:
        poller.stop()
        loaded.close()
        server.stop()
    [finding] = [f for f in report.findings if f.object.name == "idle-notebook"]
    assert finding.object == ObjectRef("jobs", "ml", "idle-notebook", "jobs")
    assert finding.data["duration_source"] == "prometheus history"
    # never busy in the history Prometheus has: idle at least since its first sample there,
    # which is before the third scrape we waited for
    assert finding.data["at_least"] is True, (
        finding.data,
        finding.since,
        started,
        report.generated,
    )
    assert started - 120 < finding.since < report.generated
