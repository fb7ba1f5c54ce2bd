"""Small formatting helpers for table cells: ages, GPU counts, product names."""

from __future__ import annotations


def age(seconds: float | None) -> str:
    """kubectl-style duration: 45s, 7m30s, 12m, 5h4m, 20h, 3d4h, 45d ('' when unknown)."""
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
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
    """A GPU count: whole numbers without a fraction, else one decimal."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def short_product(product: str) -> str:
    """`NVIDIA-A100-SXM4-80GB` → `A100-SXM4-80GB`."""
    return product.removeprefix("NVIDIA-")


def one_line(text: str, limit: int = 200) -> str:
    """Newlines and tabs to spaces, cut to `limit` characters."""
    flat = text.replace("\n", " ").replace("\t", " ")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
