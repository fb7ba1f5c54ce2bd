"""Pilot tests of CommandBar (completion, submit, cancel, filter mode); the log view has tests/test_logs_widget.py."""

from __future__ import annotations

from textual.app import App, ComposeResult

from widgets.command_bar import CommandBar

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


async def test_command_bar_starts_hidden_with_auto_hide() -> None:
    app = BarApp()
    async with app.run_test() as pilot:
        bar = app.query_one(CommandBar)
        assert not bar.display
        bar.open("/", "gpu")
        await pilot.pause()
        assert bar.display and bar.has_focus and bar.value == "gpu"
