"""Helpers for the console's Pilot tests (no tests here): building the app against a
simulated cluster, waiting for rows, reading the table and the screen as text."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from console.app import KmcApp
from console.cluster.connection import connect
from console.config import Settings
from console.screens.resource import ResourceScreen

FROZEN_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z: sim start for snapshots
PINNED_NOW = FROZEN_START + 2 * 3600 + 5 * 60  # the app's "now": every age is stable
PINNED_CLOCK = datetime(2026, 1, 1, 2, 5, 0)


def make_app(
    sim: Any,
    context: str = "kmc-sim",
    *,
    pinned: bool = False,
    **settings: Any,
) -> KmcApp:
    """A console on `sim` (its kubeconfig), optionally with the clock and ages pinned."""
    kubeconfig = str(sim.kubeconfig_path)
    connection = connect(kubeconfig, context, probe=True)
    return KmcApp(
        Settings(kubeconfig=kubeconfig, context=context, **settings),
        connection,
        now=(lambda: PINNED_NOW) if pinned else None,
        header_clock=(lambda: PINNED_CLOCK) if pinned else None,
    )


async def wait_until(pilot: Pilot, condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        try:
            if condition():
                return
        except Exception:  # the screen may be between two states
            pass
    raise AssertionError(f"condition not met within {timeout}s")


def view(app: KmcApp) -> ResourceScreen:
    screen = app.screen
    assert isinstance(screen, ResourceScreen), f"not a resource view: {screen!r}"
    return screen


def table_rows(app: KmcApp) -> list[list[str]]:
    """The visible table, top to bottom, as plain strings."""
    table = view(app).table
    return [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]


def column(app: KmcApp, key: str) -> list[str]:
    screen = view(app)
    index = [c.key for c in screen.columns].index(key)
    return [row[index] for row in table_rows(app)]


async def populated(pilot: Pilot, app: KmcApp, view_name: str | None = None) -> None:
    """Wait until the visible view (optionally a given one) shows rows."""

    def ready() -> bool:
        screen = view(app)
        return (view_name is None or screen.view.name == view_name) and screen.table.row_count > 0

    await wait_until(pilot, ready)


async def command(pilot: Pilot, text: str) -> None:
    """Type a `:` command and press Enter."""
    await pilot.press("colon")
    await pilot.press(*_keys(text))
    await pilot.press("enter")
    await pilot.pause(0.05)


async def filter_(pilot: Pilot, text: str) -> None:
    await pilot.press("slash")
    await pilot.press(*_keys(text))
    await pilot.press("enter")
    await pilot.pause(0.05)


_KEY_NAMES = {
    " ": "space", "/": "slash", ":": "colon", "!": "exclamation_mark", "=": "equals_sign",
    "-": "minus", ".": "full_stop", "[": "left_square_bracket", "]": "right_square_bracket",
    "@": "at", ",": "comma", "_": "underscore",
}  # fmt: skip


def _keys(text: str) -> list[str]:
    return [_KEY_NAMES.get(ch, ch) for ch in text]


def screen_svg(app: KmcApp) -> str:
    return app.export_screenshot()


def screen_text(app: KmcApp) -> str:
    """The screen as text lines, from the SVG screenshot (what a user would see)."""
    svg = screen_svg(app)
    rows: dict[float, list[tuple[float, str]]] = {}
    for match in re.finditer(
        r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg
    ):
        x, y, text = float(match.group(1)), float(match.group(2)), html.unescape(match.group(3))
        rows.setdefault(y, []).append((x, text))
    return "\n".join("".join(t for _, t in sorted(parts)) for _, parts in sorted(rows.items()))


def save(app: KmcApp, path: str | Path) -> None:
    Path(path).write_text(screen_svg(app))
