"""`CommandBar`: the k9s-style `:` command / `/` filter input.

`open(":")` or `open("/")` shows and focuses it. In command mode the line is
suggested from the supplied command words, which may carry an argument (`timeslice
any`): Right or Tab accepts; Tab with several matches completes their common prefix.
Enter posts `CommandBar.Submitted(mode, text)`, Esc posts `CommandBar.Cancelled(mode)`;
both clear the bar and, with `auto_hide`, hide it. While typing, Textual's `Input.Changed`
is posted as usual (live filtering).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input

Mode = Literal[":", "/"]


class CommandBar(Input):
    """The command / filter line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", show=False, priority=True),
        Binding("escape", "cancel", "Cancel", show=False),
    ]

    DEFAULT_CSS = """
    CommandBar {
        height: 1;
        border: none;
        padding: 0 1;
        background: $panel;
        color: $foreground;
    }
    CommandBar:focus {
        border: none;
        background: $panel;
    }
    CommandBar > .input--placeholder, CommandBar > .input--suggestion {
        color: $text-muted;
    }
    """

    class Submitted(Message):
        """Enter: `mode` (":" or "/") and the stripped `text`."""

        def __init__(self, bar: CommandBar, mode: Mode, text: str) -> None:
            super().__init__()
            self.bar = bar
            self.mode = mode
            self.text = text

        @property
        def control(self) -> CommandBar:
            return self.bar

    class Cancelled(Message):
        """Esc: the bar was dismissed in `mode`."""

        def __init__(self, bar: CommandBar, mode: Mode) -> None:
            super().__init__()
            self.bar = bar
            self.mode = mode

        @property
        def control(self) -> CommandBar:
            return self.bar

    def __init__(
        self,
        commands: Sequence[str] = (),
        *,
        auto_hide: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, select_on_focus=False)
        self.mode: Mode = ":"
        self.auto_hide = auto_hide
        self.display = not auto_hide  # with auto_hide the bar appears only on open()
        self.set_commands(commands)

    def set_commands(self, commands: Sequence[str]) -> None:
        """Replace the command words offered for completion."""
        self.commands = tuple(dict.fromkeys(commands))
        if self.mode == ":":
            self.suggester = SuggestFromList(self.commands, case_sensitive=False)

    def open(self, mode: Mode = ":", text: str = "") -> None:
        """Show the bar in `mode` with `text`, and focus it."""
        self.mode = mode
        self.suggester = (
            SuggestFromList(self.commands, case_sensitive=False) if mode == ":" else None
        )
        self.placeholder = (
            "command (Tab completes)" if mode == ":" else "filter: regex, -l label=value, !invert"
        )
        self.value = text
        self.cursor_position = len(text)
        self.display = True
        self.focus()

    def completions(self, prefix: str) -> list[str]:
        """Command words starting with `prefix` (case-insensitive)."""
        folded = prefix.casefold()
        return [c for c in self.commands if c.casefold().startswith(folded)]

    def action_complete(self) -> None:
        if self.mode != ":":
            return  # words with a space (`timeslice any`) complete an argument too
        matches = self.completions(self.value)
        if len(matches) == 1:
            self.value = matches[0] + " "
        elif matches:
            common = _common_prefix([m.casefold() for m in matches])
            if len(common) > len(self.value):
                self.value = matches[0][: len(common)]
        self.cursor_position = len(self.value)

    async def action_submit(self) -> None:
        text = self.value.strip()
        self.post_message(self.Submitted(self, self.mode, text))
        self._done()

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled(self, self.mode))
        self._done()

    def _done(self) -> None:
        self.value = ""
        if self.auto_hide:
            self.display = False


def _common_prefix(words: Sequence[str]) -> str:
    first, last = min(words), max(words)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]
