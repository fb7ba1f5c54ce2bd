"""Triage's node rules — NotReady, pressure, device plugin or exporter down, time-slicing that
did not converge — from hand-made node and pod records (decoded from wire JSON, no server),
and over arbitrary ones. End to end on the simulated cluster: `test_triage_nodes_sim`."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_cluster_records import node_json, pod_json
from test_render_support import NOW, decode, session

from console.cluster.device_plugin import DevicePluginConfigs, SharingConfig
from console.metrics.model import NodeTelemetry
from console.triage import rules_nodes, timeslice
from console.triage.engine import Thresholds, Triage, TriageInputs
from console.triage.model import CRITICAL, WARNING

GFD = {"nvidia.com/gpu.present": "true", "nvidia.com/gpu.count": "8"}


def gpu_node(name: str = "gpu-0", ready: str = "True", **kw: Any) -> Any:
    """A GPU Operator node (GFD labels); `labels`, `conditions`, `allocatable` replace parts."""
    data = node_json(name, gpus=8, **{**GFD, **kw.get("labels", {})})
    data["status"]["conditions"] = kw.get("conditions") or [
        {"type": "Ready", "status": ready, "reason": "KubeletNotReady" if ready != "True" else ""}
    ]
    if "allocatable" in kw:
        data["status"]["allocatable"].update(kw["allocatable"])
        data["status"]["capacity"].update(kw["allocatable"])
    return decode("nodes", data)


def cpu_node(name: str = "cpu-0") -> Any:
    data = node_json(name, gpus=0)
    data["metadata"]["labels"] = {}
    for part in ("capacity", "allocatable"):
        data["status"][part].pop("nvidia.com/gpu")
    data["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    return decode("nodes", data)


def job_pod(name: str, node: str, job: str = "llm", gpus: int = 8) -> Any:
    owner = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "name": job, "uid": "u"}
    return decode(
        "pods",
        pod_json(name, node=node, gpus=gpus, metadata={"ownerReferences": [owner]}),
    )


def daemon_pod(
    name: str, node: str, app: str, namespace: str = "gpu-operator", crashing: bool = False
) -> Any:
    """A GPU Operator DaemonSet pod (`app` label), Running and Ready unless `crashing`."""
    owner = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": app, "uid": "ds-" + app}
    owner["controller"] = True
    state: dict[str, Any] = {"running": {}}
    if crashing:
        state = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}}
    data = pod_json(
        name,
        namespace=namespace,
        node=node,
        gpus=0,
        metadata={"labels": {"app": app}, "ownerReferences": [owner]},
        status={
            "phase": "Running",
            "containerStatuses": [
                {"name": "pytorch", "ready": not crashing, "restartCount": 7, "state": state}
            ],
        },
    )
    return decode("pods", data)


def plugin(node: str, **kw: Any) -> tuple[str, Any]:
    return ("pods", daemon_pod(f"nvidia-device-plugin-daemonset-{node}", node, PLUGIN, **kw))


def exporter(node: str, **kw: Any) -> tuple[str, Any]:
    return ("pods", daemon_pod(f"nvidia-dcgm-exporter-{node}", node, EXPORTER, **kw))


PLUGIN, EXPORTER = "nvidia-device-plugin-daemonset", "nvidia-dcgm-exporter"


def evaluate(rule, *records: tuple[str, Any], now: float = NOW, **kw: Any):
    given = TriageInputs(session=session(*records), now=now, **kw)
    return list(rule(given, Thresholds())), given


# ---------------------------------------------------------------------- NotReady, pressure


def test_not_ready_with_gpu_pods_is_critical_and_counts_the_stalled_job() -> None:
    records = [
        ("nodes", gpu_node("gpu-0", ready="Unknown")),
        ("nodes", gpu_node("gpu-1")),
        ("pods", job_pod("llm-master-0", "gpu-0")),
        ("pods", job_pod("llm-worker-0", "gpu-1")),
    ]
    (finding,), _ = evaluate(rules_nodes.node_not_ready, *records)
    assert finding.severity == CRITICAL and finding.rule == "node-not-ready"
    assert (finding.object.kind, finding.object.name, finding.object.view) == (
        "nodes",
        "gpu-0",
        "nodes",
    )
    assert finding.object.gpu is None and finding.gpus == 16  # both pods of the job
    assert finding.evidence[0].startswith("Ready=Unknown: KubeletNotReady")
    assert "PyTorchJob ml/llm (16 GPUs)" in " ".join(finding.evidence)
    assert finding.action_key == "r"


def test_not_ready_without_gpu_pods_is_a_warning_and_cpu_nodes_are_ignored() -> None:
    records = [("nodes", gpu_node("gpu-0", ready="False")), ("nodes", cpu_node())]
    (finding,), _ = evaluate(rules_nodes.node_not_ready, *records)
    assert finding.severity == WARNING and finding.gpus == 8 and finding.object.name == "gpu-0"
    findings, _ = evaluate(rules_nodes.node_not_ready, ("nodes", gpu_node("gpu-0")))
    assert findings == []


def test_pressure_on_a_gpu_node_is_a_warning() -> None:
    conditions = [
        {"type": "Ready", "status": "True"},
        {"type": "MemoryPressure", "status": "True", "message": "available memory 90Mi"},
        {"type": "DiskPressure", "status": "False"},
    ]
    records = [("nodes", gpu_node(conditions=conditions)), ("pods", job_pod("a", "gpu-0"))]
    (finding,), _ = evaluate(rules_nodes.node_pressure, *records)
    assert finding.severity == WARNING and finding.title == "MemoryPressure on a GPU node"
    assert "MemoryPressure=True: available memory 90Mi" in finding.evidence[0]
    assert finding.gpus == 8 and finding.action_key == "c"


# ---------------------------------------------------------------------- device plugin, exporter


def test_device_plugin_crash_looping_or_missing_is_critical() -> None:
    records = [
        ("nodes", gpu_node("gpu-0")),
        ("nodes", gpu_node("gpu-1")),
        ("nodes", gpu_node("gpu-2")),
        ("nodes", gpu_node("gpu-3", ready="False")),  # NotReady: that finding says it all
        plugin("gpu-0"),
        plugin("gpu-1", crashing=True),
        # a tenant's look-alike does not count as the plugin
        plugin("gpu-2", namespace="team-a"),
        ("pods", job_pod("llm-master-0", "gpu-1")),
    ]
    findings, _ = evaluate(rules_nodes.device_plugin_down, *records)
    by_node = {f.object.name: f for f in findings}
    assert set(by_node) == {"gpu-1", "gpu-2"}
    assert all(f.severity == CRITICAL and f.rule == "device-plugin-down" for f in findings)
    assert "CrashLoopBackOff, 0/1 ready, 7 restarts" in by_node["gpu-1"].evidence[0]
    assert by_node["gpu-1"].gpus == 8  # the job's one pod
    assert by_node["gpu-2"].evidence[0] == "no device plugin pod on the node"
    assert by_node["gpu-2"].gpus == 8  # no GPU pod: the node's GPUs


def test_without_any_plugin_pod_in_sight_the_check_is_skipped_with_a_note() -> None:
    findings, given = evaluate(rules_nodes.device_plugin_down, ("nodes", gpu_node()))
    assert findings == []
    assert given.notes == ["no NVIDIA device-plugin pods visible: device-plugin check skipped"]


class Store:
    def __init__(self, reporting: tuple[str, ...], failed: dict[str, str] | None = None) -> None:
        self.samples = 1
        self._nodes = {n: NodeTelemetry(n, 8, 50.0, 90.0, 10.0, 60.0, 900.0) for n in reporting}
        self._failed = failed or {}

    def nodes(self) -> dict[str, NodeTelemetry]:
        return self._nodes

    def failed(self) -> dict[str, str]:
        return self._failed


def test_exporter_down_or_silent_is_a_warning() -> None:
    records = [
        ("nodes", gpu_node("gpu-0")),
        ("nodes", gpu_node("gpu-1")),
        ("nodes", gpu_node("gpu-2")),
        exporter("gpu-0"),
        exporter("gpu-1", crashing=True),
        exporter("gpu-2"),
    ]
    store = Store(("gpu-0",), {"gpu-2": "exporter nvidia-dcgm-exporter-gpu-2: timed out"})
    findings, _ = evaluate(rules_nodes.exporter_down, *records, store=store, telemetry="dcgm")
    by_node = {f.object.name: f for f in findings}
    assert set(by_node) == {"gpu-1", "gpu-2"} and {f.severity for f in findings} == {WARNING}
    assert "CrashLoopBackOff" in by_node["gpu-1"].evidence[0]
    assert by_node["gpu-2"].evidence[1] == (
        "no telemetry from it: exporter nvidia-dcgm-exporter-gpu-2: timed out"
    )
    assert by_node["gpu-2"].title.endswith("(DCGM exporter not reporting)")
    # telemetry off: only the pods are checked
    findings, _ = evaluate(rules_nodes.exporter_down, *records, telemetry="none: turned off")
    assert [f.object.name for f in findings] == ["gpu-1"]


# ---------------------------------------------------------------------- time-slicing

CONFIGS = DevicePluginConfigs(
    "gpu-operator",
    "time-slicing-config",
    "",
    {"ts4": SharingConfig("ts4", 4, "time-slicing"), "bad": SharingConfig("bad", error="x")},
)


def sliced(name: str, label: str, allocatable: str = "8", replicas: str = "1") -> Any:
    labels = {"nvidia.com/device-plugin.config": label, "nvidia.com/gpu.replicas": replicas}
    if replicas != "1":
        labels["nvidia.com/gpu.sharing-strategy"] = "time-slicing"
    return gpu_node(name, labels=labels, allocatable={"nvidia.com/gpu": allocatable})


def test_a_change_waiting_past_the_converge_time_is_stuck() -> None:
    triage = Triage(rules=(timeslice.timeslice_stuck,))
    triage.state["timeslice-stuck:configs"] = (NOW, CONFIGS)
    s = session(
        ("nodes", sliced("gpu-0", "ts4")),  # asks for ×4, still 8
        ("nodes", sliced("gpu-1", "ts4", "32", "4")),  # converged
        plugin("gpu-0"),
        plugin("gpu-1"),
    )
    first = triage.evaluate(s, now=NOW)
    assert first.findings == ()  # just seen: it may still be on its way
    triage.state["timeslice-stuck:configs"] = (NOW + 299, CONFIGS)
    assert triage.evaluate(s, now=NOW + 299).findings == ()
    (finding,) = triage.evaluate(s, now=NOW + 301).findings
    assert finding.rule == "timeslice-stuck" and finding.severity == WARNING
    assert finding.object.name == "gpu-0" and finding.action_key == "t"
    assert "allocatable nvidia.com/gpu is 8, want 32" in finding.evidence
    assert "gpu.replicas is 1, want 4" in finding.evidence
    assert finding.data["waiting_seconds"] == 301


def test_an_unknown_config_is_stuck_at_once() -> None:
    given = TriageInputs(session=session(("nodes", sliced("gpu-0", "ts8"))), now=NOW)
    given.state["timeslice-stuck:configs"] = (NOW, CONFIGS)
    (finding,) = timeslice.timeslice_stuck(given, Thresholds())
    assert (
        finding.severity == WARNING
        and finding.title == "time-slicing 'ts8' not applied: unknown config"
    )
    assert "defined: ts4" in finding.evidence
    assert "the plugin ignores it: no such config" in finding.evidence
    given = TriageInputs(session=session(("nodes", sliced("gpu-0", "bad"))), now=NOW)
    given.state["timeslice-stuck:configs"] = (NOW, CONFIGS)
    (finding,) = timeslice.timeslice_stuck(given, Thresholds())
    assert finding.title == "time-slicing 'bad' not applied: invalid config"
    assert "the plugin ignores it: x" in finding.evidence


def test_a_change_waiting_for_a_crashed_plugin_is_one_critical_finding() -> None:
    records = [
        ("nodes", sliced("gpu-0", "ts4")),
        plugin("gpu-0", crashing=True),
        ("pods", job_pod("llm-master-0", "gpu-0")),
    ]
    triage = Triage(rules=rules_nodes.RULES)
    triage.state["timeslice-stuck:configs"] = (NOW, CONFIGS)
    report = triage.evaluate(session(*records), now=NOW)
    (finding,) = report.findings  # device-plugin-down leaves this node to timeslice-stuck
    assert finding.rule == "timeslice-stuck" and finding.severity == CRITICAL
    assert finding.title == "time-slicing 'ts4' not applied: device plugin down"
    assert any("CrashLoopBackOff" in line for line in finding.evidence)
    assert finding.gpus == 8 and report.exit_code == 2


def test_unreadable_configs_skip_the_rule_with_a_note() -> None:
    # the test session has no API connection: the ConfigMap cannot be read
    findings, given = evaluate(timeslice.timeslice_stuck, ("nodes", sliced("gpu-0", "ts4")))
    assert findings == []
    assert given.notes and given.notes[0].startswith("time-slicing configs unreadable")


HOSTILE = st.one_of(
    st.text(max_size=10), st.sampled_from(["True", "False", "Unknown", "", "ts4", "bad", "\x1b[2J"])
)


@st.composite
def cluster(draw: st.DrawFn) -> list[tuple[str, Any]]:
    records: list[tuple[str, Any]] = []
    for i in range(draw(st.integers(1, 4))):
        name = f"gpu-{i}"
        labels = draw(
            st.dictionaries(
                st.sampled_from(
                    [
                        "nvidia.com/device-plugin.config",
                        "nvidia.com/gpu.replicas",
                        "nvidia.com/gpu.sharing-strategy",
                        "nvidia.com/gpu.count",
                        "nvidia.com/gpu.present",
                        "nvidia.com/gpu.deploy.device-plugin",
                        "nvidia.com/mig.config",
                    ]
                ),
                HOSTILE,
                max_size=5,
            )
        )
        types = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
        conditions = [
            {"type": t, "status": draw(HOSTILE), "reason": draw(HOSTILE), "message": draw(HOSTILE)}
            for t in draw(st.lists(st.sampled_from(types), unique=True))
        ]
        alloc = {"nvidia.com/gpu": draw(st.sampled_from(["0", "8", "32", "-1", "1e999", "x"]))}
        records.append(
            (
                "nodes",
                gpu_node(name, labels=labels, conditions=conditions or None, allocatable=alloc),
            )
        )
        if draw(st.booleans()):
            records.append(plugin(name, crashing=draw(st.booleans())))
        if draw(st.booleans()):
            records.append(exporter(name, crashing=draw(st.booleans())))
        if draw(st.booleans()):
            records.append(("pods", job_pod(f"llm-{i}", name, gpus=draw(st.integers(0, 8)))))
    return records


@settings(max_examples=100, deadline=None, database=None, derandomize=True)
@given(cluster(), st.booleans())
def test_any_node_records_give_findings_with_strict_json(records, telemetry: bool) -> None:
    triage = Triage(rules=rules_nodes.RULES)
    triage.state["timeslice-stuck:configs"] = (NOW, CONFIGS)
    store = Store(("gpu-0",), {"gpu-1": "\x1b]52;c;QUFB\x07 refused"}) if telemetry else None
    report = triage.evaluate(session(*records), store=store, telemetry="dcgm", now=NOW)
    assert not [n for n in report.notes if "failed" in n]  # no rule raised
    json.dumps(report.to_json(), allow_nan=False)
    for f in report.findings:
        assert math.isfinite(f.gpus) and f.gpus >= 0 and f.object.kind == "nodes"
