"""Decoding the core/v1 kinds — Node, Pod, Event, Namespace — from wire structs into records.

Pods are the hot path (hundreds of thousands of them): their strings are interned and
their containers, labels and GPU requests shared (see `decode_fields`).
"""

from __future__ import annotations

from console.cluster import gpu, wire
from console.cluster.decode_fields import (
    clean_labels,
    conds,
    iline,
    line,
    parse_time,
    share,
    shared_labels,
)
from console.cluster.pod_status import kubectl_status
from console.cluster.records import (
    ContainerRecord,
    EventRecord,
    NamespaceRecord,
    NodeRecord,
    PodRecord,
    Taint,
)
from console.text import clean


def _controller(meta: wire.Meta) -> wire.OwnerRef | None:
    for ref in meta.owner_references:
        if ref.controller:
            return ref
    return meta.owner_references[0] if meta.owner_references else None


def _workload_of(meta: wire.Meta, owner: wire.OwnerRef | None) -> tuple[str, str]:
    labels = meta.labels
    if "serving.kserve.io/inferenceservice" in labels:
        return ("InferenceService", labels["serving.kserve.io/inferenceservice"])
    if "jobset.sigs.k8s.io/jobset-name" in labels:
        return ("JobSet", labels["jobset.sigs.k8s.io/jobset-name"])
    if labels.get("app.kubernetes.io/part-of") == "llminferenceservice":  # KServe llm-d pods
        return ("LLMInferenceService", labels.get("app.kubernetes.io/name", ""))
    if owner is None:
        return ("", "")
    pod_hash = labels.get("pod-template-hash", "")
    if owner.kind == "ReplicaSet" and pod_hash and owner.name.endswith("-" + pod_hash):
        return ("Deployment", owner.name[: -len(pod_hash) - 1])
    return (owner.kind, owner.name)


def _state_of(state: wire.ContainerState) -> tuple[str, str]:
    if state.waiting is not None:
        return "waiting", state.waiting.reason
    if state.terminated is not None:
        return "terminated", state.terminated.reason
    if state.running is not None:
        return "running", ""
    return "", ""


def _containers(pod: wire.Pod) -> tuple[ContainerRecord, ...]:
    statuses = {s.name: s for s in pod.status.container_statuses}
    statuses.update({s.name: s for s in pod.status.init_container_statuses})
    out = []
    for init, containers in ((True, pod.spec.init_containers), (False, pod.spec.containers)):
        for c in containers:
            s = statuses.get(c.name)
            state, reason = _state_of(s.state) if s else ("", "")
            last = _state_of(s.last_state)[1] if s else ""
            ended = s.state.terminated if s else None
            previous = s.last_state.terminated if s else None
            record = ContainerRecord(
                iline(c.name),
                iline(c.image),
                init,
                s.ready if s else False,
                s.restart_count if s else 0,
                state,
                iline(reason),
                iline(last),
                exit_code=ended.exit_code if ended else None,
                last_exit_code=(previous.exit_code or 0) if previous else None,
                last_signal=(previous.signal or 0) if previous else 0,
                last_finished=parse_time(previous.finished_at) if previous else 0.0,
                sidecar=init and c.restart_policy == "Always",
            )
            out.append(share(record, record))
    containers = tuple(out)
    return share(("containers", *containers), containers)


def node_record(node: wire.Node, pool_label: str | None = None) -> NodeRecord:
    """Map a wire Node; `pool_label` is the configured node-pool label (settings)."""
    labels = clean_labels(node.metadata.labels)
    invalid: list[str] = []
    allocatable = gpu.gpu_quantities(node.status.allocatable, invalid)
    capacity = gpu.gpu_quantities(node.status.capacity, invalid)
    conditions = conds(node.status.conditions)
    ready = next((c.status == "True" for c in conditions if c.type == "Ready"), None)
    pressures = tuple(
        c.type
        for c in conditions
        if c.status == "True" and c.type in ("MemoryPressure", "DiskPressure", "PIDPressure")
    )
    count = gpu.physical_gpus(labels, capacity or allocatable)
    info = node.status.node_info
    return NodeRecord(
        name=line(node.metadata.name),
        uid=line(node.metadata.uid),
        labels=labels,
        taints=tuple(Taint(line(t.key), line(t.value), line(t.effect)) for t in node.spec.taints),
        unschedulable=node.spec.unschedulable,
        gpu_allocatable=allocatable,
        gpu_capacity=capacity,
        cpu_allocatable=line(node.status.allocatable.get("cpu", "")),
        memory_allocatable=line(node.status.allocatable.get("memory", "")),
        conditions=conditions,
        ready=ready,
        pressures=pressures,
        pool=gpu.node_pool(labels, pool_label),
        gpu_product=gpu.gpu_product(labels),
        gpu_count=count,
        sharing=gpu.sharing_mode(labels, allocatable.keys() | capacity.keys()),
        kubelet_version=line(info.kubelet_version),
        os_image=line(info.os_image),
        created=parse_time(node.metadata.creation_timestamp),
        invalid=tuple(sorted({line(name) for name in invalid})),
    )


def _last_termination(containers: tuple[ContainerRecord, ...]) -> str:
    """The latest previous termination among the containers (the first when none says when)."""
    ended = [c for c in containers if c.last_termination]
    if not ended:
        return ""
    return max(ended, key=lambda c: c.last_finished).last_termination


def pod_record(pod: wire.Pod) -> PodRecord:
    meta, status = pod.metadata, pod.status
    owner = _controller(meta)
    containers = _containers(pod)
    kubectl = kubectl_status(pod)
    scheduled = next((c for c in status.conditions if c.type == "PodScheduled"), None)
    unscheduled = scheduled is not None and scheduled.status == "False"
    created = parse_time(meta.creation_timestamp)
    workload = _workload_of(meta, owner)
    invalid: list[str] = []
    request = gpu.effective_request(pod.spec, invalid)
    return PodRecord(
        namespace=iline(meta.namespace),
        name=line(meta.name),
        uid=line(meta.uid),
        labels=shared_labels(meta.labels),
        owner_kind=iline(owner.kind) if owner else "",
        owner_name=iline(owner.name) if owner else "",
        owner_uid=iline(owner.uid) if owner else "",
        workload=share(("workload", *workload), (iline(workload[0]), iline(workload[1]))),
        node=iline(pod.spec.node_name),
        phase=iline(status.phase),
        reason=iline(status.reason),
        gpu_request=share(("request", *request.items()), request),
        containers=containers,
        restarts=kubectl.restarts,
        ready_containers=kubectl.ready,
        total_containers=kubectl.total,
        scheduled_reason=iline(scheduled.reason) if unscheduled and scheduled else "",
        scheduled_message=clean(scheduled.message) if unscheduled and scheduled else "",
        pending_since=(
            parse_time(scheduled.last_transition_time) or created
            if unscheduled and scheduled
            else created
        ),
        created=created,
        started=parse_time(status.start_time),
        deleting=parse_time(meta.deletion_timestamp),
        pod_ip=line(status.pod_ip),
        invalid=share(("invalid", *invalid), tuple(sorted({iline(n) for n in invalid})))
        if invalid
        else (),
        status=kubectl.status,
        last_restart=kubectl.last_restart,
        last_termination=_last_termination(containers),
    )


def event_record(event: wire.Event) -> EventRecord:
    ref = event.involved_object
    series = event.series
    last = parse_time(
        (series.last_observed_time if series else None) or event.last_timestamp or event.event_time
    )
    first = parse_time(event.first_timestamp or event.event_time) or last
    count = series.count if series and series.count else (event.count or 1)
    return EventRecord(
        namespace=line(event.metadata.namespace),
        name=line(event.metadata.name),
        uid=line(event.metadata.uid),
        object_kind=line(ref.kind),
        object_name=line(ref.name),
        object_uid=line(ref.uid),
        type=line(event.type),
        reason=line(event.reason),
        message=clean(event.message),
        count=count,
        source=line(event.source.component or event.reporting_component),
        first_seen=first,
        last_seen=last or parse_time(event.metadata.creation_timestamp),
    )


def namespace_record(ns: wire.Namespace) -> NamespaceRecord:
    return NamespaceRecord(
        name=line(ns.metadata.name),
        uid=line(ns.metadata.uid),
        phase=line(ns.status.phase),
        labels=clean_labels(ns.metadata.labels),
        created=parse_time(ns.metadata.creation_timestamp),
    )
