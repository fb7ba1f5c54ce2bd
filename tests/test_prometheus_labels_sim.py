"""Acceptance: telemetry through a real Prometheus configured as kube-prometheus-stack does
by default (a ServiceMonitor with `honor_labels: false`: the workload's labels become
`exported_*`, `pod`/`namespace`/`instance` name the exporter), with and without a `node`
target label, and with `honor_labels: true`, equals the direct scrape — including the MIG
instances of a mixed-strategy node whose old exporter labels `Hostname` with its own pod's
name. Sim time is frozen, so every scrape sees the same numbers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from console.cluster.cache import ClusterCache
from console.cluster.connection import Connection, connect
from console.config import Settings
from console.metrics import TelemetryPoller, workload_telemetry
from console.metrics.model import GR_METRIC, LIVE
from console.sim.cluster import SimCluster
from console.sim.nodes import apply_mig, make_node
from console.sim.presets.gpu_shapes import slice_deployment
from console.sim.telemetry import EXPORTER_HOSTNAME
from tests.conftest import require_binary, wait_for
from tests.kube import IDLE_JOB
from tests.prometheus import PrometheusServer

MIG_NODE = "gpu-a100-mig-0"


def _running(admin: Connection, selector: str) -> list[dict]:
    body = json.loads(admin.get("/api/v1/pods", {"labelSelector": selector}))
    return [p for p in body["items"] if (p.get("status") or {}).get("phase") == "Running"]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimCluster]:
    sim = SimCluster(preset="tiny", seed=5).start()
    admin = connect(str(sim.kubeconfig_path), "kmc-sim")
    node = make_node(MIG_NODE, "a100-mig", "A100-SXM4-80GB", 2, 96, 1360, index=40, gpu_taint=True)
    apply_mig(node, "all-balanced")
    node["metadata"]["annotations"][EXPORTER_HOSTNAME] = "pod"  # an exporter before 3.1.6
    admin.request("POST", "/api/v1/nodes", body=node)
    admin.request("POST", "/apis/batch/v1/namespaces/ml/jobs", body=IDLE_JOB)
    on_mig = {"nvidia.com/mig.config": "all-balanced"}
    for obj in (
        slice_deployment("lora", "ml", 2, "nvidia.com/mig-3g.40gb", on_mig, "training"),
        slice_deployment("bert", "ml", 1, "nvidia.com/mig-2g.20gb", on_mig, "serving"),
        slice_deployment("nb", "ml", 1, "nvidia.com/mig-1g.10gb", on_mig, "idle"),
    ):
        admin.request("POST", "/apis/apps/v1/namespaces/ml/deployments", body=obj)
    sim.advance(20)
    wait_for(lambda: len(_running(admin, "app in (lora,bert,nb)")) == 4, what="MIG pods")
    wait_for(lambda: len(_running(admin, "app=nvidia-dcgm-exporter")) == 3, what="exporters")
    sim.clock.set_speed(0)
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def admin(sim) -> Connection:
    return connect(str(sim.kubeconfig_path), "kmc-sim")


@pytest.fixture(scope="module")
def cache(admin) -> Iterator[ClusterCache]:
    cache = ClusterCache(admin, kinds=("nodes", "pods", "jobs", "deployments"))
    cache.start()
    assert cache.wait_synced(30)
    yield cache
    cache.stop()


@pytest.fixture(
    scope="module",
    params=["honor_labels=false", "honor_labels=false,no node label", "honor_labels=true"],
)
def prometheus(request, sim, admin, tmp_path_factory) -> Iterator[PrometheusServer]:
    binary = require_binary("prometheus")
    honor = request.param == "honor_labels=true"
    server = PrometheusServer(
        sim.metrics_url,
        tmp_path_factory.mktemp("prom"),
        binary,
        honor_labels=honor,
        node_label="no node" not in request.param,
    )
    if not honor:
        server.write_targets(
            [
                (
                    p["metadata"]["namespace"],
                    p["metadata"]["name"],
                    p["spec"]["nodeName"],
                    p["status"]["podIP"],
                )
                for p in _running(admin, "app=nvidia-dcgm-exporter")
            ]
        )
    server.start().wait_for_targets(expected=3)
    yield server
    server.stop()


def _fewest_instance_samples(prometheus: PrometheusServer) -> float:
    result = prometheus.query(
        'min(count_over_time(DCGM_FI_PROF_GR_ENGINE_ACTIVE{GPU_I_ID!=""}[10m]))'
    )
    return float(result[0]["value"][1]) if result else 0.0


def test_prometheus_figures_equal_the_direct_scrape_with_mig(prometheus, admin, cache) -> None:
    if "honor_labels: false" in prometheus.config.read_text():
        labels = prometheus.query('DCGM_FI_DEV_GPU_UTIL{exported_pod!=""}')[0]["metric"]
        assert labels["pod"].startswith("nvidia-dcgm-exporter-")  # the exporter, as in production
    settings = Settings(telemetry_source="prometheus", prometheus_url=prometheus.url)
    via_prom = TelemetryPoller(settings, admin, cache, interval=1, idle_samples=2)
    direct = TelemetryPoller(Settings(telemetry_source="dcgm"), admin, cache, interval=1, idle_samples=2)  # fmt: skip
    for _ in range(2):
        prometheus.wait_for_targets(expected=3)
        direct.refresh_once()
    # The instances' sparklines are seeded from a range query: wait until Prometheus holds
    # two scrapes of every instance series (on a loaded machine the first may be brand new).
    wait_for(
        lambda: _fewest_instance_samples(prometheus) >= 2,
        60,
        "two scrapes of every MIG instance series",
    )
    via_prom.focus([MIG_NODE])
    status = via_prom.refresh_once()
    assert (status.state, status.error) == (LIVE, "")
    ours, theirs = via_prom.store, direct.store
    assert ours.nodes().keys() == theirs.nodes().keys() and MIG_NODE in ours.nodes()
    for name, want in theirs.nodes().items():
        got = ours.node(name)
        assert got is not None
        assert (got.gpus, got.idle_gpus, got.xid_gpus, got.hottest) == (
            want.gpus,
            want.idle_gpus,
            want.xid_gpus,
            want.hottest,
        )
        assert got.mean_util == pytest.approx(want.mean_util)
        assert got.mem_pct == pytest.approx(want.mem_pct) and got.power == pytest.approx(want.power)
    got_h, want_h = ours.header(), theirs.header()
    assert (got_h.gpus, got_h.busy, got_h.allocated_idle) == (want_h.gpus, want_h.busy, want_h.allocated_idle)  # fmt: skip
    assert got_h.mean_util == pytest.approx(want_h.mean_util) and want_h.allocated_idle >= 2
    assert ours.map_values() == pytest.approx(theirs.map_values())
    # no GPU is held by the exporter pod; every workload's figures agree
    assert not any(pod.startswith("nvidia-dcgm-exporter") for _ns, pod in ours.pods())
    assert workload_telemetry(ours, cache).keys() == workload_telemetry(theirs, cache).keys()
    # the MIG node: every instance, with its profile, pod and utilization
    got_rows, want_rows = ours.gpu_rows(MIG_NODE), theirs.gpu_rows(MIG_NODE)
    assert [r.key for r in got_rows] == [r.key for r in want_rows]
    assert [r.key for r in want_rows] == ["0", "0/2", "0/3", "0/9", "0/10", "1", "1/2", "1/3", "1/9", "1/10"]  # fmt: skip
    for got, want in zip(got_rows, want_rows, strict=True):
        assert (got.profile, got.pods, got.util_metric) == (
            want.profile,
            want.pods,
            want.util_metric,
        )
        assert got.util == pytest.approx(want.util) and got.util_metric == GR_METRIC
        assert got.mem_used_mib == pytest.approx(want.mem_used_mib)
        if got.mig_id is not None:  # an instance's sparkline is seeded from a range query
            assert sum(v is not None for v in got.util_history) >= 2
    held = [r for r in want_rows if r.mig_id is not None and r.pods]
    assert len(held) == 4 and any(r.util and r.util > 5 for r in held)
