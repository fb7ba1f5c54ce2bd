"""SVG snapshots of the Triage screen on the frozen demo cluster (fixed seed and start
time, sim clock stopped, the app's clock pinned) with live DCGM telemetry and the real
rules: its XID GPU first (critical), its hot GPU, and what else the demo holds — at
160×48 with the evidence pane, and at 80×24 as over SSH; and a no-findings screen."""

from __future__ import annotations

import asyncio

import pytest

from console.screens.triage import TriageScreen
from console.sim.cluster import SimCluster
from tests.test_app_support import FROZEN_START, make_app, wait_until
from tests.test_app_telemetry import poller, telemetry_app

SIZES = [(160, 48), (80, 24)]


@pytest.fixture(scope="module")
def frozen_demo():
    sim = SimCluster(preset="demo", seed=3, speed=1e-9, start_time=FROZEN_START).start()
    sim.advance(300)  # controllers run to a steady state, then time stands still
    yield sim
    sim.stop()


def _settled(app) -> bool:
    states = app.session.cache.states().values()
    return all(s.state not in ("syncing", "stale") for s in states)


def _prepare(telemetry: bool = True):
    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: isinstance(app.screen, TriageScreen), 30)
        await wait_until(pilot, lambda: _settled(app), 30)
        if telemetry:
            await wait_until(pilot, lambda: app.telemetry.started and app.telemetry.has_data(), 30)
            p = poller(app)
            for _ in range(p.store.history):  # every history column holds the frozen numbers
                await asyncio.to_thread(p.refresh_once)
        screen = app.screen
        before = screen.serial
        app.pipeline.mark_dirty()  # rules over the settled caches and the full history
        await wait_until(pilot, lambda: screen.serial > before and screen.facts is not None)
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_triage_demo(snap_compare, frozen_demo, size: tuple[int, int]) -> None:
    app = telemetry_app(frozen_demo, pinned=True, landing="triage")
    assert snap_compare(app, terminal_size=size, run_before=_prepare())


def test_snapshot_triage_telemetry_off(snap_compare, frozen_demo) -> None:
    """Without telemetry the GPU rules cannot run: the note says so; what the cluster alone
    shows stays."""
    app = make_app(frozen_demo, pinned=True, landing="triage", telemetry_source="none")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_prepare(telemetry=False))


@pytest.fixture(scope="module")
def frozen_all(tmp_path_factory):
    store = f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"
    sim = SimCluster(scenario="all", seed=3, speed=1e-9, start_time=FROZEN_START, mlflow_uri=store)
    sim.start()
    yield sim, store
    sim.stop()


def test_snapshot_triage_every_scenario(snap_compare, frozen_all) -> None:
    """Scenario `all`: every incident at once, each on its own objects, ranked."""
    sim, store = frozen_all
    app = telemetry_app(sim, pinned=True, landing="triage", mlflow_tracking_uri=store)
    assert snap_compare(app, terminal_size=(160, 48), run_before=_prepare())
