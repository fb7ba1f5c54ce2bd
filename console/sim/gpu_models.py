"""Catalogue of the simulated GPU models, and the node labels GPU Feature Discovery derives from them.

Every figure is what the real card reports: ``model_name`` as NVML/DCGM prints it
(``modelName`` on exporter samples), ``memory_mib`` as nvidia-smi's total (GFD's
``nvidia.com/gpu.memory``), clocks in MHz, power in W, temperatures in °C. The
controllers and presets build node labels and capacity from this registry; the
GPU telemetry simulation (``console.sim.gpus``) takes its ranges from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

SharingStrategy = Literal["none", "time-slicing", "mps"]


@dataclass(frozen=True, slots=True)
class GpuModel:
    """One GPU product. ``key`` is the registry key (the GFD product label without ``NVIDIA-``)."""

    key: str
    model_name: str  # as DCGM/NVML prints it: "NVIDIA A100-SXM4-80GB", "Tesla T4"
    memory_mib: int  # total framebuffer, nvidia-smi "Total"
    reserved_mib: int  # framebuffer reserved by the driver (DCGM_FI_DEV_FB_RESERVED)
    family: str  # GFD nvidia.com/gpu.family: ampere, hopper, ada-lovelace, turing
    compute_major: int
    compute_minor: int
    max_power_w: float  # board power limit
    idle_power_w: float
    max_sm_clock_mhz: int
    idle_sm_clock_mhz: int
    mem_clock_mhz: int  # memory clock under load
    idle_mem_clock_mhz: int  # memory clock with no context (HBM parts never drop)
    idle_temp_c: int
    busy_temp_c: int  # steady temperature at ~100 % utilisation
    hbm: bool  # HBM parts report DCGM_FI_DEV_MEMORY_TEMP; GDDR parts report 0
    mig_capable: bool
    pci_bus_ids: tuple[str, ...]  # typical layout on an 8-GPU (or fewer) server, by index

    @property
    def product(self) -> str:
        """GFD ``nvidia.com/gpu.product`` value: the model name with spaces turned into ``-``."""
        return self.model_name.replace(" ", "-")

    def pci_bus_id(self, index: int, count: int = 8) -> str:
        """The ``pci_bus_id`` of GPU ``index`` on a node with ``count`` GPUs of this model."""
        if count == 1:
            return self.pci_bus_ids[-1] if not self.hbm else self.pci_bus_ids[0]
        if index < len(self.pci_bus_ids):
            return self.pci_bus_ids[index]
        return f"00000000:{0x20 + index:02X}:00.0"


def _sxm_layout(*buses: int) -> tuple[str, ...]:
    return tuple(f"00000000:{bus:02X}:00.0" for bus in buses)


def _cloud_layout(*devices: int) -> tuple[str, ...]:
    return tuple(f"00000000:00:{dev:02X}.0" for dev in devices)


_MODELS = (
    GpuModel(
        key="A100-SXM4-80GB",
        model_name="NVIDIA A100-SXM4-80GB",
        memory_mib=81920,
        reserved_mib=541,
        family="ampere",
        compute_major=8,
        compute_minor=0,
        max_power_w=400.0,
        idle_power_w=61.0,
        max_sm_clock_mhz=1410,
        idle_sm_clock_mhz=210,
        mem_clock_mhz=1593,
        idle_mem_clock_mhz=1593,
        idle_temp_c=31,
        busy_temp_c=63,
        hbm=True,
        mig_capable=True,
        pci_bus_ids=_sxm_layout(0x07, 0x0F, 0x47, 0x4E, 0x87, 0x90, 0xB7, 0xBD),
    ),
    GpuModel(
        key="A100-SXM4-40GB",
        model_name="NVIDIA A100-SXM4-40GB",
        memory_mib=40960,
        reserved_mib=415,
        family="ampere",
        compute_major=8,
        compute_minor=0,
        max_power_w=400.0,
        idle_power_w=55.0,
        max_sm_clock_mhz=1410,
        idle_sm_clock_mhz=210,
        mem_clock_mhz=1215,
        idle_mem_clock_mhz=1215,
        idle_temp_c=30,
        busy_temp_c=61,
        hbm=True,
        mig_capable=True,
        pci_bus_ids=_sxm_layout(0x07, 0x0F, 0x47, 0x4E, 0x87, 0x90, 0xB7, 0xBD),
    ),
    GpuModel(
        key="H100-80GB-HBM3",
        model_name="NVIDIA H100 80GB HBM3",
        memory_mib=81559,
        reserved_mib=579,
        family="hopper",
        compute_major=9,
        compute_minor=0,
        max_power_w=700.0,
        idle_power_w=72.0,
        max_sm_clock_mhz=1980,
        idle_sm_clock_mhz=345,
        mem_clock_mhz=2619,
        idle_mem_clock_mhz=2619,
        idle_temp_c=29,
        busy_temp_c=67,
        hbm=True,
        mig_capable=True,
        pci_bus_ids=_sxm_layout(0x18, 0x2A, 0x3A, 0x5D, 0x9A, 0xAB, 0xBA, 0xDB),
    ),
    GpuModel(
        key="L40S",
        model_name="NVIDIA L40S",
        memory_mib=46068,
        reserved_mib=397,
        family="ada-lovelace",
        compute_major=8,
        compute_minor=9,
        max_power_w=350.0,
        idle_power_w=33.0,
        max_sm_clock_mhz=2520,
        idle_sm_clock_mhz=210,
        mem_clock_mhz=9001,
        idle_mem_clock_mhz=405,
        idle_temp_c=30,
        busy_temp_c=70,
        hbm=False,
        mig_capable=False,
        pci_bus_ids=_cloud_layout(0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D),
    ),
    GpuModel(
        key="L4",
        model_name="NVIDIA L4",
        memory_mib=23034,
        reserved_mib=289,
        family="ada-lovelace",
        compute_major=8,
        compute_minor=9,
        max_power_w=72.0,
        idle_power_w=16.0,
        max_sm_clock_mhz=2040,
        idle_sm_clock_mhz=210,
        mem_clock_mhz=6251,
        idle_mem_clock_mhz=405,
        idle_temp_c=38,
        busy_temp_c=74,
        hbm=False,
        mig_capable=False,
        pci_bus_ids=_cloud_layout(0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A),
    ),
    GpuModel(
        key="Tesla-T4",
        model_name="Tesla T4",
        memory_mib=15360,
        reserved_mib=255,
        family="turing",
        compute_major=7,
        compute_minor=5,
        max_power_w=70.0,
        idle_power_w=9.5,
        max_sm_clock_mhz=1590,
        idle_sm_clock_mhz=300,
        mem_clock_mhz=5000,
        idle_mem_clock_mhz=405,
        idle_temp_c=35,
        busy_temp_c=71,
        hbm=False,
        mig_capable=False,
        pci_bus_ids=_cloud_layout(0x1B, 0x1C, 0x1D, 0x1E),
    ),
    GpuModel(
        key="A10G",
        model_name="NVIDIA A10G",
        memory_mib=23028,
        reserved_mib=292,
        family="ampere",
        compute_major=8,
        compute_minor=6,
        max_power_w=300.0,
        idle_power_w=25.0,
        max_sm_clock_mhz=1710,
        idle_sm_clock_mhz=210,
        mem_clock_mhz=6251,
        idle_mem_clock_mhz=405,
        idle_temp_c=27,
        busy_temp_c=66,
        hbm=False,
        mig_capable=False,
        pci_bus_ids=_cloud_layout(0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E),
    ),
)

GPU_MODELS: Mapping[str, GpuModel] = {m.key: m for m in _MODELS}
"""Registry by key: ``A100-SXM4-80GB``, ``A100-SXM4-40GB``, ``H100-80GB-HBM3``, ``L40S``, ``L4``,
``Tesla-T4``, ``A10G``."""

_ALIASES: dict[str, GpuModel] = {}
for _m in _MODELS:
    for _name in (_m.key, _m.model_name, _m.product, _m.product + "-SHARED"):
        _ALIASES[_name.lower()] = _m
_ALIASES["t4"] = GPU_MODELS["Tesla-T4"]
_ALIASES["h100"] = GPU_MODELS["H100-80GB-HBM3"]
_ALIASES["a100"] = GPU_MODELS["A100-SXM4-80GB"]


def get_model(name: str) -> GpuModel:
    """Look a model up by key, DCGM model name, GFD product (with or without ``-SHARED``) or short alias.

    Raises ``KeyError`` for an unknown name.
    """
    try:
        return _ALIASES[name.lower()]
    except KeyError:
        raise KeyError(f"unknown GPU model {name!r}; known: {', '.join(GPU_MODELS)}") from None


def gfd_labels(
    model: GpuModel,
    count: int,
    *,
    replicas: int = 1,
    sharing: SharingStrategy = "none",
    rename_by_default: bool = False,
    driver_version: str = "550.54.15",
    cuda_version: str = "12.4",
    mig_strategy: str = "none",
) -> dict[str, str]:
    """The ``nvidia.com/*`` node labels GPU Feature Discovery sets for ``count`` GPUs of ``model``.

    ``replicas`` > 1 with ``sharing`` ``time-slicing``/``mps`` is the device plugin's sharing
    config; the product gets the ``-SHARED`` suffix unless ``rename_by_default``. ``gpu.count``
    is always the physical count. All values are strings.
    """
    shared = replicas > 1 and sharing != "none"
    product = model.product + ("-SHARED" if shared and not rename_by_default else "")
    drv = driver_version.split(".")
    cuda = cuda_version.split(".")
    labels = {
        "nvidia.com/gpu.present": "true",
        "nvidia.com/gpu.count": str(count),
        "nvidia.com/gpu.replicas": str(replicas if shared else 1),
        "nvidia.com/gpu.sharing-strategy": sharing if shared else "none",
        "nvidia.com/gpu.product": product,
        "nvidia.com/gpu.memory": str(model.memory_mib),
        "nvidia.com/gpu.family": model.family,
        "nvidia.com/gpu.compute.major": str(model.compute_major),
        "nvidia.com/gpu.compute.minor": str(model.compute_minor),
        "nvidia.com/cuda.driver-version.full": driver_version,
        "nvidia.com/cuda.driver-version.major": drv[0],
        "nvidia.com/cuda.driver-version.minor": drv[1] if len(drv) > 1 else "0",
        "nvidia.com/cuda.driver-version.revision": drv[2] if len(drv) > 2 else "0",
        "nvidia.com/cuda.runtime-version.full": cuda_version,
        "nvidia.com/cuda.runtime-version.major": cuda[0],
        "nvidia.com/cuda.runtime-version.minor": cuda[1] if len(cuda) > 1 else "0",
        "nvidia.com/mig.capable": "true" if model.mig_capable else "false",
    }
    if model.mig_capable:
        labels["nvidia.com/mig.strategy"] = mig_strategy
    return labels


MIG_LAYOUTS: Mapping[str, Mapping[str, tuple[tuple[str, int], ...]]] = {
    "A100-SXM4-80GB": {
        # (GPU_I_PROFILE, GPU_I_ID) per GPU, as the MIG manager's named configs create them
        "all-balanced": (("3g.40gb", 2), ("2g.20gb", 3), ("1g.10gb", 9), ("1g.10gb", 10)),
        "all-1g.10gb": tuple(("1g.10gb", i) for i in range(7, 14)),
    },
    "A100-SXM4-40GB": {
        "all-balanced": (("3g.20gb", 2), ("2g.10gb", 3), ("1g.5gb", 9), ("1g.5gb", 10)),
        "all-1g.5gb": tuple(("1g.5gb", i) for i in range(7, 14)),
    },
}
"""MIG layouts per model key: the GPU instances every GPU of a node gets under a mig-manager
config (`nvidia.com/mig.config`)."""


def mig_layout(model: GpuModel, config: str) -> tuple[tuple[str, int], ...]:
    """The (profile, GPU_I_ID) instances of one GPU under `config` (empty: no such layout)."""
    return MIG_LAYOUTS.get(model.key, {}).get(config, ())


def mig_memory_mib(profile: str) -> int:
    """A MIG profile's framebuffer in MiB (`1g.10gb` → 9728: DCGM reports a little less
    than the nominal GB)."""
    gb = profile.partition(".")[2].removesuffix("gb")
    return int(gb) * 1024 - 512 if gb.isdigit() else 0


def mig_gfd_labels(
    model: GpuModel, count: int, config: str
) -> tuple[dict[str, str], dict[str, str]]:
    """(GFD labels, node resources) of `count` GPUs of `model` under MIG strategy mixed with
    layout `config`: `nvidia.com/mig-<profile>.count/.memory` labels and one
    `nvidia.com/mig-<profile>` resource per profile (no `nvidia.com/gpu`)."""
    per_profile: dict[str, int] = {}
    for profile, _gi in mig_layout(model, config):
        per_profile[profile] = per_profile.get(profile, 0) + count
    labels = {
        "nvidia.com/mig.strategy": "mixed",
        "nvidia.com/mig.config": config,
        "nvidia.com/mig.config.state": "success",
    }
    resources = {}
    for profile, total in sorted(per_profile.items()):
        labels[f"nvidia.com/mig-{profile}.count"] = str(total)
        labels[f"nvidia.com/mig-{profile}.memory"] = str(mig_memory_mib(profile))
        labels[f"nvidia.com/mig-{profile}.slices.gi"] = profile.partition("g")[0]
        resources[f"nvidia.com/mig-{profile}"] = str(total)
    return labels, resources
