"""Triage rules about GPU nodes: NotReady or under pressure, the NVIDIA device plugin or the
DCGM exporter not running there, and time-slicing changes that did not converge.

Findings are about a node (the nodes view, where `c` cordons, `r` drains and `t` switches
time-slicing). A NotReady node or a device plugin that is down stalls the GPU pods there, so
impact counts the GPUs they stall (`rules_gpu.affected`: the whole of a distributed training
job, a server's or batch Job's pods there); a node without GPU pods counts its own GPUs
(capacity out of service). The device plugin and exporter pods are trusted DaemonSet pods
(`node_pods`). A node that is not Ready gets only the NotReady finding: its pods are not
ready either, and that says nothing new.
"""

from __future__ import annotations

from collections.abc import Iterator

from console.triage.engine import Rule, Thresholds, TriageInputs
from console.triage.model import CRITICAL, WARNING, Finding
from console.triage.node_pods import (
    daemon_state,
    expects,
    exporter_pods,
    gpu_nodes,
    gpu_pods,
    impact,
    node_gpus,
    node_ref,
    plugin_pods,
)
from console.triage.rules_gpu import listed
from console.triage.timeslice import pending_changes, timeslice_stuck


def _ago(inputs: TriageInputs, since: float) -> str:
    if not since or since > inputs.now:
        return ""
    minutes = (inputs.now - since) / 60
    return f" for {minutes:.0f} min" if minutes < 120 else f" for {minutes / 60:.1f} h"


def node_not_ready(inputs: TriageInputs, thresholds: Thresholds) -> Iterator[Finding]:
    """A GPU node whose Ready condition is False or Unknown: critical while it holds GPU
    pods (they are stalled, or gone once evicted), else a warning (its GPUs are out of
    service)."""
    for node in gpu_nodes(inputs):
        cond = next((c for c in node.conditions if c.type == "Ready"), None)
        if cond is None or cond.status == "True":
            continue
        gpus, lines, workloads = impact(inputs, node)
        held = bool(workloads) or bool(gpu_pods(inputs, node.name))
        why = f": {cond.reason}" if cond.reason else ""
        evidence = [f"Ready={cond.status}{why}{_ago(inputs, cond.since)}"]
        if cond.message:
            evidence.append(cond.message[:200])
        evidence.extend(lines)
        taints = [str(t) for t in node.taints if t.key.startswith("node.kubernetes.io/")]
        if taints:
            evidence.append("taints: " + ", ".join(taints))
        yield Finding(
            rule="node-not-ready",
            severity=CRITICAL if held else WARNING,
            title=f"GPU node NotReady (Ready={cond.status})",
            object=node_ref(node),
            evidence=tuple(evidence),
            action="cordon (c) and drain (r) it so its GPU pods reschedule; then find out why the kubelet stopped",
            action_key="r" if held else "c",
            gpus=gpus,
            since=cond.since,
            data={
                "node": node.name,
                "ready": cond.status,
                "reason": cond.reason,
                "message": cond.message,
                "gpus": node_gpus(node),
                "workloads": workloads,
            },
        )


def node_pressure(inputs: TriageInputs, thresholds: Thresholds) -> Iterator[Finding]:
    """A Ready GPU node under memory, disk or PID pressure (the kubelet evicts pods there)."""
    for node in gpu_nodes(inputs):
        if not node.pressures or node.ready is False:
            continue
        pods = gpu_pods(inputs, node.name)
        evidence = []
        for cond in node.conditions:
            if cond.type in node.pressures:
                detail = f": {cond.message[:160]}" if cond.message else ""
                evidence.append(f"{cond.type}=True{_ago(inputs, cond.since)}{detail}")
        if pods:
            evidence.append(listed((f"{p.namespace}/{p.name}" for p in pods), "GPU pods:"))
        yield Finding(
            rule="node-pressure",
            severity=WARNING,
            title=f"{', '.join(node.pressures)} on a GPU node",
            object=node_ref(node),
            evidence=tuple(evidence),
            action="free memory, disk or PIDs on the node, or cordon it (c) before the kubelet evicts GPU pods",
            action_key="c",
            gpus=sum(p.gpus for p in pods),
            since=min((c.since for c in node.conditions if c.type in node.pressures), default=0.0),
            data={"node": node.name, "pressures": list(node.pressures)},
        )


def device_plugin_down(inputs: TriageInputs, thresholds: Thresholds) -> Iterator[Finding]:
    """The NVIDIA device plugin's pod missing, not Running or not Ready on a Ready GPU node:
    critical, the kubelet cannot allocate GPUs there. A node whose time-slicing change waits
    for that plugin is reported once, by `timeslice-stuck`."""
    by_node = plugin_pods(inputs)
    if not by_node:
        if gpu_nodes(inputs):
            inputs.notes.append("no NVIDIA device-plugin pods visible: device-plugin check skipped")
        return
    waiting = pending_changes(inputs, thresholds)
    for node in gpu_nodes(inputs):
        if node.ready is not True or not expects(node, "device-plugin"):
            continue
        ok, state = daemon_state(inputs, by_node.get(node.name, []), "device plugin")
        if ok or node.name in waiting:
            continue
        gpus, lines, workloads = impact(inputs, node)
        yield Finding(
            rule="device-plugin-down",
            severity=CRITICAL,
            title="NVIDIA device plugin not running: no GPU allocations on this node",
            object=node_ref(node),
            evidence=(state, *lines),
            action="read the device-plugin pod's logs and events; cordon the node (c) until it runs",
            action_key="c",
            gpus=gpus,
            data={"node": node.name, "plugin": state, "workloads": workloads},
        )


def exporter_down(inputs: TriageInputs, thresholds: Thresholds) -> Iterator[Finding]:
    """The DCGM exporter's pod missing or not running on a Ready GPU node, or running while
    the telemetry has nothing from the node: a warning, a blind spot (its XIDs, heat and
    idle GPUs go unseen)."""
    by_node = exporter_pods(inputs)
    store = inputs.store
    live = store is not None and not inputs.telemetry.startswith("none")
    live = live and bool(getattr(store, "samples", 0))
    if not by_node:
        if gpu_nodes(inputs):
            inputs.notes.append("no DCGM exporter pods visible: exporter check skipped")
        return
    reporting = store.nodes() if live else {}
    failed = store.failed() if live else {}
    for node in gpu_nodes(inputs):
        if node.ready is not True or not expects(node, "dcgm-exporter"):
            continue
        ok, state = daemon_state(inputs, by_node.get(node.name, []), "DCGM exporter")
        if ok and (not live or (node.name in reporting and node.name not in failed)):
            continue
        evidence = [state]
        if ok:
            evidence.append(f"no telemetry from it: {failed.get(node.name) or 'no GPU reported'}")
        pods = gpu_pods(inputs, node.name)
        if pods:
            evidence.append(
                listed((f"{p.namespace}/{p.name}" for p in pods), "unwatched GPU pods:")
            )
        yield Finding(
            rule="exporter-down",
            severity=WARNING,
            title="no GPU telemetry from this node (DCGM exporter "
            + ("not reporting)" if ok else "down)"),
            object=node_ref(node),
            evidence=tuple(evidence),
            action="read the exporter pod's logs; until it reports, XID, heat and idle checks cannot see this node",
            action_key="",
            gpus=node_gpus(node),
            data={"node": node.name, "exporter": state, "scrape_error": failed.get(node.name, "")},
        )


RULES: tuple[Rule, ...] = (
    node_not_ready,
    node_pressure,
    device_plugin_down,
    exporter_down,
    timeslice_stuck,
)
