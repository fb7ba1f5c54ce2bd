"""Direct exporter scrape against the simulated cluster: figures match the simulator's own GPU
model, label variants give the same figures, and a missing, broken or garbage-serving exporter
degrades the source (with a reason) without raising, then recovers by itself."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest

from console.cluster.cache import ClusterCache
from console.cluster.connection import Connection, connect
from console.config import Settings
from console.metrics import TelemetryPoller, workload_detail, workload_telemetry
from console.metrics.dcgm import DcgmSource
from console.metrics.model import DEGRADED, LIVE, OFF, UNAVAILABLE, Frame, GpuReading
from console.metrics.source import SourceError
from console.sim.gpu_sampling import sample_gpu
from tests.kube import IDLE_JOB


@pytest.fixture
def sim(fresh_sim):
    fresh_sim.clock.set_speed(0)  # frozen sim time: every scrape sees the same numbers
    return fresh_sim


@pytest.fixture
def admin(sim) -> Connection:
    return connect(str(sim.kubeconfig_path), "kmc-sim")


@pytest.fixture
def cache(admin) -> Iterator[ClusterCache]:
    cache = ClusterCache(
        admin, kinds=("nodes", "pods", "pytorchjobs", "jobs", "deployments")
    ).start()
    assert cache.wait_synced(30)
    yield cache
    cache.stop()


def _poller(admin, cache, **kw) -> TelemetryPoller:
    return TelemetryPoller(Settings(telemetry_source="dcgm"), admin, cache, interval=1, **kw)


def _model(sim) -> dict[str, list]:
    """node → [GpuSample] straight from the simulator's model at the frozen sim time."""
    t = sim.clock.now()
    out = {}
    for node in sim.call(sim.telemetry.gpu_nodes):
        states = sim.call(sim.telemetry.gpu_states, node)
        out[node] = [(s, sample_gpu(s.identity, s.assignments, s.faults, t)) for s in states]
    return out


def _eventually(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def test_figures_match_the_simulated_gpus(sim, admin, cache) -> None:
    poller = _poller(admin, cache)
    status = poller.refresh_once()
    assert status.state == LIVE and status.source == "dcgm" and status.queries == 2
    model = _model(sim)
    store = poller.store
    for node, gpus in model.items():
        figures = store.node(node)
        assert figures is not None
        utils = [s.gpu_util for _, s in gpus]
        assert figures.gpus == len(gpus)
        assert figures.mean_util == pytest.approx(sum(utils) / len(utils))
        assert figures.max_util == max(utils)
        used = sum(s.fb_used for _, s in gpus)
        assert figures.mem_pct == pytest.approx(
            100 * used / (used + sum(s.fb_free for _, s in gpus))
        )
        assert figures.hottest == max(s.gpu_temp for _, s in gpus)
        assert figures.power == pytest.approx(sum(s.power_usage for _, s in gpus))
        rows = store.gpu_rows(node)
        for row, (state, sample) in zip(rows, gpus, strict=True):
            assert (row.index, row.uuid) == (state.identity.index, state.identity.uuid)
            assert (row.util, row.temp, row.sm_clock) == (
                sample.gpu_util,
                sample.gpu_temp,
                sample.sm_clock,
            )
            assert row.pods == tuple(f"{a.namespace}/{a.pod}" for a in state.assignments)
            assert row.tensor_active == pytest.approx(100 * sample.tensor_active)
    # GPUs joined to pods, pods to their workloads
    held: dict[tuple[str, str], list[int]] = {}
    for gpus in model.values():
        for state, sample in gpus:
            for a in state.assignments:
                held.setdefault((a.namespace, a.pod), []).append(sample.gpu_util)
    figures = workload_telemetry(store, cache)
    job = figures[("PyTorchJob", "ml", "llama-ft")]
    job_pods = [p for p in held if p[1].startswith("llama-ft-")]
    job_utils = [u for p in job_pods for u in held[p]]
    assert job.gpus == len(job_utils) and job.mean_util == pytest.approx(
        sum(job_utils) / len(job_utils)
    )
    assert any(k[0] == "InferenceService" for k in figures)
    detail = workload_detail(store, cache, ("PyTorchJob", "ml", "llama-ft"))
    assert detail.history[-1] == pytest.approx(job.mean_util, abs=1)
    header = store.header()
    every = [s.gpu_util for gpus in model.values() for _, s in gpus]
    assert header.gpus == len(every) and header.busy == sum(1 for u in every if u >= 5)
    assert header.mean_util == pytest.approx(sum(every) / len(every))


@pytest.mark.parametrize(
    ("hostname_label", "label_mode"), [("hostname", "new"), ("Hostname", "old")]
)
def test_label_variants_give_the_same_figures(
    sim, admin, cache, hostname_label, label_mode
) -> None:
    baseline = _poller(admin, cache)
    baseline.refresh_once()
    sim.telemetry.hostname_label, sim.telemetry.label_mode = hostname_label, label_mode
    for mode in ("auto", "legacy" if label_mode == "old" else "lowercase"):
        poller = TelemetryPoller(
            Settings(telemetry_source="dcgm", dcgm_label_mode=mode), admin, cache, interval=1
        )
        assert poller.refresh_once().state == LIVE
        assert poller.store.nodes() == baseline.store.nodes()
        assert workload_telemetry(poller.store, cache) == workload_telemetry(baseline.store, cache)
        node = next(iter(baseline.store.nodes()))
        assert [r.pods for r in poller.store.gpu_rows(node)] == [
            r.pods for r in baseline.store.gpu_rows(node)
        ]


def test_missing_exporter_degrades_then_recovers(sim, admin, cache) -> None:
    poller = _poller(admin, cache)
    assert poller.refresh_once().state == LIVE
    pods = json.loads(admin.get("/api/v1/pods", {"labelSelector": "app=nvidia-dcgm-exporter"}))[
        "items"
    ]
    victim = pods[0]
    node = victim["spec"]["nodeName"]
    admin.request("DELETE", f"/api/v1/namespaces/gpu-operator/pods/{victim['metadata']['name']}")
    _eventually(lambda: all(p.name != victim["metadata"]["name"] for p in cache["pods"].items()))
    status = poller.refresh_once()
    assert status.state == DEGRADED and status.missing_nodes == 1
    # the DaemonSet may already have a replacement, not yet running (sim time is frozen)
    reason = poller.store.failed()[node]
    assert reason == "no DCGM exporter pod on this node" or reason.endswith("is not running")
    assert status.error.endswith(reason) and status.label().startswith("dcgm · ")
    assert poller.store.node(node) is None and poller.store.gpu_rows(node) == []
    sim.advance(30)  # the DaemonSet controller brings a new exporter pod up
    _eventually(lambda: poller.refresh_once().state == LIVE, timeout=20)
    assert poller.store.node(node) is not None


def test_garbage_and_dead_exporters(sim, admin, cache, monkeypatch) -> None:
    poller = _poller(admin, cache)
    nodes = sim.call(sim.telemetry.gpu_nodes)
    real = sim.telemetry.node_metrics
    broken: set[str] = {nodes[0]}

    def serve(node: str, *args, **kw):  # the simulator's exporter, broken on some nodes
        return "<html>502 Bad Gateway</html>\n" if node in broken else real(node, *args, **kw)

    monkeypatch.setattr(sim.telemetry, "node_metrics", serve)
    status = poller.refresh_once()
    assert status.state == DEGRADED and "no DCGM GPU metrics" in status.error
    assert poller.store.node(nodes[0]) is None and poller.store.node(nodes[1]) is not None
    broken.update(nodes)
    status = poller.refresh_once()
    assert status.state == UNAVAILABLE and status.label().startswith("telemetry unavailable: all 2")
    assert poller.store.nodes() == {} and poller.store.header().gpus == 0
    broken.clear()
    assert poller.refresh_once().state == LIVE
    # a 5xx from the API server's proxy is a reason too
    sim.faults.fail(503, count=1)
    status = poller.refresh_once()
    assert status.state in (DEGRADED, UNAVAILABLE) and "503" in status.error


def test_faults_and_idle_allocations(sim, admin, cache) -> None:
    poller = _poller(admin, cache, idle_samples=2)
    nodes = sim.call(sim.telemetry.gpu_nodes)
    patch = {
        "metadata": {"annotations": {"sim.kmc.dev/xid-gpus": "1", "sim.kmc.dev/hot-gpus": "2"}}
    }
    admin.request(
        "PATCH",
        f"/api/v1/nodes/{nodes[0]}",
        body=patch,
        headers={"Content-Type": "application/merge-patch+json"},
    )
    admin.request("POST", "/apis/batch/v1/namespaces/ml/jobs", body=IDLE_JOB)
    sim.advance(20)
    _eventually(
        lambda: any(
            p.workload == ("Job", "idle-notebook") and p.phase == "Running"
            for p in cache["pods"].items()
        )
    )
    for _ in range(2):
        poller.refresh_once()
    figures = poller.store.node(nodes[0])
    assert figures is not None and figures.xid_gpus == (1,) and figures.last_xid > 0
    assert figures.hottest is not None and figures.hottest >= 85
    idle = workload_telemetry(poller.store, cache)[("Job", "ml", "idle-notebook")]
    assert (idle.gpus, idle.idle_gpus, idle.mean_util) == (1, 1, 0.0)
    assert poller.store.header().allocated_idle >= 1


def test_poller_thread_notifies_and_never_overlaps(admin, cache) -> None:
    class Slow:
        name, where = "slow", "test"
        running = overlaps = calls = 0

        def refresh(self, focus=frozenset()):
            Slow.calls += 1
            Slow.running += 1
            Slow.overlaps = max(Slow.overlaps, Slow.running)
            time.sleep(0.3)
            Slow.running -= 1
            return Frame(readings={"n": [GpuReading("n", 0, util=50.0)]})

        def close(self):
            pass

    seen: list = []
    got = threading.Event()
    poller = TelemetryPoller(Settings(), admin, cache, source=Slow(), interval=1)
    unsubscribe = poller.subscribe(lambda status: (seen.append(status), got.set()))
    poller.start()
    try:
        assert got.wait(5)
        for _ in range(5):
            poller.refresh_now()  # wakes early, but never starts a second refresh meanwhile
            time.sleep(0.05)
        _eventually(lambda: len(seen) >= 3)
    finally:
        unsubscribe()
        poller.stop()
    assert Slow.overlaps == 1 and seen[0].state == LIVE and seen[0].source == "slow"
    assert poller.period > 1.0  # 0.3 s refreshes stretch the 1 s wait: ≤ 20 % busy
    assert poller.store.header().mean_util == 50.0


def test_none_and_auto(admin, cache) -> None:
    off = TelemetryPoller(Settings(telemetry_source="none"), admin, cache).start()
    assert off.status().state == OFF and off.status().label() == "telemetry off"
    off.stop()
    auto = TelemetryPoller(Settings(), admin, cache, interval=1)  # no Prometheus in the sim
    status = auto.refresh_once()
    assert (status.source, status.state) == ("dcgm", LIVE)
    lost = TelemetryPoller(Settings(telemetry_source="prometheus"), admin, cache, interval=1)
    status = lost.refresh_once()
    assert status.state == UNAVAILABLE and "no Prometheus" in status.error


def test_without_cache_lists_exporters(admin) -> None:
    source = DcgmSource(admin, None)
    frame = source.refresh()
    assert len(frame.readings) == 2 and frame.requests == 4  # two labelled lists, two scrapes
    assert source.refresh().requests == 2  # the list is reused for a while
    source.close()
    with pytest.raises(SourceError):
        DcgmSource(connect_as_nobody(admin)).refresh()


def connect_as_nobody(admin: Connection) -> Connection:
    """The same server with a token it does not know."""
    import copy

    from kubernetes import client

    conf = copy.copy(admin.configuration)
    conf.refresh_api_key_hook = None  # else the kubeconfig loader restores the admin token
    conf.api_key = {"BearerToken": "Bearer nobody"}
    return Connection(client.ApiClient(conf), admin.context, admin.namespace)


# ---------------------------------------------------------------- exporter discovery at scale


class _Pod:
    __slots__ = ("labels", "name", "namespace", "node", "phase")

    def __init__(self, namespace: str, name: str, node: str, labels: dict, phase="Running"):
        self.namespace, self.name, self.node, self.labels, self.phase = (
            namespace,
            name,
            node,
            labels,
            phase,
        )


class _Pods:
    """The parts of an informer `ExporterPods` reads, counting full walks."""

    def __init__(self, pods: list[_Pod]) -> None:
        self.pods = {(p.namespace, p.name): p for p in pods}
        self.walks = 0

    def items(self) -> list[_Pod]:
        self.walks += 1
        return list(self.pods.values())

    def get(self, key):
        return self.pods.get(key)


class _Cache:
    """A cache with a pods informer and the change feed (`subscribe`)."""

    def __init__(self, pods: _Pods) -> None:
        self.kinds = {"pods": pods}
        self.subscribers: list = []

    def __getitem__(self, kind: str):
        return self.kinds[kind]

    def __contains__(self, kind: str) -> bool:
        return kind in self.kinds

    def subscribe(self, callback):
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def changed(self, *keys, many: bool = False) -> None:
        from console.cluster.cache import Changes, KindChange
        from console.cluster.informer import SyncState

        change = KindChange(1, None if many else frozenset(keys), SyncState("live", 0))
        for callback in list(self.subscribers):
            callback(Changes({"pods": change}))


OPERATOR = {"app": "nvidia-dcgm-exporter"}


def test_exporters_at_200000_pods_walk_the_pods_once() -> None:
    pods = [_Pod("ml", f"worker-{i}", f"node-{i % 2500}", {"app": "train"}) for i in range(200_000)]
    pods += [_Pod("gpu-operator", f"dcgm-{n}", f"node-{n}", OPERATOR) for n in range(2500)]
    informer = _Pods(pods)
    cache = _Cache(informer)
    source = DcgmSource(object(), cache)  # type: ignore[arg-type]  # no scrape here
    assert len(source.exporters()) == 2500 and informer.walks == 1
    for _ in range(5):
        assert len(source.exporters()) == 2500
    # no walk of 200,000 pods per refresh (how long one takes: benchmarks/gpu_views.py)
    assert informer.walks == 1

    # a deleted or stopped exporter shows at once, before the change feed names it
    del informer.pods[("gpu-operator", "dcgm-0")]
    informer.pods[("gpu-operator", "dcgm-1")].phase = "Pending"
    exporters = {e.pod: e for e in source.exporters()}
    assert "dcgm-0" not in exporters and not exporters["dcgm-1"].running
    # a new exporter shows once the feed names it; other pods' changes cost a lookup each
    informer.pods[("gpu-operator", "dcgm-0b")] = _Pod("gpu-operator", "dcgm-0b", "node-0", OPERATOR)
    informer.pods[("ml", "worker-x")] = _Pod("ml", "worker-x", "node-0", {"app": "train"})
    cache.changed(("gpu-operator", "dcgm-0b"), ("ml", "worker-x"))
    assert {e.pod for e in source.exporters()} == {f"dcgm-{n}" for n in range(1, 2500)} | {
        "dcgm-0b"
    }
    assert informer.walks == 1
    cache.changed(many=True)  # e.g. a relist: walk once more
    assert len(source.exporters()) == 2500 and informer.walks == 2
    source.close()
    assert cache.subscribers == []


def test_exporters_without_a_change_feed_walk_each_time() -> None:
    informer = _Pods([_Pod("gpu-operator", "dcgm-a", "node-a", OPERATOR)])
    cache = _Cache(informer)
    cache.subscribe = None  # type: ignore[assignment,method-assign]
    source = DcgmSource(object(), cache)  # type: ignore[arg-type]
    informer.pods[("gpu-operator", "dcgm-b")] = _Pod("gpu-operator", "dcgm-b", "node-b", OPERATOR)
    assert len(source.exporters()) == 2
    informer.pods[("gpu-operator", "dcgm-c")] = _Pod("gpu-operator", "dcgm-c", "node-c", OPERATOR)
    assert len(source.exporters()) == 3 and informer.walks == 2
    source.close()
