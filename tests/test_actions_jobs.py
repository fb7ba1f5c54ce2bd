"""Suspend / resume per job kind, restart refusals, scale input and InferenceService
ranges, through the ActionRunner against the simulated cluster (kubectl checks the
stored field)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from console.cluster.actions import ActionError, ActionRunner, ObjectRef
from console.cluster.actions_jobs import DeleteJob, RestartPod, Suspend
from console.cluster.actions_scale import MAX_REPLICAS, Scale, parse_replicas
from console.cluster.audit import AuditLog
from console.cluster.connection import connect
from console.cluster.kinds import KINDS
from console.sim.cluster import SimCluster
from tests.conftest import require_binary


@pytest.fixture(scope="module")
def sim():
    cluster = SimCluster(preset="tiny", seed=13).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def runner(sim, tmp_path: Path) -> ActionRunner:
    conn = connect(str(sim.kubeconfig_path), "kmc-sim")
    return ActionRunner(conn, AuditLog(tmp_path / "audit.jsonl"), user="kmc-sim-admin")


def _ref(kind: str, name: str, namespace: str = "ml") -> ObjectRef:
    k = KINDS[kind]
    return ObjectRef(k.kind, k.name, k.group, k.version, name, namespace)


def _jsonpath(sim: SimCluster, kind: str, name: str, path: str) -> str:
    kubectl = require_binary("kubectl")
    return subprocess.run(
        [kubectl, "--kubeconfig", str(sim.kubeconfig_path), "-n", "ml", "get", kind, name,
         "-o", f"jsonpath={path}"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip


def _create(runner: ActionRunner, path: str, body: dict) -> None:
    runner.connection.request("POST", path, body=body)


def _pod_template(gpus: int = 1) -> dict:
    return {
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "resources": {"limits": {"nvidia.com/gpu": gpus}},
                }
            ],
        }
    }


def test_batch_job_suspend_and_resume(sim, runner) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "act-batch", "namespace": "ml"},
        "spec": {"template": _pod_template()},
    }
    _create(runner, "/apis/batch/v1/namespaces/ml/jobs", job)
    plan = runner.prepare(Suspend(_ref("jobs", "act-batch")))
    assert plan.lines()[0] == "suspended: no → yes"
    assert plan.requests[0].body == {"spec": {"suspend": True}}
    assert (
        runner.execute(Suspend(_ref("jobs", "act-batch"))).message == "suspended Job ml/act-batch"
    )
    assert _jsonpath(sim, "job", "act-batch", "{.spec.suspend}") == "true"
    again = runner.execute(Suspend(_ref("jobs", "act-batch")))
    assert again.message == "Job ml/act-batch is already suspended"
    runner.execute(Suspend(_ref("jobs", "act-batch"), on=False))
    assert _jsonpath(sim, "job", "act-batch", "{.spec.suspend}") == "false"


def test_tfjob_suspend_uses_its_run_policy(sim, runner) -> None:
    job = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "TFJob",
        "metadata": {"name": "act-tf", "namespace": "ml"},
        "spec": {"tfReplicaSpecs": {"Worker": {"replicas": 1, "template": _pod_template()}}},
    }
    _create(runner, "/apis/kubeflow.org/v1/namespaces/ml/tfjobs", job)
    plan = runner.prepare(Suspend(_ref("tfjobs", "act-tf")))
    assert plan.requests[0].body == {"spec": {"runPolicy": {"suspend": True}}}
    runner.execute(Suspend(_ref("tfjobs", "act-tf")))
    assert _jsonpath(sim, "tfjob", "act-tf", "{.spec.runPolicy.suspend}") == "true"


def test_delete_states_its_propagation_policy(runner) -> None:
    plan = runner.prepare(DeleteJob(_ref("pytorchjobs", "llama-ft")))
    assert plan.requests[0].method == "DELETE"
    assert plan.requests[0].body["propagationPolicy"] == "Background"
    assert any("propagationPolicy Background" in note for note in plan.notes)


def test_restart_refuses_a_pod_without_a_controller(runner) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "act-bare", "namespace": "ml"},
        **_pod_template(0),
    }
    _create(runner, "/api/v1/namespaces/ml/pods", pod)
    with pytest.raises(ActionError, match="has no controller: deleting it would not bring it back"):
        runner.prepare(RestartPod(_ref("pods", "act-bare")))


def test_actions_refuse_the_wrong_kind() -> None:
    with pytest.raises(ActionError, match="cannot be suspended"):
        Suspend(_ref("deployments", "x"))
    with pytest.raises(ActionError, match="deletes training jobs only"):
        DeleteJob(_ref("deployments", "x"))
    with pytest.raises(ActionError, match="cannot be scaled"):
        Scale(_ref("jobs", "x"), "2")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "give a number"),
        ("-1", "cannot be negative"),
        ("abc", "must be a whole number"),
        ("1e9", "must be a whole number"),
        ("2.5", "must be a whole number"),
        ("٣", "must be a whole number"),  # a non-ASCII digit
        ("1000000000000", "is too many"),
        (str(MAX_REPLICAS + 1), "is too many"),
    ],
)
def test_bad_replica_counts(text: str, message: str) -> None:
    with pytest.raises(ActionError, match=message):
        parse_replicas(text)


def test_good_replica_counts() -> None:
    assert parse_replicas(" 0 ") == 0 and parse_replicas(str(MAX_REPLICAS)) == MAX_REPLICAS


def test_inference_service_ranges(runner) -> None:
    isvc = json.loads(runner.connection.get("/apis/serving.kserve.io/v1beta1/inferenceservices"))
    name = isvc["items"][0]["metadata"]["name"]
    ref = _ref("inferenceservices", name)
    with pytest.raises(ActionError, match="minReplicas 5 is above maxReplicas 2"):
        Scale(ref, "5..2")
    plan = runner.prepare(Scale(ref, "0..4"))
    assert plan.requests[0].body == {"spec": {"predictor": {"minReplicas": 0, "maxReplicas": 4}}}
    assert "minReplicas 0 lets KServe scale the model to zero" in plan.notes


def test_what_was_confirmed_is_what_is_written(sim, runner) -> None:
    """Scaled by someone else between the confirmation and the y: refused, nothing sent."""
    deployment = json.loads(runner.connection.get("/apis/apps/v1/deployments"))["items"][0]
    deployment.pop("status", None)
    deployment["metadata"] = {"name": "act-confirmed", "namespace": "ml"}
    deployment["spec"]["replicas"] = 2
    _create(runner, "/apis/apps/v1/namespaces/ml/deployments", deployment)
    action = Scale(_ref("deployments", "act-confirmed"), "3")
    confirmed = runner.prepare(action)
    assert confirmed.lines()[0] == "replicas: 2 → 3"
    scale = "/apis/apps/v1/namespaces/ml/deployments/act-confirmed/scale"
    runner.connection.request(
        "PATCH", scale, body={"spec": {"replicas": 4}},
        headers={"Content-Type": "application/merge-patch+json"},
    )  # fmt: skip
    mark = sim.requests.mark()
    with pytest.raises(ActionError, match=r"changed since you confirmed \(now: replicas: 4 → 3"):
        runner.execute(action, confirmed)
    assert [m for m, _p in sim.requests.since(mark, writes_only=True) if m == "PATCH"] == []
    assert _jsonpath(sim, "deployment", "act-confirmed", "{.spec.replicas}") == "4"
    assert runner.execute(action, runner.prepare(action)).message.endswith("replicas 4 → 3")


def test_scale_names_a_keda_scaled_object(runner) -> None:
    deployment = json.loads(runner.connection.get("/apis/apps/v1/deployments"))["items"][0]
    deployment.pop("status", None)
    deployment["metadata"] = {"name": "act-keda", "namespace": "ml"}
    _create(runner, "/apis/apps/v1/namespaces/ml/deployments", deployment)
    scaled = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "act-keda-so", "namespace": "ml"},
        # no kind in scaleTargetRef: KEDA's default is a Deployment
        "spec": {
            "scaleTargetRef": {"name": "act-keda"},
            "minReplicaCount": 0,
            "maxReplicaCount": 6,
        },
    }
    _create(runner, "/apis/keda.sh/v1alpha1/namespaces/ml/scaledobjects", scaled)
    plan = runner.prepare(Scale(_ref("deployments", "act-keda"), "5"))
    assert (
        "KEDA ScaledObject act-keda-so manages it (0..6): it will undo a manual scale" in plan.notes
    )
