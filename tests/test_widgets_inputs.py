"""Pilot tests of CommandBar (completion, submit, cancel, filter mode) and LogView (follow)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from widgets.command_bar import CommandBar
from widgets.log_view import LogView

COMMANDS = ["nodes", "ns", "jobs", "servers", "pods", "ctx"]


class BarApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.got: list[tuple[str, str, str]] = []

    def compose(self) -> ComposeResult:
        yield CommandBar(COMMANDS)

    def on_command_bar_submitted(self, event: CommandBar.Submitted) -> None:
        self.got.append(("submitted", event.mode, event.text))

    def on_command_bar_cancelled(self, event: CommandBar.Cancelled) -> None:
        self.got.append(("cancelled", event.mode, ""))


async def test_command_bar_tab_completion_and_submit() -> None:
    app = BarApp()
    async with app.run_test() as pilot:
        bar = app.query_one(CommandBar)
        bar.open(":")
        await pilot.press("j", "tab")
        assert bar.value == "jobs "
        await pilot.press("enter")
        await pilot.pause()
        assert app.got == [("submitted", ":", "jobs")]
        assert bar.value == "" and not bar.display
        bar.open(":")
        await pilot.press("n", "tab")  # nodes, ns: common prefix only
        assert bar.value == "n"
        await pilot.press("o", "tab", "enter")
        await pilot.pause()
        assert app.got[-1] == ("submitted", ":", "nodes")


async def test_command_bar_filter_mode_and_cancel() -> None:
    app = BarApp()
    async with app.run_test() as pilot:
        bar = app.query_one(CommandBar)
        bar.open("/")
        await pilot.press(*"!gpu-[a", "tab", "enter")  # Tab does nothing in filter mode
        await pilot.pause()
        assert app.got == [("submitted", "/", "!gpu-[a")]
        bar.open(":", "po")
        await pilot.press("escape")
        await pilot.pause()
        assert app.got[-1] == ("cancelled", ":", "")
        assert bar.value == ""


class LogApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.follow_events: list[bool] = []

    def compose(self) -> ComposeResult:
        yield LogView(max_lines=500)

    def on_log_view_follow_changed(self, event: LogView.FollowChanged) -> None:
        self.follow_events.append(event.follow)


async def test_log_view_follow_pause_and_literal_lines() -> None:
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(LogView)
        log.focus()
        log.write_lines([f"step {i} loss=0.1 [/x] [@click=app.quit]q[/]" for i in range(200)])
        await pilot.pause()
        assert log.follow
        assert log.scroll_y == log.max_scroll_y > 0
        await pilot.press("f")
        assert not log.follow
        log.scroll_to(y=0, animate=False, immediate=True)
        log.write_lines([f"more {i}" for i in range(50)])
        await pilot.pause()
        assert log.scroll_y == 0  # paused: the view stays put
        await pilot.press("f")
        await pilot.pause()
        assert log.follow and log.scroll_y == log.max_scroll_y
        assert app.follow_events == [False, True]
        log.write_lines([f"x{i}" for i in range(1000)])
        await pilot.pause()
        assert log.line_count <= 500
        text = "\n".join(log.render_line(y).text for y in range(log.size.height))
        assert "x999" in text
        log.scroll_home(animate=False, immediate=True)
        log.write_lines([])
        assert app.is_running


async def test_log_view_shows_markup_literally() -> None:
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(LogView)
        log.write_lines(["[/x]", "[@click=app.quit]boom[/]", "[link=http://x]y[/link]"])
        await pilot.pause()
        text = "\n".join(log.render_line(y).text for y in range(3))
        assert "[@click=app.quit]boom[/]" in text and "[link=http://x]y[/link]" in text


async def test_command_bar_starts_hidden_with_auto_hide() -> None:
    app = BarApp()
    async with app.run_test() as pilot:
        bar = app.query_one(CommandBar)
        assert not bar.display
        bar.open("/", "gpu")
        await pilot.pause()
        assert bar.display and bar.has_focus and bar.value == "gpu"
