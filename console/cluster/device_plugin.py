"""The NVIDIA device plugin's sharing configs and a node's sharing, read from the cluster.

The ConfigMap is found through the GPU Operator's ClusterPolicy
(`spec.devicePlugin.config.name`, its default key `…config.default`), or named by the
`device_plugin_config` setting (`namespace/name`). Each data key is one config (a YAML
document, untrusted): its `nvidia.com/gpu` replicas, strategy (time-slicing or mps) and
`renameByDefault`. A node's label `nvidia.com/device-plugin.config` picks one; without
the label the node runs the default key (exclusive when there is none). Blocking (HTTP):
call off the UI thread. No Textual here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from console.cluster.actions import ActionError, dig
from console.cluster.connection import ClusterError, Connection
from console.cluster.gpu import GPU, GPU_SHARED, label_int
from console.cluster.kinds import quote_segment
from console.text import clean_line

CONFIG_LABEL = "nvidia.com/device-plugin.config"
CLUSTER_POLICIES = "/apis/nvidia.com/v1/clusterpolicies"
CLUSTER_POLICY = "cluster-policy"
OPERATOR_NAMESPACE = "gpu-operator"
MAX_REPLICAS = 1024


@dataclass(frozen=True)
class SharingConfig:
    """One device-plugin config: `nvidia.com/gpu` replicas and strategy (cleaned)."""

    name: str
    replicas: int = 1
    strategy: str = "none"  # none | time-slicing | mps
    rename: bool = False
    fail_over_one: bool = False
    error: str = ""
    """Why the document cannot be used (it is listed, not offered)."""

    @property
    def shared(self) -> bool:
        return self.replicas > 1 and self.strategy != "none"

    @property
    def resource(self) -> str:
        return GPU_SHARED if self.shared and self.rename else GPU

    def describe(self, short: bool = False) -> str:
        """`exclusive`, `time-slicing ×4`, `mps ×2 as nvidia.com/gpu.shared` (`short`:
        `mps ×2, renamed`)."""
        if self.error:
            return f"invalid: {self.error}"
        if not self.shared:
            return "exclusive"
        renamed = (", renamed" if short else f" as {GPU_SHARED}") if self.rename else ""
        return f"{self.strategy} ×{self.replicas}{renamed}"


EXCLUSIVE = SharingConfig("")


def parse_config(name: str, document: object) -> SharingConfig:
    """A ConfigMap data value (untrusted YAML) → its `nvidia.com/gpu` sharing."""
    name = clean_line(name)
    try:
        config = yaml.safe_load(document) if isinstance(document, str) else None
    except yaml.YAMLError:
        return SharingConfig(name, error="not valid YAML")
    if not isinstance(config, dict):
        return SharingConfig(name, error="not a YAML mapping")
    sharing = config.get("sharing") or {}
    if not isinstance(sharing, dict):
        return SharingConfig(name, error="sharing is not a mapping")
    for strategy, field in (("time-slicing", "timeSlicing"), ("mps", "mps")):
        section = sharing.get(field)
        if not isinstance(section, dict):
            continue
        for resource in section.get("resources") or ():
            if not isinstance(resource, dict) or resource.get("name") != GPU:
                continue
            replicas = resource.get("replicas", 1)
            if (
                isinstance(replicas, bool)
                or not isinstance(replicas, int)
                or not 1 <= replicas <= MAX_REPLICAS
            ):
                return SharingConfig(name, error=f"replicas must be 1…{MAX_REPLICAS}")
            rename = bool(section.get("renameByDefault") or resource.get("rename"))
            fail = bool(section.get("failRequestsGreaterThanOne"))
            if replicas == 1:
                return SharingConfig(name)
            return SharingConfig(name, replicas, strategy, rename, fail)
    return SharingConfig(name)


@dataclass(frozen=True)
class DevicePluginConfigs:
    """The sharing ConfigMap: where it is, its default key and its configs by name."""

    namespace: str
    configmap: str
    default: str
    configs: Mapping[str, SharingConfig]

    @property
    def where(self) -> str:
        return f"{self.namespace}/{self.configmap}"

    def names(self) -> list[str]:
        """Config names a node may be switched to (valid ones), sorted."""
        return sorted(n for n, c in self.configs.items() if not c.error)

    def for_label(self, label: str | None) -> SharingConfig:
        """What a node with this label value runs (None: no label → the default)."""
        if label is None:
            return self.configs.get(self.default, EXCLUSIVE) if self.default else EXCLUSIVE
        return self.configs.get(label, EXCLUSIVE)


def load_configs(connection: Connection, setting: str | None = None) -> DevicePluginConfigs:
    """The device plugin's sharing ConfigMap: named by `setting` (`namespace/name` or
    `name` in gpu-operator), else by the GPU Operator's ClusterPolicy. ActionError (one
    line) when neither names one or it cannot be read."""
    default = ""
    if setting:
        namespace, _, name = setting.rpartition("/")
        namespace = namespace or OPERATOR_NAMESPACE
    else:
        namespace, name, default = _from_cluster_policy(connection)
    try:
        raw = json.loads(
            connection.get(
                f"/api/v1/namespaces/{quote_segment(namespace)}/configmaps/{quote_segment(name)}"
            )
        )
    except ClusterError as exc:
        where = clean_line(f"{namespace}/{name}")
        if exc.status == 404:
            raise ActionError(
                f"the device plugin's config ConfigMap {where} does not exist"
            ) from None
        raise ActionError(
            f"reading the device plugin's configs {where}: {exc}", exc.status
        ) from None
    except ValueError:
        raise ActionError("the device plugin's ConfigMap is not JSON") from None
    data = raw.get("data") if isinstance(raw, dict) else None
    configs = {
        clean_line(k): parse_config(str(k), v)
        for k, v in (data.items() if isinstance(data, dict) else ())
    }
    return DevicePluginConfigs(
        clean_line(namespace), clean_line(name), clean_line(default), configs
    )


def _from_cluster_policy(connection: Connection) -> tuple[str, str, str]:
    hint = '; name it with the setting device_plugin_config = "namespace/name"'
    try:
        raw = json.loads(connection.get(CLUSTER_POLICIES))
    except ClusterError as exc:
        if exc.status == 404:
            raise ActionError("no GPU Operator ClusterPolicy in this cluster" + hint) from None
        raise ActionError(f"reading the ClusterPolicy: {exc}", exc.status) from None
    except ValueError:
        raise ActionError("the ClusterPolicy list is not JSON") from None
    items = (
        [i for i in (raw.get("items") or ()) if isinstance(i, dict)]
        if isinstance(raw, dict)
        else []
    )
    if not items:
        raise ActionError("no GPU Operator ClusterPolicy in this cluster" + hint)
    policy = next((i for i in items if dig(i, "metadata", "name") == CLUSTER_POLICY), items[0])
    ref = dig(policy, "spec", "devicePlugin", "config") or {}
    name = ref.get("name") if isinstance(ref, dict) else None
    if not isinstance(name, str) or not name:
        raise ActionError(
            "the ClusterPolicy names no device-plugin config (spec.devicePlugin.config.name):"
            " time-slicing is not set up in this cluster"
        )
    namespace = dig(policy, "status", "namespace")
    default = ref.get("default") if isinstance(ref.get("default"), str) else ""
    return (
        (namespace if isinstance(namespace, str) and namespace else OPERATOR_NAMESPACE),
        name,
        default,
    )


@dataclass(frozen=True)
class NodeSharing:
    """A node's sharing as it is now (from its labels and allocatable)."""

    node: str
    label: str | None  # the config label's value, None without one
    physical: int  # GFD nvidia.com/gpu.count
    replicas: int
    strategy: str
    allocatable: Mapping[str, str]  # nvidia.com/gpu and nvidia.com/gpu.shared, as sent
    product: str

    def describe(self) -> str:
        if self.replicas > 1 and self.strategy != "none":
            return f"{self.strategy} ×{self.replicas}"
        return "exclusive"

    def amount(self, resource: str) -> str:
        return self.allocatable.get(resource, "0")


def node_sharing(node: dict[str, Any]) -> NodeSharing:
    labels = dig(node, "metadata", "labels") or {}
    labels = labels if isinstance(labels, dict) else {}
    allocatable = dig(node, "status", "allocatable") or {}
    allocatable = allocatable if isinstance(allocatable, dict) else {}
    label = labels.get(CONFIG_LABEL)
    return NodeSharing(
        clean_line(dig(node, "metadata", "name") or ""),
        clean_line(label) if isinstance(label, str) else None,
        label_int(str(labels.get("nvidia.com/gpu.count", "")), 0),
        label_int(str(labels.get("nvidia.com/gpu.replicas", "")), 1),
        clean_line(labels.get("nvidia.com/gpu.sharing-strategy", "none")),
        {r: clean_line(allocatable[r]) for r in (GPU, GPU_SHARED) if r in allocatable},
        clean_line(labels.get("nvidia.com/gpu.product", "")),
    )
