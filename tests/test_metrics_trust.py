"""Telemetry a tenant cannot spoof, against the simulated cluster through the real API: a pod
labelled like the DCGM exporter outside the GPU operator's DaemonSets is never scraped and is
named in the status; a second exporter on a node is flagged, not silently preferred; one
exporter's malformed or non-finite samples are dropped, counted and kept to that exporter."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from console.cluster.cache import ClusterCache
from console.cluster.connection import Connection, connect
from console.config import Settings
from console.metrics import TelemetryPoller
from console.metrics.dcgm import DcgmSource
from console.metrics.link import status_label
from console.metrics.model import DEGRADED, LIVE

EXPORTER = {"app": "nvidia-dcgm-exporter"}


@pytest.fixture
def sim(fresh_sim):
    fresh_sim.clock.set_speed(0)
    return fresh_sim


@pytest.fixture
def admin(sim) -> Connection:
    return connect(str(sim.kubeconfig_path), "kmc-sim")


@pytest.fixture
def cache(admin) -> Iterator[ClusterCache]:
    cache = ClusterCache(admin, kinds=("nodes", "pods")).start()
    assert cache.wait_synced(30)
    yield cache
    cache.stop()


def _eventually(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def _poller(admin, cache, **settings) -> TelemetryPoller:
    return TelemetryPoller(Settings(telemetry_source="dcgm", **settings), admin, cache, interval=1)


def _create_pod(admin, namespace: str, name: str, node: str, owner: dict | None = None) -> None:
    meta: dict = {"name": name, "labels": dict(EXPORTER)}
    if owner is not None:
        meta["ownerReferences"] = [owner]
    body = {
        "metadata": meta,
        "spec": {
            "nodeName": node,
            "containers": [{"name": "exporter", "image": "evil/dcgm:latest"}],
        },
    }
    admin.request("POST", f"/api/v1/namespaces/{namespace}/pods", body=body)


def _running(cache, namespace: str, name: str) -> bool:
    pod = cache["pods"].get((namespace, name))
    return pod is not None and pod.phase == "Running"


def test_spoofed_exporters_are_ignored_and_flagged(sim, admin, cache) -> None:
    nodes = sim.call(sim.telemetry.gpu_nodes)
    fake_owner = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "dcgm", "uid": "u-1",
                  "controller": True}  # fmt: skip
    _create_pod(admin, "ml", "dcgm-spoof", nodes[0])  # a tenant's bare pod
    _create_pod(admin, "ml", "dcgm-spoof-ds", nodes[1], fake_owner)  # claims a DaemonSet
    _create_pod(admin, "gpu-operator", "dcgm-bare", nodes[0])  # right namespace, no DaemonSet
    sim.advance(10)
    for ns, name in (("ml", "dcgm-spoof"), ("ml", "dcgm-spoof-ds"), ("gpu-operator", "dcgm-bare")):
        _eventually(lambda ns=ns, name=name: _running(cache, ns, name))
    # the simulator would serve them: they are reachable exporters, only not trusted ones
    assert b"DCGM_FI_DEV_GPU_UTIL" in admin.get(
        "/api/v1/namespaces/ml/pods/dcgm-spoof:9400/proxy/metrics"
    )

    poller = _poller(admin, cache)
    status = poller.refresh_once()
    assert status.state == LIVE and status.queries == 2  # the two operator exporters only
    assert set(poller.store.nodes()) == set(nodes)
    (note,) = status.notes
    assert note.startswith("3 untrusted exporters ignored: ")
    assert note.endswith(
        "(only DaemonSet pods in gpu-operator,nvidia-gpu-operator,dcgm-exporter are read)"
    )
    for name in ("ml/dcgm-spoof", "ml/dcgm-spoof-ds", "gpu-operator/dcgm-bare"):
        assert name in note
    text, hint = status_label(status)
    assert hint == "warn" and "3 untrusted exporters ignored" in text
    assert "3 untrusted exporters ignored" in status.label()

    # without a cache the labelled list is judged the same way
    source = DcgmSource(admin, None)
    frame = source.refresh()
    assert len(frame.readings) == 2 and frame.requests == 4 and "ml/dcgm-spoof" in frame.notes[0]
    source.close()


def test_only_spoofed_exporters_is_unavailable_with_the_reason(sim, admin, cache) -> None:
    nodes = sim.call(sim.telemetry.gpu_nodes)
    _create_pod(admin, "ml", "dcgm-spoof", nodes[0])
    sim.advance(10)
    _eventually(lambda: _running(cache, "ml", "dcgm-spoof"))
    poller = _poller(admin, cache, dcgm_exporter_namespaces="monitoring")  # not gpu-operator
    status = poller.refresh_once()
    assert status.state != LIVE
    assert "owned by a DaemonSet in monitoring" in status.error and "ml/dcgm-spoof" in status.error
    # the setting names the trusted namespaces: the operator's pods are trusted again
    assert (
        _poller(admin, cache, dcgm_exporter_namespaces="gpu-operator").refresh_once().state == LIVE
    )


def test_a_second_exporter_on_a_node_is_flagged(sim, admin, cache) -> None:
    admin.request("POST", "/api/v1/namespaces", body={"metadata": {"name": "dcgm-exporter"}})
    template = json.loads(
        admin.get("/apis/apps/v1/namespaces/gpu-operator/daemonsets/nvidia-dcgm-exporter")
    )
    daemonset = {
        "metadata": {"name": "dcgm-exporter", "namespace": "dcgm-exporter"},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "dcgm-exporter"}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "dcgm-exporter"}},
                "spec": template["spec"]["template"]["spec"],
            },
        },
    }
    admin.request("POST", "/apis/apps/v1/namespaces/dcgm-exporter/daemonsets", body=daemonset)
    nodes = sim.call(sim.telemetry.gpu_nodes)

    def doubled() -> bool:
        sim.advance(5)
        pods = [p for p in cache["pods"].items() if p.namespace == "dcgm-exporter"]
        return {p.node for p in pods if p.phase == "Running"} >= set(nodes)

    _eventually(doubled, timeout=30)
    poller = _poller(admin, cache)
    status = poller.refresh_once()
    assert status.state == LIVE and status.queries == 2  # one exporter read per node
    notes = [n for n in status.notes if " exporters on " in n]
    assert len(notes) == len(nodes)
    for node, note in zip(sorted(nodes), notes, strict=True):
        assert note.startswith(f"2 exporters on {node}: reading gpu-operator/")
        assert ", ignoring dcgm-exporter/dcgm-exporter-" in note


def test_one_exporters_bad_samples_stay_with_that_exporter(sim, admin, cache, monkeypatch) -> None:
    nodes = sim.call(sim.telemetry.gpu_nodes)
    real = sim.telemetry.node_metrics
    mode = {"bad": "some"}

    def serve(node: str, *args, **kw):
        text = real(node, *args, **kw)
        if node != nodes[0] or text is None:
            return text
        lines = text.split("\n")
        if mode["bad"] == "all":  # no sample of this exporter names a GPU index
            return "\n".join(line.replace('gpu="', 'gpu="²') for line in lines)
        out = []
        for line in lines:
            out.append(line)
            if line.startswith(("DCGM_FI_DEV_GPU_UTIL{", "DCGM_FI_DEV_GPU_TEMP{")) and (
                'gpu="0"' in line
            ):
                out.append(line.replace('gpu="0"', 'gpu="²"'))  # a malformed label
                out.append(line.rsplit(" ", 1)[0] + " +Inf")  # a non-finite sample
                out.append(line.rsplit(" ", 1)[0] + " NaN")
        return "\n".join(out)

    monkeypatch.setattr(sim.telemetry, "node_metrics", serve)
    baseline = _poller(admin, cache)
    poller = _poller(admin, cache)
    status = poller.refresh_once()
    assert status.state == LIVE
    (note,) = status.notes
    assert note.startswith("exporter gpu-operator/") and "dropped 6 bad sample(s)" in note
    monkeypatch.setattr(sim.telemetry, "node_metrics", real)
    baseline.refresh_once()
    assert poller.store.nodes() == baseline.store.nodes()  # the good samples all count
    assert [r.util for r in poller.store.gpu_rows(nodes[0])] == [
        r.util for r in baseline.store.gpu_rows(nodes[0])
    ]

    monkeypatch.setattr(sim.telemetry, "node_metrics", serve)
    mode["bad"] = "all"
    status = poller.refresh_once()
    assert status.state == DEGRADED and status.missing_nodes == 1
    assert "no DCGM GPU metrics" in poller.store.failed()[nodes[0]]
    assert poller.store.node(nodes[1]) is not None  # the other exporter keeps reporting
    assert poller.store.gpu_rows(nodes[0]) == []


def test_exporter_namespaces_setting(tmp_path) -> None:
    from console.config import ConfigError, load_settings
    from console.metrics.dcgm import OPERATOR_NAMESPACES, exporter_namespaces

    assert exporter_namespaces(Settings()) == OPERATOR_NAMESPACES
    path = tmp_path / "config.toml"
    path.write_text('dcgm_exporter_namespaces = ["gpu-operator", " monitoring "]\n')
    settings = load_settings(environ={}, path=path)
    assert exporter_namespaces(settings) == ("gpu-operator", "monitoring")
    env = {"KMC_DCGM_EXPORTER_NAMESPACES": "kube-system,"}
    assert exporter_namespaces(load_settings(environ=env, path=tmp_path / "none.toml")) == (
        "kube-system",
    )
    for bad in ("dcgm_exporter_namespaces = [1]\n", 'dcgm_exporter_namespaces = " , "\n'):
        path.write_text(bad)
        with pytest.raises(ConfigError, match="dcgm_exporter_namespaces"):
            load_settings(environ={}, path=path)
