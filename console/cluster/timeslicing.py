"""GPU time-slicing per node: switch a node's device-plugin config (the node label
`nvidia.com/device-plugin.config`) and follow the transition.

    action = SetTimeslice("gpu-7", "any")               # "off": remove the label
    plan = runner.prepare(action)                        # before → after, warnings
    runner.execute(action)                               # the label patch, audited
    follow(connection, action.expected, report=...)      # until allocatable and GFD agree

The configs come from `console.cluster.device_plugin`. After the label changes the device
plugin restarts with the new config; the kubelet then advertises physical GPUs × replicas
(`nvidia.com/gpu.shared` when `renameByDefault`) and GFD rewrites `gpu.replicas` and
`gpu.sharing-strategy`. `follow` reads the node until they match, or says the change did
not converge. Blocking (HTTP): call off the UI thread. No Textual here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from console.cluster.actions import (
    MERGE_PATCH,
    Action,
    ActionError,
    Change,
    Plan,
    WriteRequest,
    read_object,
)
from console.cluster.actions_node import node_ref
from console.cluster.connection import ClusterError, Connection
from console.cluster.device_plugin import (
    CONFIG_LABEL,
    DevicePluginConfigs,
    NodeSharing,
    SharingConfig,
    load_configs,
    node_sharing,
)
from console.cluster.drain import pod_of
from console.cluster.gpu import GPU, GPU_SHARED
from console.cluster.rbac import Access
from console.text import clean_line

OFF = "off"
CONVERGE_SECONDS = 90.0
"""How long the device plugin gets to restart and the kubelet to advertise the new count."""


@dataclass(frozen=True)
class Expected:
    """What the node should show once the device plugin runs the new config."""

    node: str
    label: str | None
    config: SharingConfig
    physical: int

    @property
    def amount(self) -> int:
        return self.physical * (self.config.replicas if self.config.shared else 1)

    def checks(self, node: dict[str, Any]) -> list[tuple[str, str, str]]:
        """`(what, want, have)` for each fact the transition waits for."""
        now = node_sharing(node)
        config = self.config
        other = GPU if config.resource == GPU_SHARED else GPU_SHARED
        return [
            (f"label {CONFIG_LABEL}", self.label or "(none)", now.label or "(none)"),
            (f"allocatable {config.resource}", str(self.amount), now.amount(config.resource)),
            (f"allocatable {other}", "0", now.amount(other)),
            ("gpu.replicas", str(config.replicas if config.shared else 1), str(now.replicas)),
            ("gpu.sharing-strategy", config.strategy if config.shared else "none", now.strategy),
        ]


class SetTimeslice(Action):
    """Switch a node's device-plugin config (`off`: remove the label → the default)."""

    verb = "timeslice"

    def __init__(self, node: str, config: str, setting: str | None = None) -> None:
        self.target = node_ref(node)
        self.config = config.strip()
        self.setting = setting
        self.expected: Expected | None = None
        """Set by `plan`: what the node should converge to."""
        self.configs: DevicePluginConfigs | None = None

    def needs(self) -> tuple[Access, ...]:
        return (self.target.access("patch"),)

    def plan(self, connection: Connection) -> Plan:
        if not self.config:
            raise ActionError("timeslice: name a config, or off (:timeslice CONFIG|off)")
        configs = self.configs = load_configs(connection, self.setting)
        label = None if self.config.lower() == OFF else self.config
        if label is not None and label not in configs.names():
            known = ", ".join(configs.names()) or "none"
            why = configs.configs[label].error if label in configs.configs else "not defined"
            raise ActionError(
                f"config {clean_line(label)!r} {why} in {configs.where} (defined: {known}): nothing sent"
            )
        node = read_object(connection, self.target)
        now = node_sharing(node)
        name = self.target.label()
        if now.physical <= 0:
            raise ActionError(
                f"{name} has no nvidia.com/gpu.count label (no GPU Feature Discovery): not a device-plugin GPU node"
            )
        target = configs.for_label(label)
        expected = self.expected = Expected(self.target.name, label, target, now.physical)
        current = (
            configs.for_label(now.label)
            if now.label is None or now.label in configs.configs
            else None
        )
        before_config, after_config = _config_text(now.label, configs), _config_text(label, configs)
        changes = [
            Change("device-plugin config", before_config, after_config),
            Change("sharing", now.describe(), target.describe()),
        ]
        for resource in dict.fromkeys((target.resource, *now.allocatable)):
            if resource == target.resource:
                times = target.replicas if target.shared else 1
                want = f"{expected.amount} ({now.physical} GPUs × {times})"
            else:
                want = "0"
            changes.append(Change(f"allocatable {resource}", now.amount(resource), want))
        notes = self._notes(connection, now, target, current)
        if now.label == label and all(want == have for _w, want, have in expected.checks(node)):
            return Plan(
                self.verb,
                self.target,
                unchanged=f"{name} already runs {target.describe()} ({CONFIG_LABEL}: {after_config})",
            )
        body = {"metadata": {"labels": {CONFIG_LABEL: label}}}
        request = WriteRequest("PATCH", self.target.path(), self.needs()[0], body, MERGE_PATCH)
        done = f"{name}: device-plugin config {after_config} set; waiting for allocatable {expected.amount}"
        return Plan(self.verb, self.target, tuple(changes), (request,), tuple(notes), done=done)

    def _notes(
        self,
        connection: Connection,
        now: NodeSharing,
        target: SharingConfig,
        current: SharingConfig | None,
    ) -> list[str]:
        notes: list[str] = []
        if current is None:
            notes.append(
                f"the current label {now.label!r} is not a config of the ConfigMap (the plugin ignores it)"
            )
        pods = _gpu_pods(connection, now.node)
        if pods:
            held = sum(p.gpus for p in pods)
            refs = ", ".join(p.ref for p in pods[:4]) + (" …" if len(pods) > 4 else "")
            notes.append(
                f"{len(pods)} GPU pods run on the node ({refs}), holding {held:g} GPUs: they keep running while the device plugin restarts"
            )
            if held > now.physical * (target.replicas if target.shared else 1):
                notes.append(
                    "they hold more than the new allocatable: no new GPU pod fits until some end"
                )
        if target.rename:
            notes.append(f"pods must then request {GPU_SHARED} (renameByDefault)")
        if target.fail_over_one:
            notes.append(
                "pods asking for more than 1 GPU will fail admission (failRequestsGreaterThanOne)"
            )
        return notes


def _config_text(label: str | None, configs: DevicePluginConfigs) -> str:
    """`any`, or `none (default: exclusive)` for a node without the label."""
    return label if label is not None else f"none (default: {configs.default or 'exclusive'})"


def _gpu_pods(connection: Connection, node: str) -> list[Any]:
    query = {"fieldSelector": f"spec.nodeName={node},status.phase!=Succeeded,status.phase!=Failed"}
    try:
        items = json.loads(connection.get("/api/v1/pods", query)).get("items") or []
    except (ClusterError, ValueError, AttributeError):
        return []
    pods = [pod_of(i) for i in items if isinstance(i, dict)]
    return [p for p in pods if p.gpus > 0]


@dataclass(frozen=True)
class Transition:
    """Where a node is on its way to a new config."""

    node: str
    elapsed: float
    checks: tuple[tuple[str, str, str], ...]  # (what, want, have)
    converged: bool = False
    timed_out: bool = False
    message: str = ""

    def pending(self) -> list[str]:
        return [f"{what} {have} (want {want})" for what, want, have in self.checks if want != have]


def follow(
    connection: Connection,
    expected: Expected,
    report: Callable[[Transition], None] | None = None,
    *,
    timeout: float = CONVERGE_SECONDS,
    poll: float = 0.5,
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Transition:
    """Read the node until its allocatable and GFD labels match `expected` (converged), or
    `timeout` passes (timed out: the device plugin did not pick the config up)."""
    stop = cancel or threading.Event()
    started = clock()
    path = node_ref(expected.node).path()
    last: Transition | None = None
    while True:
        elapsed = clock() - started
        try:
            node = json.loads(connection.get(path, timeout=10.0))
            checks = tuple(expected.checks(node if isinstance(node, dict) else {}))
            message = ""
        except (ClusterError, ValueError) as exc:
            checks, message = (last.checks if last else ()), clean_line(f"reading the node: {exc}")
        converged = bool(checks) and all(want == have for _w, want, have in checks)
        timed_out = not converged and elapsed >= timeout
        if timed_out:
            pending = "; ".join(f"{w} is {h}, want {x}" for w, x, h in checks if x != h)
            message = f"not converged after {timeout:g}s: {pending or message} — is the device plugin's config manager running?"
        now = Transition(expected.node, elapsed, checks, converged, timed_out, message)
        if report is not None and (now != last):
            report(now)
        last = now
        if converged or timed_out or stop.wait(poll):
            return now


@dataclass(frozen=True)
class NodeChoices:
    """What the picker shows for one node: its sharing now, the configs, its GPU pods."""

    now: NodeSharing
    configs: DevicePluginConfigs
    gpu_pods: tuple[str, ...]  # namespace/name

    def preview(self, config: SharingConfig) -> str:
        """The allocatable the node would have: `nvidia.com/gpu 8 → 32`."""
        amount = self.now.physical * (config.replicas if config.shared else 1)
        return f"{config.resource} {self.now.amount(config.resource)} → {amount}"


def node_choices(connection: Connection, node: str, setting: str | None = None) -> NodeChoices:
    """Read the configs, the node and its GPU pods (ActionError: one line)."""
    configs = load_configs(connection, setting)
    now = node_sharing(read_object(connection, node_ref(node)))
    if now.physical <= 0:
        raise ActionError(
            f"Node {clean_line(node)} has no nvidia.com/gpu.count label: not a device-plugin GPU node"
        )
    pods = tuple(p.ref for p in _gpu_pods(connection, node))
    return NodeChoices(now, configs, pods)
