"""The console at 80×24 (an SSH session's first size), 100×30 and 200×60: each view keeps
the columns on-call needs first, a node with an XID is flagged and a cordoned one marked,
node names shrink to what tells them apart (the full name of the cursor's row in the
status line), lines fit without cutting a word, and the help, the `m` screen, a detail
screen, the GPU map and the command bar all work in the small sizes."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from console.cluster.connection import connect
from console.render import VIEWS
from console.render.base import Row
from console.screens.lines import status_parts
from console.sim.cluster import SimCluster
from tests.test_app_support import command, filter_, populated, screen_text, view, wait_until
from tests.test_app_telemetry import XID_NODE_ANNOTATIONS, annotate_node, live, telemetry_app
from widgets.help import HelpScreen
from widgets.status_line import StatusLine, fit_line

NEEDED = {
    "nodes": {"name", "status", "alloc", "free", "util", "xid", "temp"},
    "pods": {"name", "status", "gpus", "node"},
    "jobs": {"name", "state", "gpus", "util", "idle"},
    "servers": {"name", "ready", "replicas", "gpus", "util"},
}
"""What each view shows at 80 columns, whatever else goes (issue 14)."""


@pytest.fixture(scope="module")
def sim():
    """A tiny cluster: the A100 node's GPU 1 reports an XID, the L4 node is cordoned."""
    sim = SimCluster(preset="tiny", seed=5).start()
    nodes = sorted(sim.call(sim.telemetry.gpu_nodes))
    a100 = next(n for n in nodes if "a100" in n)
    l4 = next(n for n in nodes if "l4" in n)
    annotate_node(sim, a100, XID_NODE_ANNOTATIONS)
    admin = connect(str(sim.kubeconfig_path), "kmc-sim")
    headers = {"Content-Type": "application/merge-patch+json"}
    admin.request("PATCH", f"/api/v1/nodes/{l4}", body={"spec": {"unschedulable": True}}, headers=headers)  # fmt: skip
    admin.close()
    sim.names = {"a100": a100, "l4": l4}  # type: ignore[attr-defined]
    yield sim
    sim.stop()


def shown(app) -> dict[str, list[str]]:
    """Column key → the texts the table shows in it (narrow forms under their column)."""
    table = view(app).table
    return {c.key: [row.cells[c.index] for row in table.rows] for c in table.visible_columns}


def text(app) -> str:
    """The screen as a user reads it (the SVG's non-breaking spaces as spaces)."""
    return screen_text(app).replace("\xa0", " ")


def status(app) -> str:
    return str(app.screen.query_one("#status", StatusLine).render())


async def ready(pilot, app, name: str = "nodes") -> None:
    await populated(pilot, app, name)
    if name == "nodes":
        await live(pilot, app)
        await wait_until(pilot, lambda: any(x.strip() for x in shown(app).get("xid", [])), 30)


@pytest.mark.parametrize("size", [(80, 24), (100, 30)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_each_view_keeps_what_on_call_needs(sim, size) -> None:
    app = telemetry_app(sim)
    async with app.run_test(size=size) as pilot:
        await ready(pilot, app)
        for name, keys in NEEDED.items():
            if name != "nodes":
                await command(pilot, name)
                await populated(pilot, app, name)
            await wait_until(pilot, lambda k=keys: k <= set(shown(app)))
            assert all(len(line) <= size[0] for line in text(app).splitlines())


async def test_80x24_gpu_nodes_util_free_xid_and_cordon(sim) -> None:
    a100, l4 = sim.names["a100"], sim.names["l4"]
    app = telemetry_app(sim)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        cells = shown(app)
        names = [row.key for row in view(app).table.rows]
        assert {a100, l4} <= set(names)
        assert all(u.strip().endswith("%") for u in cells["util"])  # every GPU node
        assert all(f.strip().isdigit() for f in cells["free"])
        # names shortened to what tells them apart: pool and suffix, not the hash
        short = dict(zip(names, cells["name"], strict=True))
        assert short[a100] == "a100-pool-" + a100.rsplit("-", 1)[1]
        assert short[l4].startswith("l4-pool-") and len(set(short.values())) == len(short)
        screen = text(app)
        xid_row = next(line for line in screen.splitlines() if short[a100] in line)
        assert xid_row.split()[-1].isdigit()  # the XID, at the end of the row
        assert view(app).table.rows[names.index(a100)].hint == "bad"
        l4_row = next(line for line in screen.splitlines() if short[l4] in line)
        assert "⊘" in l4_row  # cordoned
        # the full name of the cursor's row is in the status line, and follows the cursor
        await wait_until(pilot, lambda: names[0] in status(app))
        await pilot.press("down")
        await wait_until(pilot, lambda: names[1] in status(app))
        # the row keeps the full name: a part shown nowhere (the pool's hash) still filters
        await filter_(pilot, a100.split("-")[-2])
        await wait_until(pilot, lambda: [r.key for r in view(app).table.rows] == [a100])


async def test_200x60_uses_the_width(sim) -> None:
    app = telemetry_app(sim)
    async with app.run_test(size=(200, 60)) as pilot:
        await ready(pilot, app)
        cells = shown(app)
        names = [row.key for row in view(app).table.rows]
        assert cells["name"] == names  # full names
        assert "Ready,SchedulingDisabled" in cells["status"]
        assert {"gpu", "pool", "max", "mem", "power", "pods", "sharing", "age"} <= set(cells)


async def test_m_help_detail_gpumap_and_command_bar_at_80x24(sim) -> None:
    app = telemetry_app(sim)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        full = view(app).table.current_row_key
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        lines = dict(app.screen.sections[0][1])
        assert full in lines["status"] and "GPU alloc" in lines["header 2"]
        assert any("⊘" in key for key, _ in app.screen.sections[1][1])  # the legend
        await pilot.press("escape")
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = dict(app.screen.sections[0][1])
        assert keys["m"] == "the title, status and header lines in full, and the legend"
        await pilot.press("escape")
        await pilot.press("d")
        await wait_until(pilot, lambda: f"Node {full}" in text(app))  # the title
        await pilot.press("escape")
        await command(pilot, "gpumap")
        await wait_until(pilot, lambda: "GPU map" in text(app))
        await wait_until(pilot, lambda: " · GPU " in status(app))
        assert len(status(app)) <= 78
        await pilot.press("escape")
        await pilot.press("colon", "p", "o")
        bar = app.screen.query_one(Input)
        assert bar.value == "po" and bar.region.width >= 70
        await pilot.press("escape")


def test_status_line_never_cuts_a_word() -> None:
    """A long telemetry error at 80 columns: shortened at a word boundary, the row's full
    name kept, every string shown literally."""
    nodes = VIEWS["nodes"]
    name = "gke-kmc-demo-a100-pool-2265b1f5-[b]5sl6"
    row = Row(name, ("",) * len(nodes.columns), record=None)
    error = "telemetry unavailable: all 21 DCGM exporters failed; [red]connection refused"
    parts = status_parts(nodes, 21, 21, row, ("name", False), True, (error, "error"))
    for width in (80, 60, 40):
        line = fit_line(parts, width).plain
        assert len(line) <= width and line.startswith("21 nodes")
        words = line.replace("…", " ").split()
        assert all(w in f"21 nodes {name} sort NAME ↑ · {error} (literal filter)" for w in words)
    assert name in fit_line(parts, 80).plain
    assert "· telemetry unavailable" in fit_line(parts, 80).plain
