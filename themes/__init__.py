"""Textual themes and the .tcss files: kmc-dark (default), kmc-light, kmc-high-contrast,
kmc-colorblind, and the utilization colour scale each of them defines."""

from __future__ import annotations

from pathlib import Path

from themes.palette import (
    DEFAULT_THEME,
    HEALTH_VARIABLES,
    KMC_COLORBLIND,
    KMC_DARK,
    KMC_HIGH_CONTRAST,
    KMC_LIGHT,
    SCALE_VARIABLES,
    THEMES,
    UtilScale,
    health_color,
    util_color,
    util_scale,
    variable_defaults,
)

CONSOLE_TCSS: Path = Path(__file__).with_name("console.tcss")
"""App layout stylesheet; use as `CSS_PATH = themes.CONSOLE_TCSS`."""

__all__ = [
    "CONSOLE_TCSS",
    "DEFAULT_THEME",
    "HEALTH_VARIABLES",
    "KMC_COLORBLIND",
    "KMC_DARK",
    "KMC_HIGH_CONTRAST",
    "KMC_LIGHT",
    "SCALE_VARIABLES",
    "THEMES",
    "UtilScale",
    "health_color",
    "util_color",
    "util_scale",
    "variable_defaults",
]
