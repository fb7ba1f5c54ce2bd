"""Telemetry from Prometheus (`prometheus-api-client`), with a constant number of queries.

Per refresh, whatever the cluster size:
1. utilization of every GPU with its pod labels (`max by (host, gpu, pod labels)`);
2. node figures and sparse per-GPU flags in one `or`-union of `label_replace`d
   aggregations: memory used/free, hottest temperature, power (each GPU counted once
   even when time-shared), allocated GPUs idle over the idle window (`max_over_time(...)
   < 5`: only idle GPUs come back), and sparse per-GPU health for triage (`Frame.health`):
   a non-zero last XID with its `err_code`/`err_msg`, a row-remap failure, uncorrectable
   remapped rows, throttle reasons, a temperature at or above `hot_celsius`;
3. only when nodes are on screen: every metric of their GPUs;
4. only when the on-screen nodes change: one range query seeding their sparklines.

Queries group by every label-name variant at once (`Hostname` and `hostname`, `pod` and
`pod_name`, `exported_pod`, the target's `node` and `instance`, ...): a `by` label a series
lacks is simply absent, so one query serves every exporter version and both `honor_labels`
settings. Under kube-prometheus-stack's default (`honorLabels: false`) the workload's pod is
`exported_pod` and `pod` is the exporter: `parse.NodeResolver` and `Assembler.holder` read
them so (the exporter pods and their IPs come from the cluster cache, when there is one).
MIG instances have no `DCGM_FI_DEV_GPU_UTIL`: the utilization query adds their
`DCGM_FI_PROF_GR_ENGINE_ACTIVE` (only series with a `GPU_I_ID`), and memory sums per
instance. Family names of the 1.x-compatibility mode are matched along with the current. The URL is given (`--prometheus-url`, `PROMETHEUS_URL`,
settings) or discovered: a Prometheus Service in the usual namespaces, reached through
the API server's service proxy with the kubeconfig's credentials and CA. The cluster's
credentials go only to a URL with the API server's scheme, host and port; the URL is
shown and reported redacted (`console.redact`).
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import UTC, datetime
from typing import Any

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from console.cluster.connection import ClusterError, Connection
from console.metrics.labels import NodeResolver
from console.metrics.mig import MIG_ID, MIG_PROFILE
from console.metrics.model import (
    IDLE_UTIL,
    Frame,
    GpuKey,
    GpuReading,
    NodeTelemetry,
    SlotKey,
    label_names,
)
from console.metrics.parse import (
    ALL_FIELDS,
    COMPAT_FIELDS,
    FIELDS,
    Assembler,
    gpu_index,
    whole,
    xid_labels,
)
from console.metrics.prom_connect import NAMESPACES, _reason, _session, discover
from console.metrics.source import SourceError

__all__ = ["NAMESPACES", "PrometheusSource", "_session", "discover"]
from console.redact import redact
from console.text import clean_line

HEALTH = frozenset(("xid", "row_remap_failure", "remapped_rows", "throttle", "temp_gpu"))
"""The figures query's per-GPU health stats (→ `Frame.health`)."""

# ---------------------------------------------------------------------- the source


class PrometheusSource:
    """Reads DCGM series from Prometheus. `interval` is the refresh interval (range step);
    the idle window is `idle_samples` intervals."""

    name = "prometheus"

    def __init__(
        self,
        url: str,
        connection: Connection | None = None,
        label_mode: str = "auto",
        interval: float = 5.0,
        idle_samples: int = 12,
        history: int = 60,
        timeout: float = 15.0,
        cache: Any = None,
        namespaces: tuple[str, ...] = (),
        hot_celsius: float = 85.0,
    ) -> None:
        """`cache`: the cluster cache, to tell node names and the exporter pods (and their
        IPs) from the workloads' (None: the host label is trusted as the node);
        `namespaces`: the trusted exporter namespaces (default: the GPU operator's);
        `hot_celsius`: GPUs at or above it report their temperature in `Frame.health`."""
        self.url = url.rstrip("/")
        self.cache = cache if cache is not None and "pods" in cache else None
        self._exporter_pods: Any = None
        self._namespaces = namespaces
        self.where = redact(self.url)
        self.names = label_names(label_mode)
        self.interval = max(1.0, interval)
        self.idle_samples = idle_samples
        self.history = history
        self.hot_celsius = hot_celsius
        session, auth = _session(self.url, connection)
        self._bytes = 0
        session.hooks["response"].append(self._count)
        self.client = PrometheusConnect(
            self.url, session=session, timeout=timeout, retry=Retry(total=0)
        )
        self.client.auth = auth
        self._focused: frozenset[str] = frozenset()
        self.resolver = NodeResolver(self.names)

    def _count(self, response: requests.Response, *_args: Any, **_kw: Any) -> None:
        self._bytes += len(response.content)

    def close(self) -> None:
        if self._exporter_pods is not None:
            self._exporter_pods.close()
        self.client.close()

    def _resolver(self) -> NodeResolver:
        """Node names and exporter pods (with their IPs) as the cache has them now."""
        if self.cache is None:
            return NodeResolver(self.names)
        from console.metrics.dcgm import OPERATOR_NAMESPACES, ExporterPods

        if self._exporter_pods is None:
            self._exporter_pods = ExporterPods(self.cache)
        trusted = self._namespaces or OPERATOR_NAMESPACES
        exporters = [e for e in self._exporter_pods() if e.trusted(trusted)]
        pods = self.cache["pods"]
        by_ip = {}
        for e in exporters:
            record = pods.get((e.namespace, e.pod))
            if record is not None and getattr(record, "pod_ip", ""):
                by_ip[record.pod_ip] = e.node
        nodes = None
        if "nodes" in self.cache:
            names = {n.name for n in self.cache["nodes"].items()}
            nodes = names or None
        return NodeResolver(
            self.names, nodes, {(e.namespace, e.pod): e.node for e in exporters}, by_ip
        )

    def _names_of(self, node: str) -> tuple[list[str], list[str]]:
        """(host-label values, exporter IPs) that mean `node` in a series' labels."""
        values = [node, *(p for p, n in self.resolver.by_pod.items() if n == node)]
        return values, [ip for ip, n in self.resolver.by_ip.items() if n == node]

    # PromQL fragments
    def _by(self, *extra: str) -> str:
        return ", ".join((*self.names.host, *self.names.node, "instance", *extra))

    @staticmethod
    def _metric(field: str, matchers: str = "") -> str:
        """A selector of `field` under every name it has: current, renamed (DCGM 3.3's
        clocks-event reasons) and 1.x-compatible."""
        names = [field, *(n for n, a in ALL_FIELDS.items() if a == FIELDS[field] and n != field)]
        regex = "|".join(names)
        return f'{{__name__=~"{regex}"{", " + matchers if matchers else ""}}}'

    def _util_query(self) -> str:
        pods = (*self.names.pod, *self.names.namespace)
        util = self._metric("DCGM_FI_DEV_GPU_UTIL")
        mig = self._metric("DCGM_FI_PROF_GR_ENGINE_ACTIVE", f'{MIG_ID}!=""')
        return (
            f'label_replace(max by ({self._by("gpu", *pods)}) ({util}), "kmc_m", "util", "", "")'
            f" or label_replace(max by ({self._by('gpu', MIG_ID, MIG_PROFILE, *pods)}) ({mig}),"
            ' "kmc_m", "gr_active", "", "")'
        )

    def _figures_query(self) -> str:
        h, hg, hgi = self._by(), self._by("gpu"), self._by("gpu", MIG_ID)
        window = f"{round(self.idle_samples * self.interval)}s"
        m = self._metric
        gr = m("DCGM_FI_PROF_GR_ENGINE_ACTIVE", f'{MIG_ID}!=""')
        parts = {
            "fb_used": f"sum by ({h}) (max by ({hgi}) ({m('DCGM_FI_DEV_FB_USED')}))",
            "fb_free": f"sum by ({h}) (max by ({hgi}) ({m('DCGM_FI_DEV_FB_FREE')}))",
            "temp": f"max by ({h}) ({m('DCGM_FI_DEV_GPU_TEMP')})",
            "power": f"sum by ({h}) (max by ({hg}) ({m('DCGM_FI_DEV_POWER_USAGE')}))",
            "xid": f"max by ({hg}, err_code, err_msg) ({m('DCGM_FI_DEV_XID_ERRORS')}) != 0",
            "row_remap_failure": f"max by ({hg}) ({m('DCGM_FI_DEV_ROW_REMAP_FAILURE')}) != 0",
            "remapped_rows": f"max by ({hg}) ({m('DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS')}) > 0",
            # bits 0x4…0x80: power cap, slowdowns, thermal, power brake (not idle, app clocks)
            "throttle": f"max by ({hg}) ({m('DCGM_FI_DEV_CLOCK_THROTTLE_REASONS')}) % 256 >= 4",
            "temp_gpu": f"max by ({hg}) ({m('DCGM_FI_DEV_GPU_TEMP')}) >= {self.hot_celsius:g}",
            "idle": f"max by ({hg}) (max_over_time({m('DCGM_FI_DEV_GPU_UTIL')}[{window}]))"
            f" < {IDLE_UTIL:g}",
            "idle_mig": f"max by ({hgi}) (max_over_time({gr}[{window}])) < {IDLE_UTIL / 100:g}",
        }
        return " or ".join(
            f'label_replace({q}, "kmc_stat", "{k}", "", "")' for k, q in parts.items()
        )

    def _selectors(self, names: str, nodes: frozenset[str]) -> list[str]:
        """Selectors of the `names` families on `nodes`: by host label, by the target's
        node label and by the exporter pods' addresses (`instance`)."""
        hosts: list[str] = []
        ips: list[str] = []
        for node in sorted(nodes):
            values, addresses = self._names_of(node)
            hosts.extend(values)
            ips.extend(addresses)
        host_regex = json.dumps("|".join(re.escape(v) for v in hosts))
        node_regex = json.dumps("|".join(re.escape(n) for n in sorted(nodes)))
        out = [f"{{__name__=~{names}, {h}=~{host_regex}}}" for h in self.names.host]
        out += [f"{{__name__=~{names}, {n}=~{node_regex}}}" for n in self.names.node]
        if ips:
            ip_regex = json.dumps("|".join(re.escape(ip) + ":.*" for ip in ips))
            out.append(f"{{__name__=~{names}, instance=~{ip_regex}}}")
        return out

    def _detail_query(self, nodes: frozenset[str]) -> str:
        names = json.dumps("|".join(ALL_FIELDS))
        return " or ".join(self._selectors(names, nodes))

    def _history_query(self, nodes: frozenset[str]) -> str:
        """Utilization and memory % per GPU and per MIG instance (a MIG parent's history
        then fills from live samples)."""
        hg, hgi = self._by("gpu"), self._by("gpu", MIG_ID)

        def pick(field: str, matchers: str = "") -> str:
            names = [field, *(c for c, a in COMPAT_FIELDS.items() if a == FIELDS[field])]
            selectors = self._selectors(json.dumps("|".join(names)), nodes)
            if matchers:
                selectors = [sel[:-1] + ", " + matchers + "}" for sel in selectors]
            return " or ".join(selectors)

        used = f"max by ({hgi}) ({pick('DCGM_FI_DEV_FB_USED')})"
        free = f"max by ({hgi}) ({pick('DCGM_FI_DEV_FB_FREE')})"
        util = f"max by ({hg}) ({pick('DCGM_FI_DEV_GPU_UTIL')})"
        instances = pick("DCGM_FI_PROF_GR_ENGINE_ACTIVE", f'{MIG_ID}!=""')
        mig = f"100 * max by ({hgi}) ({instances})"
        return (
            f'label_replace({util}, "kmc_stat", "util", "", "") or '
            f'label_replace({mig}, "kmc_stat", "util", "", "") or '
            f'label_replace(100 * {used} / ({used} + {free}), "kmc_stat", "mem", "", "")'
        )

    # queries
    def _query(self, promql: str) -> list[dict[str, Any]]:
        try:
            result = self.client.custom_query(promql)
        except (
            requests.RequestException,
            PrometheusApiClientException,
            ValueError,
            KeyError,
        ) as exc:
            raise SourceError(_reason(exc, self.url)) from None
        except ClusterError as exc:  # the cluster's credentials could not be had
            raise SourceError(f"Prometheus at {self.where}: {exc}") from None
        return result if isinstance(result, list) else []

    def refresh(self, focus: frozenset[str] = frozenset()) -> Frame:
        self._bytes = 0
        requests_made = 1
        self.resolver = self._resolver()
        util = Assembler(self.names, resolver=self.resolver)
        for series in self._query(self._util_query()):
            labels, value = series.get("metric") or {}, _value(series)
            util.add(labels, labels.get("kmc_m") or "util", value)
        if not util.gpus:
            raise SourceError(
                f"Prometheus at {self.where} has no DCGM utilization series "
                "(DCGM_FI_DEV_GPU_UTIL, or DCGM_FI_PROF_GR_ENGINE_ACTIVE of MIG instances)"
            )
        frame = Frame(readings={}, full=False, nodes={}, idle=set())
        for reading in util.result():
            frame.readings.setdefault(reading.node, []).append(reading)
        self._figures(frame)
        requests_made += 1
        focus = frozenset(n for n in focus if n in frame.readings)
        if focus:
            detail = Assembler(self.names, resolver=self.resolver)
            for series in self._query(self._detail_query(focus)):
                labels = series.get("metric") or {}
                attr = ALL_FIELDS.get(labels.get("__name__", ""))
                if attr:
                    detail.add(labels, attr, _value(series))
            for reading in detail.result():
                frame.detail.setdefault(reading.node, []).append(reading)
            requests_made += 1
            if focus - self._focused:
                frame.history = self._history(focus - self._focused)
                requests_made += 1
        self._focused = focus
        frame.requests, frame.bytes = requests_made, self._bytes
        return frame

    def _figures(self, frame: Frame) -> None:
        stats: dict[str, dict[str, float]] = {}
        assert frame.nodes is not None and frame.idle is not None
        for series in self._query(self._figures_query()):
            labels = series.get("metric") or {}
            node, stat, value = (
                clean_line(self.resolver.node(labels)),
                labels.get("kmc_stat"),
                _value(series),
            )
            if not node or not stat:
                continue
            gpu = labels.get("gpu", "")
            if stat in HEALTH and gpu_index(gpu) is not None:
                self._health(frame, (node, int(gpu)), stat, value, labels)
                if stat == "xid":
                    key = (node, int(gpu))
                    frame.xid[key] = max(frame.xid.get(key, 0), whole(value))
            elif stat == "idle" and gpu_index(gpu) is not None:
                frame.idle.add((node, int(gpu)))
            elif stat == "idle_mig" and gpu_index(gpu) is not None:
                instance = gpu_index(labels.get(MIG_ID, ""))
                if instance is not None:
                    frame.idle.add((node, int(gpu), instance))
            else:
                stats.setdefault(node, {})[stat] = value
        for node, s in stats.items():
            used, free = s.get("fb_used"), s.get("fb_free")
            total = (used or 0.0) + (free or 0.0)
            frame.nodes[node] = NodeTelemetry(
                node=node,
                gpus=0,
                mean_util=None,
                max_util=None,
                mem_pct=100.0 * used / total if used is not None and total > 0 else None,
                hottest=s.get("temp"),
                power=s.get("power"),
            )

    @staticmethod
    def _health(frame: Frame, key: GpuKey, stat: str, value: float, labels: dict[str, Any]) -> None:
        """One sparse health figure into `frame.health` (the largest XID of a GPU wins, with
        its `err_code`/`err_msg`)."""
        if not math.isfinite(value):
            return
        reading = frame.health.get(key)
        if reading is None:
            reading = frame.health[key] = GpuReading(*key)
        attr = "temp" if stat == "temp_gpu" else stat
        old = getattr(reading, attr)
        if old is not None and old >= value:
            return
        setattr(reading, attr, value)
        if stat == "xid":
            xid_labels(reading, labels)

    def _history(
        self, nodes: frozenset[str]
    ) -> dict[SlotKey, tuple[list[float | None], list[float | None]]]:
        step = self.interval
        end = time.time()
        start = end - step * (self.history - 1)
        try:
            result = self.client.custom_query_range(
                self._history_query(nodes),
                datetime.fromtimestamp(start, UTC),
                datetime.fromtimestamp(end, UTC),
                f"{step:g}s",
            )
        except (requests.RequestException, PrometheusApiClientException, ValueError, KeyError):
            return {}  # sparklines then fill from live samples
        start = round(start)  # the client rounds start/end to whole seconds
        out: dict[SlotKey, tuple[list[float | None], list[float | None]]] = {}
        for series in result or []:
            labels = series.get("metric") or {}
            node, gpu = clean_line(self.resolver.node(labels)), labels.get("gpu", "")
            index = gpu_index(gpu)
            if not node or index is None:
                continue
            instance = gpu_index(labels.get(MIG_ID, ""))
            key: SlotKey = (node, index) if instance is None else (node, index, instance)
            utils, mems = out.setdefault(key, ([None] * self.history, [None] * self.history))
            column = utils if labels.get("kmc_stat") == "util" else mems
            for ts, text in series.get("values") or []:
                i = round((float(ts) - start) / step)
                if 0 <= i < self.history:
                    column[i] = _number(text)
        return out


def _number(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return None if value != value else value


def _value(series: dict[str, Any]) -> float:
    pair = series.get("value") or (0, "NaN")
    number = _number(pair[1])
    return float("nan") if number is None else number
