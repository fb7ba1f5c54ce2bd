"""Deployments → ReplicaSets → Pods, and `start` for every workload controller.

`start(ctx)` starts the Deployment, ReplicaSet, StatefulSet, DaemonSet (`sets.py`) and
batch/v1 Job (`batchjob.py`) controllers. Field names, labels, condition reasons and event
messages follow kube-controller-manager (1.30-era) so kubectl and the console see the real
shapes. Rolling updates are simplified: the new ReplicaSet surges within maxSurge and old
ones shrink as new pods become available, keeping maxUnavailable.
"""

from __future__ import annotations

import math
from typing import Any

from ..clock import parse_rfc3339
from ..podspec import gpu_request, pod_from_template, sim_annotations, template_hash
from ..runtime import SimContext
from .owned import Controller, PodInfo, find_condition, selector_string, set_condition

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
BURST = 500  # pods created per owner per reconcile; the rest follow a second later


def start(ctx: SimContext) -> None:
    """Start the Deployment, ReplicaSet, StatefulSet, DaemonSet and Job controllers."""
    from .batchjob import JobController
    from .sets import DaemonSetController, StatefulSetController

    ReplicaSetController(ctx)
    DeploymentController(ctx)
    StatefulSetController(ctx)
    DaemonSetController(ctx)
    JobController(ctx)


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """An IntOrString like `25%` or `2` resolved against `total`."""
    if isinstance(value, str) and value.endswith("%"):
        amount = int(value[:-1]) * total / 100
        return math.ceil(amount) if round_up else math.floor(amount)
    return int(value)


def server_profile(template: dict[str, Any]) -> str | None:
    """`serving` for long-running pods that ask for GPUs (a model server), else None."""
    return "serving" if gpu_request(template.get("spec") or {}) else None


def deletion_order(pods: list[PodInfo]) -> list[PodInfo]:
    """Pods to delete first when scaling down: unscheduled, pending, not ready, newest."""
    rank = {"Pending": 0, "Unknown": 1, "Running": 2}

    def key(p: PodInfo) -> tuple[int, int, int, float]:
        created = parse_rfc3339(p.created) if p.created else 0.0
        return (bool(p.node), rank.get(p.phase, 0), p.ready, -created)

    return sorted(pods, key=key)


class ReplicaSetController(Controller):
    kind = "ReplicaSet"
    component = "replicaset-controller"

    def reconcile(self, rs: dict[str, Any]) -> None:
        meta, spec = rs["metadata"], rs.get("spec") or {}
        desired = int(spec.get("replicas", 1))
        pods = self.children(rs)
        active = [p for p in pods.values() if p.active]
        ns = meta["namespace"]
        if len(active) < desired:
            missing = desired - len(active)
            template = spec.get("template") or {}
            serving = server_profile(template)
            for _ in range(min(missing, BURST)):
                name = f"{meta['name']}-{self.store.random_suffix()}"
                pod = pod_from_template(
                    self.ctx,
                    template,
                    name,
                    ns,
                    rs,
                    {},
                    {},
                    default_profile=serving,
                    default_log_kind=serving,
                )
                if self.create_child("Pod", pod):
                    self.event(rs, "SuccessfulCreate", f"Created pod: {name}")
            if missing > BURST:
                self.mark_later((ns, meta["name"]), 1.0)
        elif len(active) > desired:
            for pod in deletion_order(active)[: len(active) - desired]:
                if self.delete_quietly("Pod", ns, pod.name):
                    self.event(rs, "SuccessfulDelete", f"Deleted pod: {pod.name}")
        pods = self.children(rs)
        active = [p for p in pods.values() if p.active]
        min_ready = int(spec.get("minReadySeconds") or 0)
        now = self.ctx.clock.now()
        status: dict[str, Any] = {"replicas": len(active)}
        counts = {
            "fullyLabeledReplicas": len(active),
            "readyReplicas": sum(p.ready for p in active),
            "availableReplicas": sum(p.available(now, min_ready) for p in active),
        }
        status.update({k: v for k, v in counts.items() if v})
        status["observedGeneration"] = meta.get("generation", 1)
        if min_ready and counts["readyReplicas"] > counts["availableReplicas"]:
            self.mark_later((ns, meta["name"]), 1.0)
        self.write_status(rs, status)


class DeploymentController(Controller):
    kind = "Deployment"
    child_kinds = ("ReplicaSet",)
    component = "deployment-controller"

    def reconcile(self, d: dict[str, Any]) -> None:
        spec = d.get("spec") or {}
        desired = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        digest = template_hash(template)
        rss = sorted(
            self.children(d, "ReplicaSet").values(),
            key=lambda rs: int((rs["metadata"].get("annotations") or {}).get(REVISION, 0)),
        )
        new = next((rs for rs in rss if _labels(rs).get(HASH_LABEL) == digest), None)
        if new is None:  # adopt a ReplicaSet written by someone else with another hash spelling
            new = next((rs for rs in rss if _same_template(rs, template)), None)
        olds = [rs for rs in rss if rs is not new]
        created = False
        if new is None and not spec.get("paused"):
            revision = max([_revision(rs) for rs in rss] or [0]) + 1
            new = self._create_rs(d, digest, template, revision, 0)
            created = new is not None
        if new is not None and not spec.get("paused"):
            self._rollout(d, desired, new, olds)
        self._status(d, desired, new, olds, created)

    def _create_rs(
        self, d: dict[str, Any], digest: str, template: dict[str, Any], revision: int, size: int
    ) -> dict[str, Any] | None:
        meta, spec = d["metadata"], d.get("spec") or {}
        tmpl = {**template, "metadata": dict(template.get("metadata") or {})}
        tmpl["metadata"]["labels"] = {**(tmpl["metadata"].get("labels") or {}), HASH_LABEL: digest}
        selector = dict(spec.get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: digest}
        annotations = {
            **sim_annotations(d),
            REVISION: str(revision),
            "deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1)),
            "deployment.kubernetes.io/max-replicas": str(spec.get("replicas", 1)),
        }
        rs = {
            "metadata": {
                "name": f"{meta['name']}-{digest}",
                "namespace": meta["namespace"],
                "labels": dict(tmpl["metadata"]["labels"]),
                "annotations": annotations,
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": {
                "replicas": size,
                "minReadySeconds": spec.get("minReadySeconds", 0),
                "selector": selector,
                "template": tmpl,
            },
        }
        return self.create_child("ReplicaSet", rs)

    def _scale(self, d: dict[str, Any], rs: dict[str, Any], size: int) -> None:
        old = int(rs["spec"].get("replicas", 1))
        if old == size:
            return
        ns, name = rs["metadata"]["namespace"], rs["metadata"]["name"]

        def change(obj: dict[str, Any]) -> None:
            obj["spec"]["replicas"] = size
            ann = obj["metadata"].setdefault("annotations", {})
            ann["deployment.kubernetes.io/desired-replicas"] = str(d["spec"].get("replicas", 1))

        self.store.mutate(self.indexes["ReplicaSet"].rt, ns, name, change)
        rs["spec"]["replicas"] = size
        verb = "up" if size > old else "down"
        self.event(d, "ScalingReplicaSet", f"Scaled {verb} replica set {name} to {size} from {old}")

    def _rollout(
        self, d: dict[str, Any], desired: int, new: dict[str, Any], olds: list[dict[str, Any]]
    ) -> None:
        spec = d.get("spec") or {}
        strategy = spec.get("strategy") or {}
        live_olds = [rs for rs in olds if rs["spec"].get("replicas", 1) or _pods(rs)]
        if not live_olds:
            self._scale(d, new, desired)
            return
        if strategy.get("type") == "Recreate":
            for rs in live_olds:
                self._scale(d, rs, 0)
            if not any(_pods(rs) for rs in live_olds):
                self._scale(d, new, desired)
            return
        rolling = strategy.get("rollingUpdate") or {}
        surge = scaled_value(rolling.get("maxSurge", "25%"), desired, True)
        unavailable = scaled_value(rolling.get("maxUnavailable", "25%"), desired, False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        total = sum(int(rs["spec"].get("replicas", 1)) for rs in [new, *live_olds])
        new_size = int(new["spec"].get("replicas", 1))
        room = desired + surge - total
        if new_size < desired and room > 0:
            self._scale(d, new, min(desired, new_size + room))
        elif new_size > desired:
            self._scale(d, new, desired)
        new_unavailable = int(new["spec"].get("replicas", 1)) - _available(new)
        all_pods = sum(_pods(rs) for rs in [new, *live_olds])
        can_remove = all_pods - (desired - unavailable) - new_unavailable
        for rs in live_olds:  # oldest revision first
            if can_remove <= 0:
                break
            size = int(rs["spec"].get("replicas", 1))
            cut = min(size, can_remove)
            if cut:
                self._scale(d, rs, size - cut)
                can_remove -= cut

    def _status(
        self,
        d: dict[str, Any],
        desired: int,
        new: dict[str, Any] | None,
        olds: list[dict[str, Any]],
        created: bool,
    ) -> None:
        meta, spec = d["metadata"], d.get("spec") or {}
        every = [rs for rs in [new, *olds] if rs is not None]
        replicas = sum(_pods(rs) for rs in every)
        updated = _pods(new) if new else 0
        ready = sum(int(rs.get("status", {}).get("readyReplicas", 0)) for rs in every)
        available = sum(_available(rs) for rs in every)
        status: dict[str, Any] = {"observedGeneration": meta.get("generation", 1)}
        for key, value in (
            ("replicas", replicas),
            ("updatedReplicas", updated),
            ("readyReplicas", ready),
            ("availableReplicas", available),
            ("unavailableReplicas", max(0, desired - available)),
        ):
            if value:
                status[key] = value
        now = self.ctx.clock.iso()
        old_status = d.get("status") or {}
        conditions = [dict(c) for c in old_status.get("conditions") or []]
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        max_unavailable = 0
        if (spec.get("strategy") or {}).get("type") != "Recreate":
            max_unavailable = scaled_value(rolling.get("maxUnavailable", "25%"), desired, False)
        if available >= desired - max_unavailable:
            set_condition(
                conditions,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                now,
            )
        else:
            set_condition(
                conditions,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now,
            )
        rs_name = new["metadata"]["name"] if new else ""
        complete = (
            new is not None
            and updated == desired
            and replicas == desired
            and available >= desired
            and int(new["spec"].get("replicas", 1)) == desired
        )
        progressing = find_condition(conditions, "Progressing")
        deadline = int(spec.get("progressDeadlineSeconds", 600))
        if spec.get("paused"):
            reason, message, state = "DeploymentPaused", "Deployment is paused", "Unknown"
        elif complete:
            reason = "NewReplicaSetAvailable"
            message, state = f'ReplicaSet "{rs_name}" has successfully progressed.', "True"
        elif created or progressing is None:
            reason, message, state = (
                "NewReplicaSetCreated",
                f'Created new replica set "{rs_name}"',
                "True",
            )
        else:
            reason = "ReplicaSetUpdated"
            message, state = f'ReplicaSet "{rs_name}" is progressing.', "True"
            last = progressing.get("lastUpdateTime")
            moved = (old_status.get("updatedReplicas"), old_status.get("availableReplicas")) != (
                status.get("updatedReplicas"),
                status.get("availableReplicas"),
            )
            stuck = progressing.get("reason") == "ProgressDeadlineExceeded" or (
                last and self.ctx.clock.now() - parse_rfc3339(last) > deadline
            )
            if stuck and not moved:
                reason, state = "ProgressDeadlineExceeded", "False"
                message = f'ReplicaSet "{rs_name}" has timed out progressing.'
            elif moved and progressing is not None:
                progressing["lastUpdateTime"] = now
        set_condition(conditions, "Progressing", state, reason, message, now)
        conditions.sort(key=lambda c: c["type"] != "Available")
        status["conditions"] = conditions
        if spec.get("selector"):
            status["selector"] = selector_string((spec["selector"] or {}).get("matchLabels") or {})
        self.write_status(d, status)


def _same_template(rs: dict[str, Any], template: dict[str, Any]) -> bool:
    """Whether the ReplicaSet's pod template is `template` apart from `pod-template-hash`."""
    theirs = (rs.get("spec") or {}).get("template") or {}
    meta = dict(theirs.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
    mine = dict(template.get("metadata") or {})
    if labels or "labels" in mine:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    return {**theirs, "metadata": meta} == {**template, "metadata": mine}


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return obj["metadata"].get("labels") or {}


def _revision(rs: dict[str, Any]) -> int:
    return int((rs["metadata"].get("annotations") or {}).get(REVISION, 0))


def _pods(rs: dict[str, Any] | None) -> int:
    return int((rs or {}).get("status", {}).get("replicas", 0))


def _available(rs: dict[str, Any]) -> int:
    return int(rs.get("status", {}).get("availableReplicas", 0))
