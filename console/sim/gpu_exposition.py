"""The simulated dcgm-exporter's ``/metrics`` text: ``render_exposition``.

Byte-for-byte in dcgm-exporter's template shape: the metric families in DCGM field-id
order (``FAMILIES``), each GPU's label prefix, one line per pod on a shared GPU, in the
exporter's new or old label naming (``LabelMode``). A GPU in MIG mode has device-level
lines of its own (clocks, temperatures, power, energy, PCIe, XID) and one line per
instance for the framebuffer and profiling families, labelled with the parent's ``gpu``/
``UUID`` plus ``GPU_I_PROFILE``/``GPU_I_ID`` and the instance's pod; it has no
``DCGM_FI_DEV_GPU_UTIL`` (nor the other NVML utilizations).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Literal

from console.sim.gpu_sampling import sample_gpu, sample_instance
from console.sim.gpus import (
    NO_FAULTS,
    XID_MESSAGES,
    Assignment,
    GpuFaults,
    GpuIdentity,
    GpuState,
    MigGpuState,
    MigInstance,
    escape_label,
)

LabelMode = Literal["new", "old"]

FAMILIES: tuple[tuple[str, str, str, str], ...] = (
    # (metric, TYPE, HELP, GpuSample attribute), in DCGM field-id order as the exporter emits them
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", "sm_clock"),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).", "mem_clock"),
    (
        "DCGM_FI_DEV_CLOCKS_EVENT_REASONS",
        "gauge",
        "Current clock event reasons (bitmask of DCGM_CLOCKS_EVENT_REASON_*).",
        "clocks_event_reasons",
    ),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C).", "memory_temp"),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", "gpu_temp"),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", "power_usage"),
    (
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "counter",
        "Total energy consumption since boot (in mJ).",
        "total_energy",
    ),
    (
        "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
        "counter",
        "Total number of PCIe retries.",
        "pcie_replay",
    ),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", "gpu_util"),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).", "mem_copy_util"),
    ("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %).", "enc_util"),
    ("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %).", "dec_util"),
    (
        "DCGM_FI_DEV_XID_ERRORS",
        "gauge",
        "Value of the last XID error encountered.",
        "xid_errors",
    ),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", "fb_free"),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", "fb_used"),
    ("DCGM_FI_DEV_FB_RESERVED", "gauge", "Framebuffer memory reserved (in MiB).", "fb_reserved"),
    (
        "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
        "counter",
        "Number of remapped rows for uncorrectable errors",
        "uncorrectable_remapped_rows",
    ),
    (
        "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
        "counter",
        "Number of remapped rows for correctable errors",
        "correctable_remapped_rows",
    ),
    (
        "DCGM_FI_DEV_ROW_REMAP_FAILURE",
        "gauge",
        "Whether remapping of rows has failed",
        "row_remap_failure",
    ),
    (
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
        "gauge",
        "Ratio of time the graphics engine is active (in %).",
        "gr_engine_active",
    ),
    (
        "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
        "gauge",
        "Ratio of cycles the tensor (HMMA) pipe is active (in %).",
        "tensor_active",
    ),
    (
        "DCGM_FI_PROF_DRAM_ACTIVE",
        "gauge",
        "Ratio of cycles the device memory interface is active sending or receiving data (in %).",
        "dram_active",
    ),
)
"""The metric families the simulated exporter serves: (name, type, help, GpuSample field)."""

_XID = next(i for i, f in enumerate(FAMILIES) if f[0] == "DCGM_FI_DEV_XID_ERRORS")
_HEADERS = tuple(f"# HELP {n} {h}\n# TYPE {n} {ty}\n" for n, ty, h, _ in FAMILIES)
_ATTRS = tuple(attr for *_, attr in FAMILIES)
_INSTANCE_ATTRS = frozenset(
    ("fb_free", "fb_used", "fb_reserved", "gr_engine_active", "tensor_active", "dram_active")
)
"""Families a MIG instance reports (the rest are the parent's, or absent: utilizations)."""
_MIG_ABSENT = frozenset(("gpu_util", "mem_copy_util", "enc_util", "dec_util"))


def _fmt(value: int | float) -> str:
    """dcgm-exporter prints integers plainly (``%d``) and floats with ``%f`` (six decimals)."""
    return f"{value:.6f}" if isinstance(value, float) else str(value)


@lru_cache(maxsize=262_144)
def _pod_labels(pod: str, namespace: str, container: str, mode: str) -> str:
    # The exporter ranges over a Go map, so the pod attributes come out sorted by name.
    if mode == "old":
        return (
            f',container_name="{escape_label(container)}",pod_name="{escape_label(pod)}"'
            f',pod_namespace="{escape_label(namespace)}"'
        )
    return f',container="{escape_label(container)}",namespace="{escape_label(namespace)}",pod="{escape_label(pod)}"'


def _xid_labels(xid: int) -> str:
    """`err_code`/`err_msg` of a GPU with an XID, as dcgm-exporter >= 3.3.6 labels the series."""
    message = XID_MESSAGES.get(xid, "Unknown Error")
    return f',err_code="{xid}",err_msg="{escape_label(message)}"'


def render_exposition(
    gpus: Iterable[GpuState | MigGpuState | tuple[GpuIdentity, Sequence[Assignment]] | GpuIdentity],
    t: float,
    *,
    hostname_label: str = "Hostname",
    driver_version: str = "550.54.15",
    label_mode: LabelMode = "new",
    hostname: str | None = None,
) -> str:
    """The dcgm-exporter ``/metrics`` text for ``gpus`` at sim time ``t``.

    ``gpus`` holds ``GpuState``s (or ``(identity, assignments[, faults])`` tuples, or bare
    identities for unallocated GPUs), normally the GPUs of one node in index order.
    ``hostname_label`` is ``Hostname`` or ``hostname``; ``hostname`` defaults to the GPU's node.
    ``label_mode="old"`` is the exporter's old-namespace mode (``uuid``, ``container_name``,
    ``pod_name``, ``pod_namespace``). A GPU shared by several pods gets one line per pod.
    A GPU with an XID gets ``err_code``/``err_msg`` on its ``DCGM_FI_DEV_XID_ERRORS`` lines.
    """
    uuid_label = "uuid" if label_mode == "old" else "UUID"
    rows: list[tuple[list[str], list[str | None], list[str] | None]] = []
    for item in gpus:
        instances: Sequence[MigInstance] = ()
        if isinstance(item, GpuIdentity):
            identity, assignments, faults = item, (), NO_FAULTS
        elif isinstance(item, MigGpuState):
            identity, instances, faults = item
            assignments = ()
        else:
            identity, assignments, faults = GpuState(*item)
        host = hostname or identity.node
        prefix = identity.label_prefix(uuid_label, hostname_label, host, driver_version)
        if instances:
            rows.extend(
                _mig_rows(
                    identity,
                    instances,
                    faults,
                    t,
                    prefix,
                    (uuid_label, hostname_label, host, driver_version),
                    label_mode,
                )
            )
            continue
        pods = [_pod_labels(a.pod, a.namespace, a.container, label_mode) for a in assignments]
        labelsets = [prefix + p for p in pods] if pods else [prefix]
        xid = prefix + _xid_labels(faults.xid) if faults.xid else None
        xid_sets = ([xid + p for p in pods] if pods else [xid]) if xid else None
        sample = sample_gpu(identity, assignments, faults, t)
        values: list[str | None] = [_fmt(getattr(sample, attr)) for attr in _ATTRS]
        rows.append((labelsets, values, xid_sets))
    if not rows:
        return ""
    out: list[str] = []
    append = out.append
    for i, (name, *_rest) in enumerate(FAMILIES):
        append(_HEADERS[i])
        head = name + "{"
        for labelsets, values, xid_sets in rows:
            value = values[i]
            if value is None:
                continue
            tail = "} " + value + "\n"
            for labels in xid_sets if i == _XID and xid_sets else labelsets:
                append(head + labels + tail)
    return "".join(out)


def _mig_rows(
    identity: GpuIdentity,
    instances: Sequence[MigInstance],
    faults: GpuFaults,
    t: float,
    prefix: str,
    label_args: tuple[str, str, str, str],
    label_mode: str,
) -> list[tuple[list[str], list[str | None], list[str] | None]]:
    """The parent's device-level line and one line set per instance, for a GPU in MIG mode."""
    every = [a for inst in instances for a in inst.assignments]
    parent = sample_gpu(identity, every, faults, t)
    rows: list[tuple[list[str], list[str | None], list[str] | None]] = [
        (
            [prefix],
            [
                None
                if attr in _INSTANCE_ATTRS or attr in _MIG_ABSENT
                else _fmt(getattr(parent, attr))
                for attr in _ATTRS
            ],
            [prefix + _xid_labels(faults.xid)] if faults.xid else None,
        )
    ]
    for inst in instances:
        labels = identity.instance_prefix(*label_args, inst.profile, inst.gi_id)
        labelsets = [
            labels + _pod_labels(a.pod, a.namespace, a.container, label_mode)
            for a in inst.assignments
        ] or [labels]
        sample = sample_instance(identity, inst.profile, inst.gi_id, inst.assignments, t)
        values = [_fmt(getattr(sample, a)) if a in _INSTANCE_ATTRS else None for a in _ATTRS]
        rows.append((labelsets, values, None))
    return rows
