"""Triage rule `pending-gpus`: GPU pods that wait to be scheduled, grouped by why. No Textual.

A pod counts when it asks for an accelerator, is Pending on no node, and has waited more
than `pending_minutes` (since it was created). Its reason comes from the scheduler's
PodScheduled=False condition (kube-scheduler's FailedScheduling message, e.g. `0/12 nodes
are available: 4 Insufficient nvidia.com/gpu, 8 node(s) had untolerated taint {…}`):

- `insufficient`: some node lacks the accelerator asked (`Insufficient nvidia.com/…`):
  grouped by the GPU product it waits for — the product of the nodes its scheduled
  siblings run on, else the only product offering that resource, else the resource name;
- `taint`: nodes have a taint the pod does not tolerate (grouped by taint);
- `selector`: no node matches its node selector / affinity;
- `queue`: held back by a queue — SchedulingGated pods (Kueue's admission gate and the like)
  and Kueue workloads suspended until admitted (a job with a queue label, suspended);
- `other`: anything else (the message says what).

The first reason in that order that the message names decides (a GPU shortage explains a
wait better than the nodes the pod was never meant for). One finding per reason and product
(insufficient), taint, queue, or else owning workload; its object is the workload of the
longest-waiting pod; evidence: pods, the longest wait, GPUs asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from console.cluster import views
from console.cluster.kinds import JOB_KINDS
from console.cluster.records import PodRecord
from console.triage.engine import Rule, Thresholds, TriageInputs
from console.triage.model import WARNING, Finding, ObjectRef
from console.triage.owners import duration, gpus_text, names, owner_of

RULE = "pending-gpus"
INSUFFICIENT, TAINT, SELECTOR, QUEUE, OTHER = "insufficient", "taint", "selector", "queue", "other"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"

_INSUFFICIENT = re.compile(r"Insufficient ([\w./-]*\w)")
_TAINT = re.compile(r"untolerated taint\(?s?\)? (\{[^}]{0,200}\})")
_SELECTOR = (
    "didn't match Pod's node affinity",
    "node affinity/selector",
    "didn't match node selector",
)

_ACTIONS = {
    INSUFFICIENT: "free GPUs of that product (idle allocations first) or add nodes; or ask for "
    "fewer GPUs per pod",
    TAINT: "add a toleration for the taint to the pods, or untaint the nodes meant for them",
    SELECTOR: "fix the pods' node selector / affinity: no node with free GPUs matches it",
    QUEUE: "raise the queue's quota or free quota in it; the queue admits it then",
    OTHER: "read the pods' scheduling message (Enter, then the pod's events)",
}


def classify(pod: PodRecord) -> tuple[str, str]:
    """(reason class, detail): the accelerator resource, the taint, the gate, or the message."""
    message = pod.scheduled_message
    if pod.scheduled_reason == "SchedulingGated" or pod.status == "SchedulingGated":
        return QUEUE, pod.labels.get(QUEUE_LABEL, "") or "scheduling gate"
    for resource in _INSUFFICIENT.findall(message):
        if resource in pod.gpu_request:
            return INSUFFICIENT, resource
    taint = _TAINT.search(message)
    if taint:
        return TAINT, taint.group(1)
    if any(s in message for s in _SELECTOR):
        return SELECTOR, ""
    first = message.split(". ", 1)[0].strip()
    return OTHER, first[:160] or pod.scheduled_reason or "not scheduled yet"


@dataclass
class _Group:
    reason: str
    detail: str
    pods: list[PodRecord] = field(default_factory=list)
    jobs: list[Any] = field(default_factory=list)
    owners: dict[ObjectRef, None] = field(default_factory=dict)
    first: tuple[float, ObjectRef] | None = None  # (waiting since, its owner)
    gpus: float = 0.0

    def add(self, since: float, ref: ObjectRef, gpus: float) -> None:
        self.owners.setdefault(ref, None)
        self.gpus += gpus
        if self.first is None or since < self.first[0]:
            self.first = (since, ref)


@dataclass
class _Offer:
    """The schedulable GPU nodes offering one accelerator resource, by product."""

    nodes: dict[str, list[Any]] = field(default_factory=dict)


def _offers(session: Any) -> dict[str, _Offer]:
    out: dict[str, _Offer] = {}
    for node in session.cache["nodes"].by_index("gpu", "gpu") if "nodes" in session.cache else ():
        if node.unschedulable:
            continue  # the scheduler counts it as unschedulable, not as insufficient
        for resource in node.gpu_allocatable:
            offer = out.setdefault(resource, _Offer())
            offer.nodes.setdefault(node.gpu_product or "unknown product", []).append(node)
    return out


def _product(session: Any, pod: PodRecord, resource: str, offers: dict[str, _Offer]) -> str:
    """The GPU product a pod short of `resource` waits for. PodRecord does not keep the
    node selector, so: the product its scheduled siblings run on; else the only product
    offering the resource; else the one product whose schedulable nodes number exactly
    the message's `N Insufficient <resource>` and are all short of the pod's request (the
    nodes the selector let through are the ones counted insufficient); else the resource."""
    kind, name = pod.workload
    if name:
        for sibling in session.pods_of(pod.namespace, kind, name):
            node = session.get("nodes", ("", sibling.node)) if sibling.node else None
            if node is not None and node.gpu_product and resource in node.gpu_allocatable:
                return node.gpu_product
    by_product = offers.get(resource, _Offer()).nodes
    if len(by_product) == 1:
        return next(iter(by_product))
    counted = re.search(
        rf"\b(\d{{1,6}}) Insufficient {re.escape(resource)}(?![\w/-]|\.\w)", pod.scheduled_message
    )
    if counted:
        short = int(counted.group(1))
        want = pod.gpu_request.get(resource, 0.0)
        fits = [
            product
            for product, nodes in by_product.items()
            if len(nodes) == short
            and all(session.ledger.node(n.name).free.get(resource, 0.0) < want for n in nodes)
        ]
        if len(fits) == 1:
            return fits[0]
    if resource.startswith("nvidia.com/mig-"):
        return "MIG " + resource.removeprefix("nvidia.com/mig-")
    return resource


def pending_gpus(inputs: TriageInputs, t: Thresholds) -> Iterator[Finding]:
    session, now = inputs.session, inputs.now
    wait = max(0.0, t.pending_minutes * 60.0)
    groups: dict[tuple[str, str, Any], _Group] = {}
    offers: dict[str, _Offer] | None = None
    for pod in views.gpu_pods(session.cache, inputs.namespace):
        if pod.node or pod.phase != "Pending" or pod.deleting:
            continue
        since = min(s for s in (pod.created, pod.pending_since) if s) if pod.created else 0.0
        if not since or now - since <= wait:
            continue
        reason, detail = classify(pod)
        ref = owner_of(session, pod)
        if reason == INSUFFICIENT:
            offers = _offers(session) if offers is None else offers
            detail = _product(session, pod, detail, offers)
            key: tuple[str, str, Any] = (reason, detail, None)
        elif reason in (TAINT, QUEUE):
            key = (reason, detail, None)
        else:
            key = (reason, detail, ref)
        group = groups.setdefault(key, _Group(reason, detail))
        group.pods.append(pod)
        group.add(since, ref, pod.gpus)
    for job in _queued_jobs(session, inputs.namespace):
        since = next((c.since for c in job.conditions if c.type == "Suspended" and c.since), 0.0)
        since = since or job.created
        if not since or now - since <= wait:
            continue
        ref = ObjectRef(_plural(job.kind), job.namespace, job.name, "jobs")
        group = groups.setdefault((QUEUE, job.queue, None), _Group(QUEUE, job.queue))
        group.jobs.append(job)
        group.add(since, ref, job.gpus)
    for group in groups.values():
        yield _finding(group, now)


def _plural(kind: str) -> str:
    from console.cluster.session import PLURAL_OF_KIND

    return PLURAL_OF_KIND.get(kind, "jobs")


def _queued_jobs(session: Any, namespace: str | None) -> Iterator[Any]:
    """Training jobs a queue holds suspended (Kueue suspends a job until it admits it)."""
    for kind in JOB_KINDS:
        for job in session.items(kind):
            if (
                job.suspended
                and job.queue
                and job.gpus > 0
                and views.in_namespace(namespace, job.namespace)
            ):
                yield job


def _title(group: _Group, count: str, one: bool) -> str:
    wait, they = ("waits", "it does") if one else ("wait", "they do")
    if group.reason == INSUFFICIENT:
        return f"{count} {wait} for {group.detail} GPUs: not enough free"
    if group.reason == TAINT:
        return f"{count} {wait}: GPU nodes have a taint {they} not tolerate"
    if group.reason == SELECTOR:
        return f"{count} {wait}: no GPU node matches {'its' if one else 'their'} node selector"
    if group.reason == QUEUE:
        gate = group.detail == "scheduling gate"
        return f"{count} held by {'a scheduling gate' if gate else 'queue ' + group.detail}"
    return f"{count} {wait} to be scheduled"


def _finding(group: _Group, now: float) -> Finding:
    assert group.first is not None
    since, ref = group.first
    pods, jobs = group.pods, group.jobs
    parts = []
    if pods:
        parts.append(f"{len(pods)} GPU pod{'s' if len(pods) > 1 else ''}")
    if jobs:
        parts.append(f"{len(jobs)} queued job{'s' if len(jobs) > 1 else ''}")
    count = " and ".join(parts)
    one = len(pods) + len(jobs) == 1
    evidence = [
        f"waiting {duration(now - since)} (longest), {gpus_text(group.gpus)} asked",
    ]
    if pods:
        evidence.append(f"pods: {names([f'{p.namespace}/{p.name}' for p in pods])}")
    if jobs:
        evidence.append(f"jobs: {names([f'{j.namespace}/{j.name}' for j in jobs])}")
    if group.detail and group.reason in (TAINT, OTHER):
        evidence.append(f"{'taint' if group.reason == TAINT else 'scheduler'}: {group.detail}")
    message = next((p.scheduled_message for p in pods if p.scheduled_message), "")
    if message and group.reason != OTHER:
        evidence.append(f"scheduler: {message.split('. preemption')[0][:200]}")
    return Finding(
        rule=RULE,
        severity=WARNING,
        title=_title(group, count, one),
        object=ref,
        evidence=tuple(evidence),
        action=_ACTIONS[group.reason],
        action_key="",
        gpus=round(group.gpus, 3),
        since=since,
        data={
            "reason": group.reason,
            "detail": group.detail,
            "pods": [f"{p.namespace}/{p.name}" for p in pods],
            "jobs": [f"{j.namespace}/{j.name}" for j in jobs],
            "owners": [o.label() for o in group.owners],
            "waiting_minutes": round((now - since) / 60.0, 1),
            "gpus_asked": round(group.gpus, 3),
        },
    )


RULES: tuple[Rule, ...] = (pending_gpus,)
