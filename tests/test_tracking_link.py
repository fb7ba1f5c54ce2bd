"""The tracking layer against a real MLflow SQLite store (MLflow's own SQL store, written
through the official client): each linking rule and their order, live progress and steps
per minute, stall detection, unknown and deleted runs, NaN/Inf values, a history of a
million points read as a bounded window, and requests per refresh."""

from __future__ import annotations

import math
import sqlite3
import time

import pytest

from console.render.training import progress_cells
from console.tracking.client import HISTORY_POINTS, RECENT_POINTS, TrackingClient
from console.tracking.link import LIVE, TrackingLink
from console.tracking.linking import LinkRules
from console.tracking.progress import DELETED, FOUND, MISSING
from tests.test_tracking_support import (
    Settings,
    client,
    experiment,
    job,
    log,
    make_run,
    sqlite_uri,
)

KEY = ("PyTorchJob", "ml", "trainer")


@pytest.fixture
def store(tmp_path):
    uri = sqlite_uri(tmp_path)
    mlflow = client(uri)
    return uri, mlflow, experiment(mlflow, "ml")


def link_for(uri: str, jobs, **settings) -> TrackingLink:
    link = TrackingLink(Settings(uri, **settings))
    link._jobs = lambda: jobs  # the app attaches a session's jobs; here, fixed ones
    return link


def points(n: int, start: float, every: float = 2.0, first: int = 10) -> list:
    return [(first * (i + 1), 10.0 / (i + 1), start + every * (i + 1)) for i in range(n)]


def test_annotation_rule_links_and_reads_progress(store) -> None:
    uri, mlflow, exp = store
    now = time.time()
    run = make_run(mlflow, exp, "other-name", start=now - 100, points=points(5, now - 100))
    annotated = job("trainer", annotations={"mlflow.org/run-id": run})
    link = link_for(uri, [annotated])
    assert link.refresh().state == LIVE
    progress = link.progress()[KEY]
    assert (progress.run_id, progress.rule, progress.found) == (run, "annotation", FOUND)
    assert progress.metric.step == 50 and progress.metric.value == pytest.approx(2.0)
    assert progress.steps_per_min == pytest.approx(50 / 10 * 60)  # since the run started


def test_env_rule(store) -> None:
    uri, mlflow, exp = store
    run = make_run(mlflow, exp, "x", points=points(1, time.time() - 5))
    link = link_for(uri, [job("trainer", env={"MLFLOW_RUN_ID": run})])
    link.refresh()
    assert link.progress()[KEY].rule == "env"


def test_tag_rule_namespace_and_name(store) -> None:
    uri, mlflow, exp = store
    tagged = make_run(mlflow, exp, "r1", tags={"k8s.job": "ml/trainer"})
    make_run(mlflow, exp, "r2", tags={"k8s.job": "other-ns/trainer"})
    link = link_for(uri, [job("trainer")])
    link.refresh()
    progress = link.progress()[KEY]
    assert (progress.run_id, progress.rule) == (tagged, "tag")


def test_run_name_rule_newest_wins(store) -> None:
    uri, mlflow, exp = store
    now = time.time()
    make_run(mlflow, exp, "trainer", start=now - 600)
    newest = make_run(mlflow, exp, "trainer", start=now - 60)
    link = link_for(uri, [job("trainer")])
    link.refresh()
    assert (link.progress()[KEY].run_id, link.progress()[KEY].rule) == (newest, "name")


def test_first_match_wins_and_order_is_configurable(store) -> None:
    uri, mlflow, exp = store
    by_annotation = make_run(mlflow, exp, "a")
    by_tag = make_run(mlflow, exp, "b", tags={"k8s.job": "ml/trainer"})
    by_name = make_run(mlflow, exp, "trainer")
    both = job("trainer", annotations={"mlflow.org/run-id": by_annotation})
    link = link_for(uri, [both])
    link.refresh()
    assert link.progress()[KEY].run_id == by_annotation
    link = link_for(uri, [both], mlflow_link_rules="tag,annotation")
    link.refresh()
    assert link.progress()[KEY].run_id == by_tag
    link = link_for(uri, [both], mlflow_link_rules="name")
    link.refresh()
    assert (link.progress()[KEY].run_id, link.progress()[KEY].rule) == (by_name, "name")
    assert LinkRules.from_settings(Settings(uri, mlflow_link_rules="env")).order == ("env",)


def test_custom_keys(store) -> None:
    uri, mlflow, exp = store
    run = make_run(mlflow, exp, "a", tags={"team/job": "ml/trainer"})
    link = link_for(uri, [job("trainer")], mlflow_job_tag="team/job")
    link.refresh()
    assert link.progress()[KEY].run_id == run
    annotated = job("trainer", annotations={"example.com/run": run})
    link = link_for(uri, [annotated], mlflow_run_annotation="example.com/run")
    link.refresh()
    assert link.progress()[KEY].rule == "annotation"


def test_unlinked_job_has_no_progress(store) -> None:
    uri, _mlflow, _exp = store
    link = link_for(uri, [job("nobody")])
    link.refresh()
    assert link.progress() == {}


def test_live_progress_and_rate_from_observations(store) -> None:
    uri, mlflow, exp = store
    now = time.time()
    run = make_run(mlflow, exp, "trainer", start=now - 3600, points=[(100, 5.0, now - 60)])
    link = link_for(uri, [job("trainer")])
    link.refresh()
    first = link.progress()[KEY]
    assert first.metric.step == 100
    log(mlflow, run, [(160, 4.0, now - 30), (220, 3.5, now)])
    link.refresh()
    later = link.progress()[KEY]
    assert later.metric.step == 220 and later.metric.value == 3.5
    # (220 - 100) steps over the 60 s between the observations
    assert later.steps_per_min == pytest.approx(120.0)
    assert later.last_logged == pytest.approx(now, abs=0.01)


def test_stall_detection(store) -> None:
    uri, mlflow, exp = store
    now = time.time()
    make_run(mlflow, exp, "trainer", start=now - 3600, points=[(100, 5.0, now - 400)])
    link = link_for(uri, [job("trainer")])  # stall after 5 minutes
    link.refresh()
    progress = link.progress()[KEY]
    assert progress.stalled("Running", now, link.stall_seconds)
    assert not progress.stalled("Running", now - 200, link.stall_seconds)
    assert not progress.stalled("Succeeded", now, link.stall_seconds)  # pods not running
    cells, hints, stalled = progress_cells(progress, "Running", now, link.stall_seconds)
    assert stalled and cells[3] == "stalled" and hints[3] == "bad" and cells[2] == "0.0"
    link = link_for(uri, [job("trainer")], mlflow_stall_minutes=10.0)
    link.refresh()
    assert not link.progress()[KEY].stalled("Running", now, link.stall_seconds)


def test_running_run_that_never_logged_stalls(store) -> None:
    uri, mlflow, exp = store
    now = time.time()
    make_run(mlflow, exp, "trainer", start=now - 900)
    link = link_for(uri, [job("trainer")])
    link.refresh()
    progress = link.progress()[KEY]
    assert progress.metric is None
    assert progress.stalled("Running", now, link.stall_seconds)


def test_unknown_and_malformed_run_ids(store) -> None:
    uri, _mlflow, _exp = store
    unknown = job("trainer", annotations={"mlflow.org/run-id": "0" * 32})
    hostile = job("evil", annotations={"mlflow.org/run-id": "x') OR 1=1 --"})
    link = link_for(uri, [unknown, hostile])
    assert link.refresh().state == LIVE  # a bad id is never sent in a filter
    assert link.progress()[KEY].found == MISSING
    assert link.progress()[("PyTorchJob", "ml", "evil")].found == MISSING
    cells, _hints, _ = progress_cells(link.progress()[KEY], "Running", time.time(), 300)
    assert cells[3] == "no run"


def test_run_deleted_meanwhile(store) -> None:
    uri, mlflow, exp = store
    run = make_run(mlflow, exp, "trainer", points=points(2, time.time() - 10))
    link = link_for(uri, [job("trainer", annotations={"mlflow.org/run-id": run})])
    link.refresh()
    assert link.progress()[KEY].found == FOUND
    mlflow.delete_run(run)
    link.refresh()
    assert link.progress()[KEY].found == DELETED
    cells, _hints, stalled = progress_cells(link.progress()[KEY], "Running", time.time(), 300)
    assert cells[3] == "deleted" and not stalled


def test_nan_and_inf_values(store) -> None:
    uri, mlflow, exp = store
    now = time.time()
    run = make_run(mlflow, exp, "trainer", points=[(1, 2.0, now - 3), (2, math.nan, now - 2)])
    link = link_for(uri, [job("trainer")])
    link.refresh()
    cells, hints, _ = progress_cells(link.progress()[KEY], "Running", now, 300)
    assert (cells[0], hints[0], cells[1]) == ("NaN", "bad", "2")
    log(mlflow, run, [(3, math.inf, now - 1)])
    link.refresh()
    cells, _hints, _ = progress_cells(link.progress()[KEY], "Running", now, 300)
    assert cells[0] == "Inf"
    history = TrackingClient(uri).history(run, "loss", 3)
    assert [p.step for p in history.points] == [1, 2, 3]
    assert math.isnan(history.points[1].value) and math.isinf(history.points[2].value)


@pytest.mark.slow
def test_a_million_points_read_as_a_bounded_window(tmp_path) -> None:
    uri = sqlite_uri(tmp_path)
    mlflow = client(uri)
    run = make_run(mlflow, experiment(mlflow, "ml"), "big", points=[(0, 1.0, 1e9)])
    total = 1_000_000
    rows = ((run, "loss", 1.0 / (s + 1), 1_000_000_000 + s, s, 0) for s in range(1, total))
    with sqlite3.connect(tmp_path / "mlflow.db") as con:  # MLflow's own tables, bulk-filled
        con.executemany(
            "INSERT INTO metrics (run_uuid, key, value, timestamp, step, is_nan)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        con.execute(
            "UPDATE latest_metrics SET step=?, value=? WHERE run_uuid=?",
            (total - 1, 1.0 / total, run),
        )
    tracking = TrackingClient(uri)
    started = time.monotonic()
    history = tracking.history(run, "loss", total - 1)
    elapsed = time.monotonic() - started
    steps = [p.step for p in history.points]
    assert len(steps) <= HISTORY_POINTS + RECENT_POINTS
    assert steps[0] == 0 and steps[-1] == total - 1
    recent = [s for s in steps if s >= total - total // 20]
    assert len(recent) >= RECENT_POINTS - 2  # the recent window, denser than the history
    assert elapsed < 60  # bounded reads, not a million Metric objects (generous: shared CI)


def test_requests_per_refresh_stay_bounded(store) -> None:
    uri, mlflow, exp = store
    jobs = []
    for i in range(60):
        run = make_run(mlflow, exp, f"r{i}")
        jobs.append(job(f"j{i}", annotations={"mlflow.org/run-id": run}))
    jobs += [job(f"t{i}") for i in range(5)]
    for i in range(5):
        make_run(mlflow, exp, f"x{i}", tags={"k8s.job": f"ml/t{i}"})
    link = link_for(uri, jobs)
    first = link.refresh()
    assert len(link.progress()) == 65
    assert first.requests <= 4  # experiments, the recent runs, the runs by id (+ client)
    assert link.refresh().requests == 1  # one search_runs for all 65 runs


def test_hostile_strings_are_cleaned(store) -> None:
    uri, mlflow, exp = store
    hostile = "\x1b]52;c;ZXZpbA==\x07[bold red]x[/] \x1b[31mname\r\n2"
    run = make_run(mlflow, exp, "trainer", params={"note": hostile})
    mlflow.set_tag(run, "k8s.job", "ml/trainer")
    mlflow.set_tag(run, "mlflow.runName", hostile)
    link = link_for(uri, [job("trainer")])
    link.refresh()
    facts = link.progress()[KEY].run
    for text in (facts.run_name, facts.params["note"]):
        assert "\x1b" not in text and "\x07" not in text and "\n" not in text and "\r" not in text
