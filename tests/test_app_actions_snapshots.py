"""SVG snapshots of the action dialogs at 80×24 (an on-call engineer over SSH) on a frozen
simulated cluster: the cordon and delete confirmations, the scale question and the scale
confirmation with its GPU lines and warnings."""

from __future__ import annotations

import pytest

from console.sim.cluster import SimCluster
from tests.test_app_support import (
    FROZEN_START,
    column,
    command,
    filter_,
    make_app,
    populated,
    wait_until,
)
from widgets.confirm import AskDialog, ConfirmDialog


@pytest.fixture(scope="module")
def frozen_sim():
    sim = SimCluster(preset="tiny", seed=3, speed=1e-9, start_time=FROZEN_START).start()
    sim.advance(300)
    yield sim
    sim.stop()


def _open(view: str, name: str, keys: tuple[str, ...] = (), text: str = "", ask: bool = False):
    async def run_before(pilot) -> None:
        app = pilot.app
        await populated(pilot, app, "nodes")
        if view != "nodes":
            await command(pilot, view)
            await populated(pilot, app, view)
        await filter_(pilot, name)
        await wait_until(pilot, lambda: len(column(app, "name")) == 1)  # names shortened at 80
        if text:
            await command(pilot, text)
        await pilot.press(*keys)
        dialog = AskDialog if ask else ConfirmDialog
        await wait_until(pilot, lambda: isinstance(app.screen, dialog))
        await pilot.pause(0.3)

    return run_before


def _node(sim: SimCluster, pool: str) -> str:
    import json

    from console.cluster.connection import connect

    nodes = json.loads(connect(str(sim.kubeconfig_path), "kmc-sim").get("/api/v1/nodes"))["items"]
    return next(n["metadata"]["name"] for n in nodes if pool in n["metadata"]["name"])


@pytest.fixture(autouse=True)
def _audit_home(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))


def test_snapshot_cordon(snap_compare, frozen_sim) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    node = _node(frozen_sim, "a100")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_open("nodes", node, ("c",)))


def test_snapshot_scale_question(snap_compare, frozen_sim) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    run_before = _open("jobs", "llama-ft", ("s",), ask=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_scale_confirmation(snap_compare, frozen_sim) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    run_before = _open("jobs", "llama-ft", text="scale 4")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_delete_job(snap_compare, frozen_sim) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    run_before = _open("jobs", "llama-ft", ("ctrl+d",))
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
