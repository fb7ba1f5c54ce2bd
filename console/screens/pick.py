"""`PickScreen`: a small modal list to choose a context or a namespace (`:ctx`, `:ns`).

Enter picks, Esc cancels (dismisses with None). Choices (kubeconfig context names,
namespaces) are untrusted: shown cleaned and as plain text, returned as given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from console.text import clean_line


class PickScreen(ModalScreen[str | None]):
    """Choose one of `choices`; `current` is marked and preselected."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    PickScreen { align: center middle; background: $background 60%; }
    PickScreen > OptionList {
        width: auto; min-width: 30; max-width: 80%; height: auto; max-height: 80%;
        border: round $primary; background: $panel;
    }
    """

    def __init__(self, title: str, choices: Sequence[str], current: str | None = None) -> None:
        super().__init__()
        self.pick_title = title
        self.choices = list(choices)
        self.current = current

    def compose(self) -> ComposeResult:
        options = [
            Option(Text(("● " if c == self.current else "  ") + clean_line(c)), id=str(i))
            for i, c in enumerate(self.choices)
        ]
        option_list = OptionList(*options)
        option_list.border_title = Text(clean_line(self.pick_title))
        if self.current in self.choices:
            option_list.highlighted = self.choices.index(self.current)
        yield option_list

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)
