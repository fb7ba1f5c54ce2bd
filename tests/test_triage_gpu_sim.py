"""Triage's GPU rules end to end on the simulated cluster: the demo preset's XID GPU, a real
Prometheus's sparse health series against the direct scrape, and the scenarios (xid, hot-gpu)
through a real session, as `kmc triage` evaluates them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from console.cluster.connection import connect
from console.cluster.session import ClusterSession
from console.config import Settings
from console.metrics import TelemetryPoller
from console.metrics.model import LIVE
from console.triage import rules_gpu
from console.triage.engine import Triage
from console.triage.model import CRITICAL, WARNING
from tests.conftest import require_binary, wait_for
from tests.prometheus import PrometheusServer

# ---------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def demo() -> Iterator[Any]:
    from console.sim.cluster import SimCluster

    sim = SimCluster(preset="demo", seed=1).start()
    yield sim
    sim.stop()


def _session_and_poller(sim: Any, settings: Settings) -> tuple[ClusterSession, TelemetryPoller]:
    session_ = ClusterSession(connect(str(sim.kubeconfig_path), "kmc-sim")).start()
    assert session_.cache.wait_synced(60)
    poller = TelemetryPoller(settings, session_.connection, session_.cache, interval=1)
    return session_, poller


def test_the_demo_presets_xid_gpu_is_the_first_finding(demo) -> None:
    s, poller = _session_and_poller(demo, Settings(telemetry_source="dcgm"))
    try:
        wait_for(lambda: poller.refresh_once().state == LIVE, 60, "the exporters read")
        report = Triage().evaluate(s, store=poller.store, telemetry="dcgm")
    finally:
        poller.stop()
        s.stop()
    first = report.findings[0]
    assert (first.rule, first.severity, first.data["xid"]) == ("xid", CRITICAL, 63)
    assert first.title == "XID 63 (ECC page retirement / row remapping event)"
    assert first.object.view == "nodes" and first.object.name.startswith("gke-kmc-demo-h100")
    assert first.object.gpu == 3
    assert "exporter: ECC page retirement or row remapping recording event" in first.evidence
    # the H100 job on that GPU: master and worker, 4 GPUs each
    assert first.gpus == 8 and first.data["workloads"] == [
        "PyTorchJob ml-research/bert-large-pretrain (8 GPUs)"
    ]
    assert report.exit_code == 2
    hot = [f for f in report.findings if f.rule == "hot-gpu"]
    assert [f.object.gpu for f in hot] == [5] and hot[0].severity in (WARNING, CRITICAL)
    assert any("thermal slowdown" in line for line in hot[0].evidence)


def test_prometheus_health_series_give_the_same_findings_as_the_direct_scrape(
    tmp_path,
) -> None:
    """The XID (with err_code/err_msg), row-remap and heat figures of GPUs on nodes that are
    not on screen come from the sparse health series of the figures query."""
    from console.sim.cluster import SimCluster

    binary = require_binary("prometheus")
    sim = SimCluster(preset="tiny", seed=5).start()
    try:
        admin = connect(str(sim.kubeconfig_path), "kmc-sim")
        gpu_node = next(n for n in sim.call(sim.telemetry.gpu_nodes) if "a100" in n)
        annotations = {
            "sim.kmc.dev/xid-gpus": "1:79,2:13",
            "sim.kmc.dev/remap-failed-gpus": "1,4",
            "sim.kmc.dev/hot-gpus": "6",
        }
        admin.request(
            "PATCH",
            f"/api/v1/nodes/{gpu_node}",
            body={"metadata": {"annotations": annotations}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        sim.advance(5)
        sim.clock.set_speed(0)  # frozen: Prometheus and the direct scrape read the same numbers
        server = PrometheusServer(sim.metrics_url, tmp_path, binary).start()
        try:
            server.wait_for_targets(expected=2)
            s = ClusterSession(connect(str(sim.kubeconfig_path), "kmc-sim")).start()
            try:
                assert s.cache.wait_synced(60)
                reports = {}
                for source in ("dcgm", "prometheus"):
                    settings = Settings(telemetry_source=source, prometheus_url=server.url)
                    poller = TelemetryPoller(settings, s.connection, s.cache, interval=1)

                    def seen(p: TelemetryPoller = poller) -> bool:
                        # Prometheus holds the annotated figures once it scraped after the patch
                        return p.refresh_once().state == LIVE and any(
                            r.xid == 79 for r in p.store.readings()
                        )

                    wait_for(seen, 60, f"{source}: the XID GPU reported")
                    reports[source] = Triage(rules=rules_gpu.RULES).evaluate(
                        s, store=poller.store, telemetry=source
                    )
                    poller.stop()
            finally:
                s.stop()
        finally:
            server.stop()
    finally:
        sim.stop()

    def shape(report) -> list[tuple]:
        return [
            (f.id, f.severity, f.title, f.gpus, f.data.get("err_msg"), f.data.get("pods"))
            for f in report.findings
        ]

    assert shape(reports["prometheus"]) == shape(reports["dcgm"])
    ids = {f.id: f for f in reports["dcgm"].findings}
    assert ids[f"xid:nodes:/{gpu_node}#1"].data["err_msg"] == "GPU has fallen off the bus"
    assert ids[f"xid:nodes:/{gpu_node}#2"].severity == WARNING  # XID 13: the application's
    assert ids[f"row-remap:nodes:/{gpu_node}#4"].severity == CRITICAL
    assert f"row-remap:nodes:/{gpu_node}#1" not in ids  # told by its XID finding
    assert ids[f"hot-gpu:nodes:/{gpu_node}#6"].data["throttle_reasons"]


# ---------------------------------------------------------------------- scenarios


def scenario_report(name: str) -> tuple[Any, Any]:
    """(report, session records by kind) of `kmc sim --scenario name` through a real session
    and the direct scrape (the report of one evaluation, as `kmc triage` makes it)."""
    from console.sim.cluster import SimCluster

    sim = SimCluster(scenario=name, seed=1).start()
    try:
        s, poller = _session_and_poller(sim, Settings(telemetry_source="dcgm"))
        try:
            wait_for(lambda: poller.refresh_once().state != "unavailable", 60, "telemetry")
            report = Triage().evaluate(s, store=poller.store, telemetry="dcgm")
            nodes = {n.name: n for n in s.items("nodes")}
            readings = {(r.node, r.index): r for r in poller.store.readings()}
        finally:
            poller.stop()
            s.stop()
    finally:
        sim.stop()
    return report, (nodes, readings)


def test_scenario_xid_puts_the_fallen_gpu_first() -> None:
    report, (_, readings) = scenario_report("xid")
    first = report.findings[0]
    assert (first.rule, first.severity, first.data["xid"]) == ("xid", CRITICAL, 79)
    assert first.title == "XID 79 (GPU fell off the bus)" and report.exit_code == 2
    assert first.object.kind == "nodes" and first.object.view == "nodes"
    assert "h100" in first.object.name and first.object.gpu is not None
    assert readings[(first.object.name, first.object.gpu)].xid == 79
    assert "exporter: GPU has fallen off the bus" in first.evidence
    assert "row remap failed (DCGM_FI_DEV_ROW_REMAP_FAILURE)" in first.evidence
    # the 32-GPU pretraining job with a pod on that GPU is stalled whole
    assert first.gpus == 32 and first.action_key == "c"
    assert not [f for f in report.findings if f.rule == "row-remap"]  # told by the XID


def test_scenario_hot_gpu_puts_the_hot_gpu_first() -> None:
    report, (_, readings) = scenario_report("hot-gpu")
    first = report.findings[0]
    assert first.rule == "hot-gpu" and first.severity in (WARNING, CRITICAL)
    assert "a100" in first.object.name and first.object.gpu is not None
    temp = readings[(first.object.name, first.object.gpu)].temp
    assert temp is not None and temp >= 85 and first.data["temp_celsius"] == temp
    assert any("thermal slowdown" in line for line in first.evidence)
    assert report.exit_code == (2 if first.severity == CRITICAL else 1)
