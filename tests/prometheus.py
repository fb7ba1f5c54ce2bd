"""A real Prometheus server (the `prometheus` binary) scraping the simulated cluster's exporters.

    server = PrometheusServer(sim.metrics_url, tmp_path).start()
    server.wait_for_targets(expected=2)     # every target up and DCGM series queryable
    server.url                              # http://127.0.0.1:<port>
    server.stop(); server.start()           # same port and TSDB: a restart
    server.stop()

Targets come from the simulator's http_sd endpoint (`<metrics_url>/targets`: one group
per GPU node with its `__metrics_path__`); `honor_labels` keeps the exporter's own
labels as a ServiceMonitor for dcgm-exporter does.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from console.sim.cluster import free_port

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
    ) -> None:
        """`keep`: a regex of metric names to store (the rest dropped at scrape time)."""
        self.binary = binary
        self.port = free_port()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = self.workdir / "prometheus.yml"
        config = CONFIG.format(
            interval=scrape_interval, timeout=scrape_timeout, metrics_url=metrics_url
        )
        self.config.write_text(config + (KEEP.format(keep=keep) if keep else ""))
        self.log = self.workdir / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None

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
