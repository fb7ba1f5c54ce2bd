"""Node lifecycle, pod garbage collection, and the NVIDIA device plugin + GPU Feature Discovery.

Node lifecycle: `spec.unschedulable: true` (cordon) ⇒ taint `node.kubernetes.io/unschedulable:
NoSchedule` with `timeAdded`, removed on uncordon. Ready=False ⇒ `node.kubernetes.io/not-ready`
NoSchedule + NoExecute taints (Unknown ⇒ `unreachable`); the node's pods are marked not Ready and,
if the node is still down after the pods' 300 s toleration, deleted. A deleted node's pods are
deleted (pod GC). Heartbeats are not simulated: conditions change only when a scenario says so.

Device plugin + GFD: the ClusterPolicy names the sharing ConfigMap (`spec.devicePlugin.config`);
a node's label `nvidia.com/device-plugin.config=<key>` picks one of its configs (removed label:
the default key; unknown key: no change). About two sim seconds after a change — the plugin
restart — capacity/allocatable and the GFD labels are rewritten (`nodes.apply_sharing`), unless
the node's device-plugin pod is crash-looping: then the change waits until it runs.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..kinds import by_kind
from ..nodes import apply_sharing
from ..podspec import container_down
from ..runtime import SimContext
from ..store import Entry
from .kubelet import set_conditions

CONFIG_LABEL = "nvidia.com/device-plugin.config"
OPERATOR_NAMESPACE = "gpu-operator"
CLUSTER_POLICY = "cluster-policy"
PLUGIN_RESTART = 2.0  # sim seconds from a config change to the new capacity
PLUGIN_DAEMONSET = "nvidia-device-plugin-daemonset"
PLUGIN_STABLE = 10.0  # a restarted plugin must run this long before it counts as up
PLUGIN_RECHECK = 10.0  # sim seconds between looks at a crash-looping plugin
EVICTION_AFTER = 300.0  # the default not-ready/unreachable tolerationSeconds
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
_MANAGED = (UNSCHEDULABLE, NOT_READY, UNREACHABLE)

Sharing = tuple[int, str, bool]  # replicas, strategy, renameByDefault
EXCLUSIVE: Sharing = (1, "none", False)


def parse_sharing(document: str) -> Sharing | None:
    """The `nvidia.com/gpu` sharing of one device-plugin config document; None if malformed."""
    try:
        config = yaml.safe_load(document) or {}
        sharing = config.get("sharing") or {}
    except (yaml.YAMLError, AttributeError):
        return None
    if not isinstance(sharing, dict):
        return None
    for strategy, field in (("time-slicing", "timeSlicing"), ("mps", "mps")):
        section = sharing.get(field)
        if not isinstance(section, dict):
            continue
        resources = section.get("resources") or ()
        for resource in resources if isinstance(resources, list) else ():
            if not isinstance(resource, dict) or resource.get("name") != "nvidia.com/gpu":
                continue
            replicas = resource.get("replicas", 1)
            # The plugin refuses a config whose replicas is not a positive integer.
            if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
                return None
            rename = bool(section.get("renameByDefault", False) or resource.get("rename"))
            return (replicas, strategy, rename) if replicas > 1 else EXCLUSIVE
    return EXCLUSIVE


def _ready(node: dict[str, Any]) -> str:
    for cond in (node.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond.get("status", "Unknown")
    return "Unknown"


def _wanted_taints(node: dict[str, Any]) -> set[tuple[str, str]]:
    wanted = set()
    if (node.get("spec") or {}).get("unschedulable"):
        wanted.add((UNSCHEDULABLE, "NoSchedule"))
    ready = _ready(node)
    if ready != "True":
        key = NOT_READY if ready == "False" else UNREACHABLE
        wanted |= {(key, "NoSchedule"), (key, "NoExecute")}
    return wanted


class NodeController:
    """Lifecycle taints, pod marking/eviction/GC, and the device plugin's sharing configs."""

    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.node_rt, self.pod_rt = by_kind("Node"), by_kind("Pod")
        self.ready: dict[str, bool] = {}
        self.configs: dict[str, Sharing] | None = None  # parsed ConfigMap, None = reload
        self.default_key = ""
        self.plugin_timers: set[str] = set()

    def start(self) -> None:
        store = self.ctx.store
        for entry in store.entries(self.node_rt):
            self._on_node("ADDED", self.node_rt, entry)
        store.listen(self.node_rt, self._on_node)
        store.listen(by_kind("ConfigMap"), self._on_config)
        store.listen(by_kind("ClusterPolicy"), self._on_config)

    # ----- lifecycle ----------------------------------------------------------------------
    def _on_node(self, kind: str, _rt: Any, entry: Entry) -> None:
        name = entry.fields["metadata.name"]
        if kind == "DELETED":
            self.ready.pop(name, None)
            self.ctx.soon(lambda: self._delete_pods(name, "deleted node"))
            return
        node = entry.obj()
        have = {
            (t.get("key"), t.get("effect")) for t in (node.get("spec") or {}).get("taints") or ()
        }
        if {t for t in have if t[0] in _MANAGED} != _wanted_taints(node):
            self.ctx.soon(lambda: self._fix_taints(name))
        ready = _ready(node) == "True"
        was = self.ready.get(name)
        self.ready[name] = ready
        if was is not None and was != ready:
            self.ctx.soon(lambda: self._mark_pods(name, ready))
            if not ready:
                self.ctx.after(EVICTION_AFTER, lambda: self._evict(name))
        if "nvidia.com/gpu.count" in entry.labels:
            self._check_sharing(name, entry.labels)

    def _fix_taints(self, name: str) -> None:
        now = self.ctx.clock.iso()

        def fix(node: dict[str, Any]) -> Any:
            spec = node.setdefault("spec", {})
            wanted = _wanted_taints(node)
            taints = [t for t in spec.get("taints") or () if t.get("key") not in _MANAGED or (t.get("key"), t.get("effect")) in wanted]  # fmt: skip
            present = {(t.get("key"), t.get("effect")) for t in taints}
            for key, effect in sorted(wanted - present):
                taints.append({"key": key, "effect": effect, "timeAdded": now})
            if taints == (spec.get("taints") or []):
                return False
            if taints:
                spec["taints"] = taints
            else:
                spec.pop("taints", None)
            return None

        self.ctx.store.mutate(self.node_rt, "", name, fix)

    def _pods_on(self, name: str) -> list[tuple[str, str]]:
        return [
            (e.fields["metadata.namespace"], e.fields["metadata.name"])
            for e in self.ctx.store.entries(self.pod_rt)
            if e.fields["spec.nodeName"] == name
        ]

    def _mark_pods(self, name: str, ready: bool) -> None:
        now = self.ctx.clock.iso()
        value = "True" if ready else "False"

        def mark(pod: dict[str, Any]) -> Any:
            status = pod.get("status") or {}
            if status.get("phase") != "Running":
                return False
            set_conditions(status, now, Ready=value, ContainersReady=value)
            return None

        for ns, pod in self._pods_on(name):
            self.ctx.store.mutate(self.pod_rt, ns, pod, mark)

    def _evict(self, name: str) -> None:
        if self.ready.get(name, True):
            return
        self._delete_pods(name, "not-ready node", tolerations=True)

    def _delete_pods(self, name: str, why: str, tolerations: bool = False) -> None:
        for ns, pod_name in self._pods_on(name):
            pod = self.ctx.store.get(self.pod_rt, ns, pod_name)
            if pod is None:
                continue
            if tolerations and any(
                t.get("key") in (NOT_READY, UNREACHABLE, None, "")
                and t.get("effect") in ("NoExecute", None)
                and t.get("operator") == "Exists"
                and t.get("tolerationSeconds") is None
                for t in pod["spec"].get("tolerations") or ()
            ):
                continue  # tolerates the taint forever (DaemonSet pods do)
            self.ctx.store.delete(self.pod_rt, ns, pod_name)
            if tolerations:
                self.ctx.record_event(
                    pod,
                    "TaintManagerEviction",
                    f"Marking for deletion Pod {ns}/{pod_name}",
                    component="taint-eviction-controller",
                )
            else:
                self.ctx.record_event(
                    pod,
                    "NodeDeleted",
                    f"Pod deleted: its {why} {name} is gone",
                    "Warning",
                    "pod-gc",
                )

    # ----- device plugin + GFD ------------------------------------------------------------
    def _on_config(self, kind: str, rt: Any, entry: Entry) -> None:
        if rt.kind == "ConfigMap" and entry.fields["metadata.namespace"] != OPERATOR_NAMESPACE:
            return
        self.configs = None
        self.ctx.soon(self._recheck_all)

    def _recheck_all(self) -> None:
        for entry in self.ctx.store.entries(self.node_rt):
            if "nvidia.com/gpu.count" in entry.labels:
                self._check_sharing(entry.fields["metadata.name"], entry.labels)

    def _load(self) -> dict[str, Sharing]:
        if self.configs is None:
            policy = self.ctx.store.get(by_kind("ClusterPolicy"), "", CLUSTER_POLICY) or {}
            ref = ((policy.get("spec") or {}).get("devicePlugin") or {}).get("config") or {}
            self.default_key = ref.get("default") or ""
            cm = None
            if ref.get("name"):
                cm = self.ctx.store.get(by_kind("ConfigMap"), OPERATOR_NAMESPACE, ref["name"])
            self.configs = {}
            for key, document in ((cm or {}).get("data") or {}).items():
                parsed = parse_sharing(document)
                if parsed is not None:
                    self.configs[key] = parsed
        return self.configs

    def desired_sharing(self, labels: dict[str, str]) -> Sharing | None:
        """The sharing a node's config label asks for; None = leave it as it is (unknown key)."""
        configs = self._load()
        key = labels.get(CONFIG_LABEL)
        if key is None:
            return configs.get(self.default_key, EXCLUSIVE) if self.default_key else EXCLUSIVE
        return configs.get(key)

    def _check_sharing(self, name: str, labels: dict[str, str]) -> None:
        want = self.desired_sharing(labels)
        if want is None or name in self.plugin_timers:
            return
        replicas, strategy, rename = want
        shared = replicas > 1 and strategy != "none"
        have = (
            labels.get("nvidia.com/gpu.replicas", "1"),
            labels.get("nvidia.com/gpu.sharing-strategy", "none"),
            labels.get("nvidia.com/gpu.product", "").endswith("-SHARED"),
        )
        if have != (str(replicas if shared else 1), strategy if shared else "none", shared and not rename):  # fmt: skip
            self.plugin_timers.add(name)
            self.ctx.after(PLUGIN_RESTART, lambda: self._apply_sharing(name))

    def _plugin_down(self, name: str) -> bool:
        """The device-plugin pod on the node is crash-looping: it cannot load a new config."""
        now = self.ctx.clock.now()
        for ns, pod_name in self._pods_on(name):
            if ns != OPERATOR_NAMESPACE or not pod_name.startswith(PLUGIN_DAEMONSET):
                continue
            pod = self.ctx.store.get(self.pod_rt, ns, pod_name)
            if pod is not None and container_down(pod, PLUGIN_STABLE, now):
                return True
        return False

    def _apply_sharing(self, name: str) -> None:
        entry = self.ctx.store.entry(self.node_rt, "", name)
        if entry is None:
            self.plugin_timers.discard(name)
            return
        if self._plugin_down(name):  # look again later: the change applies once it runs
            self.ctx.after(PLUGIN_RECHECK, lambda: self._apply_sharing(name))
            return
        self.plugin_timers.discard(name)
        want = self.desired_sharing(entry.labels)
        if want is None:
            return
        self.ctx.store.mutate(
            self.node_rt, "", name, lambda node: apply_sharing(node, *want) or False
        )


def start(ctx: SimContext) -> NodeController:
    """Start node lifecycle, pod GC and the device plugin on `ctx`."""
    controller = NodeController(ctx)
    controller.start()
    return controller
