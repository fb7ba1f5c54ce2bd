"""Pilot tests of ConfirmDialog (y / Enter / n / Esc) and HelpScreen (Esc / q / ?)."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Static

from widgets.confirm import ConfirmDialog
from widgets.help import HelpScreen

HOSTILE = "[@click=app.quit]x[/] [link=http://x]y[/link] [/x]"


class DialogApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.results: list[bool | None] = []


@pytest.mark.parametrize(
    ("key", "expected"), [("y", True), ("enter", True), ("n", False), ("escape", False)]
)
async def test_confirm_dialog_answers(key: str, expected: bool) -> None:
    app = DialogApp()
    async with app.run_test() as pilot:
        dialog = ConfirmDialog(
            f"Scale {HOSTILE}?", before=[f"replicas: 2 {HOSTILE}"], after=["replicas: 4"]
        )
        app.push_screen(dialog, app.results.append)
        await pilot.pause()
        shown = "\n".join(str(w.render()) for w in dialog.query(Static))
        assert HOSTILE in shown
        assert "→ replicas: 4" in shown
        await pilot.press(key)
        await pilot.pause()
        assert app.results == [expected]
        assert app.screen is not dialog
        assert app.is_running


@pytest.mark.parametrize("key", ["escape", "q", "question_mark"])
async def test_help_screen_closes(key: str) -> None:
    app = DialogApp()
    async with app.run_test() as pilot:
        help_screen = HelpScreen(
            [
                ("Global", [(":", "command bar"), ("?", HOSTILE)]),
                ("Table", [("enter", "drill down")]),
            ]
        )
        app.push_screen(help_screen, app.results.append)
        await pilot.pause()
        assert app.screen is help_screen
        await pilot.press(key)
        await pilot.pause()
        assert app.screen is not help_screen
        assert app.results == [None]
        assert app.is_running


@pytest.mark.parametrize(("size", "rows"), [((80, 24), 40), ((160, 48), 6)])
async def test_help_screen_sizes_its_box_to_the_table(size: tuple[int, int], rows: int) -> None:
    app = DialogApp()
    async with app.run_test(size=size) as pilot:
        bindings = [(f"ctrl+{i}", f"action number {i}") for i in range(rows)]
        help_screen = HelpScreen([("Keys", bindings)])
        app.push_screen(help_screen)
        await pilot.pause()
        box = help_screen.query_one("#help")
        table = box.query_one(Static)
        widest = max(len(k) for k, _ in bindings) + 2 + max(len(d) for _, d in bindings)
        assert table.region.width == widest
        assert box.region.height == min(rows + 1 + 2, int(size[1] * 0.9))  # title row + border
        assert box.region.width <= size[0] * 0.9


async def test_help_screen_wraps_descriptions_wider_than_the_screen() -> None:
    app = DialogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        help_screen = HelpScreen([("Keys", [("x", "a long description " * 10)])])
        app.push_screen(help_screen)
        await pilot.pause()
        box = help_screen.query_one("#help")
        table = box.query_one(Static)
        assert box.region.width == 72  # max-width: 90%
        assert table.region.right <= box.content_region.right
        assert table.region.height > 2
