"""Triage rules about the GPUs themselves: XID errors, remapped rows, heat and throttling.

They read the telemetry store's latest reading per GPU (`TelemetryStore.readings()`); without
telemetry they note that they could not run. A finding is about one GPU of one node (the
nodes view, `ObjectRef.gpu` set), and its action is the node's: cordon (`c`), then drain
(`r`). Impact is honest about distributed work: a GPU that failed stalls every GPU of a
distributed training job with a pod on it, so an XID or a failed row remap counts those
GPUs (`affected`), not the one GPU; a model server loses only its replica there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from console.metrics.model import (
    HARDWARE_THROTTLE,
    THERMAL_THROTTLE,
    GpuReading,
    PodKey,
    throttle_bits,
    throttle_names,
)
from console.triage.engine import Rule, Thresholds, TriageInputs
from console.triage.model import CRITICAL, INFO, WARNING, Finding, ObjectRef
from console.triage.xid import lookup

NO_TELEMETRY = "telemetry unavailable: XID, heat and idle rules skipped"
SHOWN = 4
"""Pods or workloads named in one evidence line; the rest are counted."""
_POWER_CAP = 0x4


def readings(inputs: TriageInputs) -> list[GpuReading] | None:
    """The latest reading of every GPU, or None (and the note) without telemetry."""
    store = inputs.store
    if (
        store is None
        or inputs.telemetry.startswith("none")
        or not getattr(store, "samples", 0)
        or not hasattr(store, "readings")
    ):
        inputs.notes.append(NO_TELEMETRY)
        return None
    return store.readings()


def gpu_ref(reading: GpuReading) -> ObjectRef:
    return ObjectRef("nodes", "", reading.node, "nodes", gpu=reading.index)


def pods_on(reading: GpuReading) -> tuple[PodKey, ...]:
    """The pods holding a GPU: its own, or its MIG instances'."""
    pods = dict.fromkeys(reading.pods)
    for instance in reading.instances:
        pods.update(dict.fromkeys(instance.pods))
    return tuple(pods)


DISTRIBUTED = frozenset(
    ("PyTorchJob", "TFJob", "MPIJob", "XGBoostJob", "JAXJob", "PaddleJob", "JobSet", "TrainJob")
)
"""Workload kinds whose pods work in lock-step (collectives): one bad pod stalls them all.
The replicas of a model server or the pods of a batch Job each stand alone."""


def _gpus(n: float) -> str:
    return f"{n:g} GPU" if n == 1 else f"{n:g} GPUs"


def affected(session: Any, pods: Iterable[Any]) -> tuple[float, list[str]]:
    """(GPUs, workload labels) stalled when `pods` (`PodKey`s or pod records) are: every GPU
    of a distributed training job with a pod among them — one bad GPU stalls the whole job —
    and otherwise the GPUs of those pods themselves (a server's other replicas keep serving).
    A pod the cache does not know counts one GPU."""
    seen: set[tuple[str, str, str]] = set()
    alone: dict[tuple[str, str, str], list[Any]] = {}
    total, labels = 0.0, []
    for pod in pods:
        record = pod if hasattr(pod, "workload") else session.get("pods", tuple(pod))
        if record is None:
            total += 1.0
            labels.append(f"Pod {pod[0]}/{pod[1]}")
            continue
        kind, name = record.workload
        key = (record.namespace, kind, name)
        if not name or kind not in DISTRIBUTED:
            alone.setdefault(key, []).append(record)
            continue
        if key in seen:
            continue
        seen.add(key)
        held = [p for p in session.pods_of(*key) if p.holds_resources] or [record]
        gpus = sum(p.gpus for p in held)
        total += gpus
        labels.append(f"{kind} {record.namespace}/{name} ({_gpus(gpus)})")
    for (namespace, kind, name), records in alone.items():
        gpus = sum(p.gpus for p in records)
        total += gpus
        names = ", ".join(p.name for p in records)
        if name:
            labels.append(f"{kind} {namespace}/{name}: {names} ({_gpus(gpus)})")
        else:
            labels.extend(f"Pod {namespace}/{p.name} ({_gpus(p.gpus)})" for p in records)
    return total, labels


def listed(names: Iterable[str], what: str) -> str:
    """`what a, b, c, d and 3 more`."""
    names = list(names)
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return f"{what} {', '.join(names[:SHOWN])}{more}"


def _gpu_line(r: GpuReading) -> str:
    """`GPU 3: NVIDIA H100 80GB HBM3, GPU-3652…` — what to tell the vendor (the node is the
    finding's object); last in the evidence, the first line says what is wrong."""
    named = ", ".join(x for x in (r.model, r.uuid) if x)
    return f"GPU {r.index}: {named}" if named else f"GPU {r.index} of {r.node}"


def _holders(r: GpuReading, session: Any) -> tuple[float, list[str], list[str]]:
    """(impact GPUs, evidence lines, workload labels) of a failed GPU."""
    pods = pods_on(r)
    if not pods:
        return 1.0, ["no pod holds it"], []
    gpus, workloads = affected(session, pods)
    lines = [listed((f"{ns}/{p}" for ns, p in pods), "held by")]
    if workloads:
        lines.append(listed(workloads, "stalls"))
    return max(gpus, 1.0), lines, workloads


def _remap_lines(r: GpuReading) -> list[str]:
    lines = []
    if _code(r.row_remap_failure):
        lines.append("row remap failed (DCGM_FI_DEV_ROW_REMAP_FAILURE)")
    rows = _code(r.remapped_rows)
    if rows:
        lines.append(f"{rows} rows remapped for uncorrectable errors")
    return lines


def _code(value: float | None) -> int:
    if value is None or not 0 < value < 2**31:  # NaN fails too
        return 0
    return int(value)


def xid(inputs: TriageInputs, thresholds: Thresholds) -> Iterator[Finding]:
    """A GPU whose last XID is non-zero: hardware codes critical, application faults a
    warning; the exporter's `err_msg` in the evidence when it gave one."""
    found = readings(inputs)
    for r in found or ():
        code = _code(r.xid)
        if not code:
            continue
        entry = lookup(code, r.xid_msg)
        gpus, holders, workloads = _holders(r, inputs.session)
        cause = f"{entry.cause} fault" if entry.cause != "unknown" else "cause unknown"
        evidence = [f"last XID {code}: {entry.meaning} ({cause})"]
        if r.xid_msg:
            given = f" (err_code {r.xid_code})" if r.xid_code and r.xid_code != str(code) else ""
            evidence.append(f"exporter: {r.xid_msg}{given}")
        evidence.extend(_remap_lines(r) if entry.critical else ())
        evidence.extend(holders)
        evidence.append(_gpu_line(r))
        yield Finding(
            rule="xid",
            severity=CRITICAL if entry.critical else WARNING,
            title=f"XID {code} ({entry.meaning})",
            object=gpu_ref(r),
            evidence=tuple(evidence),
            action=entry.action,
            action_key="c" if entry.critical else "",
            gpus=gpus,
            data={
                "xid": code,
                "meaning": entry.meaning,
                "cause": entry.cause,
                "err_code": r.xid_code,
                "err_msg": r.xid_msg,
                "node": r.node,
                "gpu": r.index,
                "uuid": r.uuid,
                "pods": [f"{ns}/{p}" for ns, p in pods_on(r)],
                "workloads": workloads,
            },
        )


def row_remap(inputs: TriageInputs, thresholds: Thresholds) -> Iterator[Finding]:
    """A failed row remap (critical: the GPU's memory has no spare rows left) or rows
    remapped for uncorrectable errors (warning: the GPU needs a reset to use the spares,
    and watching for an RMA). A GPU with a critical XID has that finding only."""
    found = readings(inputs)
    for r in found or ():
        failed = _code(r.row_remap_failure) > 0
        rows = _code(r.remapped_rows)
        if not failed and not rows:
            continue
        if _code(r.xid) and lookup(_code(r.xid), r.xid_msg).critical:
            continue  # one failing GPU, one finding: the XID's evidence names the remaps
        evidence = _remap_lines(r)
        if failed:
            gpus, holders, _ = _holders(r, inputs.session)
            title = "row remap failed (GPU memory out of spare rows)"
            action = "cordon the node and drain it; the GPU needs an RMA"
        else:
            gpus, holders = 1.0, [listed((f"{ns}/{p}" for ns, p in pods_on(r)), "held by")]
            holders = holders if pods_on(r) else []
            title = f"{rows} uncorrectable remapped rows"
            action = (
                "drain the node, then reset the GPU to apply the remaps; RMA if rows keep failing"
            )
        evidence.extend(holders)
        evidence.append(_gpu_line(r))
        yield Finding(
            rule="row-remap",
            severity=CRITICAL if failed else WARNING,
            title=title,
            object=gpu_ref(r),
            evidence=tuple(evidence),
            action=action,
            action_key="c",
            gpus=gpus,
            data={
                "node": r.node,
                "gpu": r.index,
                "uuid": r.uuid,
                "row_remap_failure": failed,
                "uncorrectable_remapped_rows": rows,
            },
        )


def hot_gpu(inputs: TriageInputs, thresholds: Thresholds) -> Iterator[Finding]:
    """A GPU at or above `hot_celsius` (warning; 5 °C above, critical), or throttling for
    heat or power without being that hot (thermal or hardware slowdown: warning; only its
    power cap: info). Throttle reasons are in the evidence."""
    found = readings(inputs)
    warn, crit = thresholds.hot_celsius, thresholds.hot_celsius + 5.0
    for r in found or ():
        temp = r.temp if r.temp is not None and -1e6 < r.temp < 1e6 else None
        bits = throttle_bits(r.throttle) & (HARDWARE_THROTTLE | THERMAL_THROTTLE | _POWER_CAP)
        hot = temp is not None and temp >= warn
        if not hot and not bits:
            continue
        reasons = throttle_names(bits)
        evidence = []
        if temp is not None:
            evidence.append(f"{temp:.0f} °C (warning at {warn:g} °C, critical at {crit:g} °C)")
        if reasons:
            evidence.append("clocks throttled: " + ", ".join(reasons))
        power = r.power if r.power is not None and 0 <= r.power < 1e6 else None
        if power is not None:
            evidence.append(f"drawing {power:.0f} W")
        pods = pods_on(r)
        if pods:
            evidence.append(listed((f"{ns}/{p}" for ns, p in pods), "held by"))
        evidence.append(_gpu_line(r))
        if hot:
            severity = CRITICAL if temp is not None and temp >= crit else WARNING
            title = f"GPU {r.index} at {temp:.0f} °C" + (" and throttling" if reasons else "")
        else:
            severity = WARNING if bits & (HARDWARE_THROTTLE | THERMAL_THROTTLE) else INFO
            title = f"GPU {r.index} throttling ({reasons[0]})"
        yield Finding(
            rule="hot-gpu",
            severity=severity,
            title=title,
            object=gpu_ref(r),
            evidence=tuple(evidence),
            action="check the node's cooling and power; cordon it and move the work off if it stays hot",
            action_key="c",
            gpus=1.0 if pods else 0.0,
            data={
                "node": r.node,
                "gpu": r.index,
                "uuid": r.uuid,
                "temp_celsius": temp,
                "hot_celsius": warn,
                "throttle_reasons": reasons,
                "power_watts": power,
                "pods": [f"{ns}/{p}" for ns, p in pods],
            },
        )


RULES: tuple[Rule, ...] = (xid, row_remap, hot_gpu)
