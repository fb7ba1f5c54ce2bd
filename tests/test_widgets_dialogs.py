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
