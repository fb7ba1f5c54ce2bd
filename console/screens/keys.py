"""Key help generated from the active bindings (no hand-written key lists).

A binding's `tooltip` is its long description; bindings without one (Textual's own:
focus cycling, scrolling a scroll view sideways, copying) are not listed, except the
few app-level ones named in `KNOWN`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.binding import ActiveBinding

KNOWN = {"quit": "quit", "command_palette": "the command palette: every command, fuzzy search"}


def key_rows(
    active: Iterable[ActiveBinding], described: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """`(keys, description)` per action, keys of the same action joined with ` / `,
    in binding order (the focused widget's first, then the screen's, then the app's).
    A binding's tooltip is its long description; `described` overrides it per action
    (a screen saying what Enter on its table does)."""
    rows: dict[tuple[str, str], list[str]] = {}
    for entry in active:
        binding = entry.binding
        action = binding.action
        description = (described or {}).get(action) or binding.tooltip or KNOWN.get(action)
        if not description:
            continue
        keys = rows.setdefault((binding.action, description), [])
        shown = entry.node.app.get_key_display(binding).replace("⏎", "enter")
        if shown not in keys:
            keys.append(shown)
    return [(" / ".join(keys), description) for (_action, description), keys in rows.items()]
