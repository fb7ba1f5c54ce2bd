"""Presets: deterministic simulated clusters, from a 3-node laptop toy to 10,000 GPU nodes.

`build(ctx, name)` writes one into the store before the controllers start. The small presets
(`tiny`, `demo`, in `small`) write nodes, the GPU Operator's objects and workload *objects*
and let the controllers create, schedule and run the pods. The scale presets (`large`, `huge`,
in `scale`) write everything directly — owners, then bound, Running pods with complete
statuses — because a scheduling pass over 200,000 pods would blow the time budget.
"""

from __future__ import annotations

from .. import PRESETS
from ..runtime import SimContext
from . import small
from .manifests import gpu_operator_objects, write_namespaces
from .scale import ScaleBuilder

__all__ = ["PRESETS", "build", "gpu_operator_objects"]


def build(ctx: SimContext, name: str) -> None:
    """Write preset `name` into `ctx.store` (deterministic under `ctx.seed`)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    if name in ("large", "huge"):
        ScaleBuilder(ctx, name).build()
        return
    write_namespaces(ctx, ("ml-research", "ml-platform", "serving") if name == "demo" else ("ml",))
    gpu_operator_objects(ctx)
    (small.tiny if name == "tiny" else small.demo)(ctx)
