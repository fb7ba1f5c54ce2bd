"""The block glyphs of a value on a scale, for the widgets that draw levels (the heatmap).

The render layer has its own copy (`console.render.fmt`) for plain-text sparkline cells:
widgets may not import the console, and the render layer may not import widgets."""

from __future__ import annotations

BLOCKS = "▁▂▃▄▅▆▇█"
MISSING = "·"


def block_for(value: float, lo: float = 0.0, hi: float = 100.0) -> str:
    """The block glyph for `value` on the `lo..hi` range (clamped)."""
    span = hi - lo
    fraction = 0.0 if span <= 0 else (value - lo) / span
    fraction = min(1.0, max(0.0, fraction))
    return BLOCKS[min(len(BLOCKS) - 1, int(fraction * len(BLOCKS)))]
