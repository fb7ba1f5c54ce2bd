"""The job records keep what run links read: annotations (cleaned, applied configs left out)
and the pod templates' `MLFLOW_*` variables, decoded from the API's JSON."""

from __future__ import annotations

import msgspec

from console.cluster import wire
from console.cluster.decode_jobs import batch_job_record, kubeflow_job_record
from console.tracking.linking import JobRef, LinkRules, resolve


def _container(env: list[dict[str, str]]) -> dict:
    return {"name": "pytorch", "image": "pytorch:2", "env": env}


def test_kubeflow_job_keeps_run_links() -> None:
    body = {
        "metadata": {
            "name": "trainer",
            "namespace": "ml",
            "annotations": {
                "mlflow.org/run-id": "abc123",
                "kubectl.kubernetes.io/last-applied-configuration": "x" * 5000,
                "note": "line\x1b[31mred",
            },
        },
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {
                    "template": {
                        "spec": {
                            "containers": [
                                _container(
                                    [
                                        {"name": "MLFLOW_RUN_ID", "value": "def456"},
                                        {"name": "SECRET", "value": "hunter2"},
                                    ]
                                )
                            ]
                        }
                    }
                }
            }
        },
    }
    job = msgspec.json.decode(msgspec.json.encode(body), type=wire.KubeflowJob)
    record = kubeflow_job_record("PyTorchJob", job)
    assert record.annotations["mlflow.org/run-id"] == "abc123"
    assert "kubectl.kubernetes.io/last-applied-configuration" not in record.annotations
    assert "\x1b" not in record.annotations["note"]
    assert record.run_env == {"MLFLOW_RUN_ID": "def456"}  # other variables are not kept
    ref = JobRef("PyTorchJob", "ml", "trainer", "Running", record.annotations, record.run_env)
    assert resolve(ref, LinkRules(), None).rule == "annotation"
    env_first = LinkRules(order=("env", "annotation"))
    assert resolve(ref, env_first, None).run_id == "def456"


def test_batch_job_env() -> None:
    body = {
        "metadata": {"name": "j", "namespace": "ml"},
        "spec": {
            "template": {
                "spec": {"containers": [_container([{"name": "MLFLOW_RUN_ID", "value": "r1"}])]}
            }
        },
    }
    job = msgspec.json.decode(msgspec.json.encode(body), type=wire.BatchJob)
    assert batch_job_record(job).run_env == {"MLFLOW_RUN_ID": "r1"}
