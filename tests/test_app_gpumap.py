"""The GPU map (`:gpumap`, `:map`): one cell per GPU grouped by pool and node with values from
the telemetry store, cursor status line, Enter → the node's GPUs tab on that GPU, `p` → the
holding pod, `a` → one cell per node; and the map at 80,000 GPUs (its cost is measured by
benchmarks/gpu_views.py)."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static, TabbedContent

from console.commands import KmcCommands, palette_entries
from console.metrics import TelemetryStore, gpu_map
from console.metrics.model import Frame, GpuReading
from console.screens.detail import DetailScreen
from console.screens.gpumap import GpuMapScreen, build_groups
from console.screens.gpus import NodeGpus
from console.sim.cluster import SimCluster
from tests.test_app_support import command, populated, wait_until
from tests.test_app_telemetry import live, poller, telemetry_app
from widgets.heatmap import GpuHeatmap
from widgets.help import HelpScreen

SIZE = (160, 48)


@pytest.fixture(scope="module")
def frozen_tiny():
    """A tiny cluster whose sim clock stands still: every scrape reads the same numbers."""
    sim = SimCluster(preset="tiny", seed=5).start()
    sim.clock.set_speed(0)
    yield sim
    sim.stop()


def status(app) -> str:
    return str(app.screen.query_one("#status", Static).render())


async def open_map(pilot, app, word: str = "gpumap") -> GpuMapScreen:
    await populated(pilot, app, "nodes")
    await live(pilot, app)
    await command(pilot, word)
    await wait_until(pilot, lambda: isinstance(app.screen, GpuMapScreen))
    screen = app.screen
    await wait_until(pilot, lambda: screen.heatmap.cell_count == 12)
    return screen


async def test_map_cells_follow_the_store_and_the_cursor_drills_down(frozen_tiny) -> None:
    app = telemetry_app(frozen_tiny)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_map(pilot, app)
        store = poller(app).store
        heatmap = screen.heatmap
        assert heatmap.has_focus and not screen.per_node
        values = store.map_values()
        for key, value in values.items():
            assert heatmap.value_of(key) == value
        assert "12 GPUs on 2 nodes" in str(screen.query_one("#title", Static).render())
        # the cursor starts on the first pool's first node, GPU 0
        node, index = heatmap.cursor_key.split("/")
        assert index == "0" and "a100" in node
        row = store.gpu_rows(node)[0]
        text = status(app)
        assert text.startswith(f"{node} · GPU 0 · util {row.util:.0f}%")
        assert ", ".join(row.pods) in text
        await pilot.press("right", "right")
        assert heatmap.cursor_key == f"{node}/2"
        assert f"· GPU 2 · util {store.util((node, 2)):.0f}%" in status(app)
        # Enter: the node's GPUs tab, on that GPU
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        detail = app.screen
        assert detail.record.name == node and detail.query_one(TabbedContent).active == "gpus"
        gpus = detail.query_one(NodeGpus)
        await wait_until(pilot, lambda: gpus.table.current_row_key == "2")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, GpuMapScreen))
        assert app.screen.heatmap.cursor_key == f"{node}/2"
        # p: the pod holding the cursor GPU
        await pilot.press("left", "left")
        await pilot.press("p")
        await wait_until(pilot, lambda: getattr(app.screen, "kind_name", "") == "pods")
        assert f"{app.screen.record.namespace}/{app.screen.record.name}" == row.pods[0]
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, GpuMapScreen))
        # down: the next node (the L4 pool)
        await pilot.press("down")
        assert "l4" in app.screen.heatmap.cursor_key


async def test_per_node_mode_and_aliases(frozen_tiny) -> None:
    app = telemetry_app(frozen_tiny)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_map(pilot, app, "map")
        first = screen.heatmap.cursor_key.split("/")[0]
        await pilot.press("a")
        heatmap = screen.heatmap
        assert screen.per_node and heatmap.cell_count == 2
        assert heatmap.cursor_key == first  # the cursor stays on the node
        figures = poller(app).store.node(first)
        assert heatmap.value_of(first) == figures.mean_util
        assert status(app).startswith(f"{first} · 8 GPUs · mean {figures.mean_util:.0f}%")
        assert "one cell per node" in str(screen.query_one("#title", Static).render())
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert app.screen.record.name == first
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, GpuMapScreen))
        await pilot.press("a")
        assert app.screen.heatmap.cell_count == 12
        assert app.screen.heatmap.cursor_key == f"{first}/0"
        # the palette and the help know the map
        entries = [e.text for e in palette_entries(app, "gpumap")]
        assert ":gpumap" in entries
        provider = KmcCommands(app.screen)
        assert ":gpumap" in [hit.text async for hit in provider.search("gpumap")]
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = {key for _, rows in app.screen.sections for key, _ in rows}
        assert {"a", "p", "enter", ":gpumap"} <= keys


async def test_map_without_telemetry_shows_the_layout(frozen_tiny) -> None:
    app = telemetry_app(frozen_tiny, telemetry_source="none")
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await command(pilot, "gpumap")
        await wait_until(pilot, lambda: isinstance(app.screen, GpuMapScreen))
        heatmap = app.screen.heatmap
        await wait_until(pilot, lambda: heatmap.cell_count == 12)  # from gpu.count labels
        assert heatmap.value_of(heatmap.cursor_key) is None
        await command(pilot, "nodes")
        await populated(pilot, app, "nodes")


# ---------------------------------------------------------------- at 80,000 GPUs


class _Node:
    def __init__(self, name: str, pool: str) -> None:
        self.name, self.pool, self.gpu_count = name, pool, 8


class _Nodes:
    def __init__(self, nodes: list[_Node]) -> None:
        self.nodes = nodes

    def by_index(self, _name: str, _value: str) -> list[_Node]:
        return self.nodes


class MapApp(App[None]):
    def __init__(self, groups) -> None:
        super().__init__()
        self.groups = groups

    def compose(self) -> ComposeResult:
        yield GpuHeatmap(self.groups, id="heatmap")


async def test_map_at_80000_gpus_builds_refreshes_and_scrolls() -> None:
    """80,000 GPUs in the map (how long it takes: benchmarks/gpu_views.py)."""
    pools = [f"pool-{p}" for p in range(8)]
    nodes = [_Node(f"node-{i:05d}", pools[i % 8]) for i in range(10_000)]
    store = TelemetryStore()
    readings = {
        n.name: [GpuReading(n.name, g, util=float((i * 8 + g) % 101)) for g in range(8)]
        for i, n in enumerate(nodes)
    }
    store.apply(Frame(readings=readings, full=False))
    layout = gpu_map(store, {"nodes": _Nodes(nodes)})  # type: ignore[arg-type]
    per_gpu = build_groups(layout, per_node=False)
    per_node = build_groups(layout, per_node=True)
    app = MapApp(per_gpu)
    async with app.run_test(size=SIZE) as pilot:
        heatmap = app.query_one(GpuHeatmap)
        assert heatmap.cell_count == 80_000
        heatmap.update_values(store.map_values())
        await pilot.pause()
        assert heatmap.value_of("node-09999/7") == float((9999 * 8 + 7) % 101)
        await pilot.press("end")
        assert heatmap.cursor_key == "node-09999/7"
        heatmap.unit = "nodes"
        heatmap.set_groups(per_node)
        assert heatmap.cell_count == 10_000
        await pilot.pause()
