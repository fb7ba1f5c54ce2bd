"""Telemetry from Prometheus (`prometheus-api-client`), with a constant number of queries.

Per refresh, whatever the cluster size:
1. utilization of every GPU with its pod labels (`max by (host, gpu, pod labels)`);
2. node figures and sparse per-GPU flags in one `or`-union of `label_replace`d
   aggregations: memory used/free, hottest temperature, power (each GPU counted once
   even when time-shared), GPUs with a non-zero last XID, allocated GPUs idle over the
   idle window (`max_over_time(...) < 5`: only idle GPUs come back);
3. only when nodes are on screen: every metric of their GPUs;
4. only when the on-screen nodes change: one range query seeding their sparklines.

Queries group by every label-name variant at once (`Hostname` and `hostname`, `pod` and
`pod_name`, ...): a `by` label a series lacks is simply absent, so one query serves
every exporter version. The URL is given (`--prometheus-url`, `PROMETHEUS_URL`,
settings) or discovered: a Prometheus Service in the usual namespaces, reached through
the API server's service proxy with the kubeconfig's credentials and CA. The cluster's
credentials go only to a URL with the API server's scheme, host and port; the URL is
shown and reported redacted (`console.redact`).
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from console.cluster.connection import ClusterError, Connection
from console.metrics.model import (
    IDLE_UTIL,
    Frame,
    GpuKey,
    NodeTelemetry,
    label_names,
    pick,
)
from console.metrics.parse import FIELDS, Assembler, gpu_index, whole
from console.metrics.source import SourceError
from console.redact import redact
from console.text import clean_line

NAMESPACES = ("monitoring", "prometheus", "kube-prometheus-stack", "observability", "default")
_SKIP = (
    "alertmanager",
    "operator",
    "node-exporter",
    "pushgateway",
    "adapter",
    "kube-state",
    "grafana",
)


# ---------------------------------------------------------------------- connecting


class _KubeAuth(requests.auth.AuthBase):
    """The kubeconfig's credentials on every request (tokens refresh through the connection:
    an exec plugin runs single-flight, never on the TUI's terminal)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if not self.connection.same_origin(request.url or ""):
            return request  # a redirect elsewhere: the cluster's credentials stay home
        try:
            request.headers.update(self.connection.auth_headers())
        except ClusterError as exc:
            raise requests.RequestException(str(exc)) from None
        return request


def _session(url: str, connection: Connection | None) -> tuple[requests.Session, Any]:
    """A session for `url`; with the cluster's CA, client certificate and credentials only
    when `url` has the API server's scheme, host and port (its service proxy): a string
    prefix would also match `https://api.example.com.attacker.net`. Returns (session, auth)."""
    session = requests.Session()
    if connection is None or not connection.same_origin(url):
        return session, None
    conf = connection.configuration
    session.verify = (conf.ssl_ca_cert or True) if conf.verify_ssl else False
    if conf.cert_file:
        session.cert = (conf.cert_file, conf.key_file) if conf.key_file else conf.cert_file
    return session, _KubeAuth(connection)


def discover(connection: Connection, namespaces: tuple[str, ...] = NAMESPACES) -> str | None:
    """The service-proxy URL of a Prometheus Service in the usual places, or None."""
    best: tuple[int, str] | None = None
    for ns in namespaces:
        try:
            body = connection.get(f"/api/v1/namespaces/{ns}/services", timeout=10.0)
            services = json.loads(body).get("items", [])
        except (ClusterError, ValueError):
            continue
        for svc in services:
            name = (svc.get("metadata") or {}).get("name", "")
            rank = _rank(name)
            ports = (svc.get("spec") or {}).get("ports") or []
            if rank is None or not ports:
                continue
            port = next(
                (p for p in ports if p.get("name") in ("web", "http-web", "http")),
                next((p for p in ports if p.get("port") == 9090), ports[0]),
            )
            port_ref = port.get("name") or str(port.get("port", ""))
            url = f"{connection.server}/api/v1/namespaces/{ns}/services/{name}:{port_ref}/proxy"
            if best is None or rank < best[0]:
                best = (rank, url)
    return best[1] if best else None


def _rank(name: str) -> int | None:
    if any(s in name for s in _SKIP):
        return None
    if name == "prometheus-operated":
        return 0
    if name.endswith(
        "-prometheus"
    ):  # kube-prometheus-stack: <release>-kube-prom(etheus)-prometheus
        return 1
    if name in ("prometheus-server", "prometheus", "prometheus-k8s"):
        return 2
    return None


def _reason(exc: BaseException, url: str) -> str:
    return redact(_unredacted_reason(exc, redact(url)))


def _unredacted_reason(exc: BaseException, url: str) -> str:
    text = clean_line(exc)
    if isinstance(exc, requests.ConnectionError):
        match = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
        return (
            f"cannot reach Prometheus at {url}: {match.group(1) if match else 'connection failed'}"
        )
    if isinstance(exc, requests.Timeout):
        return f"Prometheus at {url} timed out"
    if isinstance(exc, PrometheusApiClientException):
        return f"Prometheus at {url}: {text[:160]}"
    return f"Prometheus at {url}: {type(exc).__name__}: {text[:160]}"


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
    ) -> None:
        self.url = url.rstrip("/")
        self.where = redact(self.url)
        self.names = label_names(label_mode)
        self.interval = max(1.0, interval)
        self.idle_samples = idle_samples
        self.history = history
        session, auth = _session(self.url, connection)
        self._bytes = 0
        session.hooks["response"].append(self._count)
        self.client = PrometheusConnect(
            self.url, session=session, timeout=timeout, retry=Retry(total=0)
        )
        self.client.auth = auth
        self._focused: frozenset[str] = frozenset()
        self._host_labels: tuple[str, ...] = ()

    def _count(self, response: requests.Response, *_args: Any, **_kw: Any) -> None:
        self._bytes += len(response.content)

    def close(self) -> None:
        self.client.close()

    # PromQL fragments
    def _by(self, *extra: str) -> str:
        return ", ".join((*self.names.host, *extra))

    def _util_query(self) -> str:
        pods = (*self.names.pod, *self.names.namespace)
        return f"max by ({self._by('gpu', *pods)}) (DCGM_FI_DEV_GPU_UTIL)"

    def _figures_query(self) -> str:
        h, hg = self._by(), self._by("gpu")
        window = f"{round(self.idle_samples * self.interval)}s"
        parts = {
            "fb_used": f"sum by ({h}) (max by ({hg}) (DCGM_FI_DEV_FB_USED))",
            "fb_free": f"sum by ({h}) (max by ({hg}) (DCGM_FI_DEV_FB_FREE))",
            "temp": f"max by ({h}) (DCGM_FI_DEV_GPU_TEMP)",
            "power": f"sum by ({h}) (max by ({hg}) (DCGM_FI_DEV_POWER_USAGE))",
            "xid": f"max by ({hg}) (DCGM_FI_DEV_XID_ERRORS) != 0",
            "idle": f"max by ({hg}) (max_over_time(DCGM_FI_DEV_GPU_UTIL[{window}])) < {IDLE_UTIL:g}",
        }
        return " or ".join(
            f'label_replace({q}, "kmc_stat", "{k}", "", "")' for k, q in parts.items()
        )

    def _node_match(self, label: str, nodes: frozenset[str]) -> str:
        regex = "|".join(re.escape(n) for n in sorted(nodes))
        return f"{label}=~{json.dumps(regex)}"

    def _detail_query(self, nodes: frozenset[str]) -> str:
        names = "|".join(FIELDS)
        return " or ".join(
            f'{{__name__=~"{names}", {self._node_match(h, nodes)}}}' for h in self._host_labels
        )

    def _history_query(self, nodes: frozenset[str]) -> str:
        h = self._host_labels[0]
        sel = "{" + self._node_match(h, nodes) + "}"
        hg = self._by("gpu")
        used, free = (
            f"max by ({hg}) (DCGM_FI_DEV_FB_USED{sel})",
            f"max by ({hg}) (DCGM_FI_DEV_FB_FREE{sel})",
        )
        util = f"max by ({hg}) (DCGM_FI_DEV_GPU_UTIL{sel})"
        return (
            f'label_replace({util}, "kmc_stat", "util", "", "") or '
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
        util = Assembler(self.names)
        for series in self._query(self._util_query()):
            labels, value = series.get("metric") or {}, _value(series)
            util.add(labels, "util", value)
            for name in self.names.host:
                if name in labels and name not in self._host_labels:
                    self._host_labels = (*self._host_labels, name)
        if not util.gpus:
            raise SourceError(f"Prometheus at {self.where} has no DCGM_FI_DEV_GPU_UTIL series")
        frame = Frame(readings={}, full=False, nodes={}, idle=set())
        for reading in util.result():
            frame.readings.setdefault(reading.node, []).append(reading)
        self._figures(frame)
        requests_made += 1
        focus = frozenset(n for n in focus if n in frame.readings)
        if focus and self._host_labels:
            detail = Assembler(self.names)
            for series in self._query(self._detail_query(focus)):
                labels = series.get("metric") or {}
                attr = FIELDS.get(labels.get("__name__", ""))
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
                clean_line(pick(labels, self.names.host)),
                labels.get("kmc_stat"),
                _value(series),
            )
            if not node or not stat:
                continue
            gpu = labels.get("gpu", "")
            if stat == "xid" and gpu_index(gpu) is not None:
                frame.xid[(node, int(gpu))] = whole(value)
            elif stat == "idle" and gpu_index(gpu) is not None:
                frame.idle.add((node, int(gpu)))
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

    def _history(
        self, nodes: frozenset[str]
    ) -> dict[GpuKey, tuple[list[float | None], list[float | None]]]:
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
        out: dict[GpuKey, tuple[list[float | None], list[float | None]]] = {}
        for series in result or []:
            labels = series.get("metric") or {}
            node, gpu = clean_line(pick(labels, self.names.host)), labels.get("gpu", "")
            if not node or gpu_index(gpu) is None:
                continue
            utils, mems = out.setdefault(
                (node, int(gpu)), ([None] * self.history, [None] * self.history)
            )
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
