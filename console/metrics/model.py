"""The data shapes of GPU telemetry: what a source reads and what the UI consumes.

A source produces a `Frame` per refresh: `GpuReading`s grouped by node (every GPU it
saw, with at least utilization), optionally node aggregates it computed itself
(Prometheus does that in PromQL), the full readings of the nodes on screen, history
seeds and idle flags. The `TelemetryStore` turns frames into the figures the UI reads:
`NodeTelemetry`, `GpuRow`, `WorkloadTelemetry`, `HeaderTelemetry`, `MapGroup`s and
`TelemetryStatus`. All strings in these shapes went through `console.text.clean_line`.

DCGM label names drift between exporter versions (`LabelNames`): `Hostname` vs
`hostname`, and the old-namespace mode's `uuid`, `pod_name`, `pod_namespace`,
`container_name`. In `auto` mode every sample is read with whichever variant it carries.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec

GpuKey = tuple[str, int]  # (node, GPU index)
MigKey = tuple[str, int, int]  # (node, parent GPU index, GPU_I_ID): one MIG instance
SlotKey = GpuKey | MigKey
PodKey = tuple[str, str]  # (namespace, pod)

UTIL_METRIC = "DCGM_FI_DEV_GPU_UTIL"
GR_METRIC = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"
"""Where a utilization figure comes from: MIG instances (and exporters with only profiling
fields) have no `DCGM_FI_DEV_GPU_UTIL`; their utilization is the graphics engine's active
ratio ×100."""

IDLE_UTIL = 5.0  # % below which an allocated GPU counts as idle (and a GPU as not busy)

THROTTLE_REASONS: dict[int, str] = {
    0x1: "GPU idle",
    0x2: "application clocks setting",
    0x4: "software power cap",
    0x8: "hardware slowdown",
    0x10: "sync boost",
    0x20: "software thermal slowdown",
    0x40: "hardware thermal slowdown",
    0x80: "hardware power brake",
    0x100: "display clock setting",
}
"""NVML's clocks-event (throttle) reason bits, as DCGM reports them in one bitmask."""
THERMAL_THROTTLE = 0x20 | 0x40
POWER_THROTTLE = 0x4 | 0x80
HARDWARE_THROTTLE = 0x8 | 0x40 | 0x80


def throttle_bits(mask: float | None) -> int:
    """A throttle-reasons figure as its bits (0: none, or not a usable bitmask)."""
    if mask is None or not 0 < mask < 2**53 or mask != int(mask):  # NaN fails too
        return 0
    return int(mask)


def throttle_names(bits: int) -> list[str]:
    """The reasons set in `bits`, in NVML's order (`["software power cap", …]`)."""
    return [name for bit, name in THROTTLE_REASONS.items() if bits & bit]


@dataclass(frozen=True, slots=True)
class LabelNames:
    """Candidate label names per field, tried in order on each sample."""

    host: tuple[str, ...]
    uuid: tuple[str, ...]
    pod: tuple[str, ...]
    namespace: tuple[str, ...]
    container: tuple[str, ...]
    node: tuple[str, ...] = ("node", "nodeName")
    """Target labels naming the node (Prometheus relabelling), used when the host label does
    not name a node (old exporters set `Hostname` to their own pod's name)."""

    @property
    def all(self) -> tuple[str, ...]:
        """Every label name these candidates use (for PromQL `by (...)` clauses)."""
        seen: dict[str, None] = {}
        for names in (self.host, self.uuid, self.pod, self.namespace, self.container, self.node):
            seen.update(dict.fromkeys(names))
        return tuple(seen)


# Prometheus renames a target's conflicting labels to exported_*: when a scrape config
# attaches the exporter pod's own namespace/pod, the GPU's pod labels become exported_*.
LABEL_MODES: dict[str, LabelNames] = {
    "auto": LabelNames(
        host=("Hostname", "hostname"),
        uuid=("UUID", "uuid"),
        pod=("exported_pod", "pod", "pod_name"),
        namespace=("exported_namespace", "namespace", "pod_namespace"),
        container=("exported_container", "container", "container_name"),
    ),
    "standard": LabelNames(("Hostname",), ("UUID",), ("pod",), ("namespace",), ("container",)),
    "lowercase": LabelNames(("hostname",), ("UUID",), ("pod",), ("namespace",), ("container",)),
    "legacy": LabelNames(
        ("Hostname", "hostname"),
        ("uuid",),
        ("pod_name",),
        ("pod_namespace",),
        ("container_name",),
    ),
}


def label_names(mode: str) -> LabelNames:
    """The `LabelNames` of a `dcgm_label_mode` setting (unknown → auto)."""
    return LABEL_MODES.get(mode, LABEL_MODES["auto"])


def pick(labels: Mapping[str, str], names: tuple[str, ...]) -> str:
    """The value of the first of `names` present (non-empty) in `labels`, else ""."""
    for name in names:
        value = labels.get(name)
        if value:
            return value
    return ""


class GpuReading(msgspec.Struct, gc=False):
    """One GPU's latest values as a source read them (None: not reported).

    `fb_used`/`fb_free` are MiB, `gr_active`/`tensor_active` ratios 0..1 (DCGM profiling
    metrics), `xid` the value of the last XID error (0 = none). Untracked by the cycle
    collector (it holds only numbers and strings): a scrape makes one per GPU, 80,000 at
    cluster scale, and full collections would walk them all."""

    node: str
    index: int
    uuid: str = ""
    model: str = ""
    util: float | None = None
    fb_used: float | None = None
    fb_free: float | None = None
    temp: float | None = None
    power: float | None = None
    sm_clock: float | None = None
    xid: float | None = None
    gr_active: float | None = None
    tensor_active: float | None = None
    pods: tuple[PodKey, ...] = ()
    mig_id: int | None = None
    """`GPU_I_ID` of a MIG instance (None: a whole GPU)."""
    profile: str = ""
    """`GPU_I_PROFILE` of a MIG instance (`1g.10gb`, `3g.40gb`, ...)."""
    util_metric: str = ""
    """The metric `util` comes from (`UTIL_METRIC`, `GR_METRIC`), "" when there is none."""
    xid_code: str = ""
    xid_msg: str = ""
    """`err_code` / `err_msg` of the XID series (dcgm-exporter ≥ 3.3.6), for triage."""
    instances: tuple[GpuReading, ...] = ()
    """The MIG instances of a parent GPU, by `mig_id` (the parent aggregates them)."""
    row_remap_failure: float | None = None
    """`DCGM_FI_DEV_ROW_REMAP_FAILURE`: non-zero when remapping a row failed (for triage)."""
    remapped_rows: float | None = None
    """`DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS`: rows remapped for uncorrectable errors."""
    throttle: float | None = None
    """The clock throttle (clocks-event) reasons bitmask, `DCGM_FI_DEV_CLOCK_THROTTLE_REASONS`
    or its DCGM 3.3+ name `DCGM_FI_DEV_CLOCKS_EVENT_REASONS` (`THROTTLE_REASONS` bits)."""

    @property
    def key(self) -> SlotKey:
        """(node, index), or (node, index, GPU_I_ID) for a MIG instance."""
        if self.mig_id is None:
            return (self.node, self.index)
        return (self.node, self.index, self.mig_id)

    @property
    def mem_pct(self) -> float | None:
        if self.fb_used is None or self.fb_free is None:
            return None
        total = self.fb_used + self.fb_free
        return 100.0 * self.fb_used / total if total > 0 else None


def overlay(reading: GpuReading, *extras: GpuReading | None) -> GpuReading:
    """A copy of `reading` (utilization, pods) with the figures each of `extras` has laid
    over it, in order: a focused node's full reading, the sparse health figures. Identity
    and pods stay `reading`'s; a field no extra has stays as `reading` has it."""
    changes: dict[str, object] = {}
    for extra in extras:
        if extra is None:
            continue
        for name in extra.__struct_fields__:
            if name in ("node", "index", "pods", "mig_id"):
                continue
            value = getattr(extra, name)
            if value is not None and value != "" and value != ():
                changes[name] = value
    return msgspec.structs.replace(reading, **changes)


@dataclass(frozen=True, slots=True)
class NodeTelemetry:
    """Per-node figures for the GPU nodes view (None: no data for that figure)."""

    node: str
    gpus: int  # GPUs reporting
    mean_util: float | None
    max_util: float | None
    mem_pct: float | None  # Σ used / Σ (used + free)
    hottest: float | None  # °C
    power: float | None  # W, summed over GPUs
    xid_gpus: tuple[int, ...] = ()  # indices of GPUs whose last XID is non-zero
    last_xid: int = 0  # the largest last-XID value among them (0 = none)
    idle_gpus: int = 0  # allocated GPUs idle for the idle window


@dataclass(frozen=True, slots=True)
class GpuRow:
    """One GPU of the node detail screen. Histories are oldest → newest, None = no sample."""

    node: str
    index: int
    uuid: str
    model: str
    util: float | None
    util_history: tuple[float | None, ...]
    mem_pct: float | None
    mem_history: tuple[float | None, ...]
    mem_used_mib: float | None
    mem_total_mib: float | None
    temp: float | None
    power: float | None
    sm_clock: float | None
    xid: int
    gr_active: float | None  # %, when profiling metrics are on
    tensor_active: float | None  # %
    pods: tuple[str, ...]  # "namespace/pod"
    idle: bool
    mig_id: int | None = None  # a MIG instance of GPU `index` (None: a whole GPU)
    profile: str = ""  # the instance's GPU_I_PROFILE
    util_metric: str = ""  # the metric `util` comes from
    instances: int = 0  # MIG instances of this GPU (rows follow it)

    @property
    def key(self) -> str:
        """The table key: `3` for GPU 3, `3/9` for its MIG instance 9."""
        return str(self.index) if self.mig_id is None else f"{self.index}/{self.mig_id}"


@dataclass(frozen=True, slots=True)
class WorkloadTelemetry:
    """Per job / per server figures over the GPUs its pods hold."""

    key: tuple[str, str, str]  # (kind, namespace, name): JobRow.key / ServerRow.key
    gpus: int  # GPUs of its pods that report telemetry
    mean_util: float | None
    idle_gpus: int
    history: tuple[float | None, ...]  # mean utilization per sample, oldest → newest


@dataclass(frozen=True, slots=True)
class HeaderTelemetry:
    """Cluster header figures."""

    gpus: int  # GPUs reporting
    busy: int  # utilization ≥ IDLE_UTIL
    allocated_idle: int  # held by a pod and idle for the idle window
    mean_util: float | None


@dataclass(frozen=True, slots=True)
class MapRow:
    node: str
    keys: tuple[str, ...]  # one cell key per GPU ("<node>/<index>"), index order


@dataclass(frozen=True, slots=True)
class MapGroup:
    pool: str
    rows: tuple[MapRow, ...]


UNAVAILABLE, LIVE, DEGRADED, STARTING, OFF = "unavailable", "live", "degraded", "starting", "off"


@dataclass(frozen=True, slots=True)
class TelemetryStatus:
    """Where telemetry stands, for a status line.

    state: `starting` (no refresh yet), `live`, `degraded` (some nodes missing: see
    `error`), `unavailable` (the source failed: `error` says why), `off` (source none).
    """

    source: str  # prometheus | dcgm | none
    state: str
    where: str = ""  # Prometheus URL, or "N exporters via the API server"
    last_sample: float = 0.0  # time.time() of the last successful refresh
    error: str = ""
    missing_nodes: int = 0
    refresh_seconds: float = 0.0  # wall time of the last refresh
    queries: int = 0  # HTTP requests in the last refresh
    bytes: int = 0  # response bytes in the last refresh
    notes: tuple[str, ...] = ()
    """What the source distrusted or dropped this refresh (one line each): an exporter-
    labelled pod outside the GPU operator's DaemonSets, a second exporter on a node, an
    exporter's malformed or non-finite samples."""

    def age(self, now: float | None = None) -> float | None:
        if not self.last_sample:
            return None
        return max(0.0, (time.time() if now is None else now) - self.last_sample)

    def label(self, now: float | None = None) -> str:
        """'prometheus · 3s ago', 'telemetry unavailable: <reason>', 'telemetry off'."""
        if self.state == OFF:
            return "telemetry off" + (f": {self.error}" if self.error else "")
        if self.state == UNAVAILABLE:
            return f"telemetry unavailable: {self.error or 'no data'}"
        if self.state == STARTING:
            return f"{self.source} · starting"
        age = self.age(now)
        text = f"{self.source} · {age:.0f}s ago" if age is not None else self.source
        if self.state == DEGRADED:
            text += f" · {self.error}"
        return text + self.notes_text()

    def notes_text(self) -> str:
        """` · <first note>` (and `(+N more)`), or '' without notes."""
        if not self.notes:
            return ""
        more = f" (+{len(self.notes) - 1} more)" if len(self.notes) > 1 else ""
        return f" · {self.notes[0]}{more}"


@dataclass(slots=True)
class Frame:
    """One refresh from a source.

    `readings` covers every GPU the source saw, grouped by node. With `full` they carry
    every field (the direct scrape); otherwise utilization and pods only, and `detail`
    holds the full readings of the focused nodes. `nodes` are source-computed node
    aggregates (None: the store derives them). `idle`, when given, is the set of idle
    GPUs per the source (Prometheus: `max_over_time` below the threshold). `history`
    seeds ring buffers: GpuKey → (util values, memory % values), oldest first.
    """

    readings: dict[str, list[GpuReading]]
    full: bool = True
    nodes: dict[str, NodeTelemetry] | None = None
    detail: dict[str, list[GpuReading]] = field(default_factory=dict)
    idle: set[SlotKey] | None = None
    xid: dict[GpuKey, int] = field(default_factory=dict)
    history: dict[SlotKey, tuple[list[float | None], list[float | None]]] = field(
        default_factory=dict
    )
    health: dict[GpuKey, GpuReading] = field(default_factory=dict)
    """Prometheus only (a direct scrape has every field in `readings`): sparse readings of the
    GPUs with something to report — a non-zero XID (with `err_code`/`err_msg`), a row-remap
    failure, uncorrectable remapped rows, throttle reasons, a temperature at or above the
    hot floor — carrying just those fields."""
    failed: dict[str, str] = field(default_factory=dict)  # node → why it has no data
    requests: int = 0
    bytes: int = 0
    notes: list[str] = field(default_factory=list)  # see `TelemetryStatus.notes`
