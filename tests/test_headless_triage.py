"""`kmc triage` and the triage view: the rows of a report (order, cells, hints, the SINCE
that ticks in place), the plumbing of the headless command on the tiny simulator (exit
codes 0/1/2 from what the rules find, `-o json` is `Report.to_json()` exactly, the table's
summary line), and — through the real `kmc` entry point against a simulator in its own
process — the `demo` preset's XID finding first with exit code 2, and per scenario its
finding at the top with the right object."""

from __future__ import annotations

import io
import json
import subprocess

import pytest

from console.headless.load import load
from console.headless.output import columns_for, table_lines
from console.headless.run import triage
from console.render.base import RowCache, RowContext
from console.render.triage import TRIAGE, build_triage, triage_rows
from console.triage.model import CRITICAL, INFO, WARNING, Finding, ObjectRef, Report, rank
from tests.conftest import require_binary
from tests.test_headless import kmc

NODE = ObjectRef("nodes", "", "gpu-node-1", "nodes", gpu=3)
JOB = ObjectRef("pytorchjobs", "ml", "train", "jobs")


def finding(rule: str, severity: str, obj: ObjectRef = NODE, **kw) -> Finding:
    return Finding(rule, severity, f"{rule} title", obj, **kw)


def report_of(*findings: Finding) -> Report:
    return Report(tuple(rank(findings)), generated=1000.0, context="c")


def test_rows_follow_the_report_with_severity_hints() -> None:
    report = report_of(
        finding("idle-allocated", WARNING, JOB, gpus=4, evidence=("idle 40 min", "util 0%")),
        finding("xid", CRITICAL, evidence=("XID 79",), action="cordon", action_key="c"),
        finding("info-thing", INFO, JOB, since=400.0),
    )
    rows = triage_rows(report, now=1000.0)
    keys = [c.key for c in TRIAGE.columns]
    cell = {row.record.rule: dict(zip(keys, row.cells, strict=True)) for row in rows}
    assert [r.record.rule for r in rows] == ["xid", "idle-allocated", "info-thing"]
    assert [r.hint for r in rows] == ["bad", "warn", "dim"]
    assert cell["xid"]["sev"] == "CRIT" and cell["xid"]["object"] == "gpu-node-1 GPU 3"
    assert cell["xid"]["action"] == "cordon [c]" and cell["xid"]["evidence"] == "XID 79"
    assert cell["idle-allocated"]["gpus"] == "4" and cell["idle-allocated"]["object"] == "ml/train"
    assert cell["idle-allocated"]["details"] == "idle 40 min · util 0%"
    assert cell["info-thing"]["since"] == "10m" and cell["xid"]["since"] == "-"
    assert triage_rows(None, 0.0) == []


def test_hostile_text_is_one_clean_line() -> None:
    bad = finding("xid", CRITICAL, evidence=("line\nbreak \x1b[31mred",), action="a\tb")
    (row,) = triage_rows(report_of(bad), 0.0)
    assert not any("\x1b" in c or "\n" in c or "\t" in c for c in row.cells)


def test_build_reads_the_report_through_the_row_context() -> None:
    report = report_of(finding("xid", CRITICAL, since=900.0), finding("crashloop", WARNING, JOB))

    class Link:  # what the app hands the pipeline: the latest report on demand
        def report(self) -> Report:
            return report

    cache = RowCache(TRIAGE.columns)
    for source in (report, Link()):
        rows = build_triage(None, RowContext(now=1000.0, triage=source), cache)  # type: ignore[arg-type]
        assert [r.record.rule for r in rows] == ["xid", "crashloop"]
    built = cache.built
    later = build_triage(None, RowContext(now=1120.0, triage=report), cache)  # type: ignore[arg-type]
    assert cache.built == built  # unchanged findings are not rebuilt; SINCE ticks in place
    assert later[0].cells[[c.key for c in TRIAGE.columns].index("since")] == "3m40s"
    other = build_triage(None, RowContext(now=1000.0, namespace="other", triage=report), cache)  # type: ignore[arg-type]
    assert [r.record.rule for r in other] == ["xid"]  # a node finding shows in any namespace
    assert build_triage(None, RowContext(now=0.0), RowCache(TRIAGE.columns)) == []  # type: ignore[arg-type]


def test_table_and_wide_columns() -> None:
    table = [c.label for c in columns_for(TRIAGE, wide=False)]
    wide = [c.label for c in columns_for(TRIAGE, wide=True)]
    assert table[:4] == ["SEV", "FINDING", "OBJECT", "GPUS"]
    assert {"EVIDENCE", "ACTION"} <= set(table) and "ALL EVIDENCE" not in table
    assert set(table) < set(wide) and "ALL EVIDENCE" in wide
    lines = table_lines(TRIAGE, columns_for(TRIAGE, False), triage_rows(report_of(), 0.0))
    assert lines == ["   ".join(table)]  # the header alone, labels three spaces apart


def _rule(*findings: Finding):
    def rule(inputs, thresholds):
        return findings

    return rule


@pytest.mark.parametrize(
    ("severities", "code"),
    [((), 0), ((INFO,), 0), ((INFO, WARNING), 1), ((WARNING, CRITICAL), 2)],
)
def test_exit_code_and_json_on_a_live_cluster(tiny_sim, severities, code) -> None:
    """The command's plumbing with given findings (the rules are tested on their own): its
    exit code, the JSON is the report's, the table ends with the summary line."""
    layer = {"kubeconfig": str(tiny_sim.kubeconfig_path), "telemetry_source": "none"}
    rule = _rule(*(finding(f"r{i}", s, gpus=i) for i, s in enumerate(severities)))
    loaded = load(layer, "triage")
    try:
        out = io.StringIO()
        assert triage(loaded, "json", out, rules=[rule]) == code
        data = json.loads(out.getvalue())
        assert data["context"] == "kmc-sim" and data["sources"]["cluster"] == "live"
        assert data["sources"]["telemetry"].startswith("none")
        assert [f["severity"] for f in data["findings"]] == sorted(
            severities, key=[CRITICAL, WARNING, INFO].index
        )
        table = io.StringIO()
        assert triage(loaded, "table", table, rules=[rule]) == code
        last = table.getvalue().splitlines()[-1]
        assert last.startswith(f"{data['summary']['critical']} critical")
    finally:
        loaded.close()


@pytest.fixture(scope="module")
def demo_sim():
    from console.sim.process import start_process

    sim = start_process(preset="demo", seed=1)
    yield sim
    sim.stop()


def test_demo_puts_the_xid_first_and_exits_2(demo_sim) -> None:
    result = kmc("triage", "-o", "json", "--kubeconfig", str(demo_sim.kubeconfig))
    assert result.returncode == 2, result.stderr
    data = json.loads(result.stdout)
    first = data["findings"][0]
    assert first["rule"] == "xid" and first["severity"] == CRITICAL
    assert first["object"]["kind"] == "nodes" and first["object"]["gpu"] is not None
    assert any(f["rule"] == "hot-gpu" for f in data["findings"])  # the demo's hot GPU too
    table = kmc("triage", "--kubeconfig", str(demo_sim.kubeconfig))
    assert table.returncode == 2 and table.stdout.splitlines()[1].startswith("CRIT")


# ------------------------------------------------------------ scenarios (real kmc, own sim)

NODE_FAULT = {  # scenario → (the annotation on its node, the GPU index or None)
    "xid": ("XID_ANNOTATION", 2),
    "hot-gpu": ("HOT_ANNOTATION", 1),
    "exporter-down": ("CRASHING_DAEMONSETS", None),
    "timeslice-stuck": ("CRASHING_DAEMONSETS", None),
}
TOP_RULE = {
    "xid": "xid",
    "hot-gpu": "hot-gpu",
    "node-notready": "node-not-ready",
    "exporter-down": "exporter-down",
    "timeslice-stuck": "timeslice",  # a prefix: timeslice-stuck / timeslice-not-converged
    "idle-allocated": "idle-allocated",
    "nccl-hang": "stalled-job",
    "crashloop": "crashloop",
    "pending-gpus": "pending-gpus",
    "server-down": "server-not-ready",
}
TOP_OBJECT = {  # scenario → (kind, namespace, name) of workload incidents
    "nccl-hang": ("pytorchjobs", "ml-research", "gpt-neox-20b-pretrain"),
    "crashloop": ("pytorchjobs", "ml-platform", "bert-large-finetune"),
    "server-down": ("inferenceservices", "serving", "sdxl-turbo"),
}


def _annotation(name: str) -> str:
    from console.sim import podspec, telemetry

    return getattr(telemetry, name, None) or getattr(podspec, name)


def _expected_node(scenario: str, nodes: list[dict]) -> str:
    """The node the scenario's incident is on, found by what the simulator put there."""
    if scenario == "node-notready":
        unknown = [
            n["metadata"]["name"]
            for n in nodes
            for c in n["status"].get("conditions", [])
            if c["type"] == "Ready" and c["status"] != "True"
        ]
        assert len(unknown) == 1, unknown
        return unknown[0]
    key = _annotation(NODE_FAULT[scenario][0])
    marked = [n["metadata"]["name"] for n in nodes if key in n["metadata"].get("annotations", {})]
    if scenario in ("exporter-down", "timeslice-stuck"):
        wanted = "dcgm-exporter" if scenario == "exporter-down" else "device-plugin"
        marked = [
            n["metadata"]["name"]
            for n in nodes
            if wanted in n["metadata"].get("annotations", {}).get(key, "")
        ]
    assert len(marked) == 1, marked
    return marked[0]


@pytest.fixture
def mlflow_store(tmp_path):
    return f"sqlite:///{tmp_path}/mlflow.db"


@pytest.mark.parametrize("scenario", list(TOP_RULE))
def test_each_scenario_puts_its_finding_first(scenario: str, mlflow_store: str) -> None:
    from console.sim.process import start_process

    sim = start_process(scenario=scenario, mlflow_uri=mlflow_store)
    try:
        args = ["triage", "-o", "json", "--kubeconfig", str(sim.kubeconfig)]
        result = kmc(*args, "--mlflow-uri", mlflow_store)
        # One read of the exporters cannot date an idle allocation (no Prometheus history,
        # nothing seen before): it is an info finding saying so, and info alone exits 0.
        expected_codes = (0,) if scenario == "idle-allocated" else (1, 2)
        assert result.returncode in expected_codes, result.stderr
        data = json.loads(result.stdout)
        assert data["findings"], f"no findings: {data['notes']}"
        top = data["findings"][0]
        assert top["rule"].startswith(TOP_RULE[scenario]), [f["id"] for f in data["findings"]]
        obj = top["object"]
        if scenario in NODE_FAULT or scenario == "node-notready":
            binary = require_binary("kubectl")
            listed = subprocess.run(
                [binary, "--kubeconfig", str(sim.kubeconfig), "get", "nodes", "-o", "json"],
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            )
            node = _expected_node(scenario, json.loads(listed.stdout)["items"])
            assert (obj["kind"], obj["name"]) == ("nodes", node), obj
            gpu = NODE_FAULT.get(scenario, (None, None))[1]
            if gpu is not None:
                assert obj["gpu"] == gpu, obj
        elif scenario in TOP_OBJECT:
            assert (obj["kind"], obj["namespace"], obj["name"]) == TOP_OBJECT[scenario], obj
        elif scenario == "idle-allocated":
            assert obj["namespace"] in ("notebooks", "ml-platform"), obj
            assert top["severity"] == "info" and "not known yet" in top["title"], top
            assert top["data"]["util"] < 5, top
        elif scenario == "pending-gpus":
            assert obj["namespace"] in ("ml-research", "ml-platform"), obj
    finally:
        sim.stop()


def test_the_healthy_scenario_has_no_critical_finding(mlflow_store: str) -> None:
    from console.sim.process import start_process

    sim = start_process(scenario="none", mlflow_uri=mlflow_store)
    try:
        args = ["triage", "-o", "json", "--kubeconfig", str(sim.kubeconfig)]
        result = kmc(*args, "--mlflow-uri", mlflow_store)
        assert result.returncode in (0, 1), result.stdout
        data = json.loads(result.stdout)
        assert data["summary"]["critical"] == 0, [f["id"] for f in data["findings"]]
        assert data["sources"]["telemetry"] == "dcgm"
    finally:
        sim.stop()
