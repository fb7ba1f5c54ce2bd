"""SVG snapshots of drain and GPU time-slicing on frozen simulated clusters (fixed seed and
start time, sim clock stopped, the app's clock pinned): the drain confirmation, the drain
screen at the end of a real drain (its elapsed seconds pinned), the time-slicing picker
and the time-slicing confirmation."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from console.screens.drain import DrainScreen
from console.screens.timeslice import TimeslicePicker
from console.sim.cluster import SimCluster
from tests.test_app_drain import select_node
from tests.test_app_support import FROZEN_START, command, make_app, wait_until
from widgets.confirm import ConfirmDialog

A100 = "gke-tiny-a100-pool-ea7b5bf5-zt2x"
"""The tiny cluster's 8-GPU node under seed 3 (names are seeded)."""


def _frozen() -> SimCluster:
    sim = SimCluster(preset="tiny", seed=3, speed=1e-9, start_time=FROZEN_START).start()
    sim.advance(300)  # controllers run to a steady state, then time stands still
    return sim


@pytest.fixture(scope="module")
def frozen_sim():
    """For the snapshots that change nothing (the dialogs and the picker)."""
    sim = _frozen()
    yield sim
    sim.stop()


@pytest.fixture
def drained_sim():
    """A frozen cluster of the test's own: the drain evicts its pods."""
    sim = _frozen()
    yield sim
    sim.stop()


@pytest.fixture(autouse=True)
def audit_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def _then(*steps: Any):
    async def run_before(pilot) -> None:
        app = pilot.app
        await select_node(pilot, app, A100)
        for step in steps:
            await step(pilot, app)
        app.clear_notifications()
        await pilot.pause(0.3)

    return run_before


def _until(screen_type: type):
    async def step(pilot, app) -> None:
        await wait_until(pilot, lambda: isinstance(app.screen, screen_type), 15)
        await pilot.pause(0.2)

    return step


def _keys(*keys: str):
    async def step(pilot, _app) -> None:
        await pilot.press(*keys)

    return step


def _typed(text: str):
    async def step(pilot, _app) -> None:
        await command(pilot, text)

    return step


async def _drained(pilot, app) -> None:
    screen = app.screen
    assert isinstance(screen, DrainScreen)
    await wait_until(pilot, lambda: screen.progress is not None and screen.progress.finished, 30)
    # The one figure that depends on the machine's speed: the seconds the drain took.
    screen.post_message(DrainScreen.Progressed(replace(screen.progress, elapsed=2.0)))
    await wait_until(pilot, lambda: screen.progress.elapsed == 2.0)  # the message handled
    await pilot.pause(0.2)


def test_snapshot_drain_confirmation(snap_compare, frozen_sim) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    run_before = _then(_keys("r"), _until(ConfirmDialog))
    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (120, 32)], ids=["80x24", "120x32"])
def test_snapshot_drain_progress(snap_compare, drained_sim, size: tuple[int, int]) -> None:
    app = make_app(drained_sim, pinned=True, telemetry_source="none")
    steps = (_keys("r"), _until(ConfirmDialog), _keys("y"), _until(DrainScreen), _drained)
    assert snap_compare(app, terminal_size=size, run_before=_then(*steps))


def test_snapshot_timeslice_picker(snap_compare, frozen_sim) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    run_before = _then(_keys("t"), _until(TimeslicePicker), _keys("down", "down"))
    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_snapshot_timeslice_confirmation(snap_compare, frozen_sim) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    run_before = _then(_typed("timeslice any"), _until(ConfirmDialog))
    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
