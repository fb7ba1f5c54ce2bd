"""Deterministic hashing for the simulation: a stable string hash (Python's `hash` is salted
per process) and splitmix64-based draws, so every simulated number is a pure function of
names, the seed and time."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
"""2⁶⁴ / φ: the splitmix64 increment, spreading consecutive draws across the range."""
_INV53 = 1.0 / (1 << 53)


def stable_hash(text: str) -> int:
    """A stable 64-bit hash of a string (blake2b)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def mix(x: int) -> int:
    """splitmix64 finaliser: a cheap, well-spread 64-bit integer hash."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def unit(h: int, k: int) -> float:
    """Uniform in [0, 1) from (h, k)."""
    return (mix((h + k * GOLDEN) & M64) >> 11) * _INV53


def pick(h: int, k: int, options: Sequence[T]) -> T:
    """One of `options`, chosen by (h, k)."""
    return options[mix((h + k * GOLDEN) & M64) % len(options)]
