"""`widgets.log_view.LogView` on its own: only visible lines are drawn, the line cap with
its marker, wrap and JSON layouts, search highlighting, error jumps, follow."""

from __future__ import annotations

import re
from typing import NamedTuple

import pytest
from textual.app import App, ComposeResult

from widgets.log_view import LogView

pytestmark = pytest.mark.asyncio


class Row(NamedTuple):
    source: int
    ts: int
    text: str
    level: str = ""
    json: bool = False


class Host(App[None]):
    def __init__(self, cap: int = 1_000) -> None:
        super().__init__()
        self.cap = cap

    def compose(self) -> ComposeResult:
        yield LogView(max_lines=self.cap)


def rows(n: int, start: int = 0, **kw) -> list[Row]:
    return [Row(0, i + 1, f"line {i}", **kw) for i in range(start, start + n)]


def visible(view: LogView) -> list[str]:
    return [
        "".join(seg.text for seg in view.render_line(y)).rstrip()
        for y in range(view.scrollable_content_region.height)
    ]


async def test_draws_only_visible_lines_and_follows() -> None:
    app = Host(cap=100_000)
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(LogView)
        view.append(rows(50_000))
        await pilot.pause()
        calls = 0
        original = view._row_pieces

        def counting(*args):
            nonlocal calls
            calls += 1
            return original(*args)

        view._row_pieces = counting  # type: ignore[method-assign]
        view.refresh()
        await pilot.pause()
        assert calls <= view.size.height * 2  # a frame costs the screen's height
        assert visible(view)[-1] == "line 49999"  # following: the newest line is at the bottom
        view.action_scroll_up()
        assert not view.follow


async def test_line_cap_drops_oldest_with_a_marker() -> None:
    app = Host(cap=100)
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.query_one(LogView)
        view.append(rows(150))
        await pilot.pause()
        assert len(view.rows) == 100 and view.dropped == 50 and view.rows[0].text == "line 50"
        view.action_scroll_home()
        await pilot.pause()
        assert visible(view)[0].startswith("… 50 older lines dropped")
        assert visible(view)[1] == "line 50"


async def test_wrap_and_pretty_json_layouts() -> None:
    app = Host()
    async with app.run_test(size=(30, 20)) as pilot:
        view = app.query_one(LogView)
        view.append([Row(0, 1, "x" * 70), Row(0, 2, '{"level":"info","a":[1,2]}', json=True)])
        await pilot.pause()
        assert view.line_count == 2
        view.configure(wrap=True)
        await pilot.pause()
        width = view.scrollable_content_region.width
        assert view.line_count == -(-70 // width) + 1
        view.configure(pretty=True)
        await pilot.pause()
        lines = visible(view)
        assert '  "level": "info",' in lines and lines.count("") >= 1
        view.configure(pretty=False, wrap=False)
        assert view.line_count == 2


async def test_search_highlights_and_jumps() -> None:
    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.query_one(LogView)
        data = rows(200)
        data[20] = Row(0, 21, "CUDA out of memory", "error")
        data[120] = Row(0, 121, "NCCL WARN timeout", "error")
        view.append(data)
        await pilot.pause()
        view.jump_end()
        assert view.jump_error(forward=False) and view.rows[view.current].text.startswith("NCCL")
        assert view.jump_error(forward=False) and view.rows[view.current].text.startswith("CUDA")
        assert not view.jump_error(forward=False)
        assert not view.follow
        view.configure(search=re.compile("line 11[0-9]$"))
        assert view.jump_match() and view.rows[view.current].text == "line 110"
        await pilot.pause()
        strip = next(
            view.render_line(y)
            for y in range(view.size.height)
            if "line 110" in "".join(s.text for s in view.render_line(y))
        )
        assert any(seg.style and seg.style.reverse for seg in strip)
        view.jump_end()
        assert view.follow and view.current is None


async def test_retract_and_gone_sources() -> None:
    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.query_one(LogView)
        view.set_sources([("w0", "cyan"), ("w1", "magenta")], gone={1})
        view.configure(show_prefix=True, wrap=True)
        view.append([Row(0, 1, "a"), Row(1, 2, "b"), Row(0, 3, "c")])
        view.retract(2)
        view.append([Row(0, 3, "c"), Row(1, 4, "d")])
        await pilot.pause()
        assert [r.text for r in view.rows] == ["a", "c", "d"]
        assert view.line_count == 3
        assert [line.split()[-1] for line in visible(view)[:3]] == ["a", "c", "d"]
