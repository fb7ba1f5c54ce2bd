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
    """The table's rows, top to bottom, as the plain strings of its shown columns."""
    table = view(app).table
    columns = table.visible_columns
    return [[row.cells[c.index] for c in columns] for row in table.rows]


def column(app: KmcApp, key: str) -> list[str]:
    table = view(app).table
    index = next(c.index for c in table.visible_columns if c.key == key)
    return [row.cells[index] for row in table.rows]


async def populated(pilot: Pilot, app: KmcApp, view_name: str | None = None) -> None:
    """Wait until the visible view (optionally a given one) shows rows."""

    def ready() -> bool:
        screen = view(app)
        return (view_name is None or screen.view.name == view_name) and screen.table.row_count > 0

    await wait_until(pilot, ready)


async def refreshed(pilot: Pilot, app: KmcApp) -> None:
    """Mark the data changed and wait until the visible table shows the pipeline's next
    result (what a watch event does, without one)."""
    screen = view(app)
    before = screen.serial
    assert app.pipeline is not None
    app.pipeline.mark_dirty()
    await wait_until(pilot, lambda: screen.serial > before)


async def redrawn(pilot: Pilot, app: KmcApp) -> None:
    """The visible screen redrawn from the current data: a table waits for the pipeline's
    next result; the other screens redraw at once."""
    if isinstance(app.screen, ResourceScreen):
        await refreshed(pilot, app)
    else:
        app.screen.refresh_data()  # type: ignore[attr-defined]
    await pilot.pause(0.05)


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
