"""The telemetry store: latest readings, per-GPU history ring buffers, derived figures.

Every GPU gets a slot the first time a source reports it. Utilization and memory %
history live in two flat `bytearray`s (one byte per sample: whole percent, 255 = no
sample), `history` samples per slot, written column by column — one column per
refresh. At 80,000 GPUs × 60 samples that is 9.6 MB for both. An idle run length per
GPU (`array('H')`) makes "allocated and below 5 % for the last N samples" O(1).

`apply` runs on the poller thread; readers on any thread call the other methods. One
lock guards both, held briefly; readers get fresh immutable rows, never live state.

A MIG instance gets a slot of its own, keyed (node, GPU index, GPU_I_ID): its pod, its
utilization (from the profiling metric) and history are its own, so a job on a slice is
measured on that slice. Its parent GPU's slot holds the aggregate; the header, the map and
the per-node GPU counts count parents (physical GPUs) only, while allocated-idle counts
each unit a pod holds (a whole GPU or an instance).
"""

from __future__ import annotations

import math
import threading
import time
from array import array
from collections.abc import Callable, Iterable

from console.metrics.model import (
    IDLE_UTIL,
    Frame,
    GpuKey,
    GpuReading,
    GpuRow,
    HeaderTelemetry,
    NodeTelemetry,
    PodKey,
    SlotKey,
    WorkloadTelemetry,
    overlay,
)

NO_SAMPLE = 255
DEFAULT_HISTORY = 60
DEFAULT_IDLE_SAMPLES = 12


def _byte(value: float | None) -> int:
    if value is None or not math.isfinite(value):
        return NO_SAMPLE
    return min(100, max(0, round(value)))


ABSURD = 1e12
"""No GPU figure (%, °C, W, MHz, MiB) comes near this: a larger one is garbage, not data."""


def _finite(value: float | None) -> float | None:
    """`value`, or None when it is missing, not finite (a source's `+Inf` or `NaN`) or
    absurd (sums of such values would overflow to infinity)."""
    if value is None or not -ABSURD <= value <= ABSURD:  # NaN fails the comparison
        return None
    return value


def _percent(ratio: float | None) -> float | None:
    """A 0..1 ratio as a percentage (None when missing or not finite)."""
    value = _finite(ratio)
    return None if value is None else 100.0 * value


def _xid(value: float | None) -> int:
    """An XID figure as an int (0: none); not finite or absurd → 0, never an OverflowError."""
    if value is None or not math.isfinite(value) or not 0 < value < 2**31:
        return 0
    return int(value)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


class TelemetryStore:
    """Latest GPU telemetry of one source, with history."""

    def __init__(
        self, history: int = DEFAULT_HISTORY, idle_samples: int = DEFAULT_IDLE_SAMPLES
    ) -> None:
        self.history = max(2, history)
        self.idle_samples = max(1, min(idle_samples, self.history))
        self._lock = threading.RLock()
        self._times = array("d")  # when each refresh happened, newest last (`idle_started`)
        self._history_source: object | None = None  # a source that keeps history (`idle_since`)
        self.clear()

    def clear(self) -> None:
        """Forget everything (the source changed)."""
        with self._lock:
            self._slot: dict[SlotKey, int] = {}
            self._keys: list[SlotKey] = []
            self._cells: list[str] = []  # "<node>/<index>", the map's cell keys ("": instance)
            self._by_node: dict[str, list[int]] = {}  # whole GPUs' slots, index order
            self._units: dict[str, list[int]] = {}  # every slot of a node, instances too
            self._util_hist = bytearray()
            self._mem_hist = bytearray()
            self._run = array("H")
            self._util = array("f")
            self._pods: list[tuple[PodKey, ...]] = []
            self._pod_slots: dict[PodKey, list[int]] = {}
            self._idle: set[int] = set()
            self._last: dict[str, list[GpuReading]] = {}
            self._detail: dict[str, list[GpuReading]] = {}
            self._health: dict[GpuKey, GpuReading] = {}
            self._nodes: dict[str, NodeTelemetry] = {}
            self._header = HeaderTelemetry(0, 0, 0, None)
            self._failed: dict[str, str] = {}
            self._tick = -1

    # ------------------------------------------------------------------ writing

    def _slot_of(self, key: SlotKey) -> int:
        slot = self._slot.get(key)
        if slot is None:
            slot = len(self._keys)
            self._slot[key] = slot
            self._keys.append(key)
            self._units.setdefault(key[0], []).append(slot)
            if len(key) == 2:
                self._cells.append(f"{key[0]}/{key[1]}")
                self._by_node.setdefault(key[0], []).append(slot)
                self._by_node[key[0]].sort(key=lambda s: self._keys[s][1])
            else:
                self._cells.append("")
            self._util_hist.extend(b"\xff" * self.history)
            self._mem_hist.extend(b"\xff" * self.history)
            self._run.append(0)
            self._util.append(math.nan)
            self._pods.append(())
        return slot

    def apply(self, frame: Frame) -> None:
        """Take one refresh: new column in the histories, new figures."""
        with self._lock:
            for readings in frame.readings.values():
                for r in readings:
                    self._slot_of((r.node, r.index))
                    for i in r.instances:
                        self._slot_of(i.key)
            n, size = len(self._keys), self.history
            self._tick += 1
            self._stamp()
            col = self._tick % size
            blank = b"\xff" * n
            self._util_hist[col::size] = blank
            self._mem_hist[col::size] = blank
            old_run, run = self._run, array("H", bytes(2 * n))
            util = array("f", [math.nan]) * n
            pods: list[tuple[PodKey, ...]] = [()] * n
            slot_of, util_hist, mem_hist = self._slot, self._util_hist, self._mem_hist
            for readings in frame.readings.values():
                for parent in readings:
                    for r in (parent, *parent.instances):
                        s = slot_of[r.key]
                        # a MIG parent's pods are its instances' (held there, not here)
                        pods[s] = () if r.instances else r.pods
                        u = _finite(r.util)
                        if u is None:
                            continue
                        util[s] = u
                        util_hist[s * size + col] = _byte(u)
                        if frame.full:
                            mem_hist[s * size + col] = _byte(r.mem_pct)
                        if u < IDLE_UTIL:
                            run[s] = min(65535, old_run[s] + 1)
            for readings in frame.detail.values():
                for parent in readings:
                    for r in (parent, *parent.instances):
                        s = slot_of.get(r.key)
                        if s is not None:
                            mem_hist[s * size + col] = _byte(r.mem_pct)
            self._run, self._util, self._pods = run, util, pods
            for key, (utils, mems) in frame.history.items():
                self._seed(key, utils, mems, col)
            self._pod_slots = {}
            for s, held in enumerate(pods):
                for pod in held:
                    self._pod_slots.setdefault(pod, []).append(s)
            if frame.idle is not None:
                idle_keys = frame.idle
                self._idle = {s for s, k in enumerate(self._keys) if pods[s] and k in idle_keys}
            else:
                need = min(self.idle_samples, self._tick + 1)
                self._idle = {s for s in range(n) if pods[s] and run[s] >= need}
            self._last = {node: list(rs) for node, rs in frame.readings.items()}
            self._detail = dict(frame.detail) if not frame.full else {}
            self._health = dict(frame.health)
            self._failed = dict(frame.failed)
            self._nodes = self._node_figures(frame)
            self._header = self._header_figures()

    def _seed(
        self, key: SlotKey, utils: list[float | None], mems: list[float | None], col: int
    ) -> None:
        """Write range-query history into the columns before the current one."""
        s = self._slot.get(key)
        if s is None:
            return
        size = self.history
        for back, (u, m) in enumerate(zip(reversed(utils[:-1]), reversed(mems[:-1]), strict=False)):
            if back + 1 >= size:
                break
            i = s * size + (col - back - 1) % size
            self._util_hist[i] = _byte(u)
            self._mem_hist[i] = _byte(m)

    def _node_figures(self, frame: Frame) -> dict[str, NodeTelemetry]:
        given = frame.nodes or {}
        out: dict[str, NodeTelemetry] = {}
        for node, readings in frame.readings.items():
            utils = [u for r in readings if (u := _finite(r.util)) is not None]
            full = readings if frame.full else frame.detail.get(node, [])
            g = given.get(node)
            if frame.full or g is None:
                fb = [
                    (u, f)
                    for r in full
                    if (u := _finite(r.fb_used)) is not None
                    and (f := _finite(r.fb_free)) is not None
                ]
                used_sum = sum(u for u, _ in fb)
                total = used_sum + sum(f for _, f in fb)
                mem_pct = 100.0 * used_sum / total if total > 0 and math.isfinite(total) else None
                temps = [t for r in full if (t := _finite(r.temp)) is not None]
                powers = [p for r in full if (p := _finite(r.power)) is not None]
                hottest = max(temps) if temps else None
                power = sum(powers) if powers else None
            else:
                mem_pct, hottest, power = _finite(g.mem_pct), _finite(g.hottest), _finite(g.power)
            if frame.full:
                xids = {r.index: x for r in readings if (x := _xid(r.xid))}
            else:
                xids = {i: x for (n, i), v in frame.xid.items() if n == node and (x := _xid(v))}
            slots = self._units.get(node, [])
            out[node] = NodeTelemetry(
                node=node,
                gpus=len(utils),
                mean_util=_mean(utils),
                max_util=max(utils) if utils else None,
                mem_pct=mem_pct,
                hottest=hottest,
                power=power,
                xid_gpus=tuple(sorted(xids)),
                last_xid=max(xids.values(), default=0),
                idle_gpus=sum(1 for s in slots if s in self._idle),
            )
        return out

    def _header_figures(self) -> HeaderTelemetry:
        cells = self._cells
        values = [u for s, u in enumerate(self._util) if u == u and cells[s]]
        return HeaderTelemetry(
            gpus=len(values),
            busy=sum(1 for u in values if u >= IDLE_UTIL),
            allocated_idle=len(self._idle),
            mean_util=_mean(values),
        )

    # ------------------------------------------------------------------ reading

    @property
    def samples(self) -> int:
        """Refreshes applied so far."""
        return self._tick + 1

    def header(self) -> HeaderTelemetry:
        return self._header

    def nodes(self) -> dict[str, NodeTelemetry]:
        """Node name → figures, for every node that reported this refresh."""
        with self._lock:
            return dict(self._nodes)

    def node(self, name: str) -> NodeTelemetry | None:
        return self._nodes.get(name)

    def failed(self) -> dict[str, str]:
        """Node → why it has no telemetry (exporter missing, unreachable, garbage)."""
        with self._lock:
            return dict(self._failed)

    def util(self, key: SlotKey) -> float | None:
        with self._lock:
            s = self._slot.get(key)
            if s is None:
                return None
            u = self._util[s]
            return u if u == u else None

    def _hist(self, buf: bytearray, s: int) -> tuple[float | None, ...]:
        size, col = self.history, self._tick % self.history
        row = buf[s * size : (s + 1) * size]
        ordered = row[col + 1 :] + row[: col + 1]
        return tuple(None if b == NO_SAMPLE else float(b) for b in ordered)

    def history_of(self, key: SlotKey) -> tuple[tuple[float | None, ...], tuple[float | None, ...]]:
        """(utilization, memory %) history of one GPU, oldest → newest."""
        with self._lock:
            s = self._slot.get(key)
            if s is None:
                empty = (None,) * self.history
                return empty, empty
            return self._hist(self._util_hist, s), self._hist(self._mem_hist, s)

    def gpu_rows(self, node: str) -> list[GpuRow]:
        """The GPUs of `node` for its detail screen, index order, each MIG GPU followed by
        its instances (empty: no telemetry)."""
        with self._lock:
            readings = self._detail.get(node) or self._last.get(node) or []
            rows = []
            for parent in readings:
                for r in (parent, *parent.instances):
                    row = self._gpu_row(r, len(parent.instances) if r is parent else 0)
                    if row is not None:
                        rows.append(row)
            return rows

    def _gpu_row(self, r: GpuReading, instances: int) -> GpuRow | None:
        s = self._slot.get(r.key)
        if s is None:
            return None
        used, free = _finite(r.fb_used), _finite(r.fb_free)
        util = _finite(r.util)
        util = util if util is not None else self.util(r.key)
        return GpuRow(
            node=r.node,
            index=r.index,
            uuid=r.uuid,
            model=r.model,
            util=util,
            util_history=self._hist(self._util_hist, s),
            mem_pct=_finite(r.mem_pct),
            mem_history=self._hist(self._mem_hist, s),
            mem_used_mib=used,
            mem_total_mib=used + free if used is not None and free is not None else None,
            temp=_finite(r.temp),
            power=_finite(r.power),
            sm_clock=_finite(r.sm_clock),
            xid=_xid(r.xid),
            gr_active=_percent(r.gr_active),
            tensor_active=_percent(r.tensor_active),
            pods=tuple(f"{ns}/{p}" for ns, p in (r.pods or self._pods[s])),
            idle=s in self._idle,
            mig_id=r.mig_id,
            profile=r.profile,
            util_metric=r.util_metric,
            instances=instances,
        )

    def readings(self) -> list[GpuReading]:
        """The latest reading of every GPU the source reported, by node then index, a MIG
        GPU with its instances attached (`GpuReading.instances`) — for triage.

        A direct scrape's readings carry every field. A Prometheus refresh carries
        utilization and pods for every GPU, every field for the focused nodes, and the
        health fields (XID with `err_code`/`err_msg`, remapped rows, throttle reasons, a
        temperature at or above the hot floor) of the GPUs that have something to report:
        those are merged into the reading. Readings are shared, never mutated: read-only."""
        with self._lock:
            last, detail, health = self._last, self._detail, self._health
            out: list[GpuReading] = []
            for node in sorted(last):
                full = {r.index: r for r in detail.get(node, ())}
                for r in sorted(last[node], key=lambda r: r.index):
                    d, h = full.get(r.index), health.get((node, r.index))
                    out.append(r if d is None and h is None else overlay(r, d, h))
            return out

    def map_values(self) -> dict[str, float | None]:
        """Cell key ("<node>/<index>") → utilization now, for every GPU ever seen."""
        with self._lock:
            return {
                c: (u if u == u else None)
                for c, u in zip(self._cells, self._util, strict=False)
                if c
            }

    def node_gpus(self, node: str) -> list[int]:
        """GPU indices of `node` seen so far."""
        with self._lock:
            return [self._keys[s][1] for s in self._by_node.get(node, [])]

    def pods(self) -> list[PodKey]:
        """Pods that hold a reporting GPU."""
        with self._lock:
            return list(self._pod_slots)

    def workload(
        self, key: tuple[str, str, str], pods: Iterable[PodKey], with_history: bool = False
    ) -> WorkloadTelemetry:
        """Figures over the GPUs the given pods hold (a job's or a server's pods)."""
        with self._lock:
            slots = sorted({s for p in pods for s in self._pod_slots.get(p, ())})
            utils = [self._util[s] for s in slots if self._util[s] == self._util[s]]
            history: tuple[float | None, ...] = ()
            if with_history and slots:
                rows = [self._hist(self._util_hist, s) for s in slots]
                history = tuple(
                    _mean([v for v in column if v is not None])
                    for column in zip(*rows, strict=False)
                )
            return WorkloadTelemetry(
                key=key,
                gpus=len(utils),
                mean_util=_mean(utils),
                idle_gpus=sum(1 for s in slots if s in self._idle),
                history=history,
            )

    def workloads(
        self, key_of: Callable[[PodKey], tuple[str, str, str] | None]
    ) -> dict[tuple[str, str, str], WorkloadTelemetry]:
        """Figures per workload for every pod holding a reporting GPU; `key_of` maps a pod to
        its workload key (None: not part of one)."""
        with self._lock:
            groups: dict[tuple[str, str, str], set[int]] = {}
            for pod, slots in self._pod_slots.items():
                key = key_of(pod)
                if key is not None:
                    groups.setdefault(key, set()).update(slots)
            out = {}
            for key, slots in groups.items():
                utils = [self._util[s] for s in slots if self._util[s] == self._util[s]]
                idle = sum(1 for s in slots if s in self._idle)
                out[key] = WorkloadTelemetry(key, len(utils), _mean(utils), idle, ())
            return out

    def pod_slots(self) -> dict[PodKey, int]:
        """Pod → number of GPUs it holds that report telemetry."""
        with self._lock:
            return {p: len(s) for p, s in self._pod_slots.items()}

    # ------------------------------------------------------------------ idle history (triage)

    def held_units(self) -> list[tuple[SlotKey, float | None, tuple[PodKey, ...]]]:
        """Every unit a pod holds (a whole GPU or a MIG instance) as of the last refresh:
        (key, utilization now or None, the pods holding it)."""
        with self._lock:
            out = []
            for s, held in enumerate(self._pods):
                if held:
                    u = self._util[s]
                    out.append((self._keys[s], u if u == u else None, held))
            return out

    def recent_util(self, key: SlotKey, samples: int) -> tuple[float | None, ...]:
        """The last `samples` utilization samples of one unit, oldest → newest (at most the
        history's length; None = no sample)."""
        if samples <= 0:
            return ()
        utils, _ = self.history_of(key)
        return utils[-min(samples, self.history) :]

    TIMES_KEPT = 65536
    """Refresh times kept (a day of 1 s refreshes): how far back `idle_started` can date."""

    def _stamp(self) -> None:
        """Note when this refresh happened (under the lock, from `apply`)."""
        times = self._times
        times.append(time.time())
        if len(times) > self.TIMES_KEPT + 1024:
            del times[: len(times) - self.TIMES_KEPT]

    @property
    def first_sample(self) -> float:
        """Epoch seconds of the oldest refresh `idle_started` can see (0.0: none yet)."""
        with self._lock:
            times = self._times
            if not times:
                return 0.0
            return times[-min(len(times), self._tick + 1)] if self._tick >= 0 else 0.0

    def idle_started(self, key: SlotKey, below: float) -> float | None:
        """When the unit's current stretch of refreshes below `below` % began (the time of
        the first of them), None when its latest sample is not below. Exact within the
        history ring; beyond it from the idle run counter when that counts the same threshold
        or a lower one (`IDLE_UTIL` ≤ `below`). A refresh without a sample ends a stretch."""
        with self._lock:
            s = self._slot.get(key)
            times = self._times
            if s is None or not times or self._tick < 0:
                return None
            utils = self._hist(self._util_hist, s)
            n = 0
            for u in reversed(utils):
                if u is None or u >= below:
                    break
                n += 1
            if n == 0:
                return None
            if n >= len(utils) and below >= IDLE_UTIL:
                n = max(n, self._run[s])
            n = min(n, self._tick + 1, len(times))
            return times[-n]

    def set_source(self, source: object | None) -> None:
        """The source the frames come from (the poller sets it): one that keeps history
        (Prometheus) answers `idle_since`."""
        self._history_source = source

    @property
    def keeps_history(self) -> bool:
        """Whether `idle_since` can ask the source's own history (Prometheus)."""
        return getattr(self._history_source, "name", "") == "prometheus"

    def idle_since(
        self, keys: Iterable[SlotKey], below: float, lookback: float, now: float
    ) -> dict[SlotKey, tuple[float, bool]] | None:
        """When each of `keys` last went below `below` % and stayed there, from the source's
        history: key → (epoch seconds, whether the history starts later, so the unit was idle
        at least that long). None when the source keeps no history or the query failed; a
        unit absent from the answer has no history there."""
        if not self.keeps_history:
            return None
        from console.metrics.prom_idle import idle_since

        return idle_since(self._history_source, list(keys), below, lookback, now)
