"""DCGM metric values of a simulated GPU at sim time ``t``: ``sample_gpu``.

Each assignment's workload profile (training, serving, idle allocation, hung) gives
utilisation, memory, tensor/DRAM activity and copy load from hashed constants, sines
and smooth hashed noise; temperature, power, clocks and the energy counter follow.
Pure functions: nothing is stored per sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from console.sim.gpu_models import GpuModel, mig_memory_mib
from console.sim.gpus import NO_FAULTS, Assignment, GpuFaults, GpuIdentity
from console.sim.hashing import mix, stable_hash, unit

_TAU = 2.0 * math.pi


def _noise(h: int, t: float, bucket: float) -> float:
    """Smooth value noise in [-1, 1]: hashed values per time bucket, smoothstep-interpolated."""
    x = t / bucket
    k = math.floor(x)
    f = x - k
    f = f * f * (3.0 - 2.0 * f)
    a = unit(h, k)
    return 2.0 * (a + (unit(h, k + 1) - a) * f) - 1.0


@dataclass(frozen=True, slots=True)
class GpuSample:
    """The metric values of one GPU at one instant (units as DCGM reports them)."""

    sm_clock: int  # MHz
    mem_clock: int  # MHz
    clocks_event_reasons: int  # NVML clocks-event (throttle) reasons bitmask; 0 = none
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
    uncorrectable_remapped_rows: int
    correctable_remapped_rows: int
    row_remap_failure: int  # 1 when a row remap failed
    gr_engine_active: float  # ratio 0..1
    tensor_active: float  # ratio 0..1
    dram_active: float  # ratio 0..1


# Mean utilisation (%) per profile, for the energy integral; and whether the workload keeps the
# SM clocks up even at 0 % utilisation (a hung collective spins in its kernel).
_MEAN_UTIL = {"training": 92.0, "serving": 42.0, "idle-allocation": 0.0, "hung": 0.0, "none": 0.0}
THERMAL_SLOWDOWN = 0x20 | 0x40
"""Clocks-event reasons of a GPU too hot: SW thermal slowdown (0x20) and HW thermal slowdown
(0x40), NVML's `nvmlClocksEventReasonSwThermalSlowdown` / `...HwThermalSlowdown`."""
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
    rows = 2 + gh % 5 if faults.remap_failed else 0  # a failed remap: its bank ran out of spares
    return GpuSample(
        sm_clock=sm,
        mem_clock=mem_clock,
        clocks_event_reasons=THERMAL_SLOWDOWN if faults.hot else 0,
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
        uncorrectable_remapped_rows=rows,
        correctable_remapped_rows=rows + (gh >> 8) % 3 if rows else 0,
        row_remap_failure=1 if faults.remap_failed else 0,
        gr_engine_active=round(gr, 6),
        tensor_active=round(tensor_ratio, 6),
        dram_active=round(dram_ratio, 6),
    )


def sample_instance(
    identity: GpuIdentity, profile: str, gi_id: int, assignments: Sequence[Assignment], t: float
) -> GpuSample:
    """The values of one MIG instance of ``identity``: its own workload noise (hashed from the
    parent's UUID and ``gi_id``), its framebuffer scaled to the profile's memory."""
    own = replace(identity, uuid=f"{identity.uuid}/{gi_id}")
    sample = sample_gpu(own, assignments, NO_FAULTS, t)
    model = identity.model
    memory = mig_memory_mib(profile) or model.memory_mib
    share = memory / max(1, model.memory_mib - model.reserved_mib)
    used = min(memory, round(sample.fb_used * share))
    return replace(sample, fb_used=used, fb_free=memory - used, fb_reserved=0)
