"""Decoding the serving workloads — Deployment, StatefulSet, KServe InferenceService — from
wire structs into records: replicas, per-pod GPU request, images, readiness.
"""

from __future__ import annotations

from console.cluster import gpu, wire
from console.cluster.decode_fields import clean_labels, conds, line, parse_time
from console.cluster.records import IsvcRecord, WorkloadRecord


def workload_record(kind: str, obj: wire.Workload) -> WorkloadRecord:
    """Deployment or StatefulSet."""
    meta, spec, status = obj.metadata, obj.spec, obj.status
    invalid: list[str] = []
    request = gpu.template_request(spec.template, invalid)
    labels = clean_labels(meta.labels)
    return WorkloadRecord(
        kind=kind,
        namespace=line(meta.namespace),
        name=line(meta.name),
        uid=line(meta.uid),
        labels=labels,
        desired=1 if spec.replicas is None else spec.replicas,
        ready=status.ready_replicas,
        available=status.available_replicas,
        updated=status.updated_replicas,
        selector=clean_labels(spec.selector.match_labels),
        gpus_per_pod=sum(request.values()),
        gpu_request=request,
        images=tuple(line(c.image) for c in spec.template.spec.containers),
        isvc=labels.get("serving.kserve.io/inferenceservice", ""),
        conditions=conds(status.conditions),
        created=parse_time(meta.creation_timestamp),
        invalid=tuple(sorted({line(n) for n in invalid})),
    )


def isvc_record(isvc: wire.InferenceService) -> IsvcRecord:
    meta, predictor, status = isvc.metadata, isvc.spec.predictor, isvc.status
    conditions = conds(status.conditions)
    ready = next((c for c in conditions if c.type == "Ready"), None)
    model = predictor.model or wire.ModelSpec()
    invalid: list[str] = []
    request = gpu.gpu_quantities(model.resources.limits, invalid)
    request.update(gpu.gpu_quantities(model.resources.requests, invalid))
    if not request:
        request = gpu.effective_request(wire.PodSpec(containers=predictor.containers), invalid)
    component = status.components.get("predictor", wire.ComponentStatus())
    mode = meta.annotations.get("serving.kserve.io/deploymentMode", "")
    return IsvcRecord(
        namespace=line(meta.namespace),
        name=line(meta.name),
        uid=line(meta.uid),
        labels=clean_labels(meta.labels),
        url=line(status.url),
        ready=ready.status if ready else "Unknown",
        ready_reason=ready.reason if ready else "",
        ready_message=ready.message if ready else "",
        conditions=conditions,
        min_replicas=predictor.min_replicas,
        max_replicas=predictor.max_replicas,
        model_format=line(model.model_format.name),
        runtime=line(model.runtime),
        storage_uri=line(model.storage_uri),
        deployment_mode=line(mode),
        gpus_per_pod=sum(request.values()),
        latest_ready_revision=line(component.latest_ready_revision),
        latest_created_revision=line(component.latest_created_revision),
        model_state=line(status.model_status.states.active_model_state),
        created=parse_time(meta.creation_timestamp),
        invalid=tuple(sorted({line(n) for n in invalid})),
    )
