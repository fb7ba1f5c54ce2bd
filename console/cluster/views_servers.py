"""Row data for the model-servers view: KServe InferenceServices (their predictor's
Deployments, raw or one per serverless revision, traffic split and rollout) and GPU
Deployments/StatefulSets not owned by one. Pure functions over the cache, like `views`
(which re-exports these names)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from console.cluster import views
from console.cluster.cache import ClusterCache
from console.cluster.records import IsvcRecord, PodRecord, Traffic, WorkloadRecord


@dataclass(frozen=True, slots=True)
class ServerRow:
    key: tuple[str, str, str]  # (kind, namespace, name)
    kind: str  # InferenceService | Deployment | StatefulSet
    namespace: str
    name: str
    ready: str  # True | False | Unknown
    reason: str
    url: str
    ready_replicas: int
    desired_replicas: int
    min_replicas: int | None
    max_replicas: int | None
    gpus_per_pod: float
    gpus: float  # held by its running pods
    revision: str
    age: float
    traffic: tuple[Traffic, ...] = ()  # an InferenceService's split: revision → percent
    pending_revision: str = ""  # latest created revision when it is not the ready one
    rollout_message: str = ""  # why that revision is not ready
    mode: str = ""  # deployment mode (Serverless/Knative, RawDeployment/Standard, …)
    scaled_to_zero: bool = False  # minReplicas 0 and no replicas wanted or running


def server_pods(cache: ClusterCache, kind: str, namespace: str, name: str) -> list[PodRecord]:
    """Pods of an InferenceService, Deployment or StatefulSet."""
    return cache["pods"].by_index("workload", (namespace, kind, name))


def _gpus_held(pods: list[PodRecord]) -> float:
    return sum(p.gpus for p in pods if p.holds_resources)


def predictor_deployments(cache: ClusterCache, isvc: IsvcRecord) -> list[WorkloadRecord]:
    """The predictor's Deployments: `<isvc>-predictor` (raw/standard mode), or one per
    serverless revision, `<revision>-deployment`, for the revisions in its traffic split and
    the latest created and ready ones."""
    if "deployments" not in cache:
        return []
    deployments = cache["deployments"]
    raw = deployments.get((isvc.namespace, f"{isvc.name}-predictor"))
    if raw is not None:
        return [raw]
    revisions = [t.revision for t in isvc.traffic]
    revisions += [isvc.latest_ready_revision, isvc.latest_created_revision]
    found = []
    for rev in dict.fromkeys(r for r in revisions if r):
        dep = deployments.get((isvc.namespace, f"{rev}-deployment"))
        if dep is not None:
            found.append(dep)
    return found


_SERVERLESS_DEPLOYMENT = re.compile(r"^(?P<isvc>.+)-predictor(?:-default)?-\d{5}-deployment$")


def _isvc_row(cache: ClusterCache, isvc: IsvcRecord, now: float) -> ServerRow:
    pods = server_pods(cache, isvc.kind, isvc.namespace, isvc.name)
    deployments = predictor_deployments(cache, isvc) if isvc.replicas is None else []
    desired = sum(d.desired for d in deployments) if deployments else len(pods)
    if isvc.replicas is not None:  # an LLMInferenceService says how many pods it wants
        desired = isvc.replicas
    per_pod = isvc.gpus_per_pod or next(
        (d.gpus_per_pod for d in deployments if d.gpus_per_pod), 0.0
    )
    if not per_pod and pods:
        per_pod = pods[0].gpus
    created, ready_rev = isvc.latest_created_revision, isvc.latest_ready_revision
    live = [p for p in pods if p.phase not in ("Succeeded", "Failed")]
    return ServerRow(
        key=(isvc.kind, isvc.namespace, isvc.name),
        kind=isvc.kind,
        namespace=isvc.namespace,
        name=isvc.name,
        ready=isvc.ready,
        reason=isvc.ready_reason or isvc.ready_message,
        url=isvc.url,
        ready_replicas=sum(1 for p in pods if views.pod_ready(p)),
        desired_replicas=desired,
        min_replicas=isvc.min_replicas,
        max_replicas=isvc.max_replicas,
        gpus_per_pod=per_pod,
        gpus=_gpus_held(pods),
        revision=ready_rev,
        age=views.age_seconds(isvc.created, now),
        traffic=isvc.traffic,
        pending_revision=created if created and created != ready_rev else "",
        rollout_message=isvc.rollout_message,
        mode=isvc.deployment_mode,
        scaled_to_zero=isvc.min_replicas == 0 and desired == 0 and not live,
    )


def _workload_row(cache: ClusterCache, wl: WorkloadRecord, now: float) -> ServerRow:
    pods = server_pods(cache, wl.kind, wl.namespace, wl.name)
    ok = wl.ready >= wl.desired
    available = next((c for c in wl.conditions if c.type == "Available"), None)
    return ServerRow(
        key=(wl.kind, wl.namespace, wl.name),
        kind=wl.kind,
        namespace=wl.namespace,
        name=wl.name,
        ready="True" if ok else "False",
        reason="" if ok else (available.reason if available else "replicas not ready"),
        url="",
        ready_replicas=wl.ready,
        desired_replicas=wl.desired,
        min_replicas=None,
        max_replicas=None,
        gpus_per_pod=wl.gpus_per_pod,
        gpus=_gpus_held(pods),
        revision="",
        age=views.age_seconds(wl.created, now),
    )


def server_rows(
    cache: ClusterCache, namespace: str | None = None, now: float | None = None
) -> list[ServerRow]:
    """KServe InferenceServices and LLMInferenceServices, plus GPU Deployments/StatefulSets
    not run by one."""
    now = time.time() if now is None else now
    rows = []
    isvcs: set[tuple[str, str]] = set()
    for plural in ("inferenceservices", "llminferenceservices"):
        if plural not in cache:
            continue
        for isvc in cache[plural].items():
            if plural == "inferenceservices":
                isvcs.add(isvc.key)
            if views.in_namespace(namespace, isvc.namespace):
                rows.append(_isvc_row(cache, isvc, now))
    for kind in ("deployments", "statefulsets"):
        if kind not in cache:
            continue
        for wl in cache[kind].items():
            if wl.gpus_per_pod <= 0 or not views.in_namespace(namespace, wl.namespace) or wl.isvc:
                continue
            if wl.labels.get("app.kubernetes.io/part-of") == "llminferenceservice":
                continue  # an LLMInferenceService's workload: its row stands for it
            if wl.name.endswith("-predictor") and (wl.namespace, wl.name[:-10]) in isvcs:
                continue
            serverless = _SERVERLESS_DEPLOYMENT.match(wl.name)
            if serverless and (wl.namespace, serverless["isvc"]) in isvcs:
                continue
            rows.append(_workload_row(cache, wl, now))
    return rows
