"""KServe's Serverless (Knative) mode: one Deployment per revision, traffic split, rollouts.

The sim has no Knative, so the InferenceService controller plays its part: every predictor
change makes a revision `<isvc>-predictor-0000N` run by a Deployment
`<revision>-deployment` (pods labelled `serving.knative.dev/revision`). Traffic as KServe
sets Knative's route: 100% to the latest revision once it is ready; with
`canaryTrafficPercent` the latest ready revision gets that share (tag `latest`) and the
previously rolled-out one the rest (tag `prev`); a latest revision that is not ready keeps
all traffic where it was, and `LatestDeploymentReady` / `PredictorConfigurationReady` say
why with Knative's message (`Revision "…" failed with message: 0/6 nodes are available: …`).
Revisions without traffic are scaled to zero, as Knative's autoscaler does.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ..kinds import by_kind
from ..podspec import owner_reference
from .owned import PodInfo, child_index

REVISION = "serving.knative.dev/revision"
SERVICE = "serving.knative.dev/service"
CONFIGURATION = "serving.knative.dev/configuration"
MODES = ("Serverless", "Knative")


def revision(name: str, number: int) -> str:
    return f"{name}-predictor-{number:05d}"


def _number(name: str, dep_name: str) -> int:
    found = re.fullmatch(re.escape(name) + r"-predictor-(\d{5})-deployment", dep_name)
    return int(found.group(1)) if found else 0


def revision_template(template: dict[str, Any], name: str, number: int) -> dict[str, Any]:
    """The predictor pod template as revision `number` runs it."""
    out = copy.deepcopy(template)
    labels = out.setdefault("metadata", {}).setdefault("labels", {})
    rev = revision(name, number)
    labels.update({REVISION: rev, SERVICE: f"{name}-predictor", CONFIGURATION: f"{name}-predictor"})
    labels["app"] = rev
    return out


def _deployment(
    isvc: dict[str, Any], template: dict[str, Any], number: int, replicas: int
) -> dict[str, Any]:
    meta = isvc["metadata"]
    tmpl = revision_template(template, meta["name"], number)
    labels = dict(tmpl["metadata"]["labels"])
    return {
        "metadata": {
            "name": f"{revision(meta['name'], number)}-deployment",
            "namespace": meta["namespace"],
            "labels": labels,
            "ownerReferences": [owner_reference(isvc)],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {REVISION: labels[REVISION]}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            },
            "template": tmpl,
        },
    }


def _pods(ctx: Any, dep: dict[str, Any] | None) -> list[PodInfo]:
    if dep is None:
        return []
    rs_index, pod_index = child_index(ctx, "ReplicaSet"), child_index(ctx, "Pod")
    return [
        p
        for rs in rs_index.children(dep["metadata"]["uid"]).values()
        for p in pod_index.children(rs["metadata"]["uid"]).values()
        if p.active or p.phase == "Failed"
    ]


def _unschedulable(ctrl: Any, namespace: str, pods: list[PodInfo]) -> str:
    """The scheduler's message for a pending pod of the revision ("" if none)."""
    for info in pods:
        if info.node or info.phase != "Pending":
            continue
        pod = ctrl.store.get(by_kind("Pod"), namespace, info.name) or {}
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                return str(cond.get("message") or cond.get("reason") or "")
    return ""


def reconcile(
    ctrl: Any, isvc: dict[str, Any], status: dict[str, Any], template: dict[str, Any], low: int
) -> tuple[list[PodInfo], bool, tuple[str, str] | None]:
    """Run the revisions of a Serverless isvc and fill `status.components.predictor`.

    Returns (pods of the revisions serving traffic, whether any of them is ready, why the
    latest revision is not ready as (reason, message), or None when it is)."""
    meta, spec = isvc["metadata"], isvc.get("spec") or {}
    name, ns = meta["name"], meta["namespace"]
    comp = status.setdefault("components", {}).setdefault("predictor", {})
    deps = ctrl.children(isvc, "Deployment")
    numbers = sorted(n for n in (_number(name, d) for d in deps) if n)
    latest = numbers[-1] if numbers else 0
    latest_dep = deps.get(f"{revision(name, latest)}-deployment") if latest else None
    wanted = revision_template(template, name, latest) if latest else None
    if latest_dep is None or (latest_dep.get("spec") or {}).get("template") != wanted:
        latest += 1
        ctrl.create_child("Deployment", _deployment(isvc, template, latest, low))
        numbers.append(latest)
        deps = ctrl.children(isvc, "Deployment")

    def dep_of(number: int) -> dict[str, Any] | None:
        return deps.get(f"{revision(name, number)}-deployment")

    def ready(number: int) -> bool:
        """Ready pods, or scaled to zero on purpose (minReplicas 0: Knative's Ready revision)."""
        dep = dep_of(number) or {}
        if int((dep.get("status") or {}).get("readyReplicas", 0)) > 0:
            return True
        return low == 0 and bool(dep) and not (dep.get("spec") or {}).get("replicas")

    created = revision(name, latest)
    ready_numbers = [n for n in numbers if ready(n)]
    ready_rev = revision(name, ready_numbers[-1]) if ready_numbers else ""
    ready_rev = ready_rev or comp.get("latestReadyRevision", "")
    rolled = comp.get("latestRolledoutRevision", "")
    canary = (spec.get("predictor") or {}).get("canaryTrafficPercent")
    traffic: list[dict[str, Any]] = []
    if ready(latest):
        ready_rev = created
        if canary is not None and rolled and rolled != created:
            share = max(0, min(100, int(canary)))
            traffic = [
                {"tag": "latest", "revisionName": created, "percent": share, "latestRevision": True},
                {"tag": "prev", "revisionName": rolled, "percent": 100 - share, "latestRevision": False},
            ]  # fmt: skip
            comp["previousRolledoutRevision"] = rolled
        else:
            traffic = [{"revisionName": created, "percent": 100, "latestRevision": True}]
            if rolled and rolled != created:
                comp["previousRolledoutRevision"] = rolled
            comp["latestRolledoutRevision"] = created
    elif canary is not None and rolled:  # a canary that is not ready: all stays on the old
        traffic = [{"revisionName": rolled, "percent": 100, "latestRevision": False}]
    elif ready_rev:  # Knative's latestRevision route resolves to the latest *ready* one
        traffic = [{"revisionName": ready_rev, "percent": 100, "latestRevision": True}]
    serving = {t["revisionName"] for t in traffic} | {created}
    for number in numbers:
        dep = dep_of(number)
        if (
            dep is not None
            and revision(name, number) not in serving
            and dep["spec"].get("replicas")
        ):
            ctrl.store.mutate(
                by_kind("Deployment"), ns, dep["metadata"]["name"],
                lambda obj: obj["spec"].update(replicas=0),
            )  # fmt: skip
    comp["latestCreatedRevision"] = created
    if ready_rev:
        comp["latestReadyRevision"] = ready_rev
    comp["traffic"] = traffic
    why = None
    if created != ready_rev:
        message = _unschedulable(ctrl, ns, _pods(ctrl.ctx, dep_of(latest)))
        why = (
            ("RevisionFailed", f'Revision "{created}" failed with message: {message}.')
            if message
            else ("RevisionMissing", f'Configuration "{name}-predictor" is waiting for a Revision to become ready.')
        )  # fmt: skip
    pods = [
        p
        for t in traffic
        for p in _pods(ctrl.ctx, dep_of(_number(name, t["revisionName"] + "-deployment")))
    ]
    return pods, any(p.ready for p in pods), why
