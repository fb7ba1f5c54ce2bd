"""Pilot tests of GpuHeatmap: cursor navigation, messages, cheap updates, scale, snapshot."""

from __future__ import annotations

from textual.app import App, ComposeResult

from themes import DEFAULT_THEME, THEMES
from widgets.heatmap import GpuHeatmap, HeatCell, HeatGroup, HeatRow


def make_groups(pools: int, nodes: int, gpus: int = 8) -> list[HeatGroup]:
    groups = []
    for p in range(pools):
        rows = []
        for n in range(nodes):
            cells = [
                HeatCell(
                    f"p{p}-n{n}-g{g}", None if (n + g) % 11 == 0 else float((n * 7 + g * 13) % 101)
                )
                for g in range(gpus)
            ]
            rows.append(HeatRow(f"pool{p}-node-{n:04d}", cells))
        groups.append(HeatGroup(f"pool-{p}", rows))
    return groups


class HeatApp(App[None]):
    def __init__(self, groups: list[HeatGroup]) -> None:
        super().__init__()
        self.groups = groups
        self.events: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        yield GpuHeatmap(self.groups)

    def on_mount(self) -> None:
        for theme in THEMES.values():
            self.register_theme(theme)
        self.theme = DEFAULT_THEME
        self.query_one(GpuHeatmap).focus()

    def on_gpu_heatmap_cell_highlighted(self, event: GpuHeatmap.CellHighlighted) -> None:
        self.events.append(("highlighted", event.key))

    def on_gpu_heatmap_cell_selected(self, event: GpuHeatmap.CellSelected) -> None:
        self.events.append(("selected", event.key))


async def test_cursor_navigation_and_messages() -> None:
    app = HeatApp(make_groups(2, 3))
    async with app.run_test(size=(80, 24)) as pilot:
        heat = app.query_one(GpuHeatmap)
        assert heat.cursor_key == "p0-n0-g0"
        await pilot.press("right", "right")
        assert heat.cursor_key == "p0-n0-g2"
        await pilot.press("down")
        assert heat.cursor_key == "p0-n1-g2"
        await pilot.press("down", "down")  # skips the pool-1 label line
        assert heat.cursor_key == "p1-n0-g2"
        await pilot.press("up")
        assert heat.cursor_key == "p0-n2-g2"
        await pilot.press("left", "left", "left")  # wraps to the previous row
        assert heat.cursor_key == "p0-n1-g7"
        await pilot.press("end")
        assert heat.cursor_key == "p1-n2-g7"
        await pilot.press("home")
        assert heat.cursor_key == "p0-n0-g0"
        await pilot.press("pagedown")
        assert heat.cursor_key == "p1-n2-g0"
        await pilot.press("pageup", "enter")
        await pilot.pause()
        assert heat.cursor_key == "p0-n0-g0"
        assert app.events[:3] == [
            ("highlighted", "p0-n0-g1"),
            ("highlighted", "p0-n0-g2"),
            ("highlighted", "p0-n1-g2"),
        ]
        assert app.events[-1] == ("selected", "p0-n0-g0")


async def test_80000_cells_update_and_scroll_with_cursor() -> None:
    """80,000 cells (how long an update and a frame take: benchmarks/gpu_views.py)."""
    groups = make_groups(10, 1000)  # 10 pools x 1000 nodes x 8 GPUs
    app = HeatApp(groups)
    async with app.run_test(size=(80, 24)) as pilot:
        heat = app.query_one(GpuHeatmap)
        assert heat.cell_count == 80_000
        await pilot.press("end")
        await pilot.pause()
        assert heat.cursor_key == "p9-n999-g7"
        assert heat.scroll_y > 9000  # scrolled to the end
        heat.update_values({f"p9-n999-g{g}": 100.0 for g in range(8)})
        heat.update_values({k.key: 50.0 for g in groups for r in g.rows for k in r.cells})
        lines = [heat.render_line(y) for y in range(heat.size.height)]
        assert any("▅" in line.text for line in lines)
        assert heat.value_of("p0-n0-g0") == 50.0


async def test_set_groups_keeps_cursor_key_and_labels_are_literal() -> None:
    hostile = "[@click=app.quit]x[/]"
    app = HeatApp([HeatGroup("[/x]", [HeatRow(hostile, [HeatCell("a", 1), HeatCell("b", 99)])])])
    async with app.run_test(size=(80, 24)) as pilot:
        heat = app.query_one(GpuHeatmap)
        await pilot.press("right")
        assert heat.cursor_key == "b"
        heat.set_groups(
            [
                HeatGroup(
                    "[link=http://x]y[/link]",
                    [HeatRow("n", [HeatCell("z", None), HeatCell("b", 5)])],
                )
            ]
        )
        await pilot.pause()
        assert heat.cursor_key == "b"
        text = "\n".join(heat.render_line(y).text for y in range(3))
        assert "[link=http://x]y[/link]" in text
        assert "·" in text  # no data
        heat.set_groups([])
        await pilot.pause()
        await pilot.press("down", "enter", "end")
        assert heat.cursor_key is None
        assert app.is_running


async def test_unit_names_what_group_lines_count() -> None:
    app = HeatApp([HeatGroup("pool-a", [HeatRow("n", [HeatCell("a", 10), HeatCell("b", None)])])])
    async with app.run_test(size=(80, 24)) as pilot:
        heat = app.query_one(GpuHeatmap)
        assert heat.unit == "GPUs"
        assert heat.render_line(0).text.rstrip() == "pool-a  2 GPUs  mean 10%  no data 1"
        heat.unit = "nodes"  # e.g. one cell per node
        await pilot.pause()
        assert heat.render_line(0).text.rstrip() == "pool-a  2 nodes  mean 10%  no data 1"
    assert GpuHeatmap(unit="nodes").unit == "nodes"


def test_snapshot_heatmap(snap_compare) -> None:
    assert snap_compare(
        HeatApp(make_groups(3, 6, gpus=8)), terminal_size=(80, 24), press=["down", "right"]
    )


async def test_theme_switch_recolours_cells() -> None:
    app = HeatApp(make_groups(1, 2))
    async with app.run_test(size=(80, 24)) as pilot:
        heat = app.query_one(GpuHeatmap)
        before = heat.render_line(2)
        app.theme = "kmc-colorblind"
        await pilot.pause()
        after = heat.render_line(2)
        assert before.text == after.text
        assert [s.style for s in before] != [s.style for s in after]
