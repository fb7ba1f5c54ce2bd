"""`TextSearch`: `/` search over a screen's `TextView`, k9s/less style, as a screen mixin.

A screen that mixes it in composes a `CommandBar(id="search")` and a `Static(id="search-note")`
(hidden until a search is on), binds `slash` to `search`, and says which text is searched
now with `searchable_view()` (None: no search here). The pattern is highlighted as it is
typed; Enter keeps it, Esc in the bar puts back the previous one; `n`/`N` are the text
view's. `clear_search()` is what the screen's Esc does first. The note under the text
says which match of how many is current.
"""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Input, Static

from console.screens.bar_keys import BarKeys
from widgets.command_bar import CommandBar
from widgets.text_view import TextView

PLACEHOLDER = "search: regex, case-insensitive (enter keeps it, esc cancels)"


def search_note(pattern: str, count: int, current: int) -> str:
    """The status line of a search: which match of how many, and the keys."""
    if not pattern:
        return ""
    if not count:
        return f"/{pattern}  no match   esc clears"
    return f"/{pattern}  match {current + 1} of {count}   n next · N previous · esc clears"


class TextSearch(BarKeys):
    """Mixin for a `Screen`: the search bar, live highlighting and the note."""

    _search_before = ""

    def searchable_view(self) -> TextView | None:
        """The text `/` searches now (override); None: `/` does nothing."""
        return None

    @property
    def _screen(self) -> Screen:
        assert isinstance(self, Screen)
        return self

    def action_search(self) -> None:
        view = self.searchable_view()
        if view is None:
            return
        self._search_before = view.search_pattern
        bar = self._screen.query_one("#search", CommandBar)
        bar.open("/")
        bar.placeholder = PLACEHOLDER
        self._screen.set_focus(bar)  # at once: keys typed right after `/` go to the bar

    def clear_search(self) -> bool:
        """Drop the search of the text searched now; False when there was none."""
        view = self.searchable_view()
        if view is None or not view.search_pattern:
            return False
        view.clear_search()
        return True

    def typing_bar(self) -> CommandBar:
        return self._screen.query_one("#search", CommandBar)

    def open_bar_for(self, key: str) -> bool:
        """`/` opens the search (where there is text to search)."""
        if key != "slash" or self.searchable_view() is None:
            return False
        self.action_search()
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        """Matches are highlighted while the pattern is typed."""
        bar = self._screen.query_one("#search", CommandBar)
        view = self.searchable_view()
        if event.input is bar and bar.display and view is not None:
            view.search(event.value)

    def on_command_bar_submitted(self, event: CommandBar.Submitted) -> None:
        view = self.searchable_view()
        if view is not None:
            if event.text != view.search_pattern:
                view.search(event.text)
            view.focus()

    def on_command_bar_cancelled(self, event: CommandBar.Cancelled) -> None:
        view = self.searchable_view()
        if view is not None:
            view.search(self._search_before)
            view.focus()

    def on_text_view_search_changed(self, event: TextView.SearchChanged) -> None:
        self.show_search_note()

    def show_search_note(self) -> None:
        """Show (or hide) the note of the text searched now."""
        view = self.searchable_view()
        note = self._screen.query_one("#search-note", Static)
        text = ""
        if view is not None and view.search_pattern:
            text = search_note(view.search_pattern, view.match_count, view.current_index)
        note.display = bool(text)
        note.update(Text(text))
