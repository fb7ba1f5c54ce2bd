"""The kmc themes: each registers and applies on an App; the colour-blind scale is CVD-safe."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.color import Color
from textual.widgets import Static

import themes
from themes import DEFAULT_THEME, HEALTH_VARIABLES, KMC_COLORBLIND, SCALE_VARIABLES, THEMES


class ThemedApp(App[None]):
    CSS_PATH = themes.CONSOLE_TCSS

    def __init__(self, theme_name: str) -> None:
        super().__init__()
        self.theme_name = theme_name

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return themes.variable_defaults()

    def compose(self) -> ComposeResult:
        yield Static("x", classes="finding-bad")

    def on_mount(self) -> None:
        for theme in THEMES.values():
            self.register_theme(theme)
        self.theme = self.theme_name


def test_theme_set() -> None:
    assert {"kmc-dark", "kmc-light", "kmc-high-contrast", "kmc-colorblind"} <= set(THEMES)
    assert DEFAULT_THEME == "kmc-dark"
    for theme in THEMES.values():
        assert set(SCALE_VARIABLES + HEALTH_VARIABLES) <= set(theme.variables), theme.name


@pytest.mark.parametrize("name", sorted(THEMES))
async def test_theme_registers_and_applies(name: str) -> None:
    app = ThemedApp(name)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.current_theme.name == name
        bad = Color.parse(THEMES[name].variables["health-bad"])
        assert app.query_one(Static).styles.color.rgb == bad.rgb


async def test_console_tcss_survives_a_builtin_theme() -> None:
    app = ThemedApp("textual-dark")
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.current_theme.name == "textual-dark"


def _cvd_view(color: Color) -> tuple[float, float]:
    """What a red-green colour-blind eye keeps: red+green merged, and blue."""
    return ((color.r + color.g) / 2, color.b)


def test_colorblind_scale_differs_beyond_red_green() -> None:
    scale = themes.util_scale(KMC_COLORBLIND)
    low, high = scale.color(0), scale.color(100)
    (low_rg, low_b), (high_rg, high_b) = _cvd_view(low), _cvd_view(high)
    assert abs(low_b - high_b) >= 100  # the blue channel carries the difference
    assert abs(low_rg - high_rg) >= 60  # and so does lightness
    assert abs(low.brightness - high.brightness) > 0.15
    ok, bad = (Color.parse(KMC_COLORBLIND.variables[v]) for v in ("health-ok", "health-bad"))
    assert abs(ok.b - bad.b) >= 100


def test_util_color_helper() -> None:
    for theme in THEMES.values():
        scale = themes.util_scale(theme)
        assert themes.util_color(0, theme) == scale.low.hex
        assert themes.util_color(100, theme) == scale.high.hex
        assert themes.util_color(150, theme) == scale.high.hex
        assert themes.util_color(None, theme) == scale.none.hex
    assert themes.util_color(50, None) == themes.util_scale(themes.KMC_DARK).mid.hex
    assert themes.health_color("warn", KMC_COLORBLIND) == KMC_COLORBLIND.variables["health-warn"]
    assert themes.health_color(None, KMC_COLORBLIND) is None
