"""StatefulSets (ordered `<sts>-<ordinal>` pods) and DaemonSets (one pod per eligible node).

DaemonSet pods are bound directly (`spec.nodeName`), so the scheduler skips them. Nodes are
followed through a Node listener that re-marks DaemonSets only when a node appears, goes, or
changes labels or taints — not on every status heartbeat.
"""

from __future__ import annotations

from typing import Any

from ..kinds import by_kind
from ..podspec import (
    CRASHING_DAEMONSETS,
    FAIL_AFTER,
    RESTART_HOLD,
    gpu_request,
    pod_from_template,
    template_hash,
)
from ..runtime import SimContext
from ..store import Entry
from .owned import Controller, PodInfo, selector_string
from .placement import node_matcher, tolerates

REVISION_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"

DAEMON_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)


class StatefulSetController(Controller):
    kind = "StatefulSet"
    component = "statefulset-controller"

    def reconcile(self, sts: dict[str, Any]) -> None:
        meta, spec = sts["metadata"], sts.get("spec") or {}
        ns, name = meta["namespace"], meta["name"]
        desired = int(spec.get("replicas", 1))
        parallel = spec.get("podManagementPolicy") == "Parallel"
        revision = f"{name}-{template_hash(spec.get('template') or {})}"
        pods = self.children(sts)
        by_ordinal: dict[int, PodInfo] = {}
        for pod in pods.values():
            ordinal = _ordinal(name, pod.name)
            if ordinal is not None:
                by_ordinal[ordinal] = pod
        # failed pods are deleted and recreated, as the real controller does
        for ordinal, pod in list(by_ordinal.items()):
            if not pod.active and self.delete_quietly("Pod", ns, pod.name):
                self.event(
                    sts,
                    "SuccessfulDelete",
                    f"delete Pod {pod.name} in StatefulSet {name} successful",
                )
                del by_ordinal[ordinal]
        for ordinal in range(desired):
            if ordinal in by_ordinal:
                pod = by_ordinal[ordinal]
                if not parallel and not (pod.running and pod.ready):
                    break  # OrderedReady: wait for this one before creating the next
                continue
            self._create(sts, ordinal, revision)
            if not parallel:
                break
        excess = sorted((o for o in by_ordinal if o >= desired), reverse=True)
        for ordinal in excess if parallel else excess[:1]:
            pod_name = by_ordinal.pop(ordinal).name
            if self.delete_quietly("Pod", ns, pod_name):
                self.event(
                    sts,
                    "SuccessfulDelete",
                    f"delete Pod {pod_name} in StatefulSet {name} successful",
                )
        # rolling update: replace the highest outdated ordinal once everything else is ready
        outdated = [o for o, p in by_ordinal.items() if p.labels.get(REVISION_LABEL) != revision]
        all_ready = len(by_ordinal) == desired and all(p.ready for p in by_ordinal.values())
        strategy = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
        if outdated and all_ready and not excess and strategy == "RollingUpdate":
            pod_name = by_ordinal[max(outdated)].name
            if self.delete_quietly("Pod", ns, pod_name):
                self.event(
                    sts,
                    "SuccessfulDelete",
                    f"delete Pod {pod_name} in StatefulSet {name} successful",
                )
        self._status(sts, revision)

    def _create(self, sts: dict[str, Any], ordinal: int, revision: str) -> None:
        meta, spec = sts["metadata"], sts.get("spec") or {}
        pod_name = f"{meta['name']}-{ordinal}"
        labels = {
            "statefulset.kubernetes.io/pod-name": pod_name,
            "apps.kubernetes.io/pod-index": str(ordinal),
            REVISION_LABEL: revision,
        }
        template = spec.get("template") or {}
        serving = "serving" if gpu_request(template.get("spec") or {}) else None
        pod = pod_from_template(
            self.ctx,
            template,
            pod_name,
            meta["namespace"],
            sts,
            labels,
            {},
            default_profile=serving,
            default_log_kind=serving,
        )
        pod["spec"]["hostname"] = pod_name
        if spec.get("serviceName"):
            pod["spec"]["subdomain"] = spec["serviceName"]
        if self.create_child("Pod", pod):
            self.event(
                sts,
                "SuccessfulCreate",
                f"create Pod {pod_name} in StatefulSet {meta['name']} successful",
            )

    def _status(self, sts: dict[str, Any], revision: str) -> None:
        meta, spec = sts["metadata"], sts.get("spec") or {}
        pods = [p for p in self.children(sts).values() if p.active]
        old = sts.get("status") or {}
        updated = sum(p.labels.get(REVISION_LABEL) == revision for p in pods)
        current_rev = old.get("currentRevision") or revision
        desired = int(spec.get("replicas", 1))
        if updated == len(pods) == desired:
            current_rev = revision
        status: dict[str, Any] = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": len(pods),
            "availableReplicas": sum(p.ready for p in pods),
            "currentRevision": current_rev,
            "updateRevision": revision,
            "collisionCount": 0,
        }
        for key, value in (
            ("readyReplicas", sum(p.ready for p in pods)),
            ("currentReplicas", sum(p.labels.get(REVISION_LABEL) == current_rev for p in pods)),
            ("updatedReplicas", updated),
        ):
            if value:
                status[key] = value
        match = ((spec.get("selector") or {}).get("matchLabels")) or {}
        status["selector"] = selector_string(match)
        self.write_status(sts, status)


def _ordinal(sts_name: str, pod_name: str) -> int | None:
    prefix = sts_name + "-"
    if not pod_name.startswith(prefix):
        return None
    tail = pod_name[len(prefix) :]
    return int(tail) if tail.isdigit() else None


class NodeView:
    """Node name → (labels, NoSchedule/NoExecute taints), updated from Node events."""

    def __init__(self, ctx: SimContext, on_change: Any) -> None:
        self.nodes: dict[str, tuple[dict[str, str], tuple[tuple[str, str, str], ...]]] = {}
        self.on_change = on_change
        rt = by_kind("Node")
        ctx.store.listen(rt, self._on_event)
        for entry in ctx.store.entries(rt):
            self._on_event("ADDED", rt, entry)

    def _on_event(self, type_: str, _rt: Any, entry: Entry) -> None:
        name = entry.fields.get("metadata.name", "")
        if type_ == "DELETED":
            if self.nodes.pop(name, None) is not None:
                self.on_change()
            return
        taints = tuple(
            (t.get("key", ""), t.get("value", ""), t.get("effect", ""))
            for t in (entry.obj().get("spec") or {}).get("taints") or []
            if t.get("effect") in ("NoSchedule", "NoExecute")
        )
        summary = (dict(entry.labels), taints)
        if self.nodes.get(name) != summary:
            self.nodes[name] = summary
            self.on_change()


class DaemonSetController(Controller):
    kind = "DaemonSet"
    component = "daemonset-controller"

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.view = NodeView(ctx, self.resync)

    def eligible(self, ds: dict[str, Any]) -> list[str]:
        pod_spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
        tolerations = list(pod_spec.get("tolerations") or []) + [
            {"key": k, "operator": "Exists", "effect": e} for k, e in DAEMON_TOLERATIONS
        ]
        matcher = node_matcher(pod_spec)
        return sorted(
            name
            for name, (labels, taints) in self.view.nodes.items()
            if (matcher is None or matcher(name, labels))
            and all(tolerates(tolerations, *taint) for taint in taints)
        )

    def reconcile(self, ds: dict[str, Any]) -> None:
        meta, spec = ds["metadata"], ds.get("spec") or {}
        ns = meta["namespace"]
        revision = str(meta.get("generation", 1))  # pods carry pod-template-generation
        wanted = set(self.eligible(ds))
        by_node: dict[str, list[PodInfo]] = {}
        for pod in self.children(ds).values():
            by_node.setdefault(pod.node, []).append(pod)
        for node, pods in by_node.items():
            for pod in pods:
                if (node not in wanted or not pod.active) and self.delete_quietly(
                    "Pod", ns, pod.name
                ):
                    self.event(ds, "SuccessfulDelete", f"Deleted pod: {pod.name}")
        for node in sorted(wanted):
            if not any(p.active for p in by_node.get(node, [])):
                self._create(ds, node, revision)
        # rolling update, maxUnavailable 1: replace one outdated pod while all others are ready
        pods = [p for p in self.children(ds).values() if p.active]
        outdated = [p for p in pods if p.labels.get(GENERATION_LABEL) != revision]
        strategy = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
        if outdated and strategy == "RollingUpdate" and all(p.ready for p in pods):
            victim = sorted(outdated, key=lambda p: p.node)[0]
            if self.delete_quietly("Pod", ns, victim.name):
                self.event(ds, "SuccessfulDelete", f"Deleted pod: {victim.name}")
        self._status(ds, wanted, revision)

    def _create(self, ds: dict[str, Any], node: str, revision: str) -> None:
        meta, spec = ds["metadata"], ds.get("spec") or {}
        pod_name = f"{meta['name']}-{self.store.random_suffix()}"
        labels = {
            REVISION_LABEL: template_hash(spec.get("template") or {}),
            GENERATION_LABEL: revision,
        }
        pod = pod_from_template(
            self.ctx,
            spec.get("template") or {},
            pod_name,
            meta["namespace"],
            ds,
            labels,
            self._crashing(meta["name"], node),
        )
        pod["spec"]["nodeName"] = node
        pod["spec"]["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchFields": [
                                {"key": "metadata.name", "operator": "In", "values": [node]}
                            ]
                        }
                    ]
                }
            }
        }
        present = {(t.get("key"), t.get("effect")) for t in pod["spec"]["tolerations"]}
        for key, effect in DAEMON_TOLERATIONS:
            if (key, effect) not in present:
                pod["spec"]["tolerations"].append(
                    {"key": key, "operator": "Exists", "effect": effect}
                )
        if self.create_child("Pod", pod):
            self.event(ds, "SuccessfulCreate", f"Created pod: {pod_name}")

    def _crashing(self, ds_name: str, node: str) -> dict[str, str]:
        """The exit annotations of a pod that crash-loops on `node` (its annotation
        `sim.kmc.dev/crashing-daemonsets` names this DaemonSet), else none."""
        obj = self.store.get(by_kind("Node"), "", node) or {}
        named = (obj.get("metadata", {}).get("annotations") or {}).get(CRASHING_DAEMONSETS, "")
        if ds_name not in {n.strip() for n in named.split(",")}:
            return {}
        return {FAIL_AFTER: "1", RESTART_HOLD: "1"}

    def _status(self, ds: dict[str, Any], wanted: set[str], revision: str) -> None:
        pods = [p for p in self.children(ds).values() if p.active]
        scheduled = {p.node for p in pods if p.node in wanted}
        ready = [p for p in pods if p.ready and p.node in wanted]
        status: dict[str, Any] = {
            "desiredNumberScheduled": len(wanted),
            "currentNumberScheduled": len(scheduled),
            "numberMisscheduled": len({p.node for p in pods if p.node not in wanted}),
            "numberReady": len(ready),
            "numberAvailable": len(ready),
            "updatedNumberScheduled": len(
                {p.node for p in pods if p.labels.get(GENERATION_LABEL) == revision}
            ),
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        if len(wanted) - len(ready) > 0:
            status["numberUnavailable"] = len(wanted) - len(ready)
        if not status["numberAvailable"]:
            del status["numberAvailable"]
        self.write_status(ds, status)
