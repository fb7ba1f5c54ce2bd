"""The `timeslice-stuck` rule: a node's requested GPU time-slicing that its allocatable does not
show.

A node asks for a device-plugin config with the label `nvidia.com/device-plugin.config`; the
plugin restarts with it and the kubelet advertises physical GPUs × replicas, GFD rewrites
`gpu.replicas` and `gpu.sharing-strategy` (`console.cluster.timeslicing.Expected.checks`
waits for the same facts after `t`). A change has not converged while any of them differs.
It is stuck — reported — when it cannot converge: the label names no usable config (the
plugin ignores it), or the node's device-plugin pod is down (critical: nothing is allocated
there either; `device-plugin-down` leaves such a node to this rule); or when it has waited
longer than `triage_converge_minutes` since this console first saw it unconverged (the
cluster records no time for a label change).

The configs come from the sharing ConfigMap (`device_plugin.load_configs`: the one the
`device_plugin_config` setting names, else the ClusterPolicy's), read at most once a minute
per session: a blocking request, so evaluate off the UI thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from console.cluster.device_plugin import (
    CONFIG_LABEL,
    DevicePluginConfigs,
    SharingConfig,
    load_configs,
)
from console.cluster.gpu import GPU, GPU_SHARED, label_int
from console.cluster.records import NodeRecord
from console.triage.engine import Thresholds, TriageInputs
from console.triage.model import CRITICAL, WARNING, Finding
from console.triage.node_pods import (
    daemon_state,
    expects,
    gpu_nodes,
    impact,
    node_gpus,
    node_ref,
    plugin_pods,
)

CONFIGS_TTL = 60.0
_CONFIGS, _SEEN, _EVAL = "timeslice-stuck:configs", "timeslice-stuck:seen", "timeslice-stuck:eval"


@dataclass(frozen=True, slots=True)
class Pending:
    """A node whose sharing is not what its label asks for."""

    node: NodeRecord
    label: str
    config: SharingConfig | None
    """None: the label names no usable config."""
    unmet: tuple[str, ...]
    first_seen: float
    plugin_up: bool
    plugin: str
    """One line about its device-plugin pod ("" when none are visible in the cluster)."""


def configs(inputs: TriageInputs, setting: str = "") -> DevicePluginConfigs | str:
    """The sharing configs (the ConfigMap `setting` names, else the ClusterPolicy's), or why
    they cannot be read (cached for `CONFIGS_TTL`)."""
    cached = inputs.state.get(_CONFIGS)
    if cached is not None and 0 <= inputs.now - cached[0] < CONFIGS_TTL:
        return cached[1]
    try:
        result: DevicePluginConfigs | str = load_configs(inputs.session.connection, setting or None)
    except Exception as exc:  # ActionError, a connection failure, a session without one
        result = str(exc) or type(exc).__name__
    inputs.state[_CONFIGS] = (inputs.now, result)
    return result


def _unmet(node: NodeRecord, config: SharingConfig) -> tuple[str, ...]:
    """What differs from the config, as `Expected.checks` compares it."""
    shared = config.shared
    replicas = config.replicas if shared else 1
    resource = config.resource
    other = GPU if resource == GPU_SHARED else GPU_SHARED
    want = node.gpu_count * replicas
    have = node.gpu_allocatable.get(resource, 0.0)
    out = []
    if have != want:
        out.append(f"allocatable {resource} is {have:g}, want {want:g}")
    if node.gpu_allocatable.get(other, 0.0):
        out.append(f"allocatable {other} is {node.gpu_allocatable[other]:g}, want 0")
    gfd = label_int(node.labels.get("nvidia.com/gpu.replicas", ""), 1)
    if gfd != replicas:
        out.append(f"gpu.replicas is {gfd}, want {replicas}")
    strategy = node.labels.get("nvidia.com/gpu.sharing-strategy", "none")
    if strategy != (config.strategy if shared else "none"):
        out.append(f"gpu.sharing-strategy is {strategy}, want {config.strategy}")
    return tuple(out)


def _mig(node: NodeRecord) -> bool:
    return any(r.startswith("nvidia.com/mig-") for r in node.gpu_allocatable) or node.labels.get(
        "nvidia.com/mig.config", "all-disabled"
    ) not in ("all-disabled", "")


def pending_changes(inputs: TriageInputs, thresholds: Thresholds) -> dict[str, Pending]:
    """Node → its unconverged time-slicing change (once per evaluation; remembers when each
    was first seen)."""
    return inputs.once(_EVAL, lambda: _pending_changes(inputs, thresholds))


def _pending_changes(inputs: TriageInputs, thresholds: Thresholds) -> dict[str, Pending]:
    labelled = [
        n
        for n in gpu_nodes(inputs)
        if CONFIG_LABEL in n.labels and n.gpu_count > 0 and n.ready is True and not _mig(n)
    ]
    out: dict[str, Pending] = {}
    seen: dict[str, tuple[str, float]] = inputs.state.get(_SEEN, {})
    remembered: dict[str, tuple[str, float]] = {}
    found = configs(inputs, thresholds.device_plugin_config) if labelled else None
    if isinstance(found, str):
        inputs.notes.append(f"time-slicing configs unreadable ({found}): timeslice-stuck skipped")
    if not isinstance(found, DevicePluginConfigs):
        labelled = []
    plugins = plugin_pods(inputs) if labelled else {}
    for node in labelled:
        label = node.labels[CONFIG_LABEL]
        config = found.configs.get(label) if found is not None else None
        if config is not None and config.error:
            unmet: tuple[str, ...] = (f"the plugin ignores it: {config.error}",)
            config = None
        elif config is None:
            unmet = ("the plugin ignores it: no such config",)
        else:
            unmet = _unmet(node, config)
        if not unmet:
            continue
        first = seen.get(node.name)
        first_seen = first[1] if first is not None and first[0] == label else inputs.now
        remembered[node.name] = (label, first_seen)
        plugin_up, plugin = True, ""
        if plugins and expects(node, "device-plugin"):
            plugin_up, plugin = daemon_state(inputs, plugins.get(node.name, []), "device plugin")
        out[node.name] = Pending(node, label, config, unmet, first_seen, plugin_up, plugin)
    inputs.state[_SEEN] = remembered
    return out


def timeslice_stuck(inputs: TriageInputs, thresholds: Thresholds) -> Iterator[Finding]:
    """A time-slicing change that cannot converge, or has not in `converge_minutes`."""
    changes = pending_changes(inputs, thresholds)
    cached = inputs.state.get(_CONFIGS)
    found = cached[1] if cached is not None else None
    where = (
        found.where if isinstance(found, DevicePluginConfigs) else "the device plugin's ConfigMap"
    )
    for name, p in sorted(changes.items()):
        waited = inputs.now - p.first_seen
        if p.config is not None and p.plugin_up and waited < thresholds.converge_minutes * 60:
            continue
        node = p.node
        asks = p.config.describe() if p.config is not None else "a config that does not exist"
        evidence = [f"{CONFIG_LABEL}={p.label} asks for {asks} ({where})"]
        if p.config is None and isinstance(found, DevicePluginConfigs):
            evidence.append("defined: " + (", ".join(found.names()) or "none"))
        evidence.extend(p.unmet)
        if waited > 0:
            evidence.append(
                f"not converged for {waited / 60:.0f} min (since the console first saw it)"
            )
        if p.plugin:
            evidence.append(p.plugin)
        if not p.plugin_up:
            gpus, lines, workloads = impact(inputs, node)
            evidence.extend(lines)
        else:
            gpus, workloads = node_gpus(node), []
        why = ""
        if not p.plugin_up:
            why = "device plugin down"
        elif p.config is None:
            why = (
                "unknown config"
                if p.label not in getattr(found, "configs", {})
                else "invalid config"
            )
        yield Finding(
            rule="timeslice-stuck",
            severity=CRITICAL if not p.plugin_up else WARNING,
            title=f"time-slicing {p.label!r} not applied" + (f": {why}" if why else ""),
            object=node_ref(node),
            evidence=tuple(evidence),
            action="check the device plugin's pod and its config manager (logs); t picks the config again or turns time-slicing off",
            action_key="t",
            gpus=gpus,
            data={
                "node": name,
                "label": p.label,
                "config": p.config.describe() if p.config is not None else None,
                "unmet": list(p.unmet),
                "waiting_seconds": round(waited, 1),
                "plugin_up": p.plugin_up,
                "workloads": workloads,
            },
        )
