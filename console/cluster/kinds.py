"""The kinds the console watches, and decoding their list bodies and watch lines.

A `Kind` names the REST path, the wire struct and the wire → record mapper. Decoding
never raises for bad data: a list is decoded typed in one pass (fast), and only if
that fails item by item, skipping and counting malformed items.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote

import msgspec

from console.cluster import wire
from console.cluster.decode_core import event_record, namespace_record, node_record, pod_record
from console.cluster.decode_jobs import (
    batch_job_record,
    jobset_record,
    kubeflow_job_record,
    runtime_record,
    trainjob_record,
)
from console.cluster.decode_workloads import isvc_record, llmisvc_record, workload_record

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Kind:
    """One watched resource type."""

    name: str  # plural, also the cache's name: "pods"
    kind: str  # "Pod"
    group: str
    version: str
    namespaced: bool
    wire_type: type
    to_record: Callable[[Any], Any]
    optional: bool = False  # a CRD that may not be installed (404 → "not installed")
    _item: msgspec.json.Decoder = field(init=False, repr=False, compare=False)
    _list: msgspec.json.Decoder = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        typed_list = msgspec.defstruct(
            f"{self.kind}List",
            [("metadata", wire.ListMeta, wire.ListMeta()), ("items", list[self.wire_type], [])],
            kw_only=True,
        )
        object.__setattr__(self, "_item", msgspec.json.Decoder(self.wire_type))
        object.__setattr__(self, "_list", msgspec.json.Decoder(typed_list))

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """REST path of the collection (all namespaces when `namespace` is None) or one object.

        Namespace and name are percent-encoded as single path segments (`evil-[/x]` →
        `evil-%5B%2Fx%5D`), so a hostile name can neither break the URL nor reach another
        path.
        """
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace and self.namespaced:
            base += f"/namespaces/{quote_segment(namespace)}"
        base += f"/{self.name}"
        return f"{base}/{quote_segment(name)}" if name else base

    def decode_item(self, raw: bytes | msgspec.Raw) -> Any | None:
        """One object → record, or None (logged) when malformed."""
        try:
            return self.to_record(self._item.decode(raw))
        except (msgspec.DecodeError, ValueError, TypeError, AttributeError) as exc:
            log.warning("skipping malformed %s: %s", self.kind, exc)
            return None

    def decode_list(self, body: bytes) -> tuple[list[Any], wire.ListMeta, int]:
        """A list body → (records, list metadata, number of skipped malformed items)."""
        try:
            typed = self._list.decode(body)
            items, meta, skipped = [], typed.metadata, 0
            for obj in typed.items:
                try:
                    items.append(self.to_record(obj))
                except (ValueError, TypeError, AttributeError) as exc:
                    log.warning("skipping malformed %s: %s", self.kind, exc)
                    skipped += 1
            return items, meta, skipped
        except msgspec.ValidationError:
            pass  # some item has a wrong type: fall back to one by one
        raw = _RAW_LIST.decode(body)
        records = [self.decode_item(item) for item in raw.items]
        good = [rec for rec in records if rec is not None]
        return good, raw.metadata, len(records) - len(good)


def quote_segment(value: str) -> str:
    """Percent-encode `value` as one URL path segment (`/`, `?`, `#`, `%`, `[`, … included).

    `.` and `..` are encoded too: as whole segments, clients and proxies would otherwise
    collapse them into the parent path.
    """
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="")


_RAW_LIST = msgspec.json.Decoder(wire.RawList)
_RAW_EVENT = msgspec.json.Decoder(wire.RawEvent)
_STATUS = msgspec.json.Decoder(wire.Status)
_VERSION = msgspec.json.Decoder(wire.VersionOnly)


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """A decoded watch line. `record` is None for BOOKMARK/ERROR and for malformed objects."""

    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK | ERROR
    record: Any | None
    resource_version: str
    status: wire.Status | None = None  # the Status object of an ERROR event


def decode_watch_line(kind: Kind, line: bytes) -> WatchEvent:
    """One watch line → WatchEvent; raises msgspec.DecodeError only if the line is not an event."""
    event = _RAW_EVENT.decode(line)
    if event.type == "ERROR":
        try:
            status = _STATUS.decode(event.object)
        except msgspec.DecodeError:
            status = wire.Status(code=500, message="undecodable watch error")
        return WatchEvent("ERROR", None, "", status)
    try:
        rv = _VERSION.decode(event.object).metadata.resource_version
    except msgspec.DecodeError:
        rv = ""
    if event.type == "BOOKMARK":
        return WatchEvent("BOOKMARK", None, rv)
    return WatchEvent(event.type, kind.decode_item(event.object), rv)


def decode_status(body: bytes) -> wire.Status | None:
    """A Status error body, or None if the body is something else."""
    try:
        status = _STATUS.decode(body)
    except msgspec.DecodeError:
        return None
    return status if status.kind == "Status" else None


def _k(name: str, kind: str, group: str, version: str, wire_type: type, to_record, **kw) -> Kind:
    return Kind(name, kind, group, version, kw.pop("namespaced", True), wire_type, to_record, **kw)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        _k("nodes", "Node", "", "v1", wire.Node, node_record, namespaced=False),
        _k("pods", "Pod", "", "v1", wire.Pod, pod_record),
        _k("events", "Event", "", "v1", wire.Event, event_record),
        _k("namespaces", "Namespace", "", "v1", wire.Namespace, namespace_record, namespaced=False),
        _k("deployments", "Deployment", "apps", "v1", wire.Workload, partial(workload_record, "Deployment")),
        _k("statefulsets", "StatefulSet", "apps", "v1", wire.Workload, partial(workload_record, "StatefulSet")),
        _k("jobs", "Job", "batch", "v1", wire.BatchJob, batch_job_record),
        _k("pytorchjobs", "PyTorchJob", "kubeflow.org", "v1", wire.KubeflowJob, partial(kubeflow_job_record, "PyTorchJob"), optional=True),
        _k("tfjobs", "TFJob", "kubeflow.org", "v1", wire.KubeflowJob, partial(kubeflow_job_record, "TFJob"), optional=True),
        # the mpi-operator serves MPIJob at v2beta1 only (training-operator v1's MPIJob is gone)
        _k("mpijobs", "MPIJob", "kubeflow.org", "v2beta1", wire.KubeflowJob, partial(kubeflow_job_record, "MPIJob"), optional=True),
        _k("xgboostjobs", "XGBoostJob", "kubeflow.org", "v1", wire.KubeflowJob, partial(kubeflow_job_record, "XGBoostJob"), optional=True),
        _k("jaxjobs", "JAXJob", "kubeflow.org", "v1", wire.KubeflowJob, partial(kubeflow_job_record, "JAXJob"), optional=True),
        _k("paddlejobs", "PaddleJob", "kubeflow.org", "v1", wire.KubeflowJob, partial(kubeflow_job_record, "PaddleJob"), optional=True),
        _k("inferenceservices", "InferenceService", "serving.kserve.io", "v1beta1", wire.InferenceService, isvc_record, optional=True),
        _k("llminferenceservices", "LLMInferenceService", "serving.kserve.io", "v1alpha2", wire.LLMInferenceService, llmisvc_record, optional=True),
        _k("jobsets", "JobSet", "jobset.x-k8s.io", "v1alpha2", wire.JobSet, jobset_record, optional=True),
        _k("trainjobs", "TrainJob", "trainer.kubeflow.org", "v1alpha1", wire.TrainJob, trainjob_record, optional=True),
        _k("clustertrainingruntimes", "ClusterTrainingRuntime", "trainer.kubeflow.org", "v1alpha1", wire.TrainingRuntime, partial(runtime_record, "ClusterTrainingRuntime"), namespaced=False, optional=True),
        _k("trainingruntimes", "TrainingRuntime", "trainer.kubeflow.org", "v1alpha1", wire.TrainingRuntime, partial(runtime_record, "TrainingRuntime"), optional=True),
    )
}  # fmt: skip

JOB_KINDS = (
    "pytorchjobs",
    "tfjobs",
    "mpijobs",
    "xgboostjobs",
    "jaxjobs",
    "paddlejobs",
    "jobs",
    "jobsets",
    "trainjobs",
)
RUNTIME_KINDS = ("clustertrainingruntimes", "trainingruntimes")
"""Kubeflow Trainer runtimes: read for the GPUs and nodes of TrainJobs that leave them unset."""
