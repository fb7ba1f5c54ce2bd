"""The merged log view of a training job / model server (Pilot, against the simulator): `l`
on a job, a scale-up through the real API adding a pod mid-stream, the pod subset; and SVG
snapshots of the pod and merged views on a frozen cluster at 80×24 and 160×48."""

from __future__ import annotations

import pytest

from console.cluster.connection import connect
from console.screens.logs import LogScreen
from console.sim.cluster import SimCluster
from tests.test_app_support import (
    FROZEN_START,
    command,
    make_app,
    populated,
    view,
    wait_until,
)


def _live(screen: LogScreen, pods: int) -> bool:
    sources = screen.buffer.sources
    return len(sources) >= pods and all(s.lines > 0 for s in sources[:pods])


@pytest.mark.asyncio
async def test_job_logs_merge_and_a_scaled_up_pod_joins(fresh_sim) -> None:
    app = make_app(fresh_sim)
    async with app.run_test(size=(120, 40)) as pilot:
        await populated(pilot, app)
        await command(pilot, "jobs")
        await populated(pilot, app, "jobs")
        rows = view(app).table.rows
        view(app).table.move_cursor(
            next(i for i, r in enumerate(rows) if r.record.name == "llama-ft")
        )
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, LogScreen))
        screen = app.screen
        assert screen.request.merged and "llama-ft" in screen.request.title
        await wait_until(pilot, lambda: _live(screen, 2), 20)
        assert {s.label for s in screen.buffer.sources} == {"m0", "w0"}
        assert screen.log_view.show_prefix
        # scale the job up through the API: the new worker joins the running view
        conn = connect(str(fresh_sim.kubeconfig_path), "kmc-sim")
        conn.request(
            "PATCH",
            "/apis/kubeflow.org/v1/namespaces/ml/pytorchjobs/llama-ft",
            body={"spec": {"pytorchReplicaSpecs": {"Worker": {"replicas": 2}}}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        await wait_until(pilot, lambda: _live(screen, 3), 30)
        joined = screen.buffer.sources[2]
        assert joined.name == "llama-ft-worker-1" and joined.label == "w1"
        assert any(line.source == 2 for line in screen.log_view.rows)
        stamps = [line.ts for line in screen.buffer.lines]
        assert stamps == sorted(stamps)  # interleaved by time across pods
        assert "w1" in str(screen.query_one("#pods").render())
        # the pod subset: hide the master
        await pilot.press("P")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "PodSubsetScreen")
        pods = app.screen.query_one("SelectionList")
        master = next(i for i, s in enumerate(screen.buffer.sources) if s.label == "m0")
        pods.deselect(master)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen)
        assert screen.buffer.hidden_sources == {master}
        assert screen.log_view.rows and all(r.source != master for r in screen.log_view.rows)


@pytest.mark.asyncio
async def test_server_logs_and_errors_of_a_bad_name(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=(100, 30)) as pilot:
        await populated(pilot, app)
        await command(pilot, "logs nosuch-thing")
        assert not isinstance(app.screen, LogScreen)  # one line said why; nothing opened
        await command(pilot, "logs server/llama3-8b")
        await wait_until(pilot, lambda: isinstance(app.screen, LogScreen))
        screen = app.screen
        assert screen.request.merged and "InferenceService ml/llama3-8b" in screen.request.title
        await wait_until(pilot, lambda: _live(screen, 1), 20)
        assert screen.buffer.sources[0].name.startswith("llama3-8b-predictor-")
        await pilot.press("escape")
        # nodes have no logs: the key is not offered there
        await command(pilot, "nodes")
        await populated(pilot, app, "nodes")
        await pilot.press("l")
        assert not isinstance(app.screen, LogScreen)


# ------------------------------------------------------------------ snapshots


@pytest.fixture(scope="module")
def frozen_logs_sim():
    sim = SimCluster(preset="tiny", seed=3, speed=1e-9, start_time=FROZEN_START).start()
    sim.advance(300)
    yield sim
    sim.stop()


def _open(spec: str, pods: int):
    async def run_before(pilot) -> None:
        app = pilot.app
        await populated(pilot, app)
        await command(pilot, f"logs {spec}")
        await wait_until(pilot, lambda: isinstance(app.screen, LogScreen))
        await wait_until(pilot, lambda: _live(app.screen, pods), 20)
        await wait_until(
            pilot, lambda: all(s.state == "live" for s in app.screen.buffer.sources), 20
        )
        await pilot.pause(0.5)  # the last batch drawn

    return run_before


SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_pod_logs(snap_compare, frozen_logs_sim, size) -> None:
    app = make_app(frozen_logs_sim, pinned=True, telemetry_source="none")
    assert snap_compare(app, terminal_size=size, run_before=_open("ml/llama-ft-worker-0", 1))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_job_logs(snap_compare, frozen_logs_sim, size) -> None:
    app = make_app(frozen_logs_sim, pinned=True, telemetry_source="none")
    assert snap_compare(app, terminal_size=size, run_before=_open("job/ml/llama-ft", 2))
