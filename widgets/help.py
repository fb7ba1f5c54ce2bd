"""`HelpScreen`: a modal listing key bindings, given as plain `(key, description)` rows
grouped by section. Esc, `q` or `?` closes it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.widgets import Static

Section = tuple[str, Sequence[tuple[str, str]]]
"""`(section title, [(key, description), ...])`."""


KEY_COLUMN_MAX = 26
"""The widest the keys column gets (`:logs [pod|job/NAME|server/NAME] [-p]` wraps)."""


class _KeyTable(Static):
    """A Rich table that reports its natural width, so its auto-sized box can fit it.

    Rich measures a table against the container's width, and a `width: auto` parent offers
    0 — the box would collapse to an empty frame. `max-width: 100%` lets the table wrap its
    descriptions once the box reaches its own `max-width`."""

    DEFAULT_CSS = """
    _KeyTable {
        width: auto;
        max-width: 100%;
    }
    """

    def __init__(self, table: Table) -> None:
        super().__init__(table)
        self._table = table

    def get_content_width(self, container: Size, viewport: Size) -> int:
        console = self.app.console
        options = console.options.update_width(viewport.width)
        return Measurement.get(console, options, self._table).maximum


class HelpScreen(ModalScreen[None]):
    """Key bindings by section."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        background: $background 60%;
    }
    HelpScreen > #help {
        width: auto;
        max-width: 90%;
        height: auto;
        max-height: 90%;
        padding: 0 2;
        border: round $primary;
        border-title-color: $primary;
        background: $panel;
    }
    """

    def __init__(self, sections: Sequence[Section], *, title: str = "Help") -> None:
        super().__init__()
        self.sections = [(name, tuple(rows)) for name, rows in sections]
        self.help_title = title

    def compose(self) -> ComposeResult:
        scroll = VerticalScroll(id="help")
        scroll.border_title = Text(self.help_title)
        scroll.border_subtitle = Text("Esc / q / ? close")
        with scroll:
            yield _KeyTable(self._table())

    def _table(self) -> Table:
        key_width = max((cell_len(k) for _, rows in self.sections for k, _ in rows), default=1)
        table = Table.grid(padding=(0, 2))
        # A long command usage wraps in its own column rather than squeezing every description.
        table.add_column(width=min(key_width, KEY_COLUMN_MAX), overflow="fold")
        table.add_column()
        for i, (name, rows) in enumerate(self.sections):
            if i:
                table.add_row("", "")
            table.add_row(Text(name, style="bold underline"), "")
            for key, description in rows:
                table.add_row(Text(key, style="bold"), Text(description))
        return table

    def action_close(self) -> None:
        self.dismiss(None)
