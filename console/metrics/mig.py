"""MIG instances in DCGM telemetry: the parent GPU aggregates its instances.

dcgm-exporter gives every MIG instance its parent's `gpu` and `UUID` and tells them apart
by `GPU_I_PROFILE` / `GPU_I_ID`; instances have no `DCGM_FI_DEV_GPU_UTIL`, only the
profiling fields, so their utilization is `DCGM_FI_PROF_GR_ENGINE_ACTIVE` ×100 (and the
reading says so in `util_metric`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from console.metrics.model import GR_METRIC, UTIL_METRIC, GpuReading, SlotKey

MIG_ID, MIG_PROFILE = "GPU_I_ID", "GPU_I_PROFILE"


def _slices(profile: str) -> int:
    """Compute slices of a MIG profile (`3g.40gb` → 3; 1 when unreadable)."""
    head = profile.partition("g")[0]
    return int(head) if head.isascii() and head.isdigit() and 0 < len(head) <= 2 else 1


def finish(reading: GpuReading) -> None:
    """Utilization from `DCGM_FI_PROF_GR_ENGINE_ACTIVE` when `DCGM_FI_DEV_GPU_UTIL` is
    absent (MIG instances have only profiling fields), with the metric it came from."""
    if reading.util is not None:
        reading.util_metric = reading.util_metric or UTIL_METRIC
    elif reading.gr_active is not None and math.isfinite(reading.gr_active):
        reading.util = 100.0 * reading.gr_active
        reading.util_metric = GR_METRIC


def aggregate(parent: GpuReading) -> None:
    """A MIG parent's figures from its instances: utilization weighted by the instances'
    compute slices, framebuffer summed, pods gathered; device-level figures (temperature,
    power, clocks, XID) stay the parent's own."""
    instances = parent.instances
    weighted = [(i.util, _slices(i.profile)) for i in instances if i.util is not None]
    if parent.util is None and weighted:
        parent.util = sum(u * w for u, w in weighted) / sum(w for _, w in weighted)
        parent.util_metric = GR_METRIC
    for attr in ("fb_used", "fb_free"):
        values = [v for i in instances if (v := getattr(i, attr)) is not None]
        if getattr(parent, attr) is None and values:
            setattr(parent, attr, sum(values))
    pods = list(parent.pods)
    for i in instances:
        pods.extend(p for p in i.pods if p not in pods)
    parent.pods = tuple(pods)
    if not parent.model:
        parent.model = next((i.model for i in instances if i.model), "")


def attach_instances(readings: Mapping[SlotKey, GpuReading]) -> list[GpuReading]:
    """The whole GPUs sorted by (node, index), MIG instances attached to their parent (one
    made when the exporter sent only instance lines) and aggregated into it."""
    parents: dict[tuple[str, int], GpuReading] = {}
    instances: dict[tuple[str, int], list[GpuReading]] = {}
    for key in sorted(readings, key=lambda k: (k[0], k[1], k[2] if len(k) > 2 else -1)):
        reading = readings[key]
        finish(reading)
        if reading.mig_id is None:
            parents[(reading.node, reading.index)] = reading
        else:
            instances.setdefault((reading.node, reading.index), []).append(reading)
    for gpu, found in instances.items():
        parent = parents.get(gpu)
        if parent is None:
            first = found[0]
            parent = parents[gpu] = GpuReading(gpu[0], gpu[1], uuid=first.uuid, model=first.model)
        parent.instances = tuple(found)
        aggregate(parent)
    return [parents[k] for k in sorted(parents)]
