"""`KeysHelp`: the help modal, sized explicitly.

`widgets.help.HelpScreen` sizes its scroll box `width: auto; height: auto`, which
collapses to an empty frame in Textual 8; a fixed width with an auto height shows it.
"""

from __future__ import annotations

from widgets.help import HelpScreen


class KeysHelp(HelpScreen):
    """The console's help: keys of the current view and the `:` commands."""

    DEFAULT_CSS = """
    KeysHelp > #help {
        width: 84;
        max-width: 95%;
        height: auto;
        max-height: 90%;
    }
    """
