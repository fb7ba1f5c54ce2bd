"""The console's write actions end to end on a simulated cluster: keys and `:` commands on
the selected row, the confirmation (y / n; Enter does not confirm), the effect as kubectl
sees it and in the audit log. Refusals are in test_app_actions_refusals.py."""

from __future__ import annotations

import copy

from console.cluster.audit import AuditLog
from tests.test_app_actions_support import (
    SIZE,
    admin,
    audit_home,
    dialog_of,
    get,
    kubectl,
    new_job,
    node_in,
    notes_of,
    select,
    sim,
    writes_after,
)
from tests.test_app_support import command, make_app, wait_until
from widgets.confirm import AskDialog, ConfirmDialog

__all__ = ["audit_home", "sim"]  # fixtures


async def test_cordon_then_uncordon_with_keys(sim, audit_home) -> None:
    node = node_in(sim, "a100")
    app = make_app(sim)
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "nodes", node)
        await pilot.press("c")
        dialog = await dialog_of(pilot, app)
        assert dialog.title_text == f"cordon Node {node}, context kmc-sim"
        assert dialog.changes == ("schedulable: yes → no",)
        assert any("pods keep running there" in w for w in dialog.warnings)
        await pilot.press("enter")  # typed ahead: does not confirm a write
        await pilot.pause(0.1)
        assert app.screen is dialog
        await pilot.press("y")
        await wait_until(pilot, lambda: f"cordoned Node {node}" in notes)
        assert (
            kubectl(sim, "get", "node", node, "-o", "jsonpath={.spec.unschedulable}").stdout
            == "true"
        )
        assert "SchedulingDisabled" in kubectl(sim, "get", "node", node).stdout
        await pilot.press("u")
        dialog = await dialog_of(pilot, app)
        assert dialog.changes == ("schedulable: no → yes",)
        await pilot.press("y")
        await wait_until(pilot, lambda: f"uncordoned Node {node}" in notes)
    assert kubectl(sim, "get", "node", node, "-o", "jsonpath={.spec.unschedulable}").stdout == ""
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
    node = node_in(sim, "a100")
    app = make_app(sim)
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "nodes", node)
        mark = sim.requests.mark()
        for key in ("n", "escape"):
            await pilot.press("c")
            await dialog_of(pilot, app)
            await pilot.press(key)
            await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        await wait_until(pilot, lambda: notes.count("cordon cancelled: nothing changed") == 2)
    assert writes_after(sim, mark) == []


async def test_scale_a_pytorchjob_validates_then_scales(sim) -> None:
    new_job(sim, "act-elastic", workers=2, elastic=(1, 4))
    app = make_app(sim, namespace="ml")
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "jobs", "act-elastic")
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
        assert writes_after(sim, mark) == []
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        await pilot.press("3", "enter")
        dialog = await dialog_of(pilot, app)
        assert dialog.title_text == "scale PyTorchJob act-elastic in namespace ml, context kmc-sim"
        assert dialog.changes[:2] == ("worker replicas: 2 → 3", "GPUs requested: 4 → 6")
        assert any(w.startswith("2 more GPUs asked") and "node pool" in w for w in dialog.warnings)
        await pilot.press("y")
        await wait_until(
            pilot, lambda: any(n.startswith("scaled PyTorchJob ml/act-elastic") for n in notes)
        )
    path = "jsonpath={.spec.pytorchReplicaSpecs.Worker.replicas}"
    assert kubectl(sim, "-n", "ml", "get", "pytorchjob", "act-elastic", "-o", path).stdout == "3"


async def test_scale_names_the_autoscaler_and_scales_a_model_server(sim) -> None:
    # A Deployment of the test's own (the preset's belong to an InferenceService).
    deployment = copy.deepcopy(get(sim, "/apis/apps/v1/deployments")["items"][0])
    deployment.pop("status", None)
    deployment["metadata"] = {"name": "act-deploy", "namespace": "ml"}
    deployment["spec"]["replicas"] = 1
    admin(sim).request("POST", "/apis/apps/v1/namespaces/ml/deployments", body=deployment)
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
    admin(sim).request("POST", hpas, body=hpa)
    isvc = get(sim, "/apis/serving.kserve.io/v1beta1/inferenceservices")["items"][0]["metadata"]
    app = make_app(sim)
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "servers", target["name"])
        await command(pilot, "scale 2")
        dialog = await dialog_of(pilot, app)
        assert (
            "HorizontalPodAutoscaler act-hpa manages it (1..3): it will undo a manual scale"
            in dialog.warnings
        )
        await pilot.press("n")
        await select(pilot, app, "servers", isvc["name"])
        await command(pilot, "scale 9")  # above its maxReplicas: refused, nothing sent
        await wait_until(pilot, lambda: any("is beyond maxReplicas" in n for n in notes))
        await command(pilot, "scale 2..5")
        dialog = await dialog_of(pilot, app)
        assert dialog.changes[:2] == ("minReplicas: 1 → 2", "maxReplicas: 3 → 5")
        await pilot.press("y")
        await wait_until(pilot, lambda: any(n.startswith("scaled InferenceService") for n in notes))
    path = "jsonpath={.spec.predictor.minReplicas} {.spec.predictor.maxReplicas}"
    got = kubectl(sim, "-n", isvc["namespace"], "get", "isvc", isvc["name"], "-o", path).stdout
    assert got == "2 5"


async def test_suspend_resume_and_delete_a_job(sim) -> None:
    new_job(sim, "act-suspend", workers=1)
    app = make_app(sim, namespace="ml")
    notes = notes_of(app)
    path = "jsonpath={.spec.runPolicy.suspend}"
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "jobs", "act-suspend")
        await command(pilot, "suspend")
        dialog = await dialog_of(pilot, app)
        assert dialog.changes[0] == "suspended: no → yes"
        assert dialog.changes[1].startswith("running pods: ")
        await pilot.press("y")
        await wait_until(pilot, lambda: "suspended PyTorchJob ml/act-suspend" in notes)
        assert (
            kubectl(sim, "-n", "ml", "get", "pytorchjob", "act-suspend", "-o", path).stdout
            == "true"
        )
        await command(pilot, "resume")
        await dialog_of(pilot, app)
        await pilot.press("y")
        await wait_until(pilot, lambda: "resumed PyTorchJob ml/act-suspend" in notes)
        assert (
            kubectl(sim, "-n", "ml", "get", "pytorchjob", "act-suspend", "-o", path).stdout
            == "false"
        )
        await pilot.press("ctrl+d")
        dialog = await dialog_of(pilot, app)
        assert dialog.title_text.startswith("delete PyTorchJob act-suspend in namespace ml")
        assert any("propagationPolicy Background" in w for w in dialog.warnings)
        await pilot.press("y")
        await wait_until(
            pilot, lambda: any(n.startswith("deleted PyTorchJob ml/act-suspend") for n in notes)
        )
    gone = kubectl(sim, "-n", "ml", "get", "pytorchjob", "act-suspend", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


async def test_restart_a_pod_with_ctrl_d(sim) -> None:
    pods = get(sim, "/api/v1/namespaces/ml/pods")["items"]
    pod = next(p for p in pods if p["metadata"]["name"].startswith("llama-ft-worker"))
    name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
    app = make_app(sim, namespace="ml")
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "pods", name)
        await pilot.press("ctrl+d")
        dialog = await dialog_of(pilot, app)
        assert dialog.title_text == f"restart Pod {name} in namespace ml, context kmc-sim"
        assert "PyTorchJob llama-ft makes a new one" in dialog.changes[0]
        await pilot.press("y")
        await wait_until(
            pilot, lambda: any(n.startswith(f"restarted Pod ml/{name}") for n in notes)
        )

    def recreated() -> bool:
        got = kubectl(
            sim, "-n", "ml", "get", "pod", name, "-o", "jsonpath={.metadata.uid}", check=False
        )
        return got.returncode == 0 and got.stdout not in ("", uid)

    from tests.conftest import wait_for

    wait_for(recreated, 30, "the controller recreates the pod")


async def test_the_audit_log_goes_where_the_setting_says(sim, audit_home, tmp_path) -> None:
    node = node_in(sim, "l4")
    elsewhere = tmp_path / "shared" / "kmc-audit.jsonl"
    app = make_app(sim, audit_log=str(elsewhere))
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "nodes", node)
        await command(pilot, "cordon")
        await dialog_of(pilot, app)
        await pilot.press("y")
        await wait_until(pilot, lambda: f"cordoned Node {node}" in notes)
        await command(pilot, "uncordon")
        await dialog_of(pilot, app)
        await pilot.press("y")
        await wait_until(pilot, lambda: f"uncordoned Node {node}" in notes)
    results = [e["result"] for e in AuditLog(elsewhere).entries()]
    assert results == ["started", "ok", "started", "ok"]
    assert audit_home.entries() == []
