"""Cell formatting every telemetry column shares (Rich; moving to `console.render`)."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text

HOT_C = 85.0
"""°C at which a GPU counts as hot (DCGM's slowdown region begins around here)."""


def pct(value: float | None, width: int = 4) -> Text:
    """A plain right-aligned percentage (`61%`), `-` for no data."""
    text = "-" if value is None else f"{value:.0f}%"
    return Text(text.rjust(width), end="")


def temp_cell(value: float | None, warn: Style) -> Text:
    """Hottest GPU temperature; at `HOT_C` or above in the warning style with a `!`."""
    if value is None:
        return Text("-".rjust(4), end="")
    if value >= HOT_C:
        return Text(f"{value:.0f}°C!", style=warn + Style(bold=True), end="")
    return Text(f"{value:.0f}°C".rjust(4), end="")


def power_cell(watts: float | None) -> Text:
    return Text("-" if watts is None else f"{watts:.0f} W", justify="right", end="")


def xid_cell(last_xid: int, gpus: int, error: Style) -> Text:
    """The last XID value (and how many GPUs report one), in the error style; '' for none."""
    if not last_xid:
        return Text("", end="")
    text = f"{last_xid}" + (f"×{gpus}" if gpus > 1 else "")
    return Text(text, style=error, justify="right", end="")


def idle_cell(idle: int | None, warn: Style) -> Text:
    """Allocated-but-idle GPUs: '' without data, `0`, or the count in the warning style."""
    if idle is None:
        return Text("", end="")
    return Text(str(idle), style=warn if idle else "", justify="right", end="")


def short_uuid(uuid: str) -> str:
    """`GPU-5f2c1a9e-...` → `GPU-5f2c1a9e` (enough to tell GPUs apart in a node)."""
    return uuid[:12] if len(uuid) > 12 else uuid


def hint_styles(theme: Any) -> tuple[Style, Style]:
    """(warn, error) foreground styles of the theme's health colours."""
    from themes import health_color

    warn = health_color("warn", theme) or "yellow"
    error = health_color("error", theme) or "red"
    return Style(color=warn), Style(color=error, bold=True)
