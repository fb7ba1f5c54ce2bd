"""What the node rules read of a GPU node: its GPU pods, its GPUs, and the GPU Operator's
DaemonSet pods on it (the NVIDIA device plugin, the DCGM exporter) and whether they run.

The device plugin and exporter pods are found by their usual labels and trusted only when a
DaemonSet owns them in a namespace those components install into: a tenant's look-alike pod
must not make a dead plugin look alive.
"""

from __future__ import annotations

from typing import Any

from console.cluster.records import NodeRecord, PodRecord
from console.metrics.dcgm import OPERATOR_NAMESPACES, is_exporter
from console.triage.model import ObjectRef
from console.triage.rules_gpu import affected, listed

PLUGIN_LABELS = (
    ("app", "nvidia-device-plugin-daemonset"),  # GPU Operator
    ("app.kubernetes.io/name", "nvidia-device-plugin"),  # the plugin's Helm chart
    ("name", "nvidia-device-plugin-ds"),  # the static manifest
)
PLUGIN_NAMESPACES = ("gpu-operator", "nvidia-gpu-operator", "nvidia-device-plugin", "kube-system")
_DAEMONS = "node-pods:daemons"
SETTLE_SECONDS = 120.0
"""A DaemonSet pod that restarted this recently is not up yet (it may be crash-looping
between two back-offs)."""


def node_ref(node: NodeRecord) -> ObjectRef:
    return ObjectRef("nodes", "", node.name, "nodes")


def gpu_nodes(inputs: Any) -> list[NodeRecord]:
    return sorted((n for n in inputs.session.items("nodes") if n.has_gpus), key=lambda n: n.name)


def gpu_pods(inputs: Any, node: str) -> list[PodRecord]:
    """The pods on `node` that hold GPUs (bound, not finished, a GPU request)."""
    return [p for p in inputs.session.pods_on_node(node) if p.gpus > 0 and p.holds_resources]


def node_gpus(node: NodeRecord) -> float:
    """Physical GPUs (GFD's count), else the advertised ones."""
    return float(node.gpu_count) or max(node.gpu_capacity.values(), default=0.0)


def impact(inputs: Any, node: NodeRecord) -> tuple[float, list[str], list[str]]:
    """(GPUs, evidence lines, workload labels) of a node whose GPU pods are all stalled:
    the GPUs of every workload with a pod there; the node's own GPUs when none is."""
    pods = gpu_pods(inputs, node.name)
    if not pods:
        return node_gpus(node), ["no GPU pod on it"], []
    gpus, workloads = affected(inputs.session, pods)
    plural = "s" if len(pods) != 1 else ""
    lines = [listed((f"{p.namespace}/{p.name}" for p in pods), f"{len(pods)} GPU pod{plural}:")]
    if workloads:
        lines.append(listed(workloads, "stalls"))
    return gpus, lines, workloads


def _daemons(inputs: Any) -> tuple[dict[str, list[PodRecord]], dict[str, list[PodRecord]]]:
    """(node → device-plugin pods, node → exporter pods), trusted ones only: one walk over
    the pods per evaluation, shared by the rules that ask."""
    return inputs.once(_DAEMONS, lambda: _walk_daemons(inputs))


def _walk_daemons(inputs: Any) -> tuple[dict[str, list[PodRecord]], dict[str, list[PodRecord]]]:
    plugins: dict[str, list[PodRecord]] = {}
    exporters: dict[str, list[PodRecord]] = {}
    for p in inputs.session.items("pods"):
        if p.owner_kind != "DaemonSet" or not p.node:
            continue
        if p.namespace in PLUGIN_NAMESPACES and any(p.labels.get(k) == v for k, v in PLUGIN_LABELS):
            plugins.setdefault(p.node, []).append(p)
        elif p.namespace in OPERATOR_NAMESPACES and is_exporter(p.labels):
            exporters.setdefault(p.node, []).append(p)
    return plugins, exporters


def plugin_pods(inputs: Any) -> dict[str, list[PodRecord]]:
    """Node → its NVIDIA device-plugin pods."""
    return _daemons(inputs)[0]


def exporter_pods(inputs: Any) -> dict[str, list[PodRecord]]:
    """Node → its DCGM exporter pods."""
    return _daemons(inputs)[1]


def expects(node: NodeRecord, operand: str) -> bool:
    """Whether the GPU Operator (or GFD) runs `operand` (`device-plugin`, `dcgm-exporter`)
    on the node: GFD's `gpu.present`, unless the operand's deploy label turns it off."""
    labels = node.labels
    deploy = labels.get(f"nvidia.com/gpu.deploy.{operand}")
    if deploy == "false":
        return False
    return deploy == "true" or labels.get("nvidia.com/gpu.present") == "true"


def up(pod: PodRecord, now: float) -> bool:
    """Running, every container ready, not being deleted, not restarted moments ago."""
    return (
        pod.phase == "Running"
        and not pod.deleting
        and pod.total_containers > 0
        and pod.ready_containers >= pod.total_containers
        and not (pod.last_restart and 0 <= now - pod.last_restart < SETTLE_SECONDS)
    )


def daemon_state(inputs: Any, pods: list[PodRecord], what: str) -> tuple[bool, str]:
    """(whether one of `pods` is up, one evidence line about them)."""
    if not pods:
        return False, f"no {what} pod on the node"
    best = next((p for p in pods if up(p, inputs.now)), None)
    if best is not None:
        return True, f"{what} {best.namespace}/{best.name}: {best.status or best.phase}"
    p = pods[0]
    restarts = f", {p.restarts} restarts" if p.restarts else ""
    last = f" (last: {p.last_termination})" if p.last_termination else ""
    ready = f"{p.ready_containers}/{p.total_containers} ready"
    return False, f"{what} {p.namespace}/{p.name}: {p.status or p.phase}, {ready}{restarts}{last}"
