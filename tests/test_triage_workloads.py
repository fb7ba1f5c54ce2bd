"""The workload triage rules on hand-made records: idle allocations (with the console's own
idle tracker and the store's refresh times) and pending GPU pods grouped by reason; the job
and server rules are in `test_triage_jobs_servers.py`.

Telemetry is a real `TelemetryStore` fed frames as a source would; the cluster is a session
fed records (`test_render_support.session`). The simulator-backed checks are in
`test_triage_workloads_sim.py` and `test_triage_workloads_scenarios.py`."""

from __future__ import annotations

from typing import Any

from test_render_support import NOW, decode, node, pod, session

from console.metrics.model import Frame, GpuReading
from console.metrics.store import TelemetryStore
from console.triage import rules_idle, rules_pending
from console.triage.engine import Thresholds, Triage
from console.triage.idle import IdleTracker
from console.triage.model import ObjectRef
from console.triage.rules_pending import INSUFFICIENT, QUEUE, SELECTOR, TAINT, classify

MIN = 60.0


def frame(*gpus: tuple[str, int, float | None, tuple[tuple[str, str], ...]]) -> Frame:
    readings: dict[str, list[GpuReading]] = {}
    for name, index, util, pods in gpus:
        readings.setdefault(name, []).append(GpuReading(name, index, util=util, pods=pods))
    return Frame(readings=readings)


def deployment_pod(name: str, owner: str, **extra: Any) -> Any:
    """A pod of Deployment `owner` (through its ReplicaSet, as the controller names it)."""
    meta = {
        "labels": {"app": owner, "pod-template-hash": "5d8f7"},
        "ownerReferences": [
            {"kind": "ReplicaSet", "name": f"{owner}-5d8f7", "uid": "rs", "controller": True}
        ],
        **extra.pop("metadata", {}),
    }
    return pod(name, metadata=meta, **extra)


# ---------------------------------------------------------------- idle-allocated


def idle_triage(minutes: float = 30.0) -> Triage:
    return Triage(Thresholds(idle_minutes=minutes), rules=rules_idle.RULES)


def test_idle_gpu_reported_once_seen_idle_long_enough_and_grouped_by_workload():
    s = session(
        ("nodes", node("gpu-0")),
        ("pods", deployment_pod("nb-0", "jupyter-alice", gpus=2)),
        ("pods", pod("busy", gpus=1)),
    )
    store = TelemetryStore()
    held = (("ml", "nb-0"),)
    tick = frame(
        ("gpu-0", 0, 0.0, held), ("gpu-0", 1, 1.0, held), ("gpu-0", 2, 90.0, (("ml", "busy"),))
    )
    triage = idle_triage()
    store.apply(tick)
    first = triage.evaluate(s, store=store, telemetry="dcgm", now=NOW)
    # idle all the console has seen, which is too short to tell: info, not a warning
    [undated] = first.findings
    assert (undated.severity, undated.data["undated"], undated.gpus) == ("info", True, 2)
    assert "not known yet" in undated.title and first.exit_code == 0
    assert first.sources["idle_duration"].startswith("seen since ")
    for _ in range(3):
        store.apply(tick)
    later = triage.evaluate(s, store=store, telemetry="dcgm", now=NOW + 31 * MIN)
    [finding] = later.findings
    assert finding.rule == "idle-allocated" and finding.severity == "warning"
    assert (finding.object.kind, finding.object.name, finding.object.view) == (
        "deployments",
        "jupyter-alice",
        "servers",
    )
    assert finding.gpus == 2 and finding.action_key == "s"
    assert finding.data["minutes_idle"] == 31.0 and not finding.data["undated"]
    assert finding.data["gpu_hours_idle"] == round(2 * 31 / 60, 2)
    assert finding.data["duration_source"].startswith("seen since ")
    assert any("gpu-0 GPU 0" in line and "gpu-0 GPU 1" in line for line in finding.evidence)
    assert later.idle_gpu_hours == {"ml": round(2 * 31 / 60, 2)}


def test_a_busy_sample_between_evaluations_starts_the_idle_time_over():
    s = session(("nodes", node("gpu-0")), ("pods", pod("train", gpus=1)))
    held = (("ml", "train"),)
    store, triage = TelemetryStore(), idle_triage(minutes=10)
    store.apply(frame(("gpu-0", 0, 0.0, held)))
    assert triage.evaluate(s, store=store, telemetry="dcgm", now=NOW).findings[0].severity == "info"
    store.apply(frame(("gpu-0", 0, 80.0, held)))  # a burst the evaluations did not see
    store.apply(frame(("gpu-0", 0, 0.0, held)))
    assert triage.evaluate(s, store=store, telemetry="dcgm", now=NOW + 11 * MIN).findings == ()
    store.apply(frame(("gpu-0", 0, 0.0, held)))
    report = triage.evaluate(s, store=store, telemetry="dcgm", now=NOW + 22 * MIN)
    [finding] = report.findings
    assert finding.data["minutes_idle"] == 11.0  # since the evaluation after the burst


def test_idle_time_never_starts_before_the_pod():
    started = "2024-05-03T00:00:00Z"  # NOW - 0: the pod has just started
    s = session(
        ("nodes", node("gpu-0")), ("pods", pod("new", gpus=1, status={"startTime": started}))
    )

    class History(TelemetryStore):
        """A store whose source says the GPU has been idle for hours (Prometheus is not
        run here: the Prometheus path is tested against a real one in the sim tests)."""

        keeps_history = True

        def idle_since(self, keys, below, lookback, now):
            return {k: (now - 5 * 3600, True) for k in keys}

    store = History()
    store.apply(frame(("gpu-0", 0, 0.0, (("ml", "new"),))))
    report = idle_triage().evaluate(s, store=store, telemetry="prometheus", now=NOW + 20 * MIN)
    assert report.findings == ()  # the GPU was idle before the pod got it: 20 min < 30
    assert report.sources["idle_duration"] == "prometheus history"
    later = idle_triage().evaluate(s, store=store, telemetry="prometheus", now=NOW + 45 * MIN)
    [finding] = later.findings
    assert finding.data["duration_source"] == "prometheus history"
    assert finding.data["minutes_idle"] == 45.0 and not finding.data["at_least"]


def test_time_sliced_gpu_counts_its_share_for_each_pod():
    s = session(
        ("nodes", node("gpu-0")),
        ("pods", deployment_pod("a-0", "svc-a")),
        ("pods", deployment_pod("b-0", "svc-b")),
    )
    store, triage = TelemetryStore(), idle_triage(minutes=1)
    store.apply(frame(("gpu-0", 0, 0.0, (("ml", "a-0"), ("ml", "b-0")))))
    triage.evaluate(s, store=store, telemetry="dcgm", now=NOW)
    report = triage.evaluate(s, store=store, telemetry="dcgm", now=NOW + 2 * MIN)
    assert sorted((f.object.name, f.gpus) for f in report.findings) == [
        ("svc-a", 0.5),
        ("svc-b", 0.5),
    ]


def test_no_telemetry_is_a_note_not_a_finding():
    s = session(("nodes", node("gpu-0")), ("pods", pod("train")))
    report = idle_triage().evaluate(s, store=None, telemetry="none: off", now=NOW)
    assert report.findings == () and any("idle-allocated" in n for n in report.notes)


def test_tracker_keeps_a_unit_through_a_missing_refresh_then_forgets_it():
    held = (("ml", "p"),)
    store, tracker = TelemetryStore(), IdleTracker()
    store.apply(frame(("gpu-0", 0, 0.0, held)))
    assert tracker.observe(store, NOW, 5.0)[("gpu-0", 0)].since == NOW
    store.apply(Frame(readings={}))  # a failed refresh
    assert tracker.observe(store, NOW + 60, 5.0) == {}
    store.apply(frame(("gpu-0", 0, 0.0, held)))
    assert tracker.observe(store, NOW + 120, 5.0)[("gpu-0", 0)].since == NOW
    store.apply(frame(("gpu-0", 0, 0.0, (("ml", "other"),))))  # another pod holds it now
    assert tracker.observe(store, NOW + 180, 5.0)[("gpu-0", 0)].since == NOW + 180


# ---------------------------------------------------------------- pending-gpus


def pending(name: str, message: str, *, reason: str = "Unschedulable", **extra: Any) -> Any:
    status = {
        "phase": "Pending",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": reason,
                "message": message,
                "lastTransitionTime": "2024-05-02T23:00:00Z",
            }
        ],
        "containerStatuses": [],
    }
    return pod(name, node="", status=status, **extra)


SHORT = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
TAINTED = "0/3 nodes are available: 3 node(s) had untolerated taint {nvidia.com/gpu: present}. preemption: not helpful"
SELECT = "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: not helpful"


def test_classify_reads_kube_scheduler_messages():
    assert classify(pending("a", SHORT)) == (INSUFFICIENT, "nvidia.com/gpu")
    assert classify(pending("b", TAINTED)) == (TAINT, "{nvidia.com/gpu: present}")
    assert classify(pending("c", SELECT)) == (SELECTOR, "")
    mixed = "0/9 nodes are available: 2 Insufficient nvidia.com/gpu, 7 node(s) had untolerated taint {a: b}."
    assert classify(pending("d", mixed))[0] == INSUFFICIENT
    gated = pending(
        "e",
        "",
        reason="SchedulingGated",
        metadata={"labels": {"kueue.x-k8s.io/queue-name": "team-a"}},
    )
    assert classify(gated) == (QUEUE, "team-a")


def test_pending_pods_grouped_by_reason_and_product_with_wait_and_gpus():
    s = session(
        ("nodes", node("gpu-0")),
        ("pods", pending("a", SHORT, gpus=4)),
        ("pods", pending("b", SHORT, gpus=2, metadata={"namespace": "other", "uid": "u-b"})),
        ("pods", pending("c", TAINTED, gpus=1)),
        ("pods", pending("d", SELECT, gpus=8)),
    )
    report = Triage(Thresholds(pending_minutes=5), rules=rules_pending.RULES).evaluate(s, now=NOW)
    by_reason = {f.data["reason"]: f for f in report.findings}
    assert set(by_reason) == {INSUFFICIENT, TAINT, SELECTOR}
    short = by_reason[INSUFFICIENT]
    assert short.gpus == 6 and short.data["detail"] == "NVIDIA-A100-SXM4-80GB"
    assert "NVIDIA-A100-SXM4-80GB" in short.title and short.severity == "warning"
    assert short.data["waiting_minutes"] == round((NOW - decode_created()) / 60, 1)
    assert short.object.view == "pods"
    assert report.findings[0].data["reason"] == SELECTOR  # 8 GPUs asked: ranked first


def decode_created() -> float:
    from console.cluster.decode_fields import parse_time

    return parse_time("2024-05-01T10:00:00Z")


def test_pods_waiting_less_than_the_threshold_are_not_reported():
    s = session(("nodes", node("gpu-0")), ("pods", pending("a", SHORT)))
    triage = Triage(Thresholds(pending_minutes=5), rules=rules_pending.RULES)
    assert triage.evaluate(s, now=decode_created() + 4 * MIN).findings == ()
    assert len(triage.evaluate(s, now=decode_created() + 6 * MIN).findings) == 1


def test_kueue_suspended_job_is_queued():
    from test_cluster_records import pytorchjob_json

    data = pytorchjob_json("queued")
    data["metadata"].setdefault("labels", {})["kueue.x-k8s.io/queue-name"] = "team-a"
    data["spec"].setdefault("runPolicy", {})["suspend"] = True
    s = session(("nodes", node("gpu-0")), ("pytorchjobs", decode("pytorchjobs", data)))
    [finding] = Triage(rules=rules_pending.RULES).evaluate(s, now=NOW).findings
    assert finding.data["reason"] == QUEUE and finding.data["detail"] == "team-a"
    assert finding.object.kind == "pytorchjobs" and finding.object.view == "jobs"
    assert "queue team-a" in finding.title


def test_store_dates_an_idle_stretch_from_its_first_refresh():
    import time

    store = TelemetryStore(history=4)
    held = (("ml", "p"),)
    store.apply(frame(("gpu-0", 0, 70.0, held)))
    before = time.time()
    store.apply(frame(("gpu-0", 0, 1.0, held)))
    after = time.time()
    for _ in range(6):  # past the 4-sample ring: the idle run counter carries it
        store.apply(frame(("gpu-0", 0, 0.0, held)))
    assert before <= store.idle_started(("gpu-0", 0), 5.0) <= after
    assert store.idle_started(("gpu-0", 0), 0.5) is not None  # 6 samples at 0 within 4 kept
    store.apply(frame(("gpu-0", 0, 50.0, held)))
    assert store.idle_started(("gpu-0", 0), 5.0) is None
    tracker = IdleTracker()
    store.apply(frame(("gpu-0", 0, 0.0, held)))
    now = time.time()
    assert tracker.observe(store, now + 600, 5.0)[("gpu-0", 0)].since <= now  # not the evaluation


def test_pending_product_from_the_insufficient_count_when_several_products_offer_it():
    h100 = [node(f"h100-{i}", 8) for i in range(2)]
    l4 = [node(f"l4-{i}", 4) for i in range(3)]
    h100 = [_relabel(n, "NVIDIA-H100-80GB-HBM3") for n in h100]
    l4 = [_relabel(n, "NVIDIA-L4") for n in l4]
    busy = [pod(f"busy-{i}", node=f"h100-{i}", gpus=8) for i in range(2)]
    message = "0/5 nodes are available: 3 node(s) didn't match Pod's node affinity/selector, 2 Insufficient nvidia.com/gpu. preemption: 0/5 nodes are available"
    s = session(
        *(("nodes", n) for n in h100 + l4),
        *(("pods", p) for p in busy),
        ("pods", pending("big", message, gpus=8)),
    )
    [finding] = Triage(rules=rules_pending.RULES).evaluate(s, now=NOW).findings
    assert finding.data["detail"] == "NVIDIA-H100-80GB-HBM3"  # 2 nodes short: the H100s


def _relabel(record: Any, product: str) -> Any:
    import msgspec

    return msgspec.structs.replace(record, gpu_product=product)


def test_idle_gpus_of_a_node_whose_telemetry_names_no_pod_come_from_the_cluster():
    s = session(
        ("nodes", node("gpu-0", gpus=4)),
        ("pods", deployment_pod("a-0", "svc-a", gpus=1)),
        ("pods", deployment_pod("b-0", "svc-b", gpus=2)),
    )
    store, triage = TelemetryStore(), idle_triage(minutes=1)
    unnamed = frame(*(("gpu-0", i, 0.0, ()) for i in range(4)))  # no pod-resources mapping
    store.apply(unnamed)
    triage.evaluate(s, store=store, telemetry="dcgm", now=NOW)
    report = triage.evaluate(s, store=store, telemetry="dcgm", now=NOW + 2 * MIN)
    found = {f.object.name: f for f in report.findings}
    assert {k: f.gpus for k, f in found.items()} == {"svc-a": 1, "svc-b": 2}
    assert all(f.data["attribution"] == "cluster" for f in found.values())
    store.apply(frame(("gpu-0", 0, 60.0, ()), *(("gpu-0", i, 0.0, ()) for i in range(1, 4))))
    busy = triage.evaluate(s, store=store, telemetry="dcgm", now=NOW + 3 * MIN)
    assert busy.findings == ()  # one GPU works: which pod's GPUs idle is not known


def test_an_idle_mig_slice_counts_as_its_part_of_the_gpu():
    s = session(("nodes", node("gpu-0")), ("pods", deployment_pod("nb-0", "jupyter-dana", gpus=1)))
    store, triage = TelemetryStore(), idle_triage(minutes=1)
    slice_ = GpuReading("gpu-0", 0, util=0.0, pods=(("ml", "nb-0"),), mig_id=9, profile="3g.40gb")
    parent = GpuReading("gpu-0", 0, util=0.0, model="NVIDIA A100-SXM4-80GB", instances=(slice_,))
    store.apply(Frame(readings={"gpu-0": [parent]}))
    triage.evaluate(s, store=store, telemetry="dcgm", now=NOW)
    [finding] = triage.evaluate(s, store=store, telemetry="dcgm", now=NOW + 2 * MIN).findings
    assert finding.gpus == round(3 / 7, 3) and "gpu-0 GPU 0 MIG 9" in finding.evidence[0]


def test_prometheus_history_that_cannot_be_read_is_a_note_and_the_seen_time_is_used():
    s = session(("nodes", node("gpu-0")), ("pods", pod("train", gpus=1)))

    class Unreadable(TelemetryStore):
        """A store whose source keeps history that cannot be read now (Prometheus is not
        run here: the Prometheus path is tested against a real one in the sim tests)."""

        keeps_history = True

        def idle_since(self, keys, below, lookback, now):
            return None

    store = Unreadable()
    store.apply(frame(("gpu-0", 0, 0.0, (("ml", "train"),))))
    report = idle_triage(minutes=0).evaluate(s, store=store, telemetry="prometheus", now=NOW)
    assert report.sources["idle_duration"].startswith("seen since ")
    assert any("could not be read" in n for n in report.notes)
    [finding] = report.findings
    assert finding.data["duration_source"].startswith("seen since ")


def test_a_kubeflow_notebook_is_stopped_not_scaled():
    meta = {
        "labels": {"notebook-name": "alice", "statefulset": "alice"},
        "ownerReferences": [
            {"kind": "StatefulSet", "name": "alice", "uid": "s", "controller": True}
        ],
    }
    s = session(("nodes", node("gpu-0")), ("pods", pod("alice-0", metadata=meta)))
    store, triage = TelemetryStore(), idle_triage(minutes=0)
    store.apply(frame(("gpu-0", 0, 0.0, (("ml", "alice-0"),))))
    [finding] = triage.evaluate(s, store=store, telemetry="dcgm", now=NOW).findings
    assert finding.object == ObjectRef("statefulsets", "ml", "alice", "servers")
    assert finding.title.startswith("notebook holds 1 GPU idle") and finding.action_key == ""
    assert "kubeflow-resource-stopped=true" in finding.action
