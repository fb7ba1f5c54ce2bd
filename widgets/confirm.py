"""`ConfirmDialog`: a modal yes/no with a before → after summary; dismisses with a bool.
`AskDialog`: a one-line question (scale to how many?); dismisses with the text or None.

`y` / Enter confirm (True), `n` / Esc cancel (False); with `enter_confirms=False` (a
write to a cluster) only `y` confirms, so an Enter typed ahead cannot. `changes` are
`what: before → after` lines, `warnings` are shown in the warning colour. Every line is
shown as plain text. Use: `self.app.push_screen(ConfirmDialog(...), callback)` or
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
from textual.widgets import Input, Static


class ConfirmDialog(ModalScreen[bool]):
    """Confirm a change: title, before lines, after lines, optional detail lines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("enter", "enter", "Yes", show=False),
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
    ConfirmDialog #dialog > Static {
        width: auto;
        max-width: 100%;
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
    ConfirmDialog .changes {
        margin-bottom: 1;
    }
    ConfirmDialog .warnings {
        color: $text-warning;
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
        changes: Sequence[str] = (),
        warnings: Sequence[str] = (),
        enter_confirms: bool = True,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id)
        self.title_text = title
        self.before = tuple(before)
        self.after = tuple(after)
        self.detail = tuple(detail)
        self.changes = tuple(changes)
        self.warnings = tuple(warnings)
        self.enter_confirms = enter_confirms

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text), id="title")
            if self.changes:
                yield Static(
                    Text("\n".join(f"  {line}" for line in self.changes)), classes="changes"
                )
            if self.warnings:
                yield Static(
                    Text("\n".join(f"! {line}" for line in self.warnings)), classes="warnings"
                )
            if self.before:
                yield Static(Text("before:"), classes="heading")
                yield Static(Text("\n".join(f"  {line}" for line in self.before)), classes="before")
            if self.after:
                yield Static(Text("after:"), classes="heading")
                yield Static(Text("\n".join(f"→ {line}" for line in self.after)), classes="after")
            if self.detail:
                yield Static(Text("\n".join(self.detail)), classes="detail")
            keys = "y / Enter: confirm" if self.enter_confirms else "y: confirm"
            yield Static(Text(f"{keys}    n / Esc: cancel"), id="keys")

    def action_enter(self) -> None:
        if self.enter_confirms:
            self.dismiss(True)
        else:
            self.app.bell()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class AskDialog(ModalScreen[str | None]):
    """One question with a one-line answer: Enter submits the text, Esc cancels (None)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    AskDialog {
        align: center middle;
        background: $background 60%;
    }
    AskDialog > #dialog {
        width: 60;
        max-width: 90%;
        height: auto;
        padding: 1 2;
        border: thick $primary;
        background: $panel;
    }
    AskDialog #question {
        text-style: bold;
        margin-bottom: 1;
    }
    AskDialog #hint {
        color: $text-muted;
    }
    """

    def __init__(self, question: str, value: str = "", hint: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.question), id="question")
            yield Input(self.value, id="answer", select_on_focus=True)
            yield Static(Text(self.hint or "Enter: next    Esc: cancel"), id="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
