"""stub."""

from ..runtime import SimContext


def start(ctx: SimContext) -> None:
    """Start."""
