"""KServe InferenceServices as KServe writes them (tests/fixtures/kserve/rollouts.json, sources
noted there): a canary's traffic split, a rollout stuck on GPUs, a scaled-to-zero service,
framework predictors' GPUs and Knative's `<revision>-deployment` names, through the
production decoders and the servers view."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_render_support import NOW, decode, session

from console.cluster import views as cv
from console.cluster.detail import describe
from console.render import SERVERS
from console.render.base import RowCache, RowContext

FIXTURE = Path(__file__).parent / "fixtures" / "kserve" / "rollouts.json"


def fixture() -> tuple[dict[str, Any], Any]:
    data = json.loads(FIXTURE.read_text())
    records = [(k, decode(k, o)) for k, objs in data["objects"].items() for o in objs]
    assert all(r is not None for _, r in records)
    return data, session(*records)


def server_rows(s: Any) -> dict[str, tuple[dict[str, str], Any]]:
    rows = SERVERS.build(s, RowContext(NOW), RowCache(SERVERS.columns))
    keys = [c.key for c in SERVERS.columns]
    return {r.key: (dict(zip(keys, r.cells, strict=True)), r) for r in rows}


def test_canary_shows_its_traffic_split() -> None:
    data, s = fixture()
    expect = data["expect"]["llama3-8b"]
    cells, row = server_rows(s)["InferenceService/serving/llama3-8b"]
    assert cells["revision"] == expect["revision"]  # not just the canary's revision
    assert cells["replicas"] == expect["replicas"]  # both revisions' Deployments
    assert cells["gpus"] == str(expect["gpus"])
    assert cells["mode"] == expect["mode"]  # status.deploymentMode, no annotation set
    assert cells["ready"] == "True" and row.hint is expect["hint"]


def test_rollout_stuck_on_gpus_says_why() -> None:
    data, s = fixture()
    expect = data["expect"]["mixtral-8x7b"]
    cells, row = server_rows(s)["InferenceService/serving/mixtral-8x7b"]
    # traffic stays on 00002; 00003 cannot start, and the row says what is missing
    assert cells["revision"] == expect["revision"]
    record = s.get("inferenceservices", ("serving", "mixtral-8x7b"))
    assert record.rollout_message.startswith('Revision "mixtral-8x7b-predictor-00003" failed')
    assert row.hint == expect["hint"]
    assert cells["ready"] == "True · 00003 pending"  # still serving; visible at 80 columns
    assert cells["replicas"] == expect["replicas"]
    assert cells["gpus"] == str(expect["gpus"])  # the pending 00003 pod holds none
    assert record.gpus_per_pod == expect["gpus_per_pod"]  # from predictor.pytorch.resources
    assert record.model_format == "pytorch"


def test_scaled_to_zero_is_shown_as_such() -> None:
    data, s = fixture()
    expect = data["expect"]["bert-sentiment"]
    cells, _row = server_rows(s)["InferenceService/serving/bert-sentiment"]
    assert cells["ready"] == expect["ready"]
    assert cells["replicas"] == expect["replicas"]
    (server,) = [r for r in cv.server_rows(s.cache, now=NOW) if r.name == "bert-sentiment"]
    assert server.gpus_per_pod == expect["gpus_per_pod"]  # predictor.tensorflow.resources


def test_knative_revision_deployments_are_not_servers_of_their_own() -> None:
    _data, s = fixture()
    assert sorted(server_rows(s)) == [
        "InferenceService/serving/bert-sentiment",
        "InferenceService/serving/llama3-8b",
        "InferenceService/serving/mixtral-8x7b",
    ]
    # even without KServe's label on them (older Knative revisions): matched by name
    data = json.loads(FIXTURE.read_text())
    deps = data["objects"]["deployments"]
    for dep in deps:
        dep["metadata"]["labels"] = {}
        dep["spec"]["template"]["metadata"]["labels"] = {}
    records = [
        ("inferenceservices", decode("inferenceservices", o))
        for o in data["objects"]["inferenceservices"]
    ]
    records += [("deployments", decode("deployments", d)) for d in deps]
    assert len(server_rows(session(*records))) == 3


def test_annotation_mode_when_status_has_none_and_revision_without_split() -> None:
    obj = {
        "metadata": {
            "name": "raw",
            "namespace": "serving",
            "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"},
        },
        "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}}}},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "components": {
                "predictor": {
                    "latestReadyRevision": "raw-predictor-00001",
                    "latestCreatedRevision": "raw-predictor-00001",
                }
            },
        },
    }
    s = session(("inferenceservices", decode("inferenceservices", obj)))
    cells, row = server_rows(s)["InferenceService/serving/raw"]
    assert cells["mode"] == "RawDeployment"
    assert cells["revision"] == "00001" and row.hint is None


def test_a_revision_not_ready_for_another_reason_shows_the_message() -> None:
    message = 'Revision "x-predictor-00002" failed with message: Back-off pulling image "bad".'
    obj = {
        "metadata": {"name": "x", "namespace": "serving"},
        "spec": {"predictor": {"sklearn": {"storageUri": "gs://m"}}},
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True"},
                {
                    "type": "LatestDeploymentReady",
                    "status": "False",
                    "reason": "RevisionFailed",
                    "message": message,
                },
            ],
            "components": {
                "predictor": {
                    "latestReadyRevision": "x-predictor-00001",
                    "latestCreatedRevision": "x-predictor-00002",
                    "traffic": [
                        {
                            "revisionName": "x-predictor-00001",
                            "percent": 100,
                            "latestRevision": True,
                        }
                    ],
                }
            },
        },
    }
    s = session(("inferenceservices", decode("inferenceservices", obj)))
    cells, row = server_rows(s)["InferenceService/serving/x"]
    assert cells["revision"] == f"00001; 00002 not ready: {message}"
    assert row.hint == "warn" and cells["model"] == "sklearn"


def test_llminferenceservice_row_its_pods_and_not_its_deployment() -> None:
    data = json.loads((FIXTURE.parent / "llminferenceservice.json").read_text())
    records = [(k, decode(k, o)) for k, objs in data["objects"].items() for o in objs]
    assert all(r is not None for _, r in records)
    s = session(*records)
    rows = server_rows(s)
    assert list(rows) == ["LLMInferenceService/serving/llama-3-8b"]  # its Deployment: no row
    cells, row = rows["LLMInferenceService/serving/llama-3-8b"]
    expect = data["expect"]
    assert cells["kind"] == "LLMInferenceService"
    assert cells["replicas"] == expect["replicas"] and cells["gpus"] == str(expect["gpus"])
    assert cells["ready"] == expect["ready"] and row.hint == "warn"
    assert cells["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    view, scope = SERVERS.drill(row.record)
    assert view == "pods" and scope.workload == ("serving", "LLMInferenceService", "llama-3-8b")
    assert len(s.pods_of(*scope.workload)) == 3
    assert SERVERS.kind_of(row.record) == "llminferenceservices"


def test_the_detail_shows_the_split_and_the_whole_rollout_message() -> None:
    _data, s = fixture()
    text = describe(s.get("inferenceservices", ("serving", "mixtral-8x7b")), s.cache)
    assert "Latest created: mixtral-8x7b-predictor-00003" in " ".join(text.split())
    assert "preemption: 0/6 nodes are available" in text  # the message whole, not its gist
    canary = describe(s.get("inferenceservices", ("serving", "llama3-8b")), s.cache)
    assert "llama3-8b-predictor-00002 10% (latest), llama3-8b-predictor-00001 90% (prev)" in canary
