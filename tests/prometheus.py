"""A real Prometheus server (the `prometheus` binary) scraping the simulated cluster's exporters.

    server = PrometheusServer(sim.metrics_url, tmp_path).start()
    server.wait_for_targets(expected=2)     # every target up and DCGM series queryable
    server.url                              # http://127.0.0.1:<port>
    server.stop(); server.start()           # same port and TSDB: a restart
    server.stop()

Targets come from the simulator's http_sd endpoint (`<metrics_url>/targets`: one group
per GPU node with its `__metrics_path__`) with `honor_labels: true`, or — as
kube-prometheus-stack configures a ServiceMonitor by default — with `honor_labels: false`
from a file of exporter pods (`write_targets`) relabelled the way prometheus-operator's
generated config does: the exporter's `namespace`, `pod`, `container`, `service`, `job`,
`endpoint`, `instance` = the pod's `IP:9400` (and, with `node_label`, `node`). The
workload's `pod`/`namespace`/`container` then arrive as `exported_*`.

    server = PrometheusServer(sim.metrics_url, tmp, honor_labels=False).start()
    server.write_targets(exporters)         # [(namespace, pod, node, ip)]
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from console.sim.cluster import free_port

SERVICE_MONITOR = """\
global:
  scrape_interval: {interval}
  scrape_timeout: {timeout}
  evaluation_interval: {interval}
scrape_configs:
  - job_name: serviceMonitor/gpu-operator/nvidia-dcgm-exporter/0
    honor_labels: false
    file_sd_configs:
      - files: [{targets}]
        refresh_interval: 1s
    relabel_configs:
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_service_name]
        target_label: service
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
      - source_labels: [__meta_kubernetes_pod_container_name]
        target_label: container
      - source_labels: [__meta_kubernetes_service_name]
        target_label: job
      - source_labels: [__meta_kubernetes_endpoint_port_name]
        target_label: endpoint
      - source_labels: [__meta_kubernetes_pod_ip]
        regex: (.+)
        replacement: $1:9400
        target_label: instance
"""
NODE_RELABEL = """\
      - source_labels: [__meta_kubernetes_pod_node_name]
        target_label: node
"""
CONFIG = """\
global:
  scrape_interval: {interval}
  scrape_timeout: {timeout}
  evaluation_interval: {interval}
scrape_configs:
  - job_name: dcgm-exporter
    honor_labels: true
    http_sd_configs:
      - url: {metrics_url}/targets
        refresh_interval: 5s
"""
KEEP = """\
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: {keep}
        action: keep
"""


class PrometheusServer:
    """One Prometheus process; `start` again after `stop` reuses its port and data."""

    def __init__(
        self,
        metrics_url: str,
        workdir: Path,
        binary: str = "prometheus",
        scrape_interval: str = "1s",
        scrape_timeout: str = "1s",
        keep: str | None = None,
        honor_labels: bool = True,
        node_label: bool = True,
    ) -> None:
        """`keep`: a regex of metric names to store (the rest dropped at scrape time);
        `honor_labels=False`: a ServiceMonitor's scrape (targets from `write_targets`), with
        a `node` target label when `node_label`."""
        self.binary = binary
        self.port = free_port()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = self.workdir / "prometheus.yml"
        self.metrics_url = metrics_url
        self.targets_file = self.workdir / "targets.json"
        if honor_labels:
            config = CONFIG.format(
                interval=scrape_interval, timeout=scrape_timeout, metrics_url=metrics_url
            )
        else:
            self.targets_file.write_text("[]")
            config = SERVICE_MONITOR.format(
                interval=scrape_interval, timeout=scrape_timeout, targets=self.targets_file
            ) + (NODE_RELABEL if node_label else "")
        self.config.write_text(config + (KEEP.format(keep=keep) if keep else ""))
        self.log = self.workdir / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None

    def write_targets(self, exporters: list[tuple[str, str, str, str]]) -> None:
        """The exporter pods (namespace, pod, node, pod IP) as Kubernetes endpoints discovery
        would give them; each is scraped at the simulator's endpoint for its node."""
        address = self.metrics_url.split("://", 1)[1].rstrip("/")
        groups = [
            {
                "targets": [address],
                "labels": {
                    "__metrics_path__": f"/nodes/{node}/metrics",
                    "__meta_kubernetes_namespace": namespace,
                    "__meta_kubernetes_pod_name": pod,
                    "__meta_kubernetes_pod_container_name": "nvidia-dcgm-exporter",
                    "__meta_kubernetes_pod_node_name": node,
                    "__meta_kubernetes_pod_ip": ip,
                    "__meta_kubernetes_service_name": "nvidia-dcgm-exporter",
                    "__meta_kubernetes_endpoint_port_name": "gpu-metrics",
                },
            }
            for namespace, pod, node, ip in exporters
        ]
        tmp = self.targets_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(groups))
        tmp.replace(self.targets_file)  # Prometheus must never read half a file

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> PrometheusServer:
        cmd = [
            self.binary,
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log.read_text()[-2000:]}")
            try:
                if self._get("/-/ready", raw=True):
                    return self
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        raise TimeoutError("prometheus did not become ready")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def _get(self, path: str, raw: bool = False) -> object:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            body = response.read()
        return body if raw else json.loads(body)

    def query(self, promql: str) -> list[dict]:
        from urllib.parse import quote

        return self._get("/api/v1/query?query=" + quote(promql))["data"]["result"]  # type: ignore[index]

    def targets(self) -> list[dict]:
        return self._get("/api/v1/targets?state=active")["data"]["activeTargets"]  # type: ignore[index]

    def wait_for_targets(
        self, expected: int, timeout: float = 60.0, after: float | None = None
    ) -> None:
        """Until `expected` targets are up and every GPU series has a sample newer than
        `after` (default: now, so a full scrape round happened)."""
        since = time.time() if after is None else after
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                up = [t for t in self.targets() if t.get("health") == "up"]
                oldest = self.query("min(timestamp(DCGM_FI_DEV_GPU_UTIL))")
            except (OSError, ValueError, urllib.error.URLError):
                up, oldest = [], []
            if len(up) >= expected and oldest and float(oldest[0]["value"][1]) > since:
                return
            time.sleep(0.3)
        raise TimeoutError(f"prometheus targets not up: {self.targets() if self.process else []}")
