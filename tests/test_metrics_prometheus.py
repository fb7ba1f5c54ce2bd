"""The Prometheus source against a real Prometheus server scraping the simulated cluster.

Sim time is frozen, so Prometheus's last scrape and a direct scrape see the same numbers:
the console's PromQL must give exactly the figures the direct scrape gives. Also: a
constant number of queries per refresh, label variants, Prometheus stopped mid-session
(degraded with a reason) and restarted (recovers by itself), and discovery of a Prometheus
Service reached through the API server's service proxy.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import pytest

from console.cluster.cache import ClusterCache
from console.cluster.connection import ClusterError, Connection, connect
from console.config import Settings
from console.metrics import TelemetryPoller, workload_telemetry
from console.metrics.model import LIVE, UNAVAILABLE
from console.metrics.prometheus import PrometheusSource, discover
from console.sim.cluster import SimCluster
from tests.conftest import require_binary
from tests.kube import IDLE_JOB
from tests.prometheus import PrometheusServer


@pytest.fixture(scope="module")
def sim() -> Iterator[SimCluster]:
    sim = SimCluster(preset="tiny", seed=5).start()
    admin = connect(str(sim.kubeconfig_path), "kmc-sim")
    admin.request("POST", "/apis/batch/v1/namespaces/ml/jobs", body=IDLE_JOB)
    sim.advance(20)
    sim.clock.set_speed(0)  # frozen: every scrape of a GPU returns the same numbers
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def admin(sim) -> Connection:
    return connect(str(sim.kubeconfig_path), "kmc-sim")


@pytest.fixture(scope="module")
def cache(admin) -> Iterator[ClusterCache]:
    cache = ClusterCache(admin, kinds=("nodes", "pods", "pytorchjobs", "jobs", "deployments"))
    cache.start()
    assert cache.wait_synced(30)
    yield cache
    cache.stop()


@pytest.fixture(scope="module")
def prometheus(sim, tmp_path_factory) -> Iterator[PrometheusServer]:
    binary = require_binary("prometheus")
    server = PrometheusServer(sim.metrics_url, tmp_path_factory.mktemp("prom"), binary).start()
    server.wait_for_targets(expected=2)
    yield server
    server.stop()


def _pollers(prometheus, admin, cache, idle_samples: int = 2):
    via_prom = TelemetryPoller(
        Settings(telemetry_source="prometheus", prometheus_url=prometheus.url),
        admin,
        cache,
        interval=1,
        idle_samples=idle_samples,
    )
    direct = TelemetryPoller(
        Settings(telemetry_source="dcgm"), admin, cache, interval=1, idle_samples=idle_samples
    )
    return via_prom, direct


def test_promql_figures_equal_the_direct_scrape(prometheus, admin, cache) -> None:
    via_prom, direct = _pollers(prometheus, admin, cache)
    for _ in range(2):  # a few seconds of stored samples for the history query
        prometheus.wait_for_targets(expected=2)
    for _ in range(2):  # two direct samples complete the idle window
        direct.refresh_once()
    node = next(iter(direct.store.nodes()))
    via_prom.focus([node])
    status = via_prom.refresh_once()
    assert (status.source, status.state, status.where) == ("prometheus", LIVE, prometheus.url)
    assert status.queries == 4  # util, node figures, focused detail, focused history
    ours, theirs = via_prom.store, direct.store
    assert ours.nodes().keys() == theirs.nodes().keys()
    for name, want in theirs.nodes().items():
        got = ours.node(name)
        assert got is not None
        assert (got.gpus, got.mean_util, got.max_util, got.hottest) == (
            want.gpus,
            want.mean_util,
            want.max_util,
            want.hottest,
        )
        assert got.mem_pct == pytest.approx(want.mem_pct)
        assert got.power == pytest.approx(want.power)
        assert (got.xid_gpus, got.last_xid, got.idle_gpus) == (
            want.xid_gpus,
            want.last_xid,
            want.idle_gpus,
        )
    assert ours.header() == theirs.header() and ours.header().allocated_idle >= 1
    assert workload_telemetry(ours, cache) == workload_telemetry(theirs, cache)
    assert workload_telemetry(ours, cache)[("Job", "ml", "idle-notebook")].idle_gpus == 1
    assert ours.map_values() == theirs.map_values()
    for got, want in zip(ours.gpu_rows(node), theirs.gpu_rows(node), strict=True):
        assert (got.index, got.uuid, got.model, got.util, got.temp, got.sm_clock, got.pods) == (
            want.index,
            want.uuid,
            want.model,
            want.util,
            want.temp,
            want.sm_clock,
            want.pods,
        )
        assert got.mem_pct == pytest.approx(want.mem_pct) and got.power == pytest.approx(want.power)
        assert got.tensor_active == pytest.approx(want.tensor_active)
        # history seeded from a range query: earlier samples exist before the first refresh
        assert sum(v is not None for v in got.util_history) >= 2
        assert got.util_history[-1] == got.util
    # the number of queries does not depend on what is on screen, only on whether it is
    assert via_prom.refresh_once().queries == 3  # no new node focused: no history query
    via_prom.focus([])
    assert via_prom.refresh_once().queries == 2


def test_label_variant_through_prometheus(sim, prometheus, admin, cache) -> None:
    via_prom, _ = _pollers(prometheus, admin, cache)
    via_prom.refresh_once()
    before = via_prom.store.nodes()
    sim.telemetry.hostname_label = "hostname"
    try:
        prometheus.wait_for_targets(expected=2)
        # the old `Hostname` series are marked stale at the next scrape, the new ones take over
        lowercase = TelemetryPoller(
            Settings(prometheus_url=prometheus.url, dcgm_label_mode="lowercase"),
            admin,
            cache,
            interval=1,
        )
        for poller in (via_prom, lowercase):
            assert poller.refresh_once().state == LIVE
            assert poller.store.nodes() == before
    finally:
        sim.telemetry.hostname_label = "Hostname"
        prometheus.wait_for_targets(expected=2)


def test_prometheus_stopped_then_restarted(sim, admin, cache, tmp_path) -> None:
    binary = require_binary("prometheus")
    server = PrometheusServer(sim.metrics_url, tmp_path, binary).start()
    try:
        server.wait_for_targets(expected=2)
        poller = TelemetryPoller(Settings(prometheus_url=server.url), admin, cache, interval=1)
        states: list = []
        live = threading.Event()
        poller.subscribe(lambda s: (states.append(s), live.set() if s.state == LIVE else None))
        poller.start()
        assert live.wait(10)
        server.stop()
        deadline = time.monotonic() + 10
        while states[-1].state != UNAVAILABLE and time.monotonic() < deadline:
            time.sleep(0.1)
        status = poller.status()
        assert status.state == UNAVAILABLE and "Connection refused" in status.error
        assert status.label().startswith(
            f"telemetry unavailable: cannot reach Prometheus at {server.url}"
        )
        assert poller.store.nodes() == {} and status.last_sample > 0  # the age keeps growing
        live.clear()
        server.start()
        assert live.wait(30), poller.status()  # no call from us: the poller recovers by itself
        assert poller.store.nodes() and poller.status().source == "prometheus"
        poller.stop()
    finally:
        server.stop()


def test_discovers_a_prometheus_service_through_the_api_proxy(admin, cache) -> None:
    with contextlib.suppress(ClusterError):  # the presets may have it already
        admin.request("POST", "/api/v1/namespaces", body={"metadata": {"name": "monitoring"}})
    for name, port in (
        ("kps-grafana", 80),
        ("prometheus-operated", 9090),
        ("kps-alertmanager", 9093),
    ):
        service = {
            "metadata": {"name": name, "namespace": "monitoring"},
            "spec": {"selector": {"app": name}, "ports": [{"name": "web", "port": port}]},
        }
        admin.request("POST", "/api/v1/namespaces/monitoring/services", body=service)
    url = discover(admin)
    assert (
        url == f"{admin.server}/api/v1/namespaces/monitoring/services/prometheus-operated:web/proxy"
    )
    # the simulator's proxy reaches only exporters: the source says why, with the cluster's
    # credentials accepted (a 503 from the proxy, not a 401 or a TLS failure)
    source = PrometheusSource(url, admin)
    poller = TelemetryPoller(Settings(telemetry_source="prometheus"), admin, cache, source=source)
    status = poller.refresh_once()
    assert status.state == UNAVAILABLE and "503" in status.error, status.error
    # auto mode: Prometheus found but not answering → the exporters
    auto = TelemetryPoller(Settings(), admin, cache, interval=1)
    assert (auto.refresh_once().source, auto.status().state) == ("dcgm", LIVE)
