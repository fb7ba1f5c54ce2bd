"""The console's write actions end to end on a simulated cluster: keys and `:` commands on
the selected row, the confirmation (y / n; Enter does not confirm), the effect as kubectl
sees it, and the refusals — read-only (zero writes reach the server), the viewer (RBAC),
bad input (nothing sent), a 409 injected (retried), an object gone meanwhile (404)."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest

from console.cluster.audit import AuditLog
from console.cluster.connection import connect
from console.sim.auth import VIEWER_CONTEXT
from console.sim.cluster import SimCluster
from tests.conftest import require_binary
from tests.test_app_support import column, command, filter_, make_app, populated, wait_until
from widgets.confirm import AskDialog, ConfirmDialog

SIZE = (140, 40)
JOBS = "/apis/kubeflow.org/v1/namespaces/ml/pytorchjobs"


@pytest.fixture(scope="module")
def sim():
    """This module's own cluster: its tests cordon, scale, suspend and delete."""
    cluster = SimCluster(preset="tiny", seed=9).start()
    yield cluster
    cluster.stop()


@pytest.fixture(autouse=True)
def audit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AuditLog:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return AuditLog(tmp_path / "state" / "kmc" / "audit.jsonl")


def _admin(sim: SimCluster):
    return connect(str(sim.kubeconfig_path), "kmc-sim")


def _get(sim: SimCluster, path: str) -> dict:
    return json.loads(_admin(sim).get(path))


def _kubectl(sim: SimCluster, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    kubectl = require_binary("kubectl")
    return subprocess.run(
        [kubectl, "--kubeconfig", str(sim.kubeconfig_path), *args],
        check=check,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _node(sim: SimCluster, pool: str) -> str:
    names = [n["metadata"]["name"] for n in _get(sim, "/api/v1/nodes")["items"]]
    return next(n for n in names if pool in n)


def _new_job(sim: SimCluster, name: str, workers: int = 2, elastic: tuple[int, int] | None = None):
    """A PyTorchJob of this test's own, made from the preset's llama-ft."""
    job = copy.deepcopy(_get(sim, f"{JOBS}/llama-ft"))
    job.pop("status", None)
    job["metadata"] = {"name": name, "namespace": "ml"}
    job["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] = workers
    if elastic:
        job["spec"]["elasticPolicy"] = {"minReplicas": elastic[0], "maxReplicas": elastic[1]}
    _admin(sim).request("POST", JOBS, body=job)


def _notes(app) -> list[str]:
    """Every notification's text from now on."""
    seen: list[str] = []
    original = app.notify

    def notify(message, *args, **kwargs):
        seen.append(str(message))
        return original(message, *args, **kwargs)

    app.notify = notify
    return seen


async def _select(pilot, app, view: str, name: str) -> None:
    await command(pilot, view)
    await populated(pilot, app, view)
    await filter_(pilot, name)
    # (the NAME cell may be shortened: a common prefix of node names is left out)
    await wait_until(pilot, lambda: len(column(app, "name")) == 1 and _selected_name(app) == name)


def _selected_name(app) -> str:
    row = app.screen._selected()
    return row.record.name if row is not None else ""


async def _dialog(pilot, app) -> ConfirmDialog:
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
    return app.screen


def _writes(sim: SimCluster, mark: int) -> list[tuple[str, str]]:
    """Writes after `mark`, access reviews (which change nothing) left out."""
    return [
        (m, p)
        for m, p in sim.requests.since(mark, writes_only=True)
        if "selfsubjectaccessreviews" not in p
    ]


async def test_cordon_then_uncordon_with_keys(sim, audit_home) -> None:
    node = _node(sim, "a100")
    app = make_app(sim)
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _select(pilot, app, "nodes", node)
        await pilot.press("c")
        dialog = await _dialog(pilot, app)
        assert dialog.title_text == f"cordon Node {node}, context kmc-sim"
        assert dialog.changes == ("schedulable: yes → no",)
        assert any("pods keep running there" in w for w in dialog.warnings)
        await pilot.press("enter")  # typed ahead: does not confirm a write
        await pilot.pause(0.1)
        assert app.screen is dialog
        await pilot.press("y")
        await wait_until(pilot, lambda: f"cordoned Node {node}" in notes)
        assert (
            _kubectl(sim, "get", "node", node, "-o", "jsonpath={.spec.unschedulable}").stdout
            == "true"
        )
        assert "SchedulingDisabled" in _kubectl(sim, "get", "node", node).stdout
        await pilot.press("u")
        dialog = await _dialog(pilot, app)
        assert dialog.changes == ("schedulable: no → yes",)
        await pilot.press("y")
        await wait_until(pilot, lambda: f"uncordoned Node {node}" in notes)
    assert _kubectl(sim, "get", "node", node, "-o", "jsonpath={.spec.unschedulable}").stdout == ""
    entries = audit_home.entries()
    assert [(e["verb"], e["result"]) for e in entries] == [
        ("cordon", "started"), ("cordon", "ok"), ("uncordon", "started"), ("uncordon", "ok"),
    ]  # fmt: skip
    assert {(e["context"], e["user"], e["object"]) for e in entries} == {
        ("kmc-sim", "kmc-sim-admin", f"Node {node}")
    }
    assert entries[1]["before"] == {"schedulable": "yes"}
    assert entries[1]["after"] == {"schedulable": "no"}


async def test_no_and_escape_change_nothing(sim) -> None:
    node = _node(sim, "a100")
    app = make_app(sim)
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _select(pilot, app, "nodes", node)
        mark = sim.requests.mark()
        for key in ("n", "escape"):
            await pilot.press("c")
            await _dialog(pilot, app)
            await pilot.press(key)
            await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        await wait_until(pilot, lambda: notes.count("cordon cancelled: nothing changed") == 2)
    assert _writes(sim, mark) == []


async def test_read_only_offers_nothing_and_sends_nothing(sim, audit_home) -> None:
    node = _node(sim, "a100")
    app = make_app(sim, read_only=True)
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _select(pilot, app, "nodes", node)
        mark = sim.requests.mark()
        assert app.screen.check_action("act", ("cordon",)) is False
        await pilot.press("c")  # not offered: nothing happens
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        listed = {key for _, rows in app.screen.sections for key, _ in rows}
        assert "c" not in listed and ":cordon" not in listed
        from console.commands import palette_entries

        offered = {entry.text for entry in palette_entries(app, "nodes")}
        assert ":nodes" in offered and not offered & {":cordon", ":uncordon"}
        await pilot.press("escape")
        await command(pilot, "cordon")
        await wait_until(pilot, lambda: any(n.startswith("read-only: cordon") for n in notes))
        assert f"read-only: cordon Node {node} refused (context kmc-sim is read-only;" in notes[-1]
        await command(pilot, "jobs")
        await populated(pilot, app, "jobs")
        await command(pilot, "scale 3")
        await wait_until(pilot, lambda: notes[-1].startswith("read-only: scale"))
    assert sim.requests.since(mark, writes_only=True) == []  # not even an access review
    assert audit_home.entries() == []


async def test_the_viewer_is_told_why_and_nothing_is_written(sim) -> None:
    node = _node(sim, "a100")
    app = make_app(sim, VIEWER_CONTEXT)
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _select(pilot, app, "nodes", node)
        # reviewed in a thread as the cursor lands, before any key is pressed
        await wait_until(pilot, lambda: "act('cordon')" in app.screen.denied_keys())
        mark = sim.requests.mark()
        await pilot.press("c")
        await wait_until(pilot, lambda: "not allowed by RBAC: you may not patch nodes" in notes)
        assert not isinstance(app.screen, ConfirmDialog)
        await pilot.press("question_mark")  # the help says which keys RBAC denies, and why
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        described = dict(row for _, rows in app.screen.sections for row in rows)
        assert described["c"] == (
            "cordon the selected node (confirmed) — not allowed by RBAC: you may not patch nodes"
        )
        assert described["u"].endswith("not allowed by RBAC: you may not patch nodes")
        await pilot.press("escape")
    assert _writes(sim, mark) == []
    assert _kubectl(sim, "get", "node", node, "-o", "jsonpath={.spec.unschedulable}").stdout == ""


async def test_scale_a_pytorchjob_validates_then_scales(sim) -> None:
    _new_job(sim, "act-elastic", workers=2, elastic=(1, 4))
    app = make_app(sim, namespace="ml")
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _select(pilot, app, "jobs", "act-elastic")
        mark = sim.requests.mark()
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        await pilot.press("a", "b", "c", "enter")
        await wait_until(pilot, lambda: "replicas must be a whole number, got 'abc'" in notes)
        for typed, said in (
            ("-1", "replicas cannot be negative: -1"),
            ("1e9", "replicas must be a whole number, got '1e9'"),
            ("5000", "replicas 5000 is too many (at most 1000)"),
            ("5", "PyTorchJob ml/act-elastic: 5 workers is beyond elasticPolicy.maxReplicas 4"),
        ):
            await command(pilot, f"scale {typed}")
            await wait_until(pilot, lambda said=said: said in notes)
        assert not isinstance(app.screen, ConfirmDialog)
        assert _writes(sim, mark) == []
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        await pilot.press("3", "enter")
        dialog = await _dialog(pilot, app)
        assert dialog.title_text == "scale PyTorchJob act-elastic in namespace ml, context kmc-sim"
        assert dialog.changes[:2] == ("worker replicas: 2 → 3", "GPUs requested: 4 → 6")
        assert any(w.startswith("2 more GPUs asked") and "node pool" in w for w in dialog.warnings)
        await pilot.press("y")
        await wait_until(
            pilot, lambda: any(n.startswith("scaled PyTorchJob ml/act-elastic") for n in notes)
        )
    path = "jsonpath={.spec.pytorchReplicaSpecs.Worker.replicas}"
    assert _kubectl(sim, "-n", "ml", "get", "pytorchjob", "act-elastic", "-o", path).stdout == "3"


async def test_scale_names_the_autoscaler_and_scales_a_model_server(sim) -> None:
    # A Deployment of the test's own (the preset's belong to an InferenceService).
    deployment = copy.deepcopy(_get(sim, "/apis/apps/v1/deployments")["items"][0])
    deployment.pop("status", None)
    deployment["metadata"] = {"name": "act-deploy", "namespace": "ml"}
    deployment["spec"]["replicas"] = 1
    _admin(sim).request("POST", "/apis/apps/v1/namespaces/ml/deployments", body=deployment)
    target = deployment["metadata"]
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "act-hpa", "namespace": target["namespace"]},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": target["name"],
            },
            "minReplicas": 1,
            "maxReplicas": 3,
        },
    }
    hpas = f"/apis/autoscaling/v2/namespaces/{target['namespace']}/horizontalpodautoscalers"
    _admin(sim).request("POST", hpas, body=hpa)
    isvc = _get(sim, "/apis/serving.kserve.io/v1beta1/inferenceservices")["items"][0]["metadata"]
    app = make_app(sim)
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _select(pilot, app, "servers", target["name"])
        await command(pilot, "scale 2")
        dialog = await _dialog(pilot, app)
        assert (
            "HorizontalPodAutoscaler act-hpa manages it (1..3): it will undo a manual scale"
            in dialog.warnings
        )
        await pilot.press("n")
        await _select(pilot, app, "servers", isvc["name"])
        await command(pilot, "scale 9")  # above its maxReplicas: refused, nothing sent
        await wait_until(pilot, lambda: any("is beyond maxReplicas" in n for n in notes))
        await command(pilot, "scale 2..5")
        dialog = await _dialog(pilot, app)
        assert dialog.changes[:2] == ("minReplicas: 1 → 2", "maxReplicas: 3 → 5")
        await pilot.press("y")
        await wait_until(pilot, lambda: any(n.startswith("scaled InferenceService") for n in notes))
    path = "jsonpath={.spec.predictor.minReplicas} {.spec.predictor.maxReplicas}"
    got = _kubectl(sim, "-n", isvc["namespace"], "get", "isvc", isvc["name"], "-o", path).stdout
    assert got == "2 5"


async def test_suspend_resume_and_delete_a_job(sim) -> None:
    _new_job(sim, "act-suspend", workers=1)
    app = make_app(sim, namespace="ml")
    notes = _notes(app)
    path = "jsonpath={.spec.runPolicy.suspend}"
    async with app.run_test(size=SIZE) as pilot:
        await _select(pilot, app, "jobs", "act-suspend")
        await command(pilot, "suspend")
        dialog = await _dialog(pilot, app)
        assert dialog.changes[0] == "suspended: no → yes"
        assert dialog.changes[1].startswith("running pods: ")
        await pilot.press("y")
        await wait_until(pilot, lambda: "suspended PyTorchJob ml/act-suspend" in notes)
        assert (
            _kubectl(sim, "-n", "ml", "get", "pytorchjob", "act-suspend", "-o", path).stdout
            == "true"
        )
        await command(pilot, "resume")
        await _dialog(pilot, app)
        await pilot.press("y")
        await wait_until(pilot, lambda: "resumed PyTorchJob ml/act-suspend" in notes)
        assert (
            _kubectl(sim, "-n", "ml", "get", "pytorchjob", "act-suspend", "-o", path).stdout
            == "false"
        )
        await pilot.press("ctrl+d")
        dialog = await _dialog(pilot, app)
        assert dialog.title_text.startswith("delete PyTorchJob act-suspend in namespace ml")
        assert any("propagationPolicy Background" in w for w in dialog.warnings)
        await pilot.press("y")
        await wait_until(
            pilot, lambda: any(n.startswith("deleted PyTorchJob ml/act-suspend") for n in notes)
        )
    gone = _kubectl(sim, "-n", "ml", "get", "pytorchjob", "act-suspend", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


async def test_restart_a_pod_with_ctrl_d(sim) -> None:
    pods = _get(sim, "/api/v1/namespaces/ml/pods")["items"]
    pod = next(p for p in pods if p["metadata"]["name"].startswith("llama-ft-worker"))
    name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
    app = make_app(sim, namespace="ml")
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _select(pilot, app, "pods", name)
        await pilot.press("ctrl+d")
        dialog = await _dialog(pilot, app)
        assert dialog.title_text == f"restart Pod {name} in namespace ml, context kmc-sim"
        assert "PyTorchJob llama-ft makes a new one" in dialog.changes[0]
        await pilot.press("y")
        await wait_until(
            pilot, lambda: any(n.startswith(f"restarted Pod ml/{name}") for n in notes)
        )

    def recreated() -> bool:
        got = _kubectl(
            sim, "-n", "ml", "get", "pod", name, "-o", "jsonpath={.metadata.uid}", check=False
        )
        return got.returncode == 0 and got.stdout not in ("", uid)

    from tests.conftest import wait_for

    wait_for(recreated, 30, "the controller recreates the pod")


async def test_a_conflict_is_retried_and_a_vanished_object_is_named(sim, audit_home) -> None:
    node = _node(sim, "l4")
    _new_job(sim, "act-vanish", workers=1)
    app = make_app(sim)
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await _select(pilot, app, "nodes", node)
        sim.faults.conflict(1)
        await command(pilot, "cordon")
        await _dialog(pilot, app)
        await pilot.press("y")
        await wait_until(pilot, lambda: f"cordoned Node {node}" in notes)
        assert [e["result"] for e in audit_home.entries()] == [
            "started",
            "conflict",
            "started",
            "ok",
        ]
        await command(pilot, "uncordon")
        await _dialog(pilot, app)
        await pilot.press("y")
        await wait_until(pilot, lambda: f"uncordoned Node {node}" in notes)
        await _select(pilot, app, "jobs", "act-vanish")
        await command(pilot, "suspend")
        await _dialog(pilot, app)
        _admin(sim).request("DELETE", f"{JOBS}/act-vanish")  # while the user reads
        await pilot.press("y")
        await wait_until(pilot, lambda: any("is gone (deleted meanwhile?)" in n for n in notes))
    assert notes[-1] == "PyTorchJob ml/act-vanish is gone (deleted meanwhile?): nothing changed"


async def test_a_command_typed_in_one_burst_is_a_command_not_keys(sim) -> None:
    """`:cordon` arriving in one read (tmux send-keys, a paste): none of it is taken as the
    table's keys (`c` cordon, `d` describe, `r`…), all of it lands in the bar; the same for
    a `/` filter."""
    from textual import events

    node = _node(sim, "a100")
    app = make_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await _select(pilot, app, "nodes", node)
        await filter_(pilot, "")  # back to every node, the cursor on the first
        await wait_until(pilot, lambda: len(column(app, "name")) > 1)
        keys = [("slash", "/"), *((c, c) for c in "a100"), ("enter", "\r")]
        for key, character in keys:
            app.post_message(events.Key(key, character))  # as the driver posts them
        await wait_until(
            pilot, lambda: _selected_name(app) == node and len(column(app, "name")) == 1
        )
        keys = [("colon", ":"), *((c, c) for c in "cordon"), ("enter", "\r")]
        for key, character in keys:
            app.post_message(events.Key(key, character))
        dialog = await _dialog(pilot, app)
        assert dialog.title_text.startswith(f"cordon Node {node}")
        assert len(app.screen_stack) == 3  # the view, the dialog: no describe, no drain
        await pilot.press("n")
