"""The cluster's GPUs as DCGM exporters see them: which pod holds which GPU, rendered on demand.

Keeps an index of GPU pods by node (maintained from store events, never a scan of all pods),
and renders one node's exporter text when a client scrapes it: through the pod proxy of that
node's `nvidia-dcgm-exporter` pod, or on the plain HTTP endpoint a Prometheus server scrapes.

A node in MIG mixed mode (`nvidia.com/mig.strategy=mixed`, layout `nvidia.com/mig.config`)
gets its GPU instances, and pods requesting `nvidia.com/mig-<profile>` take the next free
instance of that profile. A node annotated `sim.kmc.dev/exporter-hostname=pod` runs an old
exporter whose `Hostname` label is its own pod's name (dcgm-exporter before 3.1.6).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .clock import parse_rfc3339
from .gpu_exposition import render_exposition
from .gpu_models import get_model, mig_layout
from .gpus import (
    Assignment,
    GpuFaults,
    GpuIdentity,
    GpuState,
    MigGpuState,
    MigInstance,
    node_gpus,
    pick_xid,
)
from .kinds import by_kind
from .podspec import container_down
from .runtime import SimContext
from .store import Entry

GPU_RESOURCES = ("nvidia.com/gpu", "nvidia.com/gpu.shared")
PROFILE_ALIASES = {"idle": "idle-allocation"}
XID_ANNOTATION = "sim.kmc.dev/xid-gpus"
"""Node annotation: comma-separated GPU indices with an XID, each `index` (a plausible XID picked
from the GPU's UUID) or `index:xid` (that XID)."""
HOT_ANNOTATION = "sim.kmc.dev/hot-gpus"  # node annotation: comma-separated overheating GPU indices
REMAP_ANNOTATION = "sim.kmc.dev/remap-failed-gpus"
"""Node annotation: comma-separated GPU indices whose row remapping failed."""
DEFAULT_PROFILES = {"dcgm-exporter": "none"}
EXPORTER_HOSTNAME = "sim.kmc.dev/exporter-hostname"  # node annotation: "pod" = an old exporter
MIG_PREFIX = "nvidia.com/mig-"


@dataclass(slots=True)
class _NodeGpus:
    identities: tuple[GpuIdentity, ...]
    replicas: int
    faults: dict[int, GpuFaults]
    mig: tuple[tuple[str, int], ...] = ()  # (profile, GPU_I_ID) per GPU in MIG mode
    pod_hostname: bool = False  # the exporter labels Hostname with its own pod's name


@dataclass(frozen=True, slots=True)
class _GpuPod:
    created: str
    namespace: str
    name: str
    container: str
    gpus: int
    profile: str
    since: float
    mig: str = ""  # the MIG profile requested (then `gpus` counts instances)


def pod_gpu_request(pod: dict[str, Any]) -> tuple[int, str]:
    """(GPUs the pod requests, first GPU container name): effective request by the scheduler's rule."""
    spec = pod.get("spec") or {}
    app_total, container = 0, ""
    for c in spec.get("containers") or []:
        n = _gpu_count(c)
        if n and not container:
            container = c.get("name", "")
        app_total += n
    init_max = max((_gpu_count(c) for c in spec.get("initContainers") or []), default=0)
    return max(app_total, init_max), container


def pod_mig_request(pod: dict[str, Any]) -> tuple[str, int, str]:
    """(MIG profile, instances, container) of a pod requesting `nvidia.com/mig-<profile>`."""
    for c in (pod.get("spec") or {}).get("containers") or []:
        resources = c.get("resources") or {}
        for section in ("limits", "requests"):
            for name, value in (resources.get(section) or {}).items():
                if name.startswith(MIG_PREFIX) and str(value).isdigit():
                    return name.removeprefix(MIG_PREFIX), int(str(value)), c.get("name", "")
    return "", 0, ""


def _gpu_count(container: dict[str, Any]) -> int:
    resources = container.get("resources") or {}
    for section in ("limits", "requests"):
        values = resources.get(section) or {}
        for name in GPU_RESOURCES:
            if name in values:
                try:
                    return int(str(values[name]))
                except ValueError:
                    return 0
    return 0


def _container_running(status: dict[str, Any], container: str) -> bool:
    for cs in status.get("containerStatuses") or []:
        if cs.get("name") == container:
            return "running" in (cs.get("state") or {})
    return True


def _indices(text: str | None) -> list[int]:
    return [int(p) for p in (text or "").split(",") if p.strip().isdigit()]


def _xids(text: str | None) -> dict[int, int]:
    """GPU index → XID (-1: pick one) from `XID_ANNOTATION`'s `index` / `index:xid` items."""
    out: dict[int, int] = {}
    for part in (text or "").split(","):
        index, _, xid = part.strip().partition(":")
        if index.isdigit():
            out[int(index)] = int(xid) if xid.isdigit() and int(xid) > 0 else -1
    return out


class Telemetry:
    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.nodes: dict[str, _NodeGpus] = {}
        self.pods_by_node: dict[str, dict[tuple[str, str], _GpuPod]] = {}
        self._pod_node: dict[tuple[str, str], str] = {}
        # The exporter version the cluster runs: `Hostname` or `hostname`; "new" or "old"
        # (old-namespace mode: uuid, pod_name, pod_namespace, container_name). Tests set these.
        self.hostname_label = "Hostname"
        self.label_mode = "new"
        self.exporters: dict[str, str] = {}  # node → its exporter pod's name
        self.exporters_down: set[str] = set()  # nodes whose exporter pod is crash-looping
        ctx.store.listen(by_kind("Node"), self._on_node)
        ctx.store.listen(by_kind("Pod"), self._on_pod)
        for entry in ctx.store.entries(by_kind("Node")):
            self._on_node("ADDED", None, entry)
        for entry in ctx.store.entries(by_kind("Pod")):
            self._on_pod("ADDED", None, entry)

    def _on_node(self, kind: str, _rt: Any, entry: Entry) -> None:
        name = entry.fields["metadata.name"]
        if kind == "DELETED":
            self.nodes.pop(name, None)
            return
        labels = entry.labels
        product = labels.get("nvidia.com/gpu.product")
        count = labels.get("nvidia.com/gpu.count", "0")
        if not product or not count.isdigit() or int(count) == 0:
            self.nodes.pop(name, None)
            return
        try:
            model = get_model(product)
        except KeyError:
            return
        replicas = int(labels.get("nvidia.com/gpu.replicas", "1") or 1)
        current = self.nodes.get(name)
        obj = entry.obj()
        annotations = obj["metadata"].get("annotations") or {}
        xids = _xids(annotations.get(XID_ANNOTATION))
        hot = set(_indices(annotations.get(HOT_ANNOTATION)))
        remap = set(_indices(annotations.get(REMAP_ANNOTATION)))
        faults = {
            i: GpuFaults(xid=xids.get(i, 0), hot=i in hot, remap_failed=i in remap)
            for i in sorted({*xids, *hot, *remap})
        }
        if (
            current
            and len(current.identities) == int(count)
            and current.identities[0].model == model
        ):
            identities = current.identities
        else:
            boot = parse_rfc3339(obj["metadata"].get("creationTimestamp") or self.ctx.clock.iso())
            identities = node_gpus(self.ctx.seed, name, model, int(count), boot_time=boot)
        faults = {
            i: replace(f, xid=pick_xid(identities[i])) if f.xid < 0 else f
            for i, f in faults.items()
            if i < len(identities)
        }
        mig: tuple[tuple[str, int], ...] = ()
        if labels.get("nvidia.com/mig.strategy") == "mixed":
            mig = mig_layout(model, labels.get("nvidia.com/mig.config", ""))
        old_exporter = annotations.get(EXPORTER_HOSTNAME) == "pod"
        self.nodes[name] = _NodeGpus(identities, max(1, replicas), faults, mig, old_exporter)

    def _on_pod(self, kind: str, _rt: Any, entry: Entry) -> None:
        key = (entry.fields["metadata.namespace"], entry.fields["metadata.name"])
        old_node = self._pod_node.pop(key, None)
        if old_node:
            self.pods_by_node.get(old_node, {}).pop(key, None)
        node = entry.fields.get("spec.nodeName")
        phase = entry.fields.get("status.phase")
        if node and entry.labels.get("app") == "nvidia-dcgm-exporter":
            gone = kind == "DELETED" or phase not in ("Running", "Pending")
            if gone or not container_down(entry.obj()):
                self.exporters_down.discard(node)
            else:
                self.exporters_down.add(node)
        if kind == "DELETED" or not node or phase not in ("Running", "Pending"):
            return
        obj = entry.obj()
        if (obj["metadata"].get("labels") or {}).get("app") == "nvidia-dcgm-exporter":
            self.exporters[node] = key[1]
        gpus, container = pod_gpu_request(obj)
        mig, instances, mig_container = pod_mig_request(obj)
        if mig and not gpus:
            gpus, container = instances, mig_container
        if not gpus:
            return
        if phase != "Running":
            return
        annotations = obj["metadata"].get("annotations") or {}
        profile = annotations.get("sim.kmc.dev/profile", "training")
        status = obj.get("status") or {}
        if not _container_running(status, container):
            profile = "idle"  # crashed and backing off: the pod still holds the GPU, idle
        since = (
            parse_rfc3339(status["startTime"]) if status.get("startTime") else self.ctx.clock.now()
        )
        self._pod_node[key] = node
        self.pods_by_node.setdefault(node, {})[key] = _GpuPod(
            obj["metadata"].get("creationTimestamp", ""),
            key[0],
            key[1],
            container,
            gpus,
            PROFILE_ALIASES.get(profile, profile),
            since,
            mig if gpus == instances and mig else "",
        )

    def gpu_states(self, node: str) -> list[GpuState] | list[MigGpuState] | None:
        info = self.nodes.get(node)
        if info is None:
            return None
        if info.mig:
            return self._mig_states(node, info)
        holders: list[list[Assignment]] = [[] for _ in info.identities]
        slot = 0
        capacity = len(info.identities) * info.replicas
        for pod in sorted(
            self.pods_by_node.get(node, {}).values(), key=lambda p: (p.created, p.namespace, p.name)
        ):
            for _ in range(pod.gpus):
                if slot >= capacity:
                    break
                gpu = slot // info.replicas
                holders[gpu].append(
                    Assignment(pod.name, pod.namespace, pod.container, pod.profile, pod.since)
                )  # type: ignore[arg-type]
                slot += 1
        return [
            GpuState(identity, tuple(holders[i]), info.faults.get(i, GpuFaults()))
            for i, identity in enumerate(info.identities)
        ]

    def _mig_states(self, node: str, info: _NodeGpus) -> list[MigGpuState]:
        """Each MIG pod on the next free instance of its profile, GPU by GPU."""
        free = [(g, i) for g in range(len(info.identities)) for i in range(len(info.mig))]
        held: dict[tuple[int, int], list[Assignment]] = {}
        for pod in sorted(
            self.pods_by_node.get(node, {}).values(), key=lambda p: (p.created, p.namespace, p.name)
        ):
            for _ in range(pod.gpus if pod.mig else 0):
                slot = next((s for s in free if info.mig[s[1]][0] == pod.mig), None)
                if slot is None:
                    break
                free.remove(slot)
                held[slot] = [Assignment(pod.name, pod.namespace, pod.container, pod.profile, pod.since)]  # type: ignore[arg-type]  # fmt: skip
        return [
            MigGpuState(
                identity,
                tuple(
                    MigInstance(profile, gi, tuple(held.get((g, i), ())))
                    for i, (profile, gi) in enumerate(info.mig)
                ),
                info.faults.get(g, GpuFaults()),
            )
            for g, identity in enumerate(info.identities)
        ]

    def node_metrics(
        self, node: str, hostname_label: str | None = None, label_mode: str | None = None
    ) -> str | None:
        """The exporter text of `node`'s GPUs now, or None when the node has no GPUs or its
        exporter is crash-looping (nothing answers on :9400).
        The label variant defaults to the cluster's (`hostname_label`, `label_mode`)."""
        states = self.gpu_states(node)
        if states is None or node in self.exporters_down:
            return None
        info = self.nodes[node]
        return render_exposition(
            states,
            self.ctx.clock.now(),
            hostname_label=hostname_label or self.hostname_label,
            label_mode=(label_mode or self.label_mode),  # type: ignore[arg-type]
            hostname=self.exporters.get(node) if info.pod_hostname else None,
        )

    def gpu_nodes(self) -> list[str]:
        return sorted(self.nodes)
