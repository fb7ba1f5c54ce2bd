"""The simulated dcgm-exporter's ``/metrics`` text: ``render_exposition``.

Byte-for-byte in dcgm-exporter's template shape: the metric families in DCGM field-id
order (``FAMILIES``), each GPU's label prefix, one line per pod on a shared GPU, in the
exporter's new or old label naming (``LabelMode``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Literal

from console.sim.gpu_sampling import sample_gpu
from console.sim.gpus import NO_FAULTS, Assignment, GpuIdentity, GpuState, escape_label

LabelMode = Literal["new", "old"]

FAMILIES: tuple[tuple[str, str, str, str], ...] = (
    # (metric, TYPE, HELP, GpuSample attribute), in DCGM field-id order as the exporter emits them
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", "sm_clock"),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).", "mem_clock"),
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

_HEADERS = tuple(f"# HELP {n} {h}\n# TYPE {n} {ty}\n" for n, ty, h, _ in FAMILIES)
_ATTRS = tuple(attr for *_, attr in FAMILIES)


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


def render_exposition(
    gpus: Iterable[GpuState | tuple[GpuIdentity, Sequence[Assignment]] | GpuIdentity],
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
    """
    uuid_label = "uuid" if label_mode == "old" else "UUID"
    rows: list[tuple[list[str], list[str]]] = []
    for item in gpus:
        if isinstance(item, GpuIdentity):
            identity, assignments, faults = item, (), NO_FAULTS
        else:
            identity, assignments, faults = GpuState(*item)
        prefix = identity.label_prefix(
            uuid_label, hostname_label, hostname or identity.node, driver_version
        )
        if assignments:
            labelsets = [
                prefix + _pod_labels(a.pod, a.namespace, a.container, label_mode)
                for a in assignments
            ]
        else:
            labelsets = [prefix]
        sample = sample_gpu(identity, assignments, faults, t)
        values = [_fmt(getattr(sample, attr)) for attr in _ATTRS]
        rows.append((labelsets, values))
    if not rows:
        return ""
    out: list[str] = []
    append = out.append
    for i, (name, *_rest) in enumerate(FAMILIES):
        append(_HEADERS[i])
        head = name + "{"
        for labelsets, values in rows:
            tail = "} " + values[i] + "\n"
            for labels in labelsets:
                append(head + labels + tail)
    return "".join(out)
