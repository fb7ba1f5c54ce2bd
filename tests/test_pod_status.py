"""Pod STATUS, READY and RESTARTS as `kubectl get pods` prints them (issue 9).

Each fixture in `fixtures/pods/kubectl_status.json` is a pod as the API server returns it,
with the cells kubectl's printPod gives it (worked out from its rules). Two ways through:
the console's production decoder and pods view rows; and real `kubectl` reading the same
pod from the simulated API server (whose server-side Table prints pods by the same rules).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from console.cluster.detail import describe
from console.cluster.kinds import KINDS
from console.cluster.records import PodRecord
from console.render.pods import PODS, pod_row
from tests.conftest import require_binary
from tests.kube import kubectl

FIXTURE = json.loads((Path(__file__).parent / "fixtures/pods/kubectl_status.json").read_text())
NOW = 1_767_225_600.0  # the fixture's "now": 2026-01-01T00:00:00Z
CASES = {case["name"]: case for case in FIXTURE["cases"]}
KEYS = [c.key for c in PODS.columns]


def record(pod: dict[str, Any]) -> PodRecord:
    """The pod through the console's production decoder (bytes → wire struct → record)."""
    decoded = KINDS["pods"].decode_item(orjson.dumps(pod))
    assert isinstance(decoded, PodRecord)
    return decoded


def cells(pod: dict[str, Any]) -> dict[str, str]:
    row = pod_row(record(pod), NOW)
    return dict(zip(KEYS, row.cells, strict=True))


def test_fixture_now_is_the_tests_now() -> None:
    assert FIXTURE["now"] == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize("name", list(CASES))
def test_console_prints_what_kubectl_prints(name: str) -> None:
    case = CASES[name]
    got = cells(case["pod"])
    want = case["kubectl"]
    assert (got["ready"], got["status"], got["restarts"]) == (
        want["ready"],
        want["status"],
        want["restarts"],
    ), case["note"]
    assert record(case["pod"]).status == want["status"]  # computed once, at decode


def _kubectl_rows(out: str) -> dict[str, dict[str, str]]:
    """`kubectl get pods` output → name → cells (columns are separated by 3+ spaces;
    RESTARTS holds single spaces: `4 (60s ago)`)."""
    lines = out.splitlines()
    header = re.split(r"\s{2,}", lines[0].strip())
    rows = {}
    for line in lines[1:]:
        values = re.split(r"\s{2,}", line.strip())
        row = dict(zip([h.lower() for h in header], values, strict=True))
        rows[row["name"]] = row
    return rows


@pytest.fixture(scope="module")
def fixtures_served():
    """A frozen simulated cluster at the fixture's `now`, serving every fixture pod."""
    from console.sim.cluster import SimCluster
    from console.sim.kinds import by_kind

    sim = SimCluster(preset="tiny", seed=9, speed=1e-9, start_time=NOW).start()

    def write() -> None:
        for case in FIXTURE["cases"]:
            # Straight into the store: an API create would drop the status. The node does
            # not exist, so no simulated kubelet or scheduler touches these pods.
            sim.store.create(by_kind("Pod"), json.loads(json.dumps(case["pod"])))

    sim.call(write)
    yield sim
    sim.stop()


def _kubectl_binaries() -> list[str]:
    """kubectl on PATH, and the oldest and newest versions installed beside it (kubectl.1.NN)."""
    found = shutil.which("kubectl")
    if not found:
        return ["kubectl"]  # require_binary skips (or fails in CI)
    real = Path(found).resolve().parent
    versions = sorted(real.glob("kubectl.1.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
    return ["kubectl", *(str(p) for p in versions[:1] + versions[-1:])]


@pytest.mark.parametrize("binary", _kubectl_binaries(), ids=lambda b: Path(b).name)
def test_kubectl_on_the_simulator_prints_the_fixture_cells(fixtures_served, binary: str) -> None:
    """The simulator's server-side Table (what `kubectl get pods` prints) follows printPod:
    every fixture's cells, read by real kubectl (it prints the server's cells, whatever its
    version)."""
    binary = require_binary(binary)
    sim = fixtures_served
    assert abs(sim.clock.now() - NOW) < 1.0  # restart ages are against the fixture's now
    out = kubectl(binary, sim.kubeconfig_path, "get", "pods", "-n", "fixtures").stdout
    rows = _kubectl_rows(out)
    for name, case in CASES.items():
        want = case["kubectl"]
        got = rows[name]
        assert (got["ready"], got["status"], got["restarts"]) == (
            want["ready"],
            want["status"],
            want["restarts"],
        ), f"{name}: {case['note']}"


def test_hints_say_what_broke() -> None:
    hint = {name: pod_row(record(case["pod"]), NOW).hint for name, case in CASES.items()}
    for bad in (
        "init-crash-loop",
        "init-error",
        "init-exit-code",
        "init-signal",
        "init-image-pull",
        "oom-never",
        "oom-just-killed",
        "oom-back-off",
        "error",
        "exit-code",
        "signal",
        "node-lost",
        "evicted",
        "first-container-wins",
    ):
        assert hint[bad] == "bad", bad
    for waiting in (
        "init-progress",
        "scheduling-gated",
        "unschedulable",
        "not-ready",
        "running-not-ready",
    ):
        assert hint[waiting] == "warn", waiting
    for done in ("completed", "succeeded-no-statuses", "terminating", "deleted-after-success"):
        assert hint[done] == "dim", done
    assert hint["oom-restarted"] is None and hint["sidecar"] is None


def test_last_termination_in_the_row_and_in_describe() -> None:
    oom = record(CASES["oom-just-killed"]["pod"])
    assert cells(CASES["oom-just-killed"]["pod"])["last"] == "OOMKilled (137)"
    assert cells(CASES["first-container-wins"]["pod"])["last"] == "Error (1)"
    assert cells(CASES["completed"]["pod"])["last"] == ""  # never restarted
    text = describe(oom, now=NOW)
    assert "Status:" in text and re.search(r"Status:\s+OOMKilled", text)
    assert "trainer: terminated OOMKilled (exit 137), not ready, restarts 2" in text
    assert "last state: terminated, OOMKilled, exit code 137, 5m ago" in text
    sidecar = describe(record(CASES["sidecar"]["pod"]), now=NOW)
    assert "sidecar log-shipper: running, ready, restarts 1" in sidecar
    assert "last state: terminated, Error, exit code 1, 20m ago" in sidecar
    evicted = describe(record(CASES["evicted-container-unknown"]["pod"]), now=NOW)
    assert re.search(r"Status:\s+ContainerStatusUnknown", evicted)
    assert re.search(r"Reason:\s+Evicted", evicted)


def test_restart_age_ticks_with_the_view() -> None:
    pod = record(CASES["oom-restarted"]["pod"])
    assert pod_row(pod, NOW).cells[KEYS.index("restarts")] == "5 (2m ago)"
    assert pod_row(pod, NOW + 600).cells[KEYS.index("restarts")] == "5 (12m ago)"


def test_hostile_reasons_are_plain_text() -> None:
    pod = json.loads(json.dumps(CASES["init-image-pull"]["pod"]))
    state = pod["status"]["initContainerStatuses"][0]["state"]
    state["waiting"]["reason"] = "[bold]Pull\x1b[31mBack\u202eOff[/x]"
    status = record(pod).status
    assert status.startswith("Init:") and "\x1b" not in status and "\u202e" not in status
    pod = json.loads(json.dumps(CASES["exit-code"]["pod"]))
    pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] = "3"  # wrong type
    assert KINDS["pods"].decode_item(orjson.dumps(pod)) is None  # skipped, no crash


def test_null_fields_keep_the_pod() -> None:
    """`null` where the API omits a zero (a signal, a finish time) must not drop the pod."""
    pod = json.loads(json.dumps(CASES["oom-just-killed"]["pod"]))
    cs = pod["status"]["containerStatuses"][0]
    cs["state"]["terminated"]["signal"] = None
    cs["lastState"]["terminated"]["signal"] = None
    cs["lastState"]["terminated"]["finishedAt"] = None
    cs["started"] = None
    got = record(pod)
    assert got.status == "OOMKilled" and got.restarts == 2 and got.last_restart == 0.0
    assert got.last_termination == "OOMKilled (137)"
