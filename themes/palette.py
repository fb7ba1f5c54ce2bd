"""The kmc themes as data, and the utilization colour scale read from a theme.

Every theme defines, in `Theme.variables`, the utilization scale (`util-low`,
`util-mid`, `util-high`, `util-none`) and the health colours (`health-ok`,
`health-warn`, `health-bad`, `health-dim`). Apps that may also run a non-kmc
theme should return `variable_defaults()` from `App.get_theme_variable_defaults`
so that `.tcss` referring to these variables still parses.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.color import Color
from textual.theme import Theme

SCALE_VARIABLES = ("util-low", "util-mid", "util-high", "util-none")
HEALTH_VARIABLES = ("health-ok", "health-warn", "health-bad", "health-dim")


def _vars(
    low: str, mid: str, high: str, none: str, ok: str, warn: str, bad: str, dim: str
) -> dict[str, str]:
    values = (low, mid, high, none, ok, warn, bad, dim)
    return dict(zip(SCALE_VARIABLES + HEALTH_VARIABLES, values, strict=True))


KMC_DARK = Theme(
    name="kmc-dark",
    primary="#5AA9E6",
    secondary="#8C8CFF",
    accent="#F2A541",
    foreground="#D8DEE9",
    background="#111418",
    surface="#1A1F26",
    panel="#232A34",
    success="#5FB97A",
    warning="#E0B341",
    error="#E25C5C",
    dark=True,
    # viridis-like: dark blue -> teal -> yellow, monotone in lightness (CVD-friendly)
    variables=_vars(
        "#3B5B9A", "#21A685", "#FDE725", "#4C5563", "#5FB97A", "#E0B341", "#E25C5C", "#7A8494"
    ),
)

KMC_LIGHT = Theme(
    name="kmc-light",
    primary="#1F6FB2",
    secondary="#5B4FCF",
    accent="#B86E00",
    foreground="#1E2329",
    background="#F7F8FA",
    surface="#FFFFFF",
    panel="#E6EAF0",
    success="#2E7D32",
    warning="#A56A00",
    error="#C62828",
    dark=False,
    variables=_vars(
        "#3B528B", "#1F8A70", "#C77C00", "#B0B7C3", "#2E7D32", "#A56A00", "#C62828", "#8A93A0"
    ),
)

KMC_HIGH_CONTRAST = Theme(
    name="kmc-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FF00FF",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#1C1C1C",
    success="#00FF66",
    warning="#FFFF00",
    error="#FF3333",
    dark=True,
    luminosity_spread=0.25,
    text_alpha=1.0,
    variables=_vars(
        "#3A7BFF", "#FFFFFF", "#FFFF00", "#808080", "#00FF66", "#FFFF00", "#FF3333", "#A0A0A0"
    ),
)

# Okabe-Ito palette: blue -> sky blue -> orange, health blue / yellow / vermillion.
# No pair relies on red vs green alone: lightness and the blue channel also differ.
KMC_COLORBLIND = Theme(
    name="kmc-colorblind",
    primary="#56B4E9",
    secondary="#CC79A7",
    accent="#E69F00",
    foreground="#E8E8E8",
    background="#101216",
    surface="#191C22",
    panel="#23272F",
    success="#56B4E9",
    warning="#F0E442",
    error="#D55E00",
    dark=True,
    variables=_vars(
        "#0072B2", "#56B4E9", "#E69F00", "#555A63", "#56B4E9", "#F0E442", "#D55E00", "#8A8F98"
    ),
)

THEMES: dict[str, Theme] = {
    theme.name: theme for theme in (KMC_DARK, KMC_LIGHT, KMC_HIGH_CONTRAST, KMC_COLORBLIND)
}
DEFAULT_THEME = KMC_DARK.name


def variable_defaults() -> dict[str, str]:
    """Fallbacks for the custom variables, for `App.get_theme_variable_defaults`."""
    return dict(KMC_DARK.variables)


@dataclass(frozen=True)
class UtilScale:
    """A three-stop colour scale for a 0-100 value; `none` is the no-data colour."""

    low: Color
    mid: Color
    high: Color
    none: Color

    def color(self, percent: float | None) -> Color:
        """Colour for `percent` (clamped to 0..100); `none` when there is no value."""
        if percent is None or percent != percent:  # None or NaN
            return self.none
        p = min(100.0, max(0.0, float(percent)))
        if p <= 50.0:
            return self.low.blend(self.mid, p / 50.0)
        return self.mid.blend(self.high, (p - 50.0) / 50.0)

    def hex(self, percent: float | None) -> str:
        """Colour for `percent` as a `#RRGGBB` string."""
        return self.color(percent).hex

    def steps(self, count: int) -> list[Color]:
        """`count` (>= 2) evenly spaced colours from 0 to 100."""
        return [self.color(100.0 * i / (count - 1)) for i in range(count)]


def util_scale(theme: Theme | None) -> UtilScale:
    """The utilization scale of `theme`; kmc-dark's for a theme that defines none."""
    fallback = KMC_DARK.variables
    variables = theme.variables if theme is not None else {}

    def get(name: str) -> Color:
        return Color.parse(variables.get(name, fallback[name]))

    return UtilScale(get("util-low"), get("util-mid"), get("util-high"), get("util-none"))


def util_color(percent: float | None, theme: Theme | None) -> str:
    """The `#RRGGBB` utilization colour of `percent` in `theme`."""
    return util_scale(theme).hex(percent)


def health_color(hint: str | None, theme: Theme | None) -> str | None:
    """The colour of a health hint ("ok", "warn", "error"/"bad", "dim") in `theme`."""
    name = {"ok": "health-ok", "warn": "health-warn", "error": "health-bad", "bad": "health-bad"}
    variable = name.get(hint or "", "health-dim" if hint == "dim" else "")
    if not variable:
        return None
    variables = theme.variables if theme is not None else {}
    return variables.get(variable, KMC_DARK.variables[variable])
