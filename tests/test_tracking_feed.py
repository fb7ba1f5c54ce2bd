"""End to end on the demo cluster: its training jobs log real runs into a real SQLite MLflow
store as they progress (`console.sim.mlflow_feed`), the console's cluster session reads the
jobs over the Kubernetes API, and the tracking link finds every run by each linking rule,
with live progress — and flags the job that stopped logging."""

from __future__ import annotations

import time

import pytest

from console.cluster.connection import connect
from console.cluster.session import ClusterSession
from console.sim.cluster import SimCluster
from console.tracking.link import TrackingLink, job_refs
from tests.test_tracking_support import Settings, client, sqlite_uri

pytestmark = pytest.mark.slow


def wait_for(condition, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not met within {timeout}s")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    uri = sqlite_uri(tmp_path_factory.mktemp("demo-mlflow"))
    sim = SimCluster(preset="demo", seed=5, mlflow_uri=uri).start()
    yield sim, uri
    sim.stop()


def test_demo_jobs_log_runs_and_link_by_every_rule(demo) -> None:
    sim, uri = demo
    assert sim.feed is not None and not sim.feed.error
    mlflow = client(uri)

    def runs():
        ids = [e.experiment_id for e in mlflow.search_experiments()]
        found = mlflow.search_runs(ids) if ids else []
        complete = [r for r in found if "loss" in r.data.metrics and r.data.params]
        return complete if len(complete) >= 6 else None

    found = wait_for(runs, what="the demo's runs")
    assert all({"model", "total_steps", "world_size"} <= set(r.data.params) for r in found)

    connection = connect(str(sim.kubeconfig_path), "kmc-sim", probe=True)
    session = ClusterSession(connection).start()
    try:
        wait_for(session.synced, what="the session's sync")
        link = TrackingLink(Settings(uri, refresh_seconds=2.0), period=1.0)
        link._jobs = lambda: job_refs(session)

        def linked():
            link.refresh()
            rules = {p.rule for p in link.progress().values()}
            return rules if {"annotation", "env", "tag", "name"} <= rules else None

        wait_for(linked, 90, "a link by every rule")
        progress = link.progress()
        llama = progress[("PyTorchJob", "ml-research", "llama3-8b-sft")]
        assert llama.rule == "annotation" and llama.metric.step > 0 and llama.steps_per_min > 0
        assert progress[("PyTorchJob", "ml-research", "bert-large-pretrain")].rule == "env"
        assert progress[("TFJob", "ml-platform", "dlrm-recsys")].rule == "name"
        assert progress[("PyTorchJob", "ml-research", "mistral-7b-dpo")].rule == "tag"
        done = progress[("PyTorchJob", "ml-platform", "resnet50-imagenet")]
        assert done.run.status == "FINISHED"
        failed = progress[("PyTorchJob", "ml-research", "vit-huge-finetune")]
        assert failed.run.status == "FAILED"

        # live: the step moves on between refreshes
        before = llama.metric.step
        wait_for(
            lambda: link.refresh() and link.progress()[llama_key()].metric.step > before,
            30,
            "a new step",
        )

        # the hung job stopped logging 4 minutes into its run, its pods still Running
        hung = link.progress()[("PyTorchJob", "ml-research", "llava-13b-eval")]
        state = {j.key: j.state for j in job_refs(session)}[hung_key()]
        assert state == "Running"
        assert hung.stalled(state, time.time(), link.stall_seconds)
        assert not llama.stalled("Running", time.time(), link.stall_seconds)
    finally:
        session.stop()


def llama_key() -> tuple[str, str, str]:
    return ("PyTorchJob", "ml-research", "llama3-8b-sft")


def hung_key() -> tuple[str, str, str]:
    return ("PyTorchJob", "ml-research", "llava-13b-eval")
