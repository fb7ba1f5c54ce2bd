"""Triage rules about model servers: `server-not-ready`, `server-max-replicas`. No Textual.

Servers are the servers view's rows (`console.cluster.views_servers`): KServe
InferenceServices and LLMInferenceServices, and GPU Deployments / StatefulSets not run by
one. A server scaled to zero on purpose is left alone.

- `server-not-ready`: no replica ready while some are wanted → critical (the model does not
  answer); some not ready → warning; a KServe rollout whose new revision is not ready while
  the old one serves → warning. Each only once it has lasted `pending_minutes` (a rollout or
  a scale-up takes a while): measured from the oldest pod not ready, else the Ready
  condition's change, else the object's creation.
- `server-max-replicas`: an autoscaled InferenceService (minReplicas < maxReplicas) that
  wants maxReplicas: warning when it is still short of ready replicas, else info.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from console.cluster import views
from console.cluster.session import PLURAL_OF_KIND
from console.cluster.views_servers import ServerRow, predictor_deployments, server_pods
from console.triage.engine import Rule, Thresholds, TriageInputs
from console.triage.model import CRITICAL, INFO, WARNING, Finding, ObjectRef
from console.triage.owners import duration, gpus_text, names


def _rows(inputs: TriageInputs) -> list[ServerRow]:
    """The servers view's rows, built once per evaluation for both rules."""
    cache = getattr(inputs.session, "cache", None)
    if cache is None:
        return []
    return inputs.once(
        "server-rows", lambda: views.server_rows(cache, inputs.namespace, now=inputs.now)
    )


MAX_REPLICAS = 100_000


def _count(value: int) -> int:
    """A replica count from the cluster as arithmetic can take it (a tenant may write 10**400:
    times a float that would raise)."""
    return max(0, min(MAX_REPLICAS, value))


def _ref(row: ServerRow) -> ObjectRef:
    return ObjectRef(
        PLURAL_OF_KIND.get(row.kind, "deployments"), row.namespace, row.name, "servers"
    )


def _not_ready_since(inputs: TriageInputs, row: ServerRow, pods: list[Any]) -> float:
    waiting = [
        p.started or p.created
        for p in pods
        if p.phase not in ("Succeeded", "Failed") and not views.pod_ready(p) and not p.deleting
    ]
    if any(waiting):
        return min(w for w in waiting if w)
    record = inputs.session.get(_ref(row).kind, (row.namespace, row.name))
    conditions = getattr(record, "conditions", ())
    for cond in conditions:
        if cond.type in ("Ready", "Available") and cond.status != "True" and cond.since:
            return cond.since
    return inputs.now - row.age if row.age else 0.0


def server_not_ready(inputs: TriageInputs, t: Thresholds) -> Iterator[Finding]:
    grace = max(0.0, t.pending_minutes * 60.0)
    for row in _rows(inputs):
        if row.scaled_to_zero:
            continue
        desired, ready = _count(row.desired_replicas), _count(row.ready_replicas)
        pods = server_pods(inputs.session.cache, row.kind, row.namespace, row.name)
        short = desired > 0 and ready < desired
        rollout = bool(row.pending_revision) and ready > 0
        if not short and not rollout:
            continue
        since = _not_ready_since(inputs, row, pods)
        if since and inputs.now - since < grace:
            continue  # unknown (no time at all): reported, better than silence
        per_pod = row.gpus_per_pod
        if rollout:  # the old revision serves; the new one's pods are the ones missing
            severity, title = WARNING, f"rollout stuck: revision {row.pending_revision} not ready"
            gpus = max(desired - ready, 1) * per_pod
        elif ready == 0:
            severity, title = CRITICAL, f"model server down: 0/{desired} replicas ready"
            gpus = max(row.gpus, desired * per_pod)
        else:
            severity, title = WARNING, f"model server degraded: {ready}/{desired} replicas ready"
            gpus = (desired - ready) * per_pod
        bad = [p for p in pods if p.phase not in ("Succeeded", "Failed") and not views.pod_ready(p)]
        lasted = f" for {duration(inputs.now - since)}" if since else ""
        evidence = [f"{ready}/{desired} replicas ready{lasted}"]
        if row.reason:
            evidence.append(f"reason: {row.reason.splitlines()[0][:200]}")
        if row.rollout_message:
            evidence.append(
                f"revision {row.pending_revision}: {row.rollout_message.splitlines()[0][:200]}"
            )
        if bad:
            evidence.append("pods: " + names([f"{p.name} ({p.status})" for p in bad], 3))
        if per_pod:
            evidence.append(f"{gpus_text(per_pod)} per replica")
        pending = any(p.phase == "Pending" and not p.node for p in bad)
        action = (
            "its pods wait for GPUs: see the pending-gpus finding"
            if pending
            else "tail the server's logs (l) for the startup error (model download, OOM, "
            "bad arguments)"
        )
        yield Finding(
            rule="server-not-ready",
            severity=severity,
            title=title,
            object=_ref(row),
            evidence=tuple(evidence),
            action=action,
            action_key="" if pending else "l",
            gpus=round(gpus, 3),
            since=since,
            data={
                "ready": ready,
                "desired": desired,
                "pending_revision": row.pending_revision,
                "reason": row.reason,
                "not_ready_minutes": round((inputs.now - since) / 60.0, 1) if since else None,
                "pods_not_ready": [p.name for p in bad],
            },
        )


def server_max_replicas(inputs: TriageInputs, t: Thresholds) -> Iterator[Finding]:
    for row in _rows(inputs):
        low, high = row.min_replicas, row.max_replicas
        if high is None or high <= 0 or (low is not None and low >= high):
            continue
        if row.pending_revision or not _pinned(inputs, row, high):
            continue  # a rollout's two revisions are not a scale-up
        short = row.ready_replicas < row.desired_replicas
        yield Finding(
            rule="server-max-replicas",
            severity=WARNING if short else INFO,
            title=f"autoscaler pinned at maxReplicas ({high})"
            + (f", {row.ready_replicas} ready" if short else ""),
            object=_ref(row),
            evidence=(
                f"replicas wanted {row.desired_replicas} = maxReplicas {high} "
                f"(minReplicas {low if low is not None else 1})",
                f"{row.ready_replicas}/{row.desired_replicas} ready, "
                f"{gpus_text(row.gpus_per_pod)} per replica",
            ),
            action="raise maxReplicas (s) if the load is real and GPUs are free",
            action_key="s" if row.kind == "InferenceService" else "",
            gpus=round(row.gpus, 3),
            data={
                "min_replicas": low,
                "max_replicas": high,
                "desired": row.desired_replicas,
                "ready": row.ready_replicas,
            },
        )


def _pinned(inputs: TriageInputs, row: ServerRow, high: int) -> bool:
    """Some revision's predictor wants maxReplicas (a canary's revisions scale apart)."""
    record = inputs.session.get(_ref(row).kind, (row.namespace, row.name))
    if record is None or row.kind != "InferenceService":
        return row.desired_replicas >= high
    deployments = predictor_deployments(inputs.session.cache, record)
    if not deployments:
        return row.desired_replicas >= high
    return any(d.desired >= high for d in deployments)


RULES: tuple[Rule, ...] = (server_not_ready, server_max_replicas)
