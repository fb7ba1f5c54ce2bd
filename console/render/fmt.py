"""Cell text helpers: ages, GPU counts, product names, and the telemetry figures.

Plain strings only. Helpers whose cell may be styled return `(text, hint)` (see
`console.render.base.Hint`); the others return the text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from console.render.base import Hint

HOT_C = 85.0
"""°C at which a GPU counts as hot (DCGM's slowdown region begins around here)."""

FULL = "▇"
EMPTY = "▁"
"""The filled and empty glyphs of a GPU bar."""

INVALID = "invalid"
"""The cell of a quantity the cluster sent malformed, not finite, negative or absurd."""

BLOCKS = "▁▂▃▄▅▆▇█"
MISSING = "·"
"""Sparkline glyphs, low to high, and the one for a missing sample."""


def age(seconds: float | None) -> str:
    """kubectl-style duration: 45s, 7m30s, 12m, 5h4m, 20h, 3d4h, 45d ('' when unknown)."""
    if seconds is None or seconds != seconds:
        return ""
    seconds = int(min(max(seconds, 0.0), 1e15))  # -inf too: never int() of an infinity
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


def gpus(value: float) -> str:
    """A GPU count: whole numbers without a fraction, else one decimal; `invalid` for a
    value no count can have (not finite, negative, absurd)."""
    if not 0.0 <= value <= 1e15:  # NaN fails both comparisons
        return INVALID if value != 0.0 else "0"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def short_product(product: str) -> str:
    """`NVIDIA-A100-SXM4-80GB` → `A100-SXM4-80GB`."""
    return product.removeprefix("NVIDIA-")


def one_line(text: str, limit: int = 200) -> str:
    """Newlines and tabs to spaces, cut to `limit` characters."""
    flat = text.replace("\n", " ").replace("\t", " ")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _missing(value: float | None) -> bool:
    return value is None or value != value


def util_hint(percent: float | None) -> str:
    """`util:<0-100>` for a percentage on the utilization scale, `none` without data."""
    if percent is None or percent != percent:
        return "none"
    return f"util:{round(min(100.0, max(0.0, percent)))}"


def pct(value: float | None, width: int = 4) -> str:
    """A right-aligned percentage (` 61%`), `-` for no data."""
    text = "-" if _missing(value) else f"{value:.0f}%"
    return text.rjust(width)


def util(percent: float | None, width: int = 4) -> tuple[str, Hint]:
    """A right-aligned utilization figure (` 73%`, hint `util:73`); `-` (hint `none`)."""
    return pct(percent, width), util_hint(percent)


def gpu_bar(used: float, total: float, width: int = 8) -> tuple[str, Hint]:
    """A bar of `width` glyphs for `used` of `total` (`▇▇▇▁▁▁▁▁`), hint `bar:<used %>`.

    Something allocated never looks empty; a zero or negative total gives an empty bar
    with hint `none`."""
    width = max(0, width)
    if _missing(total) or total <= 0 or _missing(used):
        return EMPTY * width, "none"
    fraction = min(1.0, max(0.0, used / total))
    filled = round(fraction * width)
    if used > 0 and filled == 0 and width > 0:
        filled = 1
    hint = util_hint(fraction * 100.0)
    return FULL * filled + EMPTY * (width - filled), hint.replace("util:", "bar:")


def temp(value: float | None) -> tuple[str, Hint]:
    """Hottest GPU temperature (`72°C`); at `HOT_C` or above with a `!` and hint `warn`."""
    if value is None or value != value:
        return "-".rjust(4), None
    if value >= HOT_C:
        return f"{value:.0f}°C!", "warn"
    return f"{value:.0f}°C".rjust(4), None


def power(watts: float | None) -> str:
    """`250 W`, `-` for no data."""
    return "-" if _missing(watts) else f"{watts:.0f} W"


def xid(last_xid: int, gpus: int = 1) -> tuple[str, Hint]:
    """The last XID value (and how many GPUs report one, `79×2`), hint `bad`; '' for none."""
    if not last_xid:
        return "", None
    return f"{last_xid}" + (f"×{gpus}" if gpus > 1 else ""), "bad"


def idle(count: int | None) -> tuple[str, Hint]:
    """Allocated-but-idle GPUs: '' without data, `0`, or the count with hint `warn`."""
    if count is None:
        return "", None
    return str(count), "warn" if count > 0 else None


def short_uuid(uuid: str) -> str:
    """`GPU-5f2c1a9e-...` → `GPU-5f2c1a9e` (enough to tell GPUs apart in a node)."""
    return uuid[:12] if len(uuid) > 12 else uuid


def block_for(value: float, lo: float = 0.0, hi: float = 100.0) -> str:
    """The block glyph for `value` on the `lo..hi` range (clamped)."""
    span = hi - lo
    fraction = 0.0 if span <= 0 else (value - lo) / span
    fraction = min(1.0, max(0.0, fraction)) if not math.isnan(fraction) else 0.0
    return BLOCKS[min(len(BLOCKS) - 1, int(fraction * len(BLOCKS)))]


def sparkline(
    values: Sequence[float | None],
    width: int,
    lo: float = 0.0,
    hi: float = 100.0,
    missing: str = MISSING,
) -> str:
    """The last `width` values as block glyphs, right-aligned and left-padded with spaces.

    None and NaN show as `missing`; values are clamped to `lo..hi`."""
    if width <= 0:
        return ""
    tail = list(values[-width:]) if values else []
    glyphs = [missing if v is None or v != v else block_for(float(v), lo, hi) for v in tail]
    return " " * (width - len(glyphs)) + "".join(glyphs)
