"""`LogView`: a log pane on Textual's `Log` (renders only visible lines, bounded memory).

Lines are shown as plain text, never as markup (Textual's `Log` also replaces escape
characters when rendering); callers strip control sequences. `f` toggles follow
(auto-scroll to the newest line); `LogView.FollowChanged` reports the new state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Log


class LogView(Log):
    """A bounded, follow/pause log pane."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "toggle_follow", "Follow"),
    ]

    DEFAULT_CSS = """
    LogView {
        height: 1fr;
        background: $surface;
        color: $foreground;
    }
    """

    class FollowChanged(Message):
        """Follow was switched on or off (`follow`)."""

        def __init__(self, log_view: LogView, follow: bool) -> None:
            super().__init__()
            self.log_view = log_view
            self.follow = follow

        @property
        def control(self) -> LogView:
            return self.log_view

    def __init__(
        self,
        *,
        max_lines: int = 10_000,
        follow: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(
            highlight=False,
            max_lines=max_lines,
            auto_scroll=follow,
            name=name,
            id=id,
            classes=classes,
        )

    @property
    def follow(self) -> bool:
        """Whether new lines scroll the view to the end."""
        return self.auto_scroll

    def set_follow(self, follow: bool) -> None:
        """Switch follow on (jumping to the end) or off; posts `FollowChanged` on change."""
        if follow == self.auto_scroll:
            return
        self.auto_scroll = follow
        if follow:
            self.scroll_end(animate=False, immediate=True)
        self.post_message(self.FollowChanged(self, follow))

    def action_toggle_follow(self) -> None:
        self.set_follow(not self.auto_scroll)

    def write_lines(  # type: ignore[override]
        self, lines: Iterable[str], scroll_end: bool | None = None
    ) -> LogView:
        """Append lines as plain text (no markup); follows the end when `follow` is on."""
        super().write_lines(lines, scroll_end=scroll_end)
        return self
