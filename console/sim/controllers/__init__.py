"""The simulated cluster's controllers, started together by `start_controllers`.

Each controller module exposes `start(ctx)`; keep `start_controllers` a plain list of calls.
"""

from __future__ import annotations

from ..runtime import SimContext
from . import disruption, jobset, kserve, kubeflow, kubelet, nodes, scheduler, trainjob, workloads


def start_controllers(ctx: SimContext) -> None:
    """Start every controller of the simulated cluster on `ctx`."""
    workloads.start(ctx)
    kubeflow.start(ctx)
    jobset.start(ctx)
    trainjob.start(ctx)
    kserve.start(ctx)
    disruption.start(ctx)
    nodes.start(ctx)
    scheduler.start(ctx)
    kubelet.start(ctx)
