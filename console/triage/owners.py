"""What the workload rules share: the object a pod belongs to (the row Enter jumps to) and
short wording of durations and GPU counts. No Textual."""

from __future__ import annotations

import time
from typing import Any

from console.cluster.kinds import JOB_KINDS
from console.cluster.records import PodRecord
from console.cluster.session import PLURAL_OF_KIND, SERVER_KINDS
from console.triage.model import ObjectRef

NOTEBOOK_LABELS = ("notebook-name", "kubeflow-notebook")
"""Labels a Kubeflow Notebook's pods carry (its StatefulSet is the row)."""


def owner_of(session: Any, pod: PodRecord) -> ObjectRef:
    """The row that stands for `pod`'s workload: its training job (view `jobs`), its model
    server, Deployment or StatefulSet (view `servers`), else the pod itself (view `pods`)."""
    kind, name = pod.workload
    plural = PLURAL_OF_KIND.get(kind, "")
    if name and plural in JOB_KINDS:
        if plural == "jobsets" and session.get("trainjobs", (pod.namespace, name)) is not None:
            plural = "trainjobs"  # the TrainJob's row stands for the JobSet it runs
        return ObjectRef(plural, pod.namespace, name, "jobs")
    if name and plural in SERVER_KINDS:
        return ObjectRef(plural, pod.namespace, name, "servers")
    return ObjectRef("pods", pod.namespace, pod.name, "pods")


def is_notebook(pod: PodRecord) -> bool:
    if any(label in pod.labels for label in NOTEBOOK_LABELS):
        return True
    return any("jupyter" in c.image or "notebook" in c.image for c in pod.containers)


def what_of(ref: ObjectRef, pods: list[PodRecord]) -> str:
    """`notebook`, `job`, `server`, `deployment`, `pod`: the word a title uses."""
    if pods and any(is_notebook(p) for p in pods):
        return "notebook"
    if ref.view == "jobs":
        return "job"
    if ref.kind in ("inferenceservices", "llminferenceservices"):
        return "server"
    if ref.kind == "deployments":
        return "deployment"
    if ref.kind == "statefulsets":
        return "statefulset"
    return "pod"


def duration(seconds: float) -> str:
    """`45 s`, `12 min`, `3.5 h`, `2.1 d`."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def gpus_text(gpus: float) -> str:
    """`1 GPU`, `8 GPUs`, `0.5 GPU`."""
    number = f"{gpus:g}" if not gpus.is_integer() else str(int(gpus))
    return f"{number} GPU" + ("" if gpus <= 1 else "s")


def clock(epoch: float) -> str:
    """`HH:MM` local time, for evidence lines ("?" for a time that is none)."""
    try:
        return time.strftime("%H:%M", time.localtime(epoch)) if epoch > 0 else "?"
    except (OverflowError, OSError, ValueError):
        return "?"


def names(items: list[str], limit: int = 4) -> str:
    """`a, b, c` and `(+N more)` past `limit`."""
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")
