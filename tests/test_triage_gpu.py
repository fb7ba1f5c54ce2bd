"""Triage's GPU rules (XID, remapped rows, heat and throttling) and the telemetry fields they
read: unit tests from hand-made records and readings, the exporter text through both parsers,
the Prometheus store merge, arbitrary readings. End to end on the simulated cluster:
`test_triage_gpu_sim`."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_render_support import node, pod, session

from console.metrics.model import Frame, GpuReading
from console.metrics.parse import parse_fast, parse_reference
from console.metrics.store import TelemetryStore
from console.triage import rules_gpu
from console.triage.engine import Thresholds, Triage, TriageInputs
from console.triage.model import CRITICAL, INFO, WARNING
from console.triage.xid import XIDS, lookup

NOW = 1_700_000_000.0


class Store:
    """What the rules read of a `TelemetryStore`: `samples` and `readings()`."""

    def __init__(self, *readings: GpuReading) -> None:
        self._readings = list(readings)
        self.samples = 1

    def readings(self) -> list[GpuReading]:
        return self._readings


def job_pod(name: str, node_name: str, job: str = "llm", gpus: int = 8) -> Any:
    owner = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "name": job, "uid": "u-" + job}
    owner["controller"] = True
    return pod(name, node=node_name, gpus=gpus, metadata={"ownerReferences": [owner]})


def inputs(store: Any, *records: tuple[str, Any], telemetry: str = "dcgm") -> TriageInputs:
    s = session(("nodes", node("gpu-0")), ("nodes", node("gpu-1")), *records)
    return TriageInputs(session=s, now=NOW, store=store, telemetry=telemetry)


def run(rule, store: Any, *records: tuple[str, Any], **kw: Any) -> tuple[list, TriageInputs]:
    given = inputs(store, *records, **kw)
    return list(rule(given, Thresholds())), given


# ---------------------------------------------------------------------- XID


def test_hardware_xid_is_critical_and_counts_every_gpu_of_the_stalled_job() -> None:
    bad = GpuReading(
        "gpu-0",
        2,
        uuid="GPU-1",
        model="NVIDIA A100",
        xid=79.0,
        xid_code="79",
        xid_msg="GPU has fallen off the bus",
        pods=(("ml", "llm-master-0"),),
    )
    pods = [
        ("pods", job_pod("llm-master-0", "gpu-0")),
        ("pods", job_pod("llm-worker-0", "gpu-1")),
        ("pods", job_pod("llm-worker-1", "gpu-1")),
        ("pods", pod("other", node="gpu-0", gpus=2)),  # same node, other GPUs: not stalled
    ]
    (finding,), _ = run(rules_gpu.xid, Store(bad, GpuReading("gpu-0", 0, xid=0.0)), *pods)
    assert finding.severity == CRITICAL and finding.rule == "xid"
    assert finding.title == "XID 79 (GPU fell off the bus)"
    assert (finding.object.view, finding.object.kind, finding.object.name) == (
        "nodes",
        "nodes",
        "gpu-0",
    )
    assert finding.object.gpu == 2 and finding.id == "xid:nodes:/gpu-0#2"
    assert finding.gpus == 24  # the three 8-GPU pods of the job, on two nodes
    assert finding.action_key == "c" and "drain" in finding.action
    assert "exporter: GPU has fallen off the bus" in finding.evidence
    assert any("PyTorchJob ml/llm (24 GPUs)" in line for line in finding.evidence)
    assert finding.data["xid"] == 79 and finding.data["err_msg"] == "GPU has fallen off the bus"
    assert finding.data["pods"] == ["ml/llm-master-0"]


def server_pod(name: str, node_name: str) -> Any:
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "vllm-5d9f", "uid": "rs"}
    owner["controller"] = True
    meta = {"ownerReferences": [owner], "labels": {"pod-template-hash": "5d9f"}}
    return pod(name, node=node_name, gpus=1, metadata=meta)


def test_a_bad_gpu_under_one_server_replica_counts_that_replica_only() -> None:
    bad = GpuReading("gpu-0", 0, xid=79.0, pods=(("ml", "vllm-5d9f-a"),))
    replicas = [("pods", server_pod(f"vllm-5d9f-{x}", "gpu-0")) for x in "abc"]
    (finding,), _ = run(rules_gpu.xid, Store(bad), *replicas)
    assert finding.gpus == 1  # the other replicas keep serving
    assert finding.data["workloads"] == ["Deployment ml/vllm: vllm-5d9f-a (1 GPU)"]


def test_application_xid_is_a_warning_that_points_at_the_logs() -> None:
    reading = GpuReading("gpu-1", 0, xid=13.0, pods=(("ml", "solo"),))
    (finding,), _ = run(rules_gpu.xid, Store(reading), ("pods", pod("solo", node="gpu-1")))
    assert finding.severity == WARNING and finding.action_key == ""
    assert "logs" in finding.action and finding.gpus == 1  # a bare pod: its own GPU
    assert "exporter:" not in " ".join(finding.evidence)  # no err_msg given, none shown


def test_unknown_xid_is_a_warning_described_by_the_exporter() -> None:
    reading = GpuReading("gpu-0", 1, xid=250.0, xid_code="250", xid_msg="Something new")
    (finding,), _ = run(rules_gpu.xid, Store(reading))
    assert finding.severity == WARNING and finding.title == "XID 250 (Something new)"
    assert finding.gpus == 1 and "no pod holds it" in finding.evidence


@pytest.mark.parametrize("value", [None, 0.0, -3.0, math.nan, math.inf, 1e300])
def test_no_xid_no_finding(value: float | None) -> None:
    findings, _ = run(rules_gpu.xid, Store(GpuReading("gpu-0", 0, xid=value)))
    assert findings == []


def test_every_catalogued_code_has_a_meaning_and_a_severity() -> None:
    for code, entry in XIDS.items():
        assert entry.code == code and entry.meaning and entry.action
    hardware = (48, 63, 64, 74, 79, 92, 94, 95, 119, 120)
    assert all(lookup(c).critical for c in hardware)
    assert not any(lookup(c).critical for c in (13, 31, 43, 45))


@pytest.mark.parametrize("telemetry", ["none: turned off", "dcgm"])
def test_without_telemetry_the_rules_say_so(telemetry: str) -> None:
    store = None if telemetry == "dcgm" else Store(GpuReading("gpu-0", 0, xid=79.0))
    for rule in rules_gpu.RULES:
        findings, given = run(rule, store, telemetry=telemetry)
        assert findings == []
        assert given.notes == ["telemetry unavailable: XID, heat and idle rules skipped"]


def test_a_store_before_its_first_refresh_counts_as_no_telemetry() -> None:
    findings, given = run(rules_gpu.xid, TelemetryStore())
    assert findings == [] and given.notes == [rules_gpu.NO_TELEMETRY]


# ---------------------------------------------------------------------- remapped rows


def test_row_remap_failure_is_critical_and_uncorrectable_rows_a_warning() -> None:
    failed = GpuReading("gpu-0", 3, row_remap_failure=1.0, remapped_rows=4.0, pods=(("ml", "a"),))
    rows = GpuReading("gpu-1", 5, row_remap_failure=0.0, remapped_rows=2.0)
    clean = GpuReading("gpu-1", 6, row_remap_failure=0.0, remapped_rows=0.0)
    findings, _ = run(rules_gpu.row_remap, Store(failed, rows, clean), ("pods", pod("a")))
    by_gpu = {f.object.gpu: f for f in findings}
    assert set(by_gpu) == {3, 5}
    assert by_gpu[3].severity == CRITICAL and "RMA" in by_gpu[3].action
    assert "4 rows remapped for uncorrectable errors" in by_gpu[3].evidence
    assert "row remap failed (DCGM_FI_DEV_ROW_REMAP_FAILURE)" in by_gpu[3].evidence
    assert by_gpu[5].severity == WARNING and by_gpu[5].title == "2 uncorrectable remapped rows"
    assert "reset" in by_gpu[5].action and by_gpu[5].action_key == "c"
    assert by_gpu[5].data["uncorrectable_remapped_rows"] == 2


# ---------------------------------------------------------------------- heat and throttling


@pytest.mark.parametrize(
    ("temp", "throttle", "severity"),
    [
        (84.0, 0.0, None),
        (85.0, 0.0, WARNING),
        (89.9, 0x40, WARNING),
        (90.0, 0.0, CRITICAL),
        (70.0, 0x20, WARNING),  # software thermal slowdown while not (yet) that hot
        (None, 0x8, WARNING),  # hardware slowdown, temperature unknown
        (70.0, 0x4, INFO),  # held at its power cap: worth knowing, not a page
        (70.0, 0x1 | 0x2 | 0x10, None),  # idle, application clocks, sync boost: fine
        (math.nan, math.nan, None),
    ],
)
def test_hot_gpu_severity(temp: float | None, throttle: float, severity: str | None) -> None:
    reading = GpuReading("gpu-0", 4, temp=temp, throttle=throttle, power=300.0)
    findings, _ = run(rules_gpu.hot_gpu, Store(reading))
    assert [f.severity for f in findings] == ([severity] if severity else [])


def test_hot_gpu_evidence_names_the_throttle_reasons_and_the_threshold() -> None:
    reading = GpuReading("gpu-0", 4, temp=88.0, throttle=0x20 | 0x40, pods=(("ml", "p"),))
    (finding,), _ = run(rules_gpu.hot_gpu, Store(reading), ("pods", pod("p")))
    assert finding.title == "GPU 4 at 88 °C and throttling"
    assert "88 °C (warning at 85 °C, critical at 90 °C)" in finding.evidence
    assert "clocks throttled: software thermal slowdown, hardware thermal slowdown" in (
        finding.evidence
    )
    assert finding.data["throttle_reasons"] == [
        "software thermal slowdown",
        "hardware thermal slowdown",
    ]
    assert finding.gpus == 1


def test_hot_threshold_comes_from_the_settings() -> None:
    reading = GpuReading("gpu-0", 0, temp=80.0)
    given = inputs(Store(reading))
    thresholds = Thresholds(hot_celsius=75.0)
    (finding,) = rules_gpu.hot_gpu(given, thresholds)
    assert finding.severity == CRITICAL  # 5 °C above 75


# ---------------------------------------------------------------------- telemetry fields

EXPOSITION = """\
# TYPE DCGM_FI_DEV_CLOCK_THROTTLE_REASONS gauge
DCGM_FI_DEV_CLOCK_THROTTLE_REASONS{gpu="0",UUID="GPU-a",Hostname="n"} 96
DCGM_FI_DEV_CLOCK_THROTTLE_REASONS{gpu="1",UUID="GPU-b",Hostname="n"} NaN
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",Hostname="n"} 50
DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-b",Hostname="n"} 40
# TYPE DCGM_FI_DEV_XID_ERRORS gauge
DCGM_FI_DEV_XID_ERRORS{gpu="0",UUID="GPU-a",Hostname="n",err_code="48",err_msg="Double Bit ECC Error\u202e\x1b[2J"} 48
DCGM_FI_DEV_XID_ERRORS{gpu="1",UUID="GPU-b",Hostname="n",err_code="0",err_msg="No Error"} 0
# TYPE DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS counter
DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS{gpu="0",UUID="GPU-a",Hostname="n"} 3
DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS{gpu="1",UUID="GPU-b",Hostname="n"} +Inf
# TYPE DCGM_FI_DEV_ROW_REMAP_FAILURE gauge
DCGM_FI_DEV_ROW_REMAP_FAILURE{gpu="0",UUID="GPU-a",Hostname="n"} 1
# TYPE DCGM_FI_DEV_CLOCKS_EVENT_REASONS gauge
DCGM_FI_DEV_CLOCKS_EVENT_REASONS{gpu="1",UUID="GPU-b",Hostname="n"} 4
"""


@pytest.mark.parametrize("parse", [parse_fast, parse_reference])
def test_both_parsers_read_the_health_fields(parse) -> None:
    a, b = parse(EXPOSITION)
    assert (a.xid, a.xid_code, a.row_remap_failure, a.remapped_rows, a.throttle) == (
        48.0,
        "48",
        1.0,
        3.0,
        96.0,
    )
    assert a.xid_msg.startswith("Double Bit ECC Error") and "\x1b" not in a.xid_msg
    assert "\u202e" not in a.xid_msg
    # not finite: dropped; the DCGM 3.3 name of the throttle reasons is read too
    assert (b.xid, b.xid_code, b.remapped_rows, b.row_remap_failure, b.throttle) == (
        0.0,
        "0",
        None,
        None,
        4.0,
    )


def test_prometheus_frames_merge_health_and_detail_into_the_readings() -> None:
    store = TelemetryStore()
    frame = Frame(
        readings={
            "n": [
                GpuReading("n", 1, util=3.0, pods=(("ml", "b"),)),
                GpuReading("n", 0, util=90.0, pods=(("ml", "a"),)),
            ],
            "m": [GpuReading("m", 0, util=10.0)],
        },
        full=False,
        nodes={},
        idle=set(),
        detail={"m": [GpuReading("m", 0, util=10.0, temp=50.0, power=100.0, uuid="GPU-m")]},
        health={("n", 1): GpuReading("n", 1, xid=79.0, xid_msg="off the bus", temp=91.0)},
    )
    store.apply(frame)
    got = {(r.node, r.index): r for r in store.readings()}
    assert [(r.node, r.index) for r in store.readings()] == [("m", 0), ("n", 0), ("n", 1)]
    assert got[("n", 0)] is frame.readings["n"][1]  # nothing to merge: the reading itself
    merged = got[("n", 1)]
    assert (merged.util, merged.pods, merged.xid, merged.xid_msg, merged.temp) == (
        3.0,
        (("ml", "b"),),
        79.0,
        "off the bus",
        91.0,
    )
    assert (got[("m", 0)].temp, got[("m", 0)].uuid, got[("m", 0)].util) == (50.0, "GPU-m", 10.0)
    # the frame's own readings are untouched
    assert frame.readings["n"][0].xid is None


# ---------------------------------------------------------------------- the engine


def test_engine_ranks_a_hardware_xid_above_a_hot_gpu() -> None:
    store = Store(
        GpuReading("gpu-0", 0, temp=95.0, pods=(("ml", "x"),)),
        GpuReading("gpu-1", 7, xid=48.0, pods=(("ml", "llm-worker-0"),)),
    )
    records = [("pods", pod("x")), ("pods", job_pod("llm-worker-0", "gpu-1"))]
    s = session(("nodes", node("gpu-0")), ("nodes", node("gpu-1")), *records)
    report = Triage(rules=rules_gpu.RULES).evaluate(s, store=store, telemetry="dcgm", now=NOW)
    assert [f.rule for f in report.findings] == ["xid", "hot-gpu"]
    assert report.exit_code == 2 and report.findings[0].gpus == 8


def test_a_critical_xid_carries_its_row_remap_failure_as_one_finding() -> None:
    bad = GpuReading("gpu-0", 1, xid=79.0, row_remap_failure=1.0, remapped_rows=3.0)
    store = Store(bad)
    s = session(("nodes", node("gpu-0")))
    report = Triage(rules=rules_gpu.RULES).evaluate(s, store=store, telemetry="dcgm", now=NOW)
    (finding,) = report.findings
    assert finding.rule == "xid" and "row remap failed (DCGM_FI_DEV_ROW_REMAP_FAILURE)" in (
        finding.evidence
    )
    # an application XID does not hide the GPU's memory failure
    store = Store(GpuReading("gpu-0", 1, xid=13.0, row_remap_failure=1.0))
    report = Triage(rules=rules_gpu.RULES).evaluate(s, store=store, telemetry="dcgm", now=NOW)
    assert [(f.rule, f.severity) for f in report.findings] == [
        ("row-remap", CRITICAL),
        ("xid", WARNING),
    ]


FIGURE = st.one_of(
    st.none(), st.floats(), st.sampled_from([math.inf, -math.inf, math.nan, 1e308, 79.0, 13.0])
)
TEXT = st.one_of(st.text(max_size=12), st.sampled_from(["79", "\x1b[2J", "[/x]", "\u202e"]))


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(
    st.lists(
        st.builds(
            GpuReading,
            node=st.sampled_from(["gpu-0", "gpu-1", "x"]),
            index=st.integers(0, 7),
            xid=FIGURE,
            xid_code=TEXT,
            xid_msg=TEXT,
            temp=FIGURE,
            power=FIGURE,
            row_remap_failure=FIGURE,
            remapped_rows=FIGURE,
            throttle=FIGURE,
            pods=st.lists(st.tuples(st.sampled_from(["ml", "x"]), st.sampled_from(["p", "q"]))).map(
                tuple
            ),
        ),
        max_size=6,
    )
)
def test_any_readings_give_findings_with_strict_json(found: list[GpuReading]) -> None:
    s = session(("nodes", node("gpu-0")), ("pods", pod("p")))
    report = Triage(rules=rules_gpu.RULES).evaluate(
        s, store=Store(*found), telemetry="dcgm", now=NOW
    )
    assert not report.notes  # no rule raised
    json.dumps(report.to_json(), allow_nan=False)
    for f in report.findings:
        assert f.severity in (CRITICAL, WARNING, INFO) and math.isfinite(f.gpus) and f.gpus >= 0
