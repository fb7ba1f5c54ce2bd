"""`ConfirmDialog`: a modal yes/no with a before → after summary; dismisses with a bool.

`y` / Enter confirm (True), `n` / Esc cancel (False). Every line is shown as plain
text. Use: `self.app.push_screen(ConfirmDialog(...), callback)` or
`await self.app.push_screen_wait(...)` from a worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmDialog(ModalScreen[bool]):
    """Confirm a change: title, before lines, after lines, optional detail lines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("enter", "answer(True)", "Yes", show=False),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel", show=False),
    ]

    DEFAULT_CSS = """
    ConfirmDialog {
        align: center middle;
        background: $background 60%;
    }
    ConfirmDialog > #dialog {
        width: auto;
        min-width: 40;
        max-width: 90%;
        height: auto;
        max-height: 90%;
        padding: 1 2;
        border: thick $warning;
        background: $panel;
    }
    ConfirmDialog #title {
        text-style: bold;
        color: $text-warning;
        margin-bottom: 1;
    }
    ConfirmDialog .heading {
        color: $text-muted;
    }
    ConfirmDialog .before {
        color: $text-error;
    }
    ConfirmDialog .after {
        color: $text-success;
        margin-bottom: 1;
    }
    ConfirmDialog #keys {
        color: $text-muted;
    }
    """

    def __init__(
        self,
        title: str,
        before: Sequence[str] = (),
        after: Sequence[str] = (),
        *,
        detail: Sequence[str] = (),
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id)
        self.title_text = title
        self.before = tuple(before)
        self.after = tuple(after)
        self.detail = tuple(detail)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text), id="title")
            if self.before:
                yield Static(Text("before:"), classes="heading")
                yield Static(Text("\n".join(f"  {line}" for line in self.before)), classes="before")
            if self.after:
                yield Static(Text("after:"), classes="heading")
                yield Static(Text("\n".join(f"→ {line}" for line in self.after)), classes="after")
            if self.detail:
                yield Static(Text("\n".join(self.detail)), classes="detail")
            yield Static(Text("y / Enter: confirm    n / Esc: cancel"), id="keys")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
