"""Which node a DCGM sample is from, and whether its `pod` label is the exporter itself.

Under Prometheus the labels depend on the scrape setup: kube-prometheus-stack's
ServiceMonitors (`honorLabels: false`) put the workload's pod in `exported_pod` and the
exporter's own pod in `pod`, and add the target's `instance` (the exporter pod's
`IP:port`) and often `node`; exporters before 3.1.6 set `Hostname` to their own pod's
name. `NodeResolver` tells the node from whichever of these names a node.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from console.metrics.model import LABEL_MODES, LabelNames, pick

EXPORTER_POD_PREFIXES = ("nvidia-dcgm-exporter-", "dcgm-exporter-")
"""DaemonSet pod names of the exporter (GPU Operator, standalone chart): without a cluster
cache, a `pod` label with one of these names is the exporter itself, not a GPU's holder."""


class NodeResolver:
    """Which node a sample is from, and whether its `pod` label is the exporter itself.

    `nodes`: the cluster's node names (None: unknown, the host label is trusted);
    `exporters`: the exporter pods as (namespace, pod) → node; `by_ip`: exporter pod IP →
    node (a Prometheus target's `instance` is the exporter pod's `IP:port`)."""

    def __init__(
        self,
        names: LabelNames = LABEL_MODES["auto"],
        nodes: Collection[str] | None = None,
        exporters: Mapping[tuple[str, str], str] | None = None,
        by_ip: Mapping[str, str] | None = None,
    ) -> None:
        self.names = names
        self.nodes = nodes
        self.exporters = exporters
        self.by_pod = {pod: node for (_ns, pod), node in (exporters or {}).items()}
        self.by_ip = by_ip or {}

    def _names_node(self, value: str) -> bool:
        return bool(value) and (self.nodes is None or value in self.nodes)

    def node(self, labels: Mapping[str, str]) -> str:
        """The node of a sample, "" when none can be told."""
        host = pick(labels, self.names.host)
        if self._names_node(host):
            return host
        if host in self.by_pod:  # an old exporter's Hostname is its own pod's name
            return self.by_pod[host]
        for name in self.names.node:
            value = labels.get(name, "")
            if self._names_node(value):
                return value
        instance = labels.get("instance", "")
        if instance:
            address = instance.rsplit(":", 1)[0].strip("[]") if ":" in instance else instance
            if address in self.by_ip:
                return self.by_ip[address]
        return ""

    def is_exporter(self, namespace: str, pod: str) -> bool:
        """True when (namespace, pod) is the exporter's own pod (a target label, not a holder)."""
        if self.exporters is not None:
            return (namespace, pod) in self.exporters
        return pod.startswith(EXPORTER_POD_PREFIXES)
