"""`PodSubsetScreen`: choose which pods a merged log view shows (space toggles, Enter
applies, Esc cancels). Each pod is listed with its line and error counts, errors first."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import SelectionList
from textual.widgets.selection_list import Selection

from console.render.logs import LogBuffer


class PodSubsetScreen(ModalScreen[set[int] | None]):
    """Dismisses with the set of hidden source indices, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "apply", "Apply", priority=True),
        Binding("a", "all", "All"),
    ]

    DEFAULT_CSS = """
    PodSubsetScreen { align: center middle; background: $background 60%; }
    PodSubsetScreen > SelectionList {
        width: auto; min-width: 40; max-width: 90%; height: auto; max-height: 80%;
        border: round $primary; background: $panel;
    }
    """

    def __init__(self, buffer: LogBuffer) -> None:
        super().__init__()
        self.buffer = buffer

    def compose(self) -> ComposeResult:
        sources = self.buffer.sources
        order = sorted(range(len(sources)), key=lambda i: (-sources[i].errors, sources[i].name))
        selections = []
        for i in order:
            s = sources[i]
            label = Text(f"{s.label:<4} {s.name}  {s.lines:,} lines  {s.errors:,} errors")
            if s.gone:
                label.append("  gone", style="italic")
            selections.append(Selection(label, i, i not in self.buffer.hidden_sources))
        pods = SelectionList[int](*selections)
        pods.border_title = Text("pods: space toggles, a all, enter applies")
        yield pods

    def action_all(self) -> None:
        self.query_one(SelectionList).select_all()

    def action_apply(self) -> None:
        chosen = set(self.query_one(SelectionList).selected)
        self.dismiss({i for i in range(len(self.buffer.sources)) if i not in chosen})

    def action_cancel(self) -> None:
        self.dismiss(None)
