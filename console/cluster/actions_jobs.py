"""Training-job and pod actions: suspend / resume, delete a job, restart a pod.

- `Suspend(ref, on=True|False)`: Kubeflow PyTorchJob/TFJob/MPIJob `spec.runPolicy.suspend`;
  batch Job, JobSet, TrainJob `spec.suspend` (a merge patch). Suspending deletes the
  job's running pods and frees their GPUs: the confirmation says how many.
- `DeleteJob(ref)`: DELETE with `propagationPolicy: Background` (kubectl's default),
  stated in the confirmation with the pods and GPUs the garbage collector removes.
- `RestartPod(ref)`: DELETE the pod; refused when no controller owns it (nothing would
  bring it back).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from console.cluster.actions import MERGE_PATCH, ActionError, Change, ObjectRef, Plan, dig
from console.cluster.actions_scale import template_gpus
from console.cluster.actions_single import SingleWrite
from console.cluster.connection import ClusterError, Connection
from console.text import clean_line

SUSPEND_PATH: dict[str, tuple[str, ...]] = {
    "pytorchjobs": ("runPolicy", "suspend"),
    "tfjobs": ("runPolicy", "suspend"),
    "mpijobs": ("runPolicy", "suspend"),
    "jobs": ("suspend",),
    "jobsets": ("suspend",),
    "trainjobs": ("suspend",),
}
"""Where each job kind keeps its suspend flag, under `spec`."""
JOB_RESOURCES = tuple(SUSPEND_PATH)

POD_LABEL: dict[str, str] = {
    "pytorchjobs": "training.kubeflow.org/job-name",
    "tfjobs": "training.kubeflow.org/job-name",
    "mpijobs": "training.kubeflow.org/job-name",
    "jobs": "batch.kubernetes.io/job-name",
    "jobsets": "jobset.sigs.k8s.io/jobset-name",
    "trainjobs": "jobset.sigs.k8s.io/jobset-name",
}
"""The label the job's pods carry with the job's name (a TrainJob runs as a JobSet of its
name)."""

PROPAGATION = "Background"


def _finished(obj: dict[str, Any]) -> str:
    """The terminal condition type (`Succeeded`, `Complete`, `Failed`) that is True, or ""."""
    for condition in dig(obj, "status", "conditions") or []:
        if (
            isinstance(condition, dict)
            and condition.get("status") == "True"
            and condition.get("type") in ("Succeeded", "Complete", "Failed")
        ):
            return str(condition["type"])
    return ""


def _live_pods(connection: Connection, ref: ObjectRef) -> tuple[int, float] | None:
    """(pods, GPUs) of the job's pods that hold resources; None when they cannot be listed."""
    label = POD_LABEL.get(ref.resource)
    if not label:
        return None
    path = f"/api/v1/namespaces/{quote(ref.namespace, safe='')}/pods"
    query = {"labelSelector": f"{label}={ref.name}"}
    try:
        items = json.loads(connection.get(path, query)).get("items")
    except (ClusterError, ValueError, AttributeError):
        return None
    if not isinstance(items, list):
        return None
    pods, gpus = 0, 0.0
    for pod in items:
        phase = dig(pod, "status", "phase")
        if phase in ("Succeeded", "Failed") or dig(pod, "metadata", "deletionTimestamp"):
            continue
        pods += 1
        gpus += template_gpus({"spec": pod.get("spec") if isinstance(pod, dict) else None})
    return pods, gpus


def _pods_text(live: tuple[int, float] | None) -> str:
    if live is None:
        return "unknown (pods not readable)"
    pods, gpus = live
    return f"{pods} ({gpus:g} GPU{'' if gpus == 1 else 's'})" if gpus else str(pods)


class Suspend(SingleWrite):
    """Suspend (`on=True`) or resume a training job."""

    def __init__(self, ref: ObjectRef, on: bool = True) -> None:
        self.take(ref, SUSPEND_PATH, " cannot be suspended (only training jobs)")
        self.on = on
        self.verb = "suspend" if on else "resume"

    def plan(self, connection: Connection) -> Plan:
        obj = self.read(connection)
        label = self.target.label()
        keys = SUSPEND_PATH[self.target.resource]
        was = dig(obj, "spec", *keys) is True
        if was == self.on:
            state = "suspended" if was else "running (not suspended)"
            return self.unchanged(f"{label} is already {state}")
        finished = _finished(obj)
        if finished and self.on:
            raise ActionError(f"{label} has finished ({finished}): nothing to suspend")
        changes = [Change("suspended", "yes" if was else "no", "yes" if self.on else "no")]
        notes: list[str] = []
        if self.on:
            live = _live_pods(connection, self.target)
            changes.append(Change("running pods", _pods_text(live), "0 (deleted)", derived=True))
            notes.append("the job resumes from its last checkpoint, if it writes any")
        else:
            notes.append("its pods are created again and wait for free GPUs")
        body: dict[str, Any] = {keys[-1]: self.on}
        if len(keys) == 2:
            body = {keys[0]: body}
        return self.single_write(
            "PATCH",
            {"spec": body},
            changes=changes,
            notes=notes,
            done=f"{'suspended' if self.on else 'resumed'} {label}",
            content_type=MERGE_PATCH,
        )


class DeleteJob(SingleWrite):
    """Delete a training job; its pods go with it (propagation policy Background)."""

    verb = "delete"
    access_verb = "delete"

    def __init__(self, ref: ObjectRef) -> None:
        self.take(ref, JOB_RESOURCES, ": :delete deletes training jobs only")

    def plan(self, connection: Connection) -> Plan:
        obj = self.read(connection)
        state = _finished(obj) or ("Suspended" if _suspended(obj, self.target) else "active")
        live = _live_pods(connection, self.target)
        changes = (
            Change(self.target.kind, state, "deleted", derived=True),
            Change("pods", _pods_text(live), "deleted by the garbage collector", derived=True),
        )
        notes = (
            f"propagationPolicy {PROPAGATION}: the job goes now, its pods right after"
            " (as kubectl delete)",
            "this cannot be undone: the job's spec is gone unless you have it elsewhere",
        )
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": PROPAGATION}
        return self.single_write(
            "DELETE",
            body,
            changes=changes,
            notes=notes,
            done=f"deleted {self.target.label()} (propagation {PROPAGATION})",
        )


def _suspended(obj: dict[str, Any], ref: ObjectRef) -> bool:
    keys = SUSPEND_PATH.get(ref.resource)
    return bool(keys) and dig(obj, "spec", *keys) is True


class RestartPod(SingleWrite):
    """Delete a pod so that its controller makes a new one."""

    verb = "restart"
    access_verb = "delete"

    def __init__(self, ref: ObjectRef) -> None:
        self.take(ref, ("pods",), ": :restart restarts pods only")

    def plan(self, connection: Connection) -> Plan:
        pod = self.read(connection)
        label = self.target.label()
        owners = dig(pod, "metadata", "ownerReferences") or []
        owner = next(
            (o for o in owners if isinstance(o, dict) and o.get("controller") is True), None
        )
        if owner is None:
            raise ActionError(
                f"{label} has no controller: deleting it would not bring it back; nothing sent"
            )
        if dig(pod, "metadata", "deletionTimestamp"):
            raise ActionError(f"{label} is already being deleted")
        phase = clean_line(dig(pod, "status", "phase") or "Unknown")
        node = clean_line(dig(pod, "spec", "nodeName") or "no node")
        controller = clean_line(f"{owner.get('kind', '?')} {owner.get('name', '?')}")
        changes = (
            Change("pod", f"{phase} on {node}", f"deleted; {controller} makes a new one", True),
        )
        notes: list[str] = []
        if owner.get("kind") in ("PyTorchJob", "TFJob", "MPIJob"):
            notes.append("a non-elastic training job may restart all its pods")
        return self.single_write(
            "DELETE",
            changes=changes,
            notes=notes,
            done=f"restarted {label}: deleted, {controller} recreates it",
        )
