"""`BarKeys`: a screen mixin that gives its `CommandBar` the keys typed in one burst right
after the key that opens it.

A paste, a fast typist or `tmux send-keys` sends `:cordon` or `/loss` faster than the bar
takes the focus: without this, the keys after `:` reach the widget that had the focus and
its bindings (`:cordon` would press `c`, `o`, `r`, `d` on the table). The screen says which
bar (`typing_bar`) and which keys open it (`open_bar_for`).
"""

from __future__ import annotations

from textual import events
from textual.screen import Screen

from widgets.command_bar import CommandBar


class BarKeys:
    """Mixin for a `Screen` with a `CommandBar`: the opening key opens the bar and focuses it
    at once; while the bar is open and focused, printable keys, Enter and Esc are the bar's
    even when they were routed to the screen."""

    def typing_bar(self) -> CommandBar:
        """The bar the burst belongs to (override when the screen has several)."""
        assert isinstance(self, Screen)
        return self.query_one(CommandBar)

    def open_bar_for(self, key: str) -> bool:
        """Open the bar if `key` opens it here (override); False: not this key, or not now."""
        return False

    async def on_key(self, event: events.Key) -> None:
        screen = self
        assert isinstance(screen, Screen)
        bar = self.typing_bar()
        if not bar.display and self.open_bar_for(event.key):
            event.stop()
            screen.set_focus(bar)  # at once: the keys typed right after go to the bar
            return
        if not (bar.display and screen.focused is bar):
            return
        if event.is_printable and event.character:
            event.stop()
            bar.insert_text_at_cursor(event.character)
        elif event.key == "enter":
            event.stop()
            await bar.action_submit()
        elif event.key == "escape":
            event.stop()
            bar.action_cancel()
