"""JobSet, TrainJob, MPIJob v2beta1, XGBoostJob and a KServe canary / stuck rollout end to
end: created through the official `kubernetes` client on the simulated cluster, run by its
controllers, read back by the console's cache (real HTTP list+watch) into the jobs and
servers rows; and `kubectl get` on the new kinds (discovery)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import kubernetes
import pytest

from console.cluster import views
from console.cluster.cache import ClusterCache
from console.cluster.connection import connect
from tests.conftest import require_binary, wait_for
from tests.kube import api_client

sim_cluster = pytest.importorskip("console.sim.cluster")
NS = "jobs9c"
# tiny has 6 GPUs free (4×L4 and 8×A100, minus its own job and service): TrainJob 2, JobSet 2,
# the service and its canary 2; the MPIJob runs on CPUs.
GPU_TEMPLATE = {
    "spec": {
        "restartPolicy": "Never",
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "containers": [
            {
                "name": "node",
                "image": "pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime",
                "resources": {"limits": {"nvidia.com/gpu": "1"}},
            }
        ],
    }
}


@pytest.fixture(scope="module")
def sim() -> Iterator[object]:
    cluster = sim_cluster.SimCluster(preset="tiny", seed=5).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def cache(sim) -> Iterator[ClusterCache]:
    custom = kubernetes.client.CustomObjectsApi(api_client(sim.kubeconfig_path))
    core = kubernetes.client.CoreV1Api(api_client(sim.kubeconfig_path))
    core.create_namespace({"metadata": {"name": NS}})

    def make(group: str, version: str, plural: str, body: dict, namespaced: bool = True) -> None:
        if namespaced:
            custom.create_namespaced_custom_object(group, version, NS, plural, body)
        else:
            custom.create_cluster_custom_object(group, version, plural, body)

    make(
        "trainer.kubeflow.org", "v1alpha1", "clustertrainingruntimes",
        {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "ClusterTrainingRuntime",
         "metadata": {"name": "torch-9c"},
         "spec": {"mlPolicy": {"numNodes": 1}, "template": {"spec": {"replicatedJobs": [
             {"name": "node", "template": {"spec": {"template": GPU_TEMPLATE}}}]}}}},
        namespaced=False,
    )  # fmt: skip
    make(
        "trainer.kubeflow.org", "v1alpha1", "trainjobs",
        {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob",
         "metadata": {"name": "tj", "labels": {"kueue.x-k8s.io/queue-name": "q"}},
         "spec": {"runtimeRef": {"name": "torch-9c"}, "trainer": {"numNodes": 2}}},
    )  # fmt: skip
    make(
        "jobset.x-k8s.io", "v1alpha2", "jobsets",
        {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "metadata": {"name": "js"},
         "spec": {"replicatedJobs": [{"name": "workers", "replicas": 2, "template": {
             "spec": {"parallelism": 1, "template": GPU_TEMPLATE}}}]}},
    )  # fmt: skip
    make(
        "kubeflow.org", "v2beta1", "mpijobs",
        {"apiVersion": "kubeflow.org/v2beta1", "kind": "MPIJob", "metadata": {"name": "mpi"},
         "spec": {"slotsPerWorker": 1, "runPolicy": {"cleanPodPolicy": "Running"},
                  "mpiReplicaSpecs": {"Launcher": {"replicas": 1, "template": {"spec": {
                      "containers": [{"name": "mpi", "image": "mpioperator/mpi-pi:openmpi"}]}}},
                      "Worker": {"replicas": 1, "template": {"spec": {
                          "containers": [{"name": "mpi", "image": "mpioperator/mpi-pi:openmpi"}]}}}}}},
    )  # fmt: skip
    make(
        "kubeflow.org", "v1", "xgboostjobs",
        {"apiVersion": "kubeflow.org/v1", "kind": "XGBoostJob", "metadata": {"name": "xgb"},
         "spec": {"xgbReplicaSpecs": {"Master": {"replicas": 1, "template": {"spec": {
             "containers": [{"name": "xgboost", "image": "kubeflow/xgboost-dist-iris"}]}}}}}},
    )  # fmt: skip
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "llm"},
        "spec": {"predictor": {"minReplicas": 1, "tolerations": GPU_TEMPLATE["spec"]["tolerations"],
                 "model": {"modelFormat": {"name": "huggingface"}, "storageUri": "hf://a/b",
                           "resources": {"limits": {"nvidia.com/gpu": "1"}}}}},
    }  # fmt: skip
    make("serving.kserve.io", "v1beta1", "inferenceservices", isvc)
    cache = ClusterCache(connect(str(sim.kubeconfig_path)), notify_interval=0.05).start()
    assert cache.wait_synced(20)
    wait_for(lambda: any(r.ready_replicas for r in views.server_rows(cache, NS)), 20, "isvc ready")
    canary = {
        "spec": {"predictor": {"canaryTrafficPercent": 25, "model": {"storageUri": "hf://a/c"}}}
    }
    custom.patch_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", NS, "inferenceservices", "llm", canary
    )
    yield cache
    cache.stop()


def _jobs(cache: ClusterCache) -> dict[tuple[str, str, str], views.JobRow]:
    return {r.key: r for r in views.job_rows(cache, NS)}


def test_jobs_of_the_new_kinds_run_and_read_right(cache: ClusterCache) -> None:
    def running() -> bool:
        rows = _jobs(cache)
        return all(
            rows.get(k) is not None and rows[k].state == "Running"
            for k in (("TrainJob", NS, "tj"), ("JobSet", NS, "js"), ("MPIJob", NS, "mpi"))
        )

    wait_for(running, 30, "TrainJob, JobSet and MPIJob running")
    rows = _jobs(cache)
    assert ("JobSet", NS, "tj") not in rows  # the TrainJob's JobSet: listed once, as the TrainJob
    tj = rows[("TrainJob", NS, "tj")]
    assert tj.gpus == 2 and [(r.name, r.desired) for r in tj.roles] == [("node", 2)]
    wait_for(lambda: _jobs(cache)[("TrainJob", NS, "tj")].roles[0].ready == 2, 20, "tj ready")
    js = _jobs(cache)[("JobSet", NS, "js")]
    assert js.gpus == 2 and js.roles[0].desired == 2
    wait_for(lambda: _jobs(cache)[("JobSet", NS, "js")].roles[0].ready == 2, 20, "js ready")
    assert ("XGBoostJob", NS, "xgb") in rows
    assert not any(k[0] == "Job" for k in rows)  # the JobSets' child Jobs are not rows


def test_canary_split_read_from_the_simulator(cache: ClusterCache) -> None:
    def split() -> list[tuple[str, int]]:
        row = next((r for r in views.server_rows(cache, NS) if r.name == "llm"), None)
        return [(t.revision, t.percent) for t in row.traffic] if row else []

    wait_for(
        lambda: split() == [("llm-predictor-00002", 25), ("llm-predictor-00001", 75)],
        30,
        "canary split",
    )
    row = next(r for r in views.server_rows(cache, NS) if r.name == "llm")
    assert row.mode == "Serverless" and row.desired_replicas == 2


@pytest.mark.parametrize(
    "resource",
    ["jobsets", "trainjobs", "clustertrainingruntimes", "mpijobs.v2beta1.kubeflow.org", "xgboostjobs", "jaxjobs", "paddlejobs"],
)  # fmt: skip
def test_kubectl_gets_the_new_kinds(sim, cache: ClusterCache, resource: str) -> None:
    kubectl = require_binary("kubectl")
    args = [kubectl, "--kubeconfig", str(sim.kubeconfig_path), "get", resource, "-A", "-o", "json"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    items = json.loads(out.stdout)["items"]
    expected = {
        "jobsets": {"js", "tj"},
        "trainjobs": {"tj"},
        "clustertrainingruntimes": {"torch-9c"},
    }
    expected["mpijobs.v2beta1.kubeflow.org"], expected["xgboostjobs"] = {"mpi"}, {"xgb"}
    want = expected.get(resource, set())
    assert want <= {i["metadata"]["name"] for i in items}
