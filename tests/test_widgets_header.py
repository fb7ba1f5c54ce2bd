"""Tests of ClusterHeader and gpu_bar."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from textual.app import App, ComposeResult

from themes import DEFAULT_THEME, KMC_COLORBLIND, THEMES, util_scale
from widgets.gpu_bar import gpu_bar, util_text
from widgets.header import ClusterHeader, HeaderData

FIXED = datetime(2026, 1, 2, 3, 4, 5)


def test_gpu_bar_shape_and_numbers() -> None:
    assert gpu_bar(3, 8, 8).plain == "▇▇▇▁▁▁▁▁ 3/8"
    assert gpu_bar(0.1, 8, 4).plain == "▇▁▁▁ 0.1/8"  # something allocated never looks empty
    assert gpu_bar(9, 8, 4, numbers=False).plain == "▇▇▇▇"
    assert gpu_bar(0, 0, 3).plain == "▁▁▁ -/0"
    low, high = (
        gpu_bar(1, 8, 8, scale=util_scale(KMC_COLORBLIND)),
        gpu_bar(8, 8, 8, scale=util_scale(KMC_COLORBLIND)),
    )
    assert low.spans[0].style != high.spans[0].style
    assert util_text(None).plain.strip() == "-"
    assert util_text(73.4).plain == " 73%"


class HeaderApp(App[None]):
    def __init__(self, data: HeaderData) -> None:
        super().__init__()
        self.data = data

    def compose(self) -> ComposeResult:
        yield ClusterHeader(self.data, clock=lambda: FIXED)

    def on_mount(self) -> None:
        for theme in THEMES.values():
            self.register_theme(theme)
        self.theme = DEFAULT_THEME


DATA = HeaderData(
    context="prod-east [/x] [@click=app.quit]q",
    namespace="ml-[b]train",
    allocatable=160,
    requested=120,
    busy=80,
    idle=40,
    mean_util=63.2,
    sync="synced 2s ago",
    sync_hint="ok",
    read_only=True,
)


async def test_header_renders_plain_data_literally() -> None:
    app = HeaderApp(DATA)
    async with app.run_test(size=(100, 24)) as pilot:
        header = app.query_one(ClusterHeader)
        text = header.render().plain
        assert "prod-east [/x] [@click=app.quit]q" in text
        assert "ml-[b]train" in text
        assert "120/160" in text and "free 40" in text and "idle 40" in text and "63%" in text
        assert "03:04:05" in text and "read-only" in text
        header.data = HeaderData(context="dev", allocatable=0)
        await pilot.pause()
        text = header.render().plain
        assert "dev" in text and "ns all" in text and "-/0" in text and "busy" not in text


def test_snapshot_header(snap_compare) -> None:
    assert snap_compare(HeaderApp(DATA), terminal_size=(80, 24))


async def test_header_shows_telemetry_state_in_its_hint_colour() -> None:
    app = HeaderApp(replace(DATA, read_only=False))
    async with app.run_test(size=(120, 24)) as pilot:
        header = app.query_one(ClusterHeader)
        assert "dcgm" not in header.render().plain  # no telemetry given: nothing shown
        styles = {}
        for hint in ("ok", "warn", "error", None, "bogus"):
            header.data = replace(DATA, telemetry="dcgm [b]live", telemetry_hint=hint)
            await pilot.pause()
            text = header.render()
            gpu_line = text.plain.split("\n")[1]
            assert gpu_line.endswith("63%  dcgm [b]live")  # literal, after the util figure
            start = text.plain.index("dcgm [b]live")
            styles[hint] = [s.style for s in text.spans if s.start == start]

        def style(name: str):
            return header.get_component_rich_style(f"cluster-header--{name}", partial=True)

        assert styles["ok"] == [style("ok")] and styles["error"] == [style("error")]
        assert styles[None] == styles["bogus"] == [style("muted")]
        assert len({str(s) for s in styles.values()}) == 4


async def test_header_counts_gpus_apart_from_slices_and_replicas() -> None:
    data = replace(DATA, gpus=26, units=(("MIG", 3, 56), ("shared", 5, 16)))
    app = HeaderApp(data)
    async with app.run_test(size=(160, 24)) as pilot:
        header = app.query_one(ClusterHeader)
        gpu_line = header.full_lines()[1]
        assert "120/160" in gpu_line and "MIG 3/56" in gpu_line and "shared 5/16" in gpu_line
        assert "26 GPUs" in gpu_line
        # at 80 columns the whole-GPU allocation stays, the rest drops by importance
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert "120/160" in header.render().plain.split("\n")[1]
        # an all-MIG cluster: the slices lead, never a "0/0" of GPUs
        header.data = HeaderData(context="mig", allocatable=0, gpus=8, units=(("MIG", 4, 56),))
        await pilot.pause()
        line = header.render().plain.split("\n")[1]
        assert line.startswith("MIG 4/56") and "0/0" not in line
        # nodes forbidden: nothing allocatable is known
        header.data = HeaderData(
            context="x", allocatable=None, requested=2, units=(("MIG", 1, None),)
        )
        await pilot.pause()
        assert "GPU alloc 2/?" in header.render().plain and "MIG 1/?" in header.render().plain
