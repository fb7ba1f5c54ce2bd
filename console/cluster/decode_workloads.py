"""Decoding the serving workloads — Deployment, StatefulSet, KServe InferenceService — from
wire structs into records: replicas, per-pod GPU request, images, readiness, and a KServe
predictor's revisions and traffic split.
"""

from __future__ import annotations

from console.cluster import gpu, wire
from console.cluster.decode_fields import clean_labels, conds, count, line, parse_time
from console.cluster.records import Cond, IsvcRecord, Traffic, WorkloadRecord


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
        desired=count(spec.replicas, 1),
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


FRAMEWORKS = (
    "sklearn",
    "xgboost",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "huggingface",
    "lightgbm",
    "paddle",
    "pmml",
)
"""The predictor's framework blocks (KServe v1beta1), each with its own resources."""

_ROLLOUT_CONDITIONS = ("LatestDeploymentReady", "PredictorConfigurationReady", "PredictorReady")
"""Conditions that say why the latest created revision is not ready (KServe copies
Knative's `Revision "…" failed with message: 0/4 nodes are available: …`)."""


def _predictor_model(predictor: wire.PredictorSpec) -> tuple[str, wire.ModelSpec]:
    """(format name, block) of `predictor.model` or the first framework block set."""
    if predictor.model is not None:
        return predictor.model.model_format.name, predictor.model
    for name in FRAMEWORKS:
        block = getattr(predictor, name)
        if block is not None:
            return name, block
    return "", wire.ModelSpec()


def _traffic(component: wire.ComponentStatus) -> tuple[Traffic, ...]:
    out = []
    for t in component.traffic:
        percent = t.percent if t.percent is not None and 0 <= t.percent <= 100 else 0
        out.append(Traffic(line(t.revision_name), percent, bool(t.latest_revision), line(t.tag)))
    return tuple(out)


def _rollout_message(conditions: tuple[Cond, ...], created: str, ready: str) -> str:
    """Why the latest created revision is not the ready one ("" when they agree)."""
    if not created or created == ready:
        return ""
    for type_ in _ROLLOUT_CONDITIONS:
        cond = next((c for c in conditions if c.type == type_ and c.status != "True"), None)
        if cond is not None and (cond.message or cond.reason):
            return cond.message or cond.reason
    return "not ready yet"


def isvc_record(isvc: wire.InferenceService) -> IsvcRecord:
    """A KServe InferenceService: its predictor's model, GPUs per pod, revisions, traffic
    split and deployment mode (`status.deploymentMode`, else the annotation)."""
    meta, predictor, status = isvc.metadata, isvc.spec.predictor, isvc.status
    conditions = conds(status.conditions)
    ready = next((c for c in conditions if c.type == "Ready"), None)
    model_format, model = _predictor_model(predictor)
    invalid: list[str] = []
    request = gpu.gpu_quantities(model.resources.limits, invalid)
    request.update(gpu.gpu_quantities(model.resources.requests, invalid))
    if not request:
        request = gpu.effective_request(wire.PodSpec(containers=predictor.containers), invalid)
    component = status.components.get("predictor", wire.ComponentStatus())
    mode = status.deployment_mode or meta.annotations.get("serving.kserve.io/deploymentMode", "")
    created_rev = line(component.latest_created_revision)
    ready_rev = line(component.latest_ready_revision)
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
        min_replicas=count(predictor.min_replicas, None),
        max_replicas=count(predictor.max_replicas, None),
        model_format=line(model_format),
        runtime=line(model.runtime),
        storage_uri=line(model.storage_uri),
        deployment_mode=line(mode),
        gpus_per_pod=sum(request.values()),
        latest_ready_revision=ready_rev,
        latest_created_revision=created_rev,
        model_state=line(status.model_status.states.active_model_state),
        created=parse_time(meta.creation_timestamp),
        invalid=tuple(sorted({line(n) for n in invalid})),
        traffic=_traffic(component),
        rollout_message=_rollout_message(conditions, created_rev, ready_rev),
    )


def llmisvc_record(llm: wire.LLMInferenceService) -> IsvcRecord:
    """A KServe LLMInferenceService (`serving.kserve.io/v1alpha2`, llm-d): its model, wanted
    pods (`replicas`, default 1, plus its prefill pool's) and GPUs per pod (decode template,
    or a multi-node worker's when it names none)."""
    meta, spec = llm.metadata, llm.spec
    conditions = conds(llm.status.conditions)
    ready = next((c for c in conditions if c.type == "Ready"), None)
    invalid: list[str] = []
    request: dict[str, float] = {}
    for pod_spec in (spec.template, spec.worker):
        if pod_spec is not None and not request:
            request = gpu.effective_request(pod_spec, invalid)
    replicas = count(spec.replicas, 1)
    if spec.prefill is not None:
        replicas += 1 if spec.prefill.replicas is None else max(spec.prefill.replicas, 0)
    return IsvcRecord(
        namespace=line(meta.namespace),
        name=line(meta.name),
        uid=line(meta.uid),
        labels=clean_labels(meta.labels),
        url=line(llm.status.url),
        ready=ready.status if ready else "Unknown",
        ready_reason=ready.reason if ready else "",
        ready_message=ready.message if ready else "",
        conditions=conditions,
        min_replicas=None,
        max_replicas=None,
        model_format="",
        runtime=line(spec.model.name),
        storage_uri=line(spec.model.uri),
        deployment_mode="",
        gpus_per_pod=sum(request.values()),
        latest_ready_revision="",
        latest_created_revision="",
        model_state="",
        created=parse_time(meta.creation_timestamp),
        invalid=tuple(sorted({line(n) for n in invalid})),
        kind="LLMInferenceService",
        replicas=replicas,
    )
