"""The tracking layer against a real `mlflow server` on loopback (REST, the official client):
each linking rule, live progress, stall detection, the bounded history through the server's
sampled-history endpoint, a server that goes down and one that never answers, and
credentials in the URI that never reach an error."""

from __future__ import annotations

import math
import time

import pytest

from console.tracking.client import TrackingClient
from console.tracking.link import DOWN, LIVE, TrackingLink
from tests.test_tracking_support import (
    Settings,
    SilentServer,
    client,
    experiment,
    job,
    log,
    make_run,
    mlflow_server,  # noqa: F401  (the fixture)
    start_mlflow_server,
    stop_server,
)

pytestmark = pytest.mark.slow


def link_for(uri: str, jobs, **settings) -> TrackingLink:
    link = TrackingLink(Settings(uri, **settings))
    link._jobs = lambda: jobs  # fixed jobs instead of a cluster session's
    return link


def test_every_rule_and_live_progress(mlflow_server) -> None:  # noqa: F811
    mlflow = client(mlflow_server)
    exp = experiment(mlflow, "rules")
    now = time.time()
    by_annotation = make_run(mlflow, exp, "a", start=now - 60, points=[(10, 3.0, now - 30)])
    by_env = make_run(mlflow, exp, "b", start=now - 60)
    make_run(mlflow, exp, "c", tags={"k8s.job": "rules/tagged"}, start=now - 60)
    make_run(mlflow, exp, "named", start=now - 60)
    jobs = [
        job("annotated", "rules", annotations={"mlflow.org/run-id": by_annotation}),
        job("env", "rules", env={"MLFLOW_RUN_ID": by_env}),
        job("tagged", "rules"),
        job("named", "rules"),
    ]
    link = link_for(mlflow_server, jobs)
    assert link.refresh().state == LIVE
    rules = {key[2]: p.rule for key, p in link.progress().items()}
    assert rules == {"annotated": "annotation", "env": "env", "tagged": "tag", "named": "name"}
    key = ("PyTorchJob", "rules", "annotated")
    assert link.progress()[key].metric.step == 10
    log(mlflow, by_annotation, [(70, 2.5, now)])
    assert link.refresh().requests == 1  # one search_runs for the four runs
    progress = link.progress()[key]
    assert progress.metric.step == 70 and progress.steps_per_min == pytest.approx(120.0)
    assert not progress.stalled("Running", now + 10, link.stall_seconds)
    assert progress.stalled("Running", now + 301, link.stall_seconds)


def test_history_is_sampled_by_the_server(mlflow_server) -> None:  # noqa: F811
    mlflow = client(mlflow_server)
    run = make_run(mlflow, experiment(mlflow, "history"), "long")
    log(mlflow, run, [(s, 1.0 / (s + 1), 1e9 + s) for s in range(5000)] + [(5000, math.nan, 2e9)])
    tracking = TrackingClient(mlflow_server)
    history = tracking.history(run, "loss", 5000)
    steps = [p.step for p in history.points]
    assert 100 < len(steps) < 400  # not 5001 points
    assert steps[0] == 0 and steps[-1] == 5000 and math.isnan(history.points[-1].value)
    assert tracking.requests <= 3


def test_server_down_then_back(tmp_path) -> None:
    proc, url = start_mlflow_server(tmp_path)
    try:
        mlflow = client(url)
        run = make_run(mlflow, experiment(mlflow, "ml"), "trainer", points=[(1, 1.0, time.time())])
        link = link_for(url, [job("trainer", annotations={"mlflow.org/run-id": run})])
        assert link.refresh().state == LIVE
    finally:
        stop_server(proc)
    started = time.monotonic()
    status = link.refresh()
    assert status.state == DOWN and status.error == "cannot connect"
    assert time.monotonic() - started < 10  # no retries with backoff
    assert link.down == "cannot connect"
    assert link.progress()  # the last progress stays readable, marked down


def test_slow_server_times_out() -> None:
    server = SilentServer()
    try:
        link = link_for(f"http://127.0.0.1:{server.port}", [job("trainer")])
        link.client.timeout = 1
        started = time.monotonic()
        status = link.refresh()
        assert status.state == DOWN and status.error == "timed out"
        assert time.monotonic() - started < 15
    finally:
        server.close()


def test_credentials_never_in_errors() -> None:
    server = SilentServer()
    port = server.port
    server.close()
    uri = f"http://alice:pa55w0rd@127.0.0.1:{port}"
    link = link_for(uri, [job("trainer")])
    status = link.refresh()
    assert status.state == DOWN
    shown = " ".join([status.error, status.uri, *link.label()[:1]])
    assert "pa55w0rd" not in shown and "***" in status.uri
