"""SVG snapshots of each view at 80×24, 100×30 and 200×60 on frozen simulated clusters
(fixed seed and start time, sim clock stopped) with the app's clock and ages pinned:

- the tiny cluster with telemetry off (its columns hide): every resource view, a detail
  screen, the help, the `m` screen and the command bar;
- the demo cluster with live GPU telemetry (the history filled with the frozen numbers):
  every resource view and the GPU map, as an on-call engineer sees them over SSH — at 80
  columns UTIL and FREE for every GPU node, the node with an XID flagged, the cordoned one
  marked."""

from __future__ import annotations

import asyncio

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
from tests.test_app_telemetry import poller, telemetry_app

SIZES = [(80, 24), (100, 30), (200, 60)]
VIEWS = ["nodes", "jobs", "servers", "pods"]


def _size_id(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


@pytest.fixture(scope="module")
def frozen_sim():
    sim = SimCluster(preset="tiny", seed=3, speed=1e-9, start_time=FROZEN_START).start()
    sim.advance(300)  # controllers run to a steady state, then time stands still
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def frozen_demo():
    sim = SimCluster(preset="demo", seed=3, speed=1e-9, start_time=FROZEN_START).start()
    sim.advance(300)
    yield sim
    sim.stop()


def _settled(app) -> bool:
    states = app.session.cache.states().values()
    return all(s.state not in ("syncing", "stale") for s in states)


def _prepare(view: str, then: tuple[str, ...] = (), telemetry: bool = False):
    async def run_before(pilot) -> None:
        app = pilot.app
        await populated(pilot, app, "nodes")
        await wait_until(pilot, lambda: _settled(app))
        if telemetry:
            await wait_until(pilot, lambda: app.telemetry.started and app.telemetry.has_data(), 30)
            p = poller(app)
            for _ in range(p.store.history):  # every history column holds the frozen numbers
                await asyncio.to_thread(p.refresh_once)
        if view != "nodes":
            await command(pilot, view)
            if view != "gpumap":
                await populated(pilot, app, view)
        await redrawn(pilot, app)
        if then:
            await pilot.press(*then)
            # a detail screen's summary gains the annotations once the object is fetched
            await wait_until(pilot, lambda: getattr(app.screen, "yaml_text", "") is not None)
        await pilot.pause(0.3)
        if telemetry:
            await redrawn(pilot, app)
            await pilot.pause(0.2)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=_size_id)
@pytest.mark.parametrize("view", VIEWS)
def test_snapshot_view(snap_compare, frozen_sim, view: str, size: tuple[int, int]) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    assert snap_compare(app, terminal_size=size, run_before=_prepare(view))


@pytest.mark.parametrize("size", SIZES, ids=_size_id)
@pytest.mark.parametrize("view", [*VIEWS, "gpumap"])
def test_snapshot_demo(snap_compare, frozen_demo, view: str, size: tuple[int, int]) -> None:
    app = telemetry_app(frozen_demo, pinned=True)
    run_before = _prepare(view, telemetry=True)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES[:2], ids=_size_id)
def test_snapshot_detail(snap_compare, frozen_sim, size: tuple[int, int]) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    assert snap_compare(app, terminal_size=size, run_before=_prepare("jobs", ("d",)))


def test_snapshot_help(snap_compare, frozen_sim) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    assert snap_compare(
        app, terminal_size=(80, 24), run_before=_prepare("nodes", ("question_mark",))
    )


def test_snapshot_messages(snap_compare, frozen_sim) -> None:
    """`m`: the title, status and header lines in full, and the legend."""
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_prepare("nodes", ("m",)))


def test_snapshot_command_bar(snap_compare, frozen_sim) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    keys = ("colon", "n", "o")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_prepare("pods", keys))
