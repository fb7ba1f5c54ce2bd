"""The console with MLflow (a real SQLite store the tests write through the official client)
on a frozen tiny cluster: the jobs view's LOSS, STEP, STEPS/MIN and LAST columns, live
progress, the stalled job flagged, the run screen (`r`) with its plot, MLflow down or slow
(the console stays responsive, one-line errors, credentials never shown), and snapshots."""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from console.screens.run import RunScreen
from console.sim.cluster import SimCluster
from tests.test_app_support import (
    FROZEN_START,
    PINNED_NOW,
    column,
    command,
    make_app,
    populated,
    screen_text,
    view,
    wait_until,
)
from tests.test_tracking_support import (
    SilentServer,
    client,
    experiment,
    fix_run_id,
    log,
    make_run,
)
from widgets.line_plot import LinePlot

RUN_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
LLAMA = ("PyTorchJob", "ml", "llama-ft")


@pytest.fixture(scope="module")
def frozen_sim():
    sim = SimCluster(preset="tiny", seed=3, speed=1e-9, start_time=FROZEN_START).start()
    sim.advance(300)
    yield sim
    sim.stop()


def _store(directory: Path, last_logged: float) -> str:
    """llama-ft's run (tag rule, fixed id, loss every 10 steps up to `last_logged`) and
    bert-crashloop's run (run-name rule, its last loss NaN)."""
    directory.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{directory}/mlflow.db"
    mlflow = client(uri)
    exp = experiment(mlflow, "ml")
    start = last_logged - 3000
    run = make_run(mlflow, exp, "llama-ft-sft", tags={"k8s.job": "ml/llama-ft"}, start=start)
    fix_run_id(directory / "mlflow.db", run, RUN_ID)
    curve = [(s, 2.0 + 8.0 * math.exp(-s / 800), start + s) for s in range(10, 3001, 10)]
    log(mlflow, RUN_ID, curve)
    from mlflow.entities import Param

    mlflow.log_batch(RUN_ID, params=[Param("model", "llama-3-8b"), Param("lr", "0.0003")])
    bert = make_run(mlflow, exp, "bert-crashloop", start=start)
    log(mlflow, bert, [(10, 9.5, start + 10), (20, math.nan, start + 20)])
    return uri


@pytest.fixture
def store(tmp_path) -> str:
    return _store(tmp_path / "live", PINNED_NOW - 20)


async def _jobs_with_progress(pilot, app) -> None:
    await populated(pilot, app, "nodes")
    await command(pilot, "jobs")
    await populated(pilot, app, "jobs")
    await wait_until(pilot, lambda: any(column(app, "loss")), 30)


async def test_jobs_columns_show_progress(frozen_sim, store) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none", mlflow_tracking_uri=store)
    async with app.run_test(size=(200, 40)) as pilot:
        await _jobs_with_progress(pilot, app)
        names = column(app, "name")
        llama = names.index("llama-ft")
        bert = names.index("bert-crashloop")
        assert column(app, "loss")[llama] == "2.188"
        assert column(app, "step")[llama] == "3000"
        assert column(app, "rate")[llama] == "60"  # 3000 steps in 3000 s
        assert column(app, "last")[llama] == "20s"
        assert column(app, "state")[llama] == "Running"
        assert column(app, "loss")[bert] == "NaN"


async def test_live_progress_and_stall(frozen_sim, tmp_path) -> None:
    uri = _store(tmp_path / "stall", PINNED_NOW - 400)  # over the 5 min stall time
    app = make_app(frozen_sim, pinned=True, telemetry_source="none", mlflow_tracking_uri=uri)
    async with app.run_test(size=(200, 40)) as pilot:
        await _jobs_with_progress(pilot, app)
        row = column(app, "name").index("llama-ft")
        await wait_until(pilot, lambda: column(app, "state")[row] == "Stalled")
        assert column(app, "last")[row] == "stalled"
        assert column(app, "rate")[row] == "0.0"
        # the job logs again: the next refresh shows the new step, no longer stalled
        log(client(uri), RUN_ID, [(3100, 2.1, PINNED_NOW - 5)])
        app.tracking.period = 0.2
        app.tracking._stop.set()  # restart the loop at the shorter period
        app.tracking.attach(app.tracking._jobs, app._cluster_changed)
        await wait_until(pilot, lambda: column(app, "step")[row] == "3100", 30)
        assert column(app, "state")[row] == "Running"
        assert column(app, "last")[row] == "5s"


async def test_run_screen_with_plot(frozen_sim, store) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none", mlflow_tracking_uri=store)
    async with app.run_test(size=(120, 40)) as pilot:
        await _jobs_with_progress(pilot, app)
        table = view(app).table
        table.move_cursor(column(app, "name").index("llama-ft"))
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
        plot = app.screen.query_one(LinePlot)
        await wait_until(pilot, lambda: len(plot.points) > 100, 30)
        assert plot.points[0] == (10.0, pytest.approx(2.0 + 8.0 * math.exp(-10 / 800)))
        assert plot.points[-1][0] == 3000.0
        text = screen_text(app).replace("\xa0", " ")
        for expected in (RUN_ID, "run tag", "RUNNING", "llama-3-8b", "loss over steps"):
            assert expected in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, RunScreen))


async def test_run_key_without_mlflow_says_so(frozen_sim) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    async with app.run_test(size=(200, 40)) as pilot:
        await populated(pilot, app, "nodes")
        await command(pilot, "jobs")
        await populated(pilot, app, "jobs")
        assert "loss" not in [c.key for c in view(app).table.visible_columns]
        await pilot.press("r")
        await pilot.pause(0.2)  # time for a screen that must not open (a lower bound)
        assert not isinstance(app.screen, RunScreen)


async def test_mlflow_down_with_credentials_never_shown(frozen_sim) -> None:
    from console.sim.cluster import free_port

    uri = f"http://kmc-user:s3cret-token@127.0.0.1:{free_port()}"
    app = make_app(frozen_sim, pinned=True, telemetry_source="none", mlflow_tracking_uri=uri)
    async with app.run_test(size=(200, 40)) as pilot:
        await populated(pilot, app, "nodes")
        await command(pilot, "jobs")
        await populated(pilot, app, "jobs")
        await wait_until(pilot, lambda: app.tracking.status().state == "down", 30)
        status = app.tracking.status()
        assert "\n" not in status.error and "s3cret" not in status.error
        text, hint = app.tracking.label()
        assert hint == "error" and "s3cret" not in text and "***" in text
        await wait_until(pilot, lambda: set(column(app, "last")) == {"down"})  # columns say so
        table = view(app).table
        table.move_cursor(column(app, "name").index("llama-ft"))
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
        assert "s3cret" not in screen_text(app)
        assert "cannot connect" in screen_text(app).replace("\xa0", " ")


async def test_slow_mlflow_keeps_the_console_responsive(frozen_sim) -> None:
    server = SilentServer()
    uri = f"http://127.0.0.1:{server.port}"
    try:
        app = make_app(frozen_sim, pinned=True, telemetry_source="none", mlflow_tracking_uri=uri)
        app.tracking.client.timeout = 1
        async with app.run_test(size=(200, 40)) as pilot:
            await populated(pilot, app, "nodes")
            await command(pilot, "jobs")  # keys work while the link waits on the server
            await populated(pilot, app, "jobs")
            await command(pilot, "nodes")
            await populated(pilot, app, "nodes")
            await wait_until(pilot, lambda: app.tracking.status().state == "down", 60)
            assert app.tracking.status().error == "timed out"
            started = time.monotonic()
            app.tracking.detach()
            assert time.monotonic() - started < 0.5  # stop() never waits for the server
    finally:
        server.close()


# ---------------------------------------------------------------- snapshots


@pytest.fixture(scope="module")
def fixed_store():
    """The store at a fixed path: the run screen shows its URI. One per module: MLflow
    keeps a store's engine per URI for the process."""
    directory = Path(tempfile.gettempdir()) / "kmc-mlflow-snapshots"
    shutil.rmtree(directory, ignore_errors=True)
    uri = _store(directory, PINNED_NOW - 20)
    yield uri
    shutil.rmtree(directory, ignore_errors=True)


def _prepare(run_screen: bool):
    async def run_before(pilot) -> None:
        app = pilot.app
        await _jobs_with_progress(pilot, app)
        if run_screen:
            view(app).table.move_cursor(column(app, "name").index("llama-ft"))
            await pilot.press("r")
            await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
            plot = app.screen.query_one(LinePlot)
            await wait_until(pilot, lambda: len(plot.points) > 100, 30)
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (200, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_jobs_with_mlflow(snap_compare, frozen_sim, fixed_store, size) -> None:
    app = make_app(
        frozen_sim, pinned=True, telemetry_source="none", mlflow_tracking_uri=fixed_store
    )
    assert snap_compare(app, terminal_size=size, run_before=_prepare(False))


@pytest.mark.parametrize("size", [(80, 24), (100, 30)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_run_screen(snap_compare, frozen_sim, fixed_store, size) -> None:
    app = make_app(
        frozen_sim, pinned=True, telemetry_source="none", mlflow_tracking_uri=fixed_store
    )
    assert snap_compare(app, terminal_size=size, run_before=_prepare(True))


async def test_run_screen_scrolls_by_keyboard_at_80x24(frozen_sim, store) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none", mlflow_tracking_uri=store)
    async with app.run_test(size=(80, 24)) as pilot:
        await _jobs_with_progress(pilot, app)
        view(app).table.move_cursor(column(app, "name").index("llama-ft"))
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
        body = app.screen.query_one("#run-body")
        await wait_until(pilot, lambda: body.max_scroll_y > 0)
        await pilot.press("end")  # the params below the plot, without a mouse
        await wait_until(pilot, lambda: body.scroll_y == body.max_scroll_y)
