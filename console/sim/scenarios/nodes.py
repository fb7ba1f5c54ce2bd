"""The node and GPU incidents: xid, hot-gpu, node-notready, timeslice-stuck, exporter-down.

Each is a set of node annotations written with the nodes (`FAULTS`: the exporter reads the XID,
row-remap and heat annotations; the DaemonSet controller makes the named DaemonSet's pod on
that node crash-loop) and, for some, a change made at a set time before the scenario serves
(`STEPS`: seconds before serving → what to do).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..controllers.nodes import CONFIG_LABEL, PLUGIN_DAEMONSET
from ..kinds import by_kind
from ..managed_fields import record_labels
from ..podspec import CRASHING_DAEMONSETS
from ..runtime import SimContext
from ..telemetry import HOT_ANNOTATION, REMAP_ANNOTATION, XID_ANNOTATION
from .base import Layout

XID_GPU, HOT_GPU = 2, 1
FAULTS: dict[str, dict[str, dict[str, str]]] = {
    "xid": {"h100/0": {XID_ANNOTATION: f"{XID_GPU}:79", REMAP_ANNOTATION: str(XID_GPU)}},
    "hot-gpu": {"a100/2": {HOT_ANNOTATION: str(HOT_GPU)}},
    "exporter-down": {"l4/4": {CRASHING_DAEMONSETS: "nvidia-dcgm-exporter"}},
    "timeslice-stuck": {"l4/3": {CRASHING_DAEMONSETS: PLUGIN_DAEMONSET}},
}
"""Scenario → `pool/index` → annotations the node is created with."""

NOT_READY_BEFORE = 150.0
"""The node stops posting status 2.5 min before serving (its pods tolerate that for an hour)."""
PRESSURE_BEFORE = 600.0
TIMESLICE_BEFORE = 1800.0
SHARING_CONFIG = "any"  # time-slicing ×4 (presets.manifests.SHARING_CONFIGS)
MANAGER = "kmc"
"""The field manager the console's own time-slicing action writes the label as."""


def _conditions(node: dict[str, Any], at: str, changes: dict[str, tuple[str, str, str]]) -> None:
    for cond in node.get("status", {}).get("conditions") or []:
        if cond.get("type") in changes:
            status, reason, message = changes[cond["type"]]
            cond.update(status=status, reason=reason, message=message)
            cond["lastTransitionTime"] = at
            if status != "Unknown":
                cond["lastHeartbeatTime"] = at


def not_ready(ctx: SimContext, name: str) -> None:
    """The kubelet stops posting node status: every condition Unknown (NodeStatusUnknown);
    the node controller then adds the unreachable taints and marks its pods not Ready."""
    at = ctx.clock.iso()
    why = ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    changes = {t: why for t in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")}
    ctx.store.mutate(by_kind("Node"), "", name, lambda node: _conditions(node, at, changes))


def memory_pressure(ctx: SimContext, name: str) -> None:
    """The kubelet reports MemoryPressure; the node lifecycle controller taints the node."""
    at = ctx.clock.iso()
    change = {
        "MemoryPressure": (
            "True",
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
        )
    }

    def apply(node: dict[str, Any]) -> None:
        _conditions(node, at, change)
        taint = {"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"}
        node["spec"].setdefault("taints", []).append({**taint, "timeAdded": at})

    ctx.store.mutate(by_kind("Node"), "", name, apply)


def request_timeslicing(ctx: SimContext, name: str) -> None:
    """Label the node for time-slicing ×4 as the console's action does (a merge patch of the
    label); the API server records when, in the node's managedFields."""
    at = ctx.clock.iso()

    def apply(node: dict[str, Any]) -> None:
        before = {"metadata": {"labels": dict(node["metadata"].get("labels") or {})}}
        node["metadata"].setdefault("labels", {})[CONFIG_LABEL] = SHARING_CONFIG
        record_labels(before, node, MANAGER, at)

    ctx.store.mutate(by_kind("Node"), "", name, apply)


def steps(name: str, layout: Layout) -> list[tuple[float, Callable[[SimContext], None]]]:
    """(seconds before serving, change) for scenario `name`'s node incident."""
    if name == "node-notready":
        return [
            (PRESSURE_BEFORE, lambda ctx: memory_pressure(ctx, layout.h100[3])),
            (NOT_READY_BEFORE, lambda ctx: not_ready(ctx, layout.a100[5])),
        ]
    if name == "timeslice-stuck":
        return [(TIMESLICE_BEFORE, lambda ctx: request_timeslicing(ctx, layout.l4[3]))]
    return []
