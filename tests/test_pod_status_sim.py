"""The simulator's kubelets produce the pod states kubectl has words for, and at every change
the console's decoder says what real `kubectl get pods` says (issue 9).

One frozen simulated cluster of the test's own; pods scripted by the `sim.kmc.dev/*`
annotations (an OOM kill with and without restarts, an exit without a reason, an init
container crash loop, a completed pod, a gated pod that Kueue-style admission releases).
Sim time moves one second at a time; whenever a status changes, both are read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from console.cluster.kinds import KINDS
from console.cluster.records import PodRecord
from console.render.pods import PODS, pod_row
from tests.conftest import require_binary
from tests.kube import api_client, kubectl

NOW = 1_767_225_600.0
NS = "ml"
PART_OF = "kmc.dev/test=pod-status"
KEYS = [c.key for c in PODS.columns]


@pytest.fixture(scope="module")
def sim():
    from console.sim.cluster import SimCluster

    cluster = SimCluster(preset="tiny", seed=13, speed=1e-9, start_time=NOW).start()
    yield cluster
    cluster.stop()


def _pod(
    name: str, annotations: dict[str, str], restart: str = "Always", init: bool = False
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "restartPolicy": restart,
        "containers": [{"name": "main", "image": "nvcr.io/nvidia/pytorch:24.05-py3"}],
    }
    if init:
        spec["initContainers"] = [{"name": "fetch", "image": "amazon/aws-cli:2.15.30"}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": {"kmc.dev/test": "pod-status"},
            "annotations": annotations,
        },
        "spec": spec,
    }


OOM = {"sim.kmc.dev/exit-code": "137", "sim.kmc.dev/exit-reason": "OOMKilled"}
MANIFESTS = [
    _pod("oom-always", {"sim.kmc.dev/fail-after": "20", "sim.kmc.dev/restart-hold": "8", **OOM}),
    _pod("oom-never", {"sim.kmc.dev/fail-after": "15", **OOM}, restart="Never"),
    _pod(
        "exit-no-reason",
        {
            "sim.kmc.dev/fail-after": "15",
            "sim.kmc.dev/exit-code": "2",
            "sim.kmc.dev/exit-reason": "",
        },
        restart="Never",
    ),
    _pod(
        "init-loop",
        {"sim.kmc.dev/init-fail-after": "5", "sim.kmc.dev/restart-hold": "3"},
        init=True,
    ),
    _pod("init-never", {"sim.kmc.dev/init-fail-after": "5"}, restart="Never", init=True),
    _pod("completes", {"sim.kmc.dev/run-seconds": "10"}, restart="Never"),
    {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "gated", "namespace": NS},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {"kmc.dev/test": "pod-status"}},
                "spec": {
                    "restartPolicy": "Never",
                    "schedulingGates": [{"name": "kueue.x-k8s.io/admission"}],
                    "containers": [{"name": "main", "image": "nvcr.io/nvidia/pytorch:24.05-py3"}],
                },
            },
        },
    },
]


def _console(client: kubernetes.client.ApiClient) -> dict[str, PodRecord]:
    """The test pods through the console's production decoder, over the real REST API."""
    core = kubernetes.client.CoreV1Api(client)
    body = core.list_namespaced_pod(NS, label_selector=PART_OF, _preload_content=False).data
    records, _meta, skipped = KINDS["pods"].decode_list(body)
    assert skipped == 0
    return {r.name: r for r in records}


def _kubectl(binary: str, sim: Any) -> dict[str, dict[str, str]]:
    out = kubectl(binary, sim.kubeconfig_path, "get", "pods", "-n", NS, "-l", PART_OF).stdout
    lines = out.splitlines()
    header = [h.lower() for h in re.split(r"\s{2,}", lines[0].strip())]
    rows = [dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=True)) for line in lines[1:]]
    return {row["name"]: row for row in rows}


def _subsequence(expected: list[str], seen: list[str]) -> bool:
    it = iter(seen)
    return all(any(s == e for s in it) for e in expected)


def test_simulated_pod_states_match_kubectl_at_every_change(sim, tmp_path: Path) -> None:
    binary = require_binary("kubectl")
    manifest = tmp_path / "pods.json"
    manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": MANIFESTS}))
    kubectl(binary, sim.kubeconfig_path, "create", "--validate=false", "-f", str(manifest))
    client = api_client(sim.kubeconfig_path)
    seen: dict[str, list[str]] = {}
    last: dict[str, str] = {}
    released = False
    compared = 0
    for second in range(150):
        sim.advance(1)
        records = _console(client)
        statuses = {name: r.status for name, r in records.items()}
        gated = next((n for n in records if n.startswith("gated-")), None)
        if gated and not released and second >= 30:
            # Kueue admits the workload: it removes its gate (removal is the only change allowed)
            patch = '[{"op": "remove", "path": "/spec/schedulingGates"}]'
            kubectl(
                binary,
                sim.kubeconfig_path,
                "patch",
                "pod",
                "-n",
                NS,
                gated,
                "--type=json",
                "-p",
                patch,
            )
            released = True
        if statuses == last:
            continue
        last = statuses
        rows = _kubectl(binary, sim)
        now = sim.clock.now()
        for name, pod in records.items():
            cells = dict(zip(KEYS, pod_row(pod, now).cells, strict=True))
            assert (cells["ready"], cells["status"], cells["restarts"]) == (
                rows[name]["ready"],
                rows[name]["status"],
                rows[name]["restarts"],
            ), f"{name} at +{second + 1}s"
            compared += 1
            if not seen.get(name) or seen[name][-1] != pod.status:
                seen.setdefault(name, []).append(pod.status)
    assert compared > 40
    assert _subsequence(
        ["Running", "OOMKilled", "CrashLoopBackOff", "Running", "OOMKilled"], seen["oom-always"]
    ), seen["oom-always"]
    assert seen["oom-never"][-1] == "OOMKilled" and "Running" in seen["oom-never"]
    assert seen["exit-no-reason"][-1] == "ExitCode:2"
    assert _subsequence(
        ["Init:0/1", "Init:Error", "Init:CrashLoopBackOff", "Init:0/1", "Init:Error"],
        seen["init-loop"],
    ), seen["init-loop"]
    assert seen["init-never"][-2:] == ["Init:0/1", "Init:Error"]
    assert seen["completes"][-2:] == ["Running", "Completed"]
    gated = next(n for n in seen if n.startswith("gated-"))
    assert seen[gated][0] == "SchedulingGated" and "Running" in seen[gated], seen[gated]
    final = _console(client)
    assert final["oom-always"].restarts >= 1
    assert final["oom-always"].last_termination == "OOMKilled (137)"
    assert final["init-loop"].phase == "Pending" and final["init-loop"].restarts >= 1
    assert final["init-never"].phase == "Failed" and final["oom-never"].phase == "Failed"


def test_a_scheduling_gate_may_only_be_removed(sim) -> None:
    binary = require_binary("kubectl")
    gated = next(n for n in _console(api_client(sim.kubeconfig_path)) if n.startswith("gated-"))
    patch = '[{"op": "add", "path": "/spec/schedulingGates", "value": [{"name": "x"}]}]'
    result = kubectl(
        binary,
        sim.kubeconfig_path,
        "patch",
        "pod",
        "-n",
        NS,
        gated,
        "--type=json",
        "-p",
        patch,
        check=False,
    )
    assert result.returncode != 0 and "only deletion is allowed" in result.stderr


@pytest.mark.parametrize(
    ("annotations", "code", "reason"),
    [
        ({}, 1, "Error"),
        (
            {"sim.kmc.dev/exit-code": "137", "sim.kmc.dev/exit-reason": "OOMKilled"},
            137,
            "OOMKilled",
        ),
        ({"sim.kmc.dev/exit-code": "2", "sim.kmc.dev/exit-reason": ""}, 2, ""),
        ({"sim.kmc.dev/exit-code": "0"}, 1, "Error"),  # a failure exits non-zero
        ({"sim.kmc.dev/exit-code": "9999"}, 1, "Error"),
        ({"sim.kmc.dev/exit-code": "oom"}, 1, "Error"),
    ],
)
def test_exit_annotations_are_read_safely(
    annotations: dict[str, str], code: int, reason: str
) -> None:
    from console.sim.controllers.kubelet_exits import exit_code, exit_reason, restart_hold

    assert exit_code(annotations) == code
    assert exit_reason(annotations, code) == reason
    assert exit_reason(annotations, 0) == "Completed"
    assert restart_hold({"sim.kmc.dev/restart-hold": "nan"}) == 0.0
    assert restart_hold({"sim.kmc.dev/restart-hold": "-5"}) == 0.0
    assert restart_hold({"sim.kmc.dev/restart-hold": "25"}) == 25.0
