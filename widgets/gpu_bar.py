"""Compact GPU bars as `rich.text.Text`: allocation (`gpu_bar`) and utilization (`util_text`).

Colour is never the only cue: bars use filled vs empty glyphs and show the numbers.
Colours come from a `themes.UtilScale` passed in (`themes.util_scale(app.current_theme)`).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from themes import UtilScale, util_scale

FULL = "▇"
EMPTY = "▁"


def util_style(percent: float | None, scale: UtilScale | None = None) -> Style:
    """Foreground style for a utilization percentage on `scale` (kmc-dark's by default)."""
    scale = scale or util_scale(None)
    return Style(color=scale.hex(percent))


def gpu_bar(
    used: float,
    total: float,
    width: int = 8,
    *,
    scale: UtilScale | None = None,
    numbers: bool = True,
    percent: float | None = None,
) -> Text:
    """A bar of `width` glyphs for `used` of `total`, e.g. `▇▇▇▁▁▁▁▁ 3/8`.

    The filled part is coloured by `percent` (default: used/total*100) on `scale`.
    A zero or negative total shows an empty dim bar and `-/0`.
    """
    scale = scale or util_scale(None)
    width = max(0, width)
    if total <= 0:
        text = Text(EMPTY * width, style=Style(color=scale.none.hex), end="")
        if numbers:
            text.append(f" {_num(used)}/0" if used else " -/0")
        return text
    fraction = min(1.0, max(0.0, used / total))
    filled = round(fraction * width)
    if used > 0 and filled == 0 and width > 0:
        filled = 1  # something is allocated: never look empty
    pct = fraction * 100.0 if percent is None else percent
    text = Text(end="")
    text.append(FULL * filled, style=util_style(pct, scale))
    text.append(EMPTY * (width - filled), style=Style(color=scale.none.hex))
    if numbers:
        text.append(f" {_num(used)}/{_num(total)}")
    return text


def util_text(percent: float | None, *, scale: UtilScale | None = None, width: int = 4) -> Text:
    """A right-aligned utilization figure such as ` 73%`, coloured on `scale`; `-` for no data."""
    if percent is None or percent != percent:
        return Text("-".rjust(width), style=Style(color=(scale or util_scale(None)).none.hex))
    return Text(f"{percent:.0f}%".rjust(width), style=util_style(percent, scale), end="")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
