"""`sparkline_text`: a one-line sparkline as `rich.text.Text`, for table cells and headers."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text

BLOCKS = "▁▂▃▄▅▆▇█"
MISSING = "·"


def block_for(value: float, lo: float = 0.0, hi: float = 100.0) -> str:
    """The block glyph for `value` on the `lo..hi` range (clamped)."""
    span = hi - lo
    fraction = 0.0 if span <= 0 else (value - lo) / span
    fraction = min(1.0, max(0.0, fraction))
    return BLOCKS[min(len(BLOCKS) - 1, int(fraction * len(BLOCKS)))]


def sparkline_text(
    values: Sequence[float | None],
    width: int,
    lo: float = 0.0,
    hi: float = 100.0,
    *,
    style: Style | str = "",
    missing: str = MISSING,
) -> Text:
    """The last `width` values as block glyphs, right-aligned and left-padded with spaces.

    `None` and NaN show as `missing`. Values are clamped to `lo..hi`.
    """
    if width <= 0:
        return Text("")
    tail = list(values[-width:]) if values else []
    glyphs = [missing if v is None or v != v else block_for(float(v), lo, hi) for v in tail]
    return Text(" " * (width - len(glyphs)) + "".join(glyphs), style=style, end="")
