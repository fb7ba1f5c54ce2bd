"""Simulated GPUs: DCGM exporter telemetry that follows the workloads holding each GPU.

Everything here is a pure function of (seed, identities, sim time ``t`` in seconds):
per-GPU and per-pod constants come from hashing their names, variation over time
from sines and smoothly interpolated hashed noise. There is no global random state
and nothing is stored per sample, so 80,000 GPUs cost nothing until scraped.

The pieces:

- ``GpuIdentity`` / ``node_gpus``: what DCGM knows about a GPU (index, UUID,
  PCI bus id, device, model); the UUID is derived from seed + node + index.
- ``Assignment``: a pod holding the GPU, with a workload ``profile``
  (``training``, ``serving``, ``idle-allocation``, ``hung``, ``none``); a
  time-sliced GPU has several.
- ``GpuFaults``: per-GPU fault flags (last ``xid`` value, ``hot``).
- ``sample_gpu``: the metric values of one GPU at ``t``.
- ``render_exposition``: the exporter's ``/metrics`` text for a set of GPUs,
  byte-for-byte in dcgm-exporter's template shape.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, NamedTuple

from console.sim.gpu_models import GPU_MODELS, GpuModel, get_model, gfd_labels
from console.sim.hashing import mix, stable_hash, unit

__all__ = [
    "COMMON_XIDS",
    "FAMILIES",
    "GPU_MODELS",
    "NO_FAULTS",
    "PROFILES",
    "Assignment",
    "GpuFaults",
    "GpuIdentity",
    "GpuModel",
    "GpuSample",
    "GpuState",
    "LabelMode",
    "Profile",
    "get_model",
    "gfd_labels",
    "gpu_uuid",
    "node_gpus",
    "pick_xid",
    "render_exposition",
    "sample_gpu",
]

Profile = Literal["training", "serving", "idle-allocation", "hung", "none"]
PROFILES: tuple[str, ...] = ("training", "serving", "idle-allocation", "hung", "none")
LabelMode = Literal["new", "old"]

COMMON_XIDS: tuple[int, ...] = (79, 48, 63, 13, 31, 94)
"""XIDs worth simulating: 79 fallen off the bus, 48 double-bit ECC, 63 row remap, 13 graphics
engine exception, 31 memory page fault, 94 contained ECC error."""

# ---------------------------------------------------------------------------------------------
# hashing and smooth noise

_TAU = 2.0 * math.pi


def _noise(h: int, t: float, bucket: float) -> float:
    """Smooth value noise in [-1, 1]: hashed values per time bucket, smoothstep-interpolated."""
    x = t / bucket
    k = math.floor(x)
    f = x - k
    f = f * f * (3.0 - 2.0 * f)
    a = unit(h, k)
    return 2.0 * (a + (unit(h, k + 1) - a) * f) - 1.0


def gpu_uuid(seed: int | str, node: str, index: int) -> str:
    """Deterministic ``GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`` for GPU ``index`` of ``node``."""
    h = hashlib.blake2b(f"{seed}/{node}/{index}".encode(), digest_size=16).hexdigest()
    return f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _escape(value: str) -> str:
    """Escape a label value per the Prometheus text exposition format."""
    if "\\" in value or '"' in value or "\n" in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


# ---------------------------------------------------------------------------------------------
# identities, assignments, faults


@dataclass(frozen=True, slots=True)
class GpuIdentity:
    """One physical GPU as DCGM reports it. Build with ``node_gpus`` (or directly, for tests).

    ``boot_time`` (sim seconds) is when the node booted: the energy counter counts from it.
    Keep identities for the life of the node: each caches its label strings.
    """

    node: str
    index: int
    uuid: str
    pci_bus_id: str
    model: GpuModel
    boot_time: float = 0.0
    _h: int = field(init=False, repr=False, compare=False, hash=False)
    _labels: dict[tuple[str, str, str, str], str] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_h", stable_hash(self.uuid))

    @property
    def device(self) -> str:
        """The ``device`` label: ``nvidia0``, ``nvidia1``, ..."""
        return f"nvidia{self.index}"

    def label_prefix(
        self, uuid_label: str, hostname_label: str, hostname: str, driver_version: str
    ) -> str:
        """The labels every sample of this GPU starts with, up to DCGM_FI_DRIVER_VERSION (cached)."""
        key = (uuid_label, hostname_label, hostname, driver_version)
        text = self._labels.get(key)
        if text is None:
            text = (
                f'gpu="{self.index}",{uuid_label}="{_escape(self.uuid)}",'
                f'pci_bus_id="{_escape(self.pci_bus_id)}",device="{self.device}",'
                f'modelName="{_escape(self.model.model_name)}",'
                f'{hostname_label}="{_escape(hostname)}",'
                f'DCGM_FI_DRIVER_VERSION="{_escape(driver_version)}"'
            )
            self._labels[key] = text
        return text


def node_gpus(
    seed: int | str,
    node: str,
    model: GpuModel | str,
    count: int = 8,
    *,
    boot_time: float = 0.0,
) -> tuple[GpuIdentity, ...]:
    """The ``count`` GPUs of ``node`` (indices 0..count-1), with deterministic UUIDs and bus ids."""
    m = get_model(model) if isinstance(model, str) else model
    return tuple(
        GpuIdentity(
            node=node,
            index=i,
            uuid=gpu_uuid(seed, node, i),
            pci_bus_id=m.pci_bus_id(i, count),
            model=m,
            boot_time=boot_time,
        )
        for i in range(count)
    )


@dataclass(frozen=True, slots=True)
class Assignment:
    """A pod holding (a share of) a GPU.

    ``since`` is the sim time the pod started using the GPU: the energy counter integrates the
    workload's extra power from then on, so it stays continuous when a pod arrives.
    """

    pod: str
    namespace: str
    container: str
    profile: Profile = "training"
    since: float = 0.0


@dataclass(frozen=True, slots=True)
class GpuFaults:
    """Fault flags of one GPU: ``xid`` the last XID error value (0 = none), ``hot`` overheating."""

    xid: int = 0
    hot: bool = False


NO_FAULTS = GpuFaults()


def pick_xid(identity: GpuIdentity) -> int:
    """A deterministic, plausible XID value for a faulty GPU (from ``COMMON_XIDS``)."""
    return COMMON_XIDS[identity._h % len(COMMON_XIDS)]


class GpuState(NamedTuple):
    """One GPU for ``render_exposition``: identity, the pods on it, its faults."""

    identity: GpuIdentity
    assignments: Sequence[Assignment] = ()
    faults: GpuFaults = NO_FAULTS


# ---------------------------------------------------------------------------------------------
# sampling


@dataclass(frozen=True, slots=True)
class GpuSample:
    """The metric values of one GPU at one instant (units as DCGM reports them)."""

    sm_clock: int  # MHz
    mem_clock: int  # MHz
    memory_temp: int  # °C (0 on GDDR parts)
    gpu_temp: int  # °C
    power_usage: float  # W
    total_energy: int  # mJ since boot, monotonic in t
    pcie_replay: int
    gpu_util: int  # %
    mem_copy_util: int  # %
    enc_util: int  # %
    dec_util: int  # %
    xid_errors: int  # value of the last XID
    fb_free: int  # MiB
    fb_used: int  # MiB
    fb_reserved: int  # MiB; fb_used + fb_free + fb_reserved == model.memory_mib
    gr_engine_active: float  # ratio 0..1
    tensor_active: float  # ratio 0..1
    dram_active: float  # ratio 0..1


# Mean utilisation (%) per profile, for the energy integral; and whether the workload keeps the
# SM clocks up even at 0 % utilisation (a hung collective spins in its kernel).
_MEAN_UTIL = {"training": 92.0, "serving": 42.0, "idle-allocation": 0.0, "hung": 0.0, "none": 0.0}
_HELD_POWER = {"training": 1.0, "serving": 1.0, "idle-allocation": 0.4, "hung": 0.9, "none": 0.0}


def _power(model: GpuModel, util: float, held: float) -> float:
    """Board power at ``util`` % with a context held at intensity ``held`` (0..1)."""
    span = model.max_power_w - model.idle_power_w
    return model.idle_power_w + span * (0.07 * held + 0.88 * (util / 100.0) ** 1.15)


@lru_cache(maxsize=262_144)
def _pod_hash(namespace: str, pod: str, container: str) -> int:
    return stable_hash(f"{namespace}/{pod}/{container}")


def _workload(
    a: Assignment, gpu_h: int, t: float, usable_mib: int
) -> tuple[float, float, float, float, float]:
    """(util %, memory MiB, tensor ratio per util, dram ratio per util, copy % per util) of one pod."""
    h = mix(gpu_h ^ _pod_hash(a.namespace, a.pod, a.container))
    profile = a.profile
    if profile == "training" or profile == "hung":
        mem = usable_mib * (0.72 + 0.22 * unit(h, 1)) * (1.0 + 0.003 * _noise(h, t, 90.0))
        if profile == "hung":
            return 0.0, mem, 0.0, 0.0, 0.0
        period = 40.0 + 80.0 * unit(h, 2)
        util = 92.0 + 4.0 * math.sin(_TAU * (t / period + unit(h, 3))) + 3.5 * _noise(h, t, 7.0)
        util = min(99.0, max(85.0, util))
        tensor = 0.42 + 0.25 * unit(h, 4) + 0.03 * _noise(h ^ 1, t, 11.0)
        return util, mem, tensor, 0.45 + 0.2 * unit(h, 5), 0.35 + 0.25 * unit(h, 6)
    if profile == "serving":
        # time-of-day demand, a slower wave of traffic, and bursts
        day = 0.5 + 0.3 * math.sin(_TAU * (t / 86400.0 + unit(h, 7)))
        wave = 0.18 * math.sin(_TAU * (t / (600.0 + 900.0 * unit(h, 8)) + unit(h, 9)))
        burst = 0.22 * _noise(h, t, 10.0)
        load = min(1.0, max(0.03, day + wave + burst))
        util = 6.0 + 74.0 * load
        mem = usable_mib * (0.35 + 0.25 * unit(h, 10))
        return util, mem, 0.15 + 0.2 * unit(h, 11), 0.35, 0.5
    if profile == "idle-allocation":
        return 0.0, 300.0 + 1200.0 * unit(h, 12), 0.0, 0.0, 0.0
    return 0.0, 0.0, 0.0, 0.0, 0.0


def sample_gpu(
    identity: GpuIdentity,
    assignments: Sequence[Assignment] = (),
    faults: GpuFaults = NO_FAULTS,
    t: float = 0.0,
) -> GpuSample:
    """The DCGM metric values of ``identity`` at sim time ``t`` (seconds).

    Several assignments (a time-sliced GPU) add their utilisation and memory, capped at the
    GPU's. No assignment is an unallocated GPU: 0 % utilisation, no memory, idle clocks.
    """
    model = identity.model
    gh = identity._h
    usable = model.memory_mib - model.reserved_mib
    util = mem = tensor = dram = copy = held = 0.0
    energy_extra = 0.0
    span = model.max_power_w - model.idle_power_w
    spin = False
    for a in assignments:
        u, m, tens, dr, cp = _workload(a, gh, t, usable)
        util += u
        mem += m
        tensor += u * tens
        dram += u * dr
        copy += u * cp
        profile = a.profile
        held = max(held, _HELD_POWER.get(profile, 0.0))
        spin = spin or profile == "hung"
        if t > a.since:
            excess = _power(model, _MEAN_UTIL.get(profile, 0.0), _HELD_POWER.get(profile, 0.0))
            energy_extra += (excess - model.idle_power_w) * (t - a.since)
    util = min(100.0, util)
    fb_used = int(min(float(usable), mem))
    gpu_util = round(util)
    # temperature follows load; "hot" pins it at 85-92 °C
    if faults.hot:
        temp = 88.5 + 3.5 * _noise(gh ^ 2, t, 20.0)
    else:
        load = max(util / 100.0, 0.35 * held)
        temp = model.idle_temp_c + (model.busy_temp_c - model.idle_temp_c) * load
        temp += 1.2 * _noise(gh ^ 3, t, 15.0)
    gpu_temp = round(temp)
    memory_temp = round(temp + 4.0 + 3.0 * unit(gh, 20)) if model.hbm else 0
    power = _power(model, util, held) + span * 0.015 * _noise(gh ^ 4, t, 3.0)
    power = round(max(model.idle_power_w * 0.95, power), 3)
    if util > 0.0 or spin:
        sm = model.max_sm_clock_mhz
        if faults.hot:
            sm = int(sm * 0.7)
        elif util > 90.0:
            sm -= 15 * int(4.0 * (0.5 + 0.5 * _noise(gh ^ 5, t, 5.0)))
    else:
        sm = model.idle_sm_clock_mhz
    mem_clock = model.mem_clock_mhz if (assignments or model.hbm) else model.idle_mem_clock_mhz
    uptime = max(0.0, t - identity.boot_time)
    energy = int(1000.0 * (model.idle_power_w * uptime + energy_extra))
    if util > 0.0:
        gr = min(1.0, util / 100.0 * (0.97 + 0.02 * unit(gh, 21)))
        tensor_ratio = min(1.0, tensor / 100.0)
        dram_ratio = min(1.0, dram / 100.0)
        copy_util = min(100, round(copy))
    else:
        gr = tensor_ratio = dram_ratio = 0.0
        copy_util = 0
    return GpuSample(
        sm_clock=sm,
        mem_clock=mem_clock,
        memory_temp=memory_temp,
        gpu_temp=gpu_temp,
        power_usage=power,
        total_energy=energy,
        pcie_replay=0,
        gpu_util=gpu_util,
        mem_copy_util=copy_util,
        enc_util=0,
        dec_util=0,
        xid_errors=faults.xid,
        fb_free=usable - fb_used,
        fb_used=fb_used,
        fb_reserved=model.reserved_mib,
        gr_engine_active=round(gr, 6),
        tensor_active=round(tensor_ratio, 6),
        dram_active=round(dram_ratio, 6),
    )


# ---------------------------------------------------------------------------------------------
# exposition

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
            f',container_name="{_escape(container)}",pod_name="{_escape(pod)}"'
            f',pod_namespace="{_escape(namespace)}"'
        )
    return (
        f',container="{_escape(container)}",namespace="{_escape(namespace)}",pod="{_escape(pod)}"'
    )


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
