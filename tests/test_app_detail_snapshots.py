"""SVG snapshot of a GPU node's YAML at 80×24 with a search highlighted: the matches on
screen marked, the current one (the third, after `n` `n`) standing out, the search line
above the footer. The cluster is frozen (fixed seed and start, sim clock stopped) and the
app's clock pinned."""

from __future__ import annotations

import pytest

from console.screens.detail import DetailScreen
from console.sim.cluster import SimCluster
from tests.test_app_support import FROZEN_START, make_app, populated, view, wait_until
from widgets.text_view import TextView


@pytest.fixture(scope="module")
def frozen_sim():
    sim = SimCluster(preset="tiny", seed=3, speed=1e-9, start_time=FROZEN_START).start()
    sim.advance(300)
    yield sim
    sim.stop()


async def _yaml_search(pilot) -> None:
    app = pilot.app
    await populated(pilot, app, "nodes")
    node = next(row.key for row in view(app).table.rows if "a100" in row.key)
    await wait_until(pilot, lambda: view(app).table.move_to_key(node))
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
    yaml_view = app.screen.query_one("#yaml-body", TextView)
    await wait_until(pilot, lambda: "kind: Node" in yaml_view.lines and yaml_view.has_focus)
    await pilot.press("slash", *"gpu.", "enter", "n", "n")
    await wait_until(pilot, lambda: yaml_view.current_index == 2)
    await pilot.pause(0.1)


def test_snapshot_yaml_search(snap_compare, frozen_sim) -> None:
    app = make_app(frozen_sim, pinned=True, telemetry_source="none")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_yaml_search)
