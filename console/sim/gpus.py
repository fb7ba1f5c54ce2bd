"""Simulated GPUs: what DCGM knows about each GPU, the pods holding it, its faults.

Everything in the GPU simulation is a pure function of (seed, identities, sim time ``t``
in seconds): per-GPU and per-pod constants come from hashing their names, variation over
time from sines and smoothly interpolated hashed noise. There is no global random state
and nothing is stored per sample, so 80,000 GPUs cost nothing until scraped.

The pieces:

- ``GpuIdentity`` / ``node_gpus``: what DCGM knows about a GPU (index, UUID,
  PCI bus id, device, model); the UUID is derived from seed + node + index.
- ``Assignment``: a pod holding the GPU, with a workload ``profile``
  (``training``, ``serving``, ``idle-allocation``, ``hung``, ``none``); a
  time-sliced GPU has several.
- ``GpuFaults``: per-GPU fault flags (last ``xid`` value, ``hot``).
- ``GpuState``: one GPU with its assignments and faults; ``MigGpuState`` one in MIG mode,
  with its ``MigInstance``s, each with its own assignments.
- ``gpu_sampling.sample_gpu``: the metric values of one GPU at ``t``.
- ``gpu_exposition.render_exposition``: the exporter's ``/metrics`` text for a set of
  GPUs, byte-for-byte in dcgm-exporter's template shape.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from console.sim.gpu_models import GpuModel, get_model
from console.sim.hashing import stable_hash

__all__ = [
    "COMMON_XIDS",
    "NO_FAULTS",
    "PROFILES",
    "XID_MESSAGES",
    "Assignment",
    "GpuFaults",
    "GpuIdentity",
    "GpuState",
    "MigGpuState",
    "MigInstance",
    "Profile",
    "escape_label",
    "gpu_uuid",
    "node_gpus",
    "pick_xid",
]

Profile = Literal["training", "serving", "idle-allocation", "hung", "none"]
PROFILES: tuple[str, ...] = ("training", "serving", "idle-allocation", "hung", "none")

COMMON_XIDS: tuple[int, ...] = (79, 48, 63, 13, 31, 94)
"""XIDs worth simulating: 79 fallen off the bus, 48 double-bit ECC, 63 row remap, 13 graphics
engine exception, 31 memory page fault, 94 contained ECC error."""

XID_MESSAGES: dict[int, str] = {
    13: "Graphics Engine Exception",
    31: "GPU memory page fault",
    48: "Double Bit ECC Error",
    63: "ECC page retirement or row remapping recording event",
    79: "GPU has fallen off the bus",
    94: "Contained ECC error",
}
"""The `err_msg` dcgm-exporter (>= 3.3.6) puts beside `err_code` on DCGM_FI_DEV_XID_ERRORS."""


def gpu_uuid(seed: int | str, node: str, index: int) -> str:
    """Deterministic ``GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`` for GPU ``index`` of ``node``."""
    h = hashlib.blake2b(f"{seed}/{node}/{index}".encode(), digest_size=16).hexdigest()
    return f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def escape_label(value: str) -> str:
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
                f'gpu="{self.index}",{uuid_label}="{escape_label(self.uuid)}",'
                f'pci_bus_id="{escape_label(self.pci_bus_id)}",device="{self.device}",'
                f'modelName="{escape_label(self.model.model_name)}",'
                f'{hostname_label}="{escape_label(hostname)}",'
                f'DCGM_FI_DRIVER_VERSION="{escape_label(driver_version)}"'
            )
            self._labels[key] = text
        return text

    def instance_prefix(
        self,
        uuid_label: str,
        hostname_label: str,
        hostname: str,
        driver_version: str,
        profile: str,
        gi_id: int,
    ) -> str:
        """The labels of a MIG instance's samples: the parent's `gpu` and `UUID`, then
        `GPU_I_PROFILE` and `GPU_I_ID` before the host label (dcgm-exporter's order)."""
        key = (uuid_label, hostname_label, hostname, driver_version + f"/{profile}/{gi_id}")
        text = self._labels.get(key)
        if text is None:
            text = (
                f'gpu="{self.index}",{uuid_label}="{escape_label(self.uuid)}",'
                f'pci_bus_id="{escape_label(self.pci_bus_id)}",device="{self.device}",'
                f'modelName="{escape_label(self.model.model_name)}",'
                f'GPU_I_PROFILE="{escape_label(profile)}",GPU_I_ID="{gi_id}",'
                f'{hostname_label}="{escape_label(hostname)}",'
                f'DCGM_FI_DRIVER_VERSION="{escape_label(driver_version)}"'
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
    """Fault flags of one GPU: ``xid`` the last XID error value (0 = none), ``hot`` overheating,
    ``remap_failed`` a failed row remap (uncorrectable remapped rows, remap failure flag)."""

    xid: int = 0
    hot: bool = False
    remap_failed: bool = False


NO_FAULTS = GpuFaults()


def pick_xid(identity: GpuIdentity) -> int:
    """A deterministic, plausible XID value for a faulty GPU (from ``COMMON_XIDS``)."""
    return COMMON_XIDS[identity._h % len(COMMON_XIDS)]


@dataclass(frozen=True, slots=True)
class MigInstance:
    """One MIG GPU instance of a GPU: its profile (``3g.40gb``), ``GPU_I_ID`` and pods."""

    profile: str
    gi_id: int
    assignments: tuple[Assignment, ...] = ()


class GpuState(NamedTuple):
    """One GPU for ``render_exposition``: identity, the pods on it, its faults."""

    identity: GpuIdentity
    assignments: Sequence[Assignment] = ()
    faults: GpuFaults = NO_FAULTS


class MigGpuState(NamedTuple):
    """A GPU in MIG mode for ``render_exposition``: its pods are on its instances."""

    identity: GpuIdentity
    instances: Sequence[MigInstance]
    faults: GpuFaults = NO_FAULTS
