"""SVG snapshots of live GPU telemetry: the GPU nodes columns (80×24 and 160×48), jobs and
servers with UTIL / IDLE, a node's GPUs tab with full sparklines, and the GPU map (per GPU
and per node). Deterministic: a frozen simulated cluster (fixed seed and start, sim clock
stopped, one GPU with an XID and one hot), the app's clock and ages pinned, and the history
filled with as many refreshes as it holds, all reading the same frozen numbers."""

from __future__ import annotations

import asyncio

import pytest

from console.sim.cluster import SimCluster
from tests.test_app_support import FROZEN_START, command, populated, redrawn, wait_until
from tests.test_app_telemetry import XID_NODE_ANNOTATIONS, annotate_node, poller, telemetry_app


@pytest.fixture(scope="module")
def frozen_sim():
    sim = SimCluster(preset="tiny", seed=3, speed=1e-9, start_time=FROZEN_START).start()
    a100 = next(n for n in sim.call(sim.telemetry.gpu_nodes) if "a100" in n)
    annotate_node(sim, a100, XID_NODE_ANNOTATIONS)
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
        await wait_until(pilot, lambda: _settled(app))
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
        await pilot.pause(0.3)
        await redrawn(pilot, app)
        await pilot.pause(0.2)

    return run_before


def _app(sim):
    return telemetry_app(sim, pinned=True)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_nodes_telemetry(snap_compare, frozen_sim, size) -> None:
    assert snap_compare(_app(frozen_sim), terminal_size=size, run_before=_prepare("nodes"))


@pytest.mark.parametrize("view", ["jobs", "servers"])
def test_snapshot_workloads_telemetry(snap_compare, frozen_sim, view) -> None:
    assert snap_compare(_app(frozen_sim), terminal_size=(80, 24), run_before=_prepare(view))


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_node_gpus(snap_compare, frozen_sim, size) -> None:
    # the first node by name is the A100 node (8 GPUs, one with an XID, one hot)
    assert snap_compare(_app(frozen_sim), terminal_size=size, run_before=_prepare("nodes", ("g",)))


@pytest.mark.parametrize(
    ("then", "size"), [((), (160, 48)), (("a",), (80, 24))], ids=["per-gpu", "per-node"]
)
def test_snapshot_gpumap(snap_compare, frozen_sim, then, size) -> None:
    run_before = _prepare("gpumap", ("right", "right", *then))
    assert snap_compare(_app(frozen_sim), terminal_size=size, run_before=run_before)
