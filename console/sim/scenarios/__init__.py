"""Named incident scenarios: a small healthy GPU cluster (`base`) plus one incident, or none,
or all of them at once on distinct objects — each visible from the first list after start.

    layout = build(ctx, "xid")   # before the controllers start: operator, nodes, old workloads
    warm(ctx, "xid", layout)     # after: run the cluster up to the moment it serves

Time is what makes incidents show: the cluster is built `WARMUP` (4 h) of sim time before it
serves. Its first minute runs second by second (the long-lived pods start), then the clock
jumps to `PHASE` (30 min) before serving, where the short-lived incidents start and run second
by second: restarts pile up, a job fails, the scheduler records FailedScheduling, a job's
MLflow run stops logging. Node changes happen at their set times before serving. Everything is
deterministic under the seed.
"""

from __future__ import annotations

from .. import SCENARIOS
from ..presets.small import _Writer
from ..runtime import SimContext
from . import nodes, workloads
from .base import NAMESPACES, Layout, healthy_finetune, write_cluster

__all__ = ["INCIDENTS", "NAMESPACES", "SCENARIOS", "WARMUP", "Layout", "build", "incidents", "warm"]

WARMUP = 4 * 3600.0
"""Sim seconds from building the cluster to serving it."""
START = 60.0
"""Seconds run step by step after the build, so the long-lived pods start at build time."""
FINETUNE_BEFORE = 400.0
"""The healthy MLflow job starts this long before serving: its history fits the feed's first
batch, so its run is never seen stalled."""
INCIDENTS = tuple(name for name in SCENARIOS if name not in ("none", "all"))


def incidents(name: str) -> tuple[str, ...]:
    """The incidents scenario `name` shows."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    return INCIDENTS if name == "all" else () if name == "none" else (name,)


def build(ctx: SimContext, name: str) -> Layout:
    """Write scenario `name`'s cluster and long-lived workloads (before the controllers start)."""
    shown = incidents(name)
    faults: dict[str, dict[str, str]] = {}
    for incident in shown:
        for where, notes in nodes.FAULTS.get(incident, {}).items():
            faults.setdefault(where, {}).update(notes)
    w, layout = write_cluster(ctx, faults)
    for incident in shown:
        if incident in workloads.LONG_LIVED:
            workloads.LONG_LIVED[incident](w, layout)
    return layout


def warm(ctx: SimContext, name: str, layout: Layout) -> None:
    """Run the built cluster (controllers started) for `WARMUP` sim seconds, starting the
    short-lived incidents and making the node changes at their times."""
    shown = incidents(name)
    ctx.advance(START)
    # one step: the hours when nothing changes pass at once (timers due meanwhile fire at its end)
    ctx.advance(WARMUP - START - workloads.PHASE, step=WARMUP)
    serve_at = ctx.clock.now() + workloads.PHASE

    def short_lived() -> None:
        w = _Writer(ctx)
        for incident in shown:
            if incident in workloads.SHORT_LIVED:
                workloads.SHORT_LIVED[incident](w, layout)

    ctx.after(0, short_lived)
    ctx.after(workloads.PHASE - FINETUNE_BEFORE, lambda: healthy_finetune(_Writer(ctx), layout))
    for incident in shown:
        for before, change in nodes.steps(incident, layout):
            ctx.after(serve_at - before - ctx.clock.now(), lambda c=change: c(ctx))
    ctx.advance(workloads.PHASE)
