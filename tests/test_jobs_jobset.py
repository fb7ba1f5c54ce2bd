"""JobSet, TrainJob (Kubeflow Trainer v2), MPIJob v2beta1 and XGBoost/JAX/Paddle jobs as the
upstream controllers write them (fixtures in tests/fixtures/jobs, sources noted in each),
through the production decoders, the jobs view's rows and its drill-down to pods."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_render_support import NOW, FakeTelemetry, decode, session

from console.cluster import views as cv
from console.cluster.kinds import KINDS
from console.metrics import WorkloadTelemetry
from console.render import JOBS
from console.render.base import Row, RowCache, RowContext

FIXTURES = Path(__file__).parent / "fixtures" / "jobs"


def fixture(name: str) -> tuple[dict[str, Any], Any]:
    """(the fixture, a session holding its objects decoded by the production decoders)."""
    data = json.loads((FIXTURES / name).read_text())
    records = []
    for kind, objects in data["objects"].items():
        for obj in objects:
            record = decode(kind, obj)
            assert record is not None, (kind, obj["metadata"]["name"])
            records.append((kind, record))
    return data, session(*records)


def job_rows(s: Any, **ctx: Any) -> dict[str, dict[str, str]]:
    rows = JOBS.build(s, RowContext(NOW, **ctx), RowCache(JOBS.columns))
    return {r.key: cells(r) for r in rows}


def cells(row: Row) -> dict[str, str]:
    return dict(zip((c.key for c in JOBS.columns), row.cells, strict=True))


def test_jobset_finds_its_pods_through_the_jobset_name() -> None:
    data, s = fixture("jobset_running.json")
    expect = data["expect"]
    rows = job_rows(s)
    assert list(rows) == ["JobSet/research/llama-pretrain"]
    c = rows["JobSet/research/llama-pretrain"]
    # a running JobSet has only Suspended=False: not blank, not Suspended
    assert c["state"] == expect["state"]
    assert c["replicas"] == expect["replicas"]  # ready pods / desired pods, per replicated job
    assert c["restarts"] == str(expect["restarts"])
    assert c["gpus"] == str(expect["gpus"])
    assert c["queue"] == "research-gpu"
    record = s.get("jobsets", ("research", "llama-pretrain"))
    assert {r.name: r.active for r in record.roles} == expect["roles_active"]  # Jobs × pods/Job
    row = cv.job_rows(s.cache, now=NOW)[0]
    assert row.pending_pods == expect["pending"]
    assert len(cv.job_pods(s.cache, record)) == 5
    # drill-down and logs reach the same five pods
    assert len(s.pods_of_job("research", "llama-pretrain")) == 5
    view, scope = JOBS.drill(record)
    assert view == "pods" and scope.job == ("research", "llama-pretrain")


def test_the_child_jobs_of_a_jobset_are_not_rows_of_their_own() -> None:
    child = {
        "metadata": {
            "name": "llama-pretrain-workers-0",
            "namespace": "research",
            "labels": {"jobset.sigs.k8s.io/jobset-name": "llama-pretrain"},
        },
        "spec": {
            "parallelism": 2,
            "template": {
                "spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": "8"}}}]}
            },
        },
        "status": {"active": 2},
    }
    _data, s = fixture("jobset_running.json")
    s.cache["jobs"]._apply([("ADDED", decode("jobs", child))])
    assert list(job_rows(s)) == ["JobSet/research/llama-pretrain"]


def test_trainjob_is_listed_once_running_with_gpus_from_its_runtime() -> None:
    data, s = fixture("trainjob_kueue.json")
    expect = data["expect"]
    rows = job_rows(s)
    assert list(rows) == ["TrainJob/llm/qwen-sft"]  # not again as its JobSet
    c = rows["TrainJob/llm/qwen-sft"]
    assert c["state"] == expect["state"]  # only Suspended=False (Resumed) + an active Job
    assert c["replicas"] == expect["replicas"]
    assert c["gpus"] == str(expect["gpus"])  # 2 nodes × 8 from the ClusterTrainingRuntime
    assert c["queue"] == "llm-gpu"
    assert len(s.pods_of_job("llm", "qwen-sft")) == 2


def test_trainjob_gpus_from_its_jobset_when_the_runtime_is_not_readable() -> None:
    _data, s = fixture("trainjob_kueue.json")
    s.cache["clustertrainingruntimes"]._apply(
        [("DELETED", s.get("clustertrainingruntimes", ("", "torch-distributed-gpu")))]
    )
    c = job_rows(s)["TrainJob/llm/qwen-sft"]
    assert c["gpus"] == "16" and c["replicas"] == "node 2/2"


def test_trainjob_own_resources_win_over_the_runtime() -> None:
    data, _ = fixture("trainjob_kueue.json")
    tj = data["objects"]["trainjobs"][0]
    tj["spec"]["trainer"].update(numNodes=1, resourcesPerNode={"limits": {"nvidia.com/gpu": "2"}})
    runtime = decode("clustertrainingruntimes", data["objects"]["clustertrainingruntimes"][0])
    s = session(("trainjobs", decode("trainjobs", tj)), ("clustertrainingruntimes", runtime))
    c = job_rows(s)["TrainJob/llm/qwen-sft"]
    assert c["gpus"] == "2" and c["replicas"] == "node 0/1"
    assert c["state"] == "Running"  # its Job counts say so even before its pods are listed


@pytest.mark.parametrize(
    ("conditions", "suspend", "jobs_status", "state"),
    [
        ([("Suspended", "True", "Suspended")], True, [], "Suspended"),
        ([("Suspended", "False", "Resumed")], False, [], "Pending"),
        (
            [("Suspended", "False", "Resumed"), ("Complete", "True", "JobsCompleted")],
            False,
            [],
            "Complete",
        ),
        ([("Failed", "True", "JobSetFailed")], False, [{"name": "node", "failed": 1}], "Failed"),
    ],
)
def test_trainjob_state_from_its_conditions(conditions, suspend, jobs_status, state) -> None:
    tj = {
        "metadata": {"name": "t", "namespace": "llm"},
        "spec": {"suspend": suspend, "trainer": {"numNodes": 1}},
        "status": {
            "conditions": [{"type": t, "status": st, "reason": r} for t, st, r in conditions],
            "jobsStatus": jobs_status,
        },
    }
    record = decode("trainjobs", tj)
    assert record.state == state
    assert record.suspended == (state == "Suspended")


def test_mpijob_is_watched_at_v2beta1_and_its_roles_read_from_job_role() -> None:
    assert KINDS["mpijobs"].path() == "/apis/kubeflow.org/v2beta1/mpijobs"
    data, s = fixture("mpijob_v2beta1.json")
    c = job_rows(s)["MPIJob/hpc/tensorflow-benchmarks"]
    assert c["state"] == data["expect"]["state"]
    assert c["gpus"] == str(data["expect"]["gpus"])
    assert c["replicas"] == data["expect"]["replicas"]


@pytest.mark.parametrize(
    ("plural", "kind", "specs_key", "roles"),
    [
        ("xgboostjobs", "XGBoostJob", "xgbReplicaSpecs", ("Master", "Worker")),
        ("jaxjobs", "JAXJob", "jaxReplicaSpecs", ("Worker",)),
        ("paddlejobs", "PaddleJob", "paddleReplicaSpecs", ("Master", "Worker")),
    ],
)
def test_xgboost_jax_paddle_jobs(plural: str, kind: str, specs_key: str, roles: tuple) -> None:
    """Shapes from the training-operator v1.8 examples (xgboost-dist, jax-dist-spmd-mnist,
    paddle-simple-gpu): replica specs under their own key, the common runPolicy/status."""
    assert KINDS[plural].path() == f"/apis/kubeflow.org/v1/{plural}"
    template = {
        "spec": {
            "containers": [{"name": kind.lower(), "resources": {"limits": {"nvidia.com/gpu": "1"}}}]
        }
    }
    obj = {
        "apiVersion": "kubeflow.org/v1",
        "kind": kind,
        "metadata": {
            "name": "demo",
            "namespace": "ml",
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {
            specs_key: {
                r: {"replicas": 2, "restartPolicy": "OnFailure", "template": template}
                for r in roles
            },
            "runPolicy": {"suspend": False},
        },
        "status": {
            "conditions": [
                {"type": "Created", "status": "True", "reason": f"{kind}Created"},
                {"type": "Running", "status": "True", "reason": f"{kind}Running"},
            ],
            "replicaStatuses": {r: {"active": 2} for r in roles},
        },
    }
    s = session((plural, decode(plural, obj)))
    c = job_rows(s)[f"{kind}/ml/demo"]
    assert c["kind"] == kind and c["state"] == "Running"
    assert c["gpus"] == str(2 * len(roles))


def test_trainjob_telemetry_is_its_jobsets_pods() -> None:
    """A TrainJob's pods name its JobSet as their workload: its UTIL comes from there."""
    _data, s = fixture("trainjob_kueue.json")
    figures = {
        ("JobSet", "llm", "qwen-sft"): WorkloadTelemetry(
            ("JobSet", "llm", "qwen-sft"), 16, 73.0, 0, ()
        )
    }
    c = job_rows(s, telemetry=FakeTelemetry(workloads=figures))["TrainJob/llm/qwen-sft"]
    assert c["util"].strip() == "73%"
