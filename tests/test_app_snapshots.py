"""SVG snapshots of each view at 80×24 and 160×48, on a frozen simulated cluster (fixed
seed and start time, sim clock stopped) with the app's clock and ages pinned. Telemetry is
off here (its columns hide); `test_app_telemetry_snapshots` shows it live."""

from __future__ import annotations

import pytest

from console.sim.cluster import SimCluster
from tests.test_app_support import (
    FROZEN_START,
    command,
    make_app,
    populated,
    redrawn,
    wait_until,
)

SIZES = [(80, 24), (160, 48)]


@pytest.fixture(scope="module")
def frozen_sim():
    sim = SimCluster(preset="tiny", seed=3, speed=1e-9, start_time=FROZEN_START).start()
    sim.advance(300)  # controllers run to a steady state, then time stands still
    yield sim
    sim.stop()


def _settled(app) -> bool:
    states = app.session.cache.states().values()
    return all(s.state not in ("syncing", "stale") for s in states)


def _prepare(view: str, then: tuple[str, ...] = ()):
    async def run_before(pilot) -> None:
        app = pilot.app
        await populated(pilot, app, "nodes")
        if view != "nodes":
            await command(pilot, view)
            await populated(pilot, app, view)
        await wait_until(pilot, lambda: _settled(app))
        await redrawn(pilot, app)
        if then:
            await pilot.press(*then)
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("view", ["nodes", "jobs", "servers", "pods"])
def test_snapshot_view(snap_compare, frozen_sim, view: str, size: tuple[int, int]) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    assert snap_compare(app, terminal_size=size, run_before=_prepare(view))


def test_snapshot_detail(snap_compare, frozen_sim) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_prepare("jobs", ("d",)))


def test_snapshot_help(snap_compare, frozen_sim) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    assert snap_compare(
        app, terminal_size=(80, 24), run_before=_prepare("nodes", ("question_mark",))
    )
