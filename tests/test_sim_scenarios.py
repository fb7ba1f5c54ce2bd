"""The simulator's named incident scenarios: each builds the same objects under a seed, shows
its incident (and only its own) from the first read, `none` shows none, `all` shows every one;
the incidents through the real API (kubectl, the kubernetes client, the exporter through the
pod proxy, MLflow's client on a SQLite store); the command line's `--scenario`."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from console.cli import main
from console.sim import SCENARIOS, controllers, scenarios
from console.sim.clock import SimClock, parse_rfc3339
from console.sim.cluster import SimCluster
from console.sim.kinds import by_kind
from console.sim.runtime import SimContext
from console.sim.store import Store
from console.sim.telemetry import Telemetry
from tests.conftest import require_binary, wait_for

START = 1_780_000_000.0  # a fixed wall time, so two builds can be compared byte for byte
KINDS = ("Node", "Pod", "PyTorchJob", "InferenceService", "Deployment", "StatefulSet", "Event")


def _build(name: str, seed: int = 1) -> tuple[SimContext, Telemetry]:
    """Build and warm scenario `name` in-process, without serving it (what SimCluster does)."""
    clock = SimClock(start=START - scenarios.WARMUP, speed=0.0)  # time moves by advance() only
    ctx = SimContext(Store(clock, seed), clock, seed)
    layout = scenarios.build(ctx, name)
    controllers.start_controllers(ctx)
    telemetry = Telemetry(ctx)
    scenarios.warm(ctx, name, layout)
    return ctx, telemetry


def _dump(ctx: SimContext) -> bytes:
    return b"".join(
        orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        for kind in KINDS
        for obj in ctx.store.objects(by_kind(kind))
    )


def _samples(text: str | None) -> list[tuple[str, dict[str, str], float]]:
    """(family, labels, value) of each sample (the parser names a counter's samples `_total`)."""
    return [
        (family.name, s.labels, s.value)
        for family in text_string_to_metric_families(text or "")
        for s in family.samples
    ]


def _first_state(pod: dict[str, Any]) -> tuple[dict[str, Any], int]:
    cs = ((pod.get("status") or {}).get("containerStatuses") or [{}])[0]
    return cs.get("state") or {}, int(cs.get("restartCount") or 0)


def incidents_seen(ctx: SimContext, telemetry: Telemetry) -> set[str]:
    """Which incidents the cluster shows, read the way an operator would read them."""
    seen: set[str] = set()
    store, now = ctx.store, ctx.clock.now()
    nodes = store.objects(by_kind("Node"))
    pods = store.objects(by_kind("Pod"))
    idle_pods: set[str] = set()
    for node in telemetry.gpu_nodes():
        text = telemetry.node_metrics(node)
        if text is None:
            seen.add("exporter-down")
            continue
        for name, labels, value in _samples(text):
            if name == "DCGM_FI_DEV_XID_ERRORS" and value and labels.get("err_code") == "79":
                seen.add("xid")
            if name == "DCGM_FI_DEV_CLOCKS_EVENT_REASONS" and int(value) & 0x60:
                seen.add("hot-gpu")
            if name == "DCGM_FI_DEV_GPU_UTIL" and value == 0 and labels.get("pod"):
                idle_pods.add(labels["pod"])
    for node in nodes:
        conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
        if conditions.get("Ready") != "True":
            seen.add("node-notready")
        labels = node["metadata"]["labels"]
        if labels.get("nvidia.com/device-plugin.config") == "any" and labels.get(
            "nvidia.com/gpu.replicas"
        ) in (None, "1"):
            seen.add("timeslice-stuck")
    for pod in pods:
        meta, status = pod["metadata"], pod.get("status") or {}
        if meta["namespace"] == "gpu-operator":
            continue
        state, restarts = _first_state(pod)
        job = (meta.get("labels") or {}).get("training.kubeflow.org/job-name")
        if meta["name"] in idle_pods and "running" in state:
            seen.add("nccl-hang" if job else "idle-allocated")
        if (state.get("waiting") or {}).get("reason") == "CrashLoopBackOff" and restarts >= 5:
            seen.add("crashloop" if job else "server-down")
        if status.get("phase") == "Pending":
            created = parse_rfc3339(meta["creationTimestamp"])
            assert now - created > 600, meta["name"]
            seen.add("pending-gpus")
    return seen


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_scenario_shows_its_incident_and_no_other(name: str) -> None:
    ctx, telemetry = _build(name)
    want = set(scenarios.incidents(name))
    assert incidents_seen(ctx, telemetry) == want
    if name == "all":
        assert want == set(SCENARIOS) - {"none", "all"}


@pytest.mark.parametrize("name", ["none", "all"])
def test_same_seed_same_objects(name: str) -> None:
    first, second = _dump(_build(name)[0]), _dump(_build(name)[0])
    assert first == second
    assert _dump(_build(name, seed=2)[0]) != first  # the seed does name things


# ----- through the real API ------------------------------------------------------------------


@pytest.fixture(scope="module")
def all_sim(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"
    sim = SimCluster(scenario="all", seed=1, mlflow_uri=uri).start(timeout=240)
    yield sim, uri
    sim.stop()


def _kubectl(sim: SimCluster, *args: str) -> str:
    kubectl = require_binary("kubectl")
    done = subprocess.run(
        [kubectl, "--kubeconfig", str(sim.kubeconfig_path), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _api(sim: SimCluster) -> Any:
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(str(sim.kubeconfig_path)))


def test_all_nodes_through_kubectl(all_sim: tuple[SimCluster, str]) -> None:
    sim, _ = all_sim
    nodes = json.loads(_kubectl(sim, "get", "nodes", "-o", "json", "--show-managed-fields"))
    nodes = nodes["items"]
    by_cond: dict[str, list[dict[str, Any]]] = {}
    for node in nodes:
        for c in node["status"]["conditions"]:
            by_cond.setdefault(f"{c['type']}={c['status']}", []).append(c)
    (unknown,) = by_cond["Ready=Unknown"]
    assert unknown["reason"] == "NodeStatusUnknown"
    assert unknown["message"] == "Kubelet stopped posting node status."
    (pressure,) = by_cond["MemoryPressure=True"]
    assert pressure["reason"] == "KubeletHasInsufficientMemory"
    lost = next(
        n for n in nodes if any(c["status"] == "Unknown" for c in n["status"]["conditions"])
    )
    taints = {(t["key"], t["effect"]) for t in lost["spec"]["taints"]}
    assert {("node.kubernetes.io/unreachable", e) for e in ("NoSchedule", "NoExecute")} <= taints
    name = lost["metadata"]["name"]
    on_it = json.loads(
        _kubectl(
            sim, "get", "pods", "-A", "--field-selector", f"spec.nodeName={name}", "-o", "json"
        )
    )["items"]
    assert any(
        "nvidia.com/gpu" in (c["resources"].get("limits") or {})
        for p in on_it
        for c in p["spec"]["containers"]
    )
    # the time-slicing request that did not converge: label set 30 min ago, allocatable as before
    (stuck,) = [n for n in nodes if n["metadata"]["labels"].get("nvidia.com/device-plugin.config")]
    assert stuck["status"]["allocatable"]["nvidia.com/gpu"] == "4"
    assert stuck["metadata"]["labels"]["nvidia.com/gpu.replicas"] == "1"
    (managed,) = [m for m in stuck["metadata"]["managedFields"] if m["manager"] == "kmc"]
    assert time.time() - parse_rfc3339(managed["time"]) > 25 * 60


def test_all_pods_through_the_client(all_sim: tuple[SimCluster, str]) -> None:
    sim, _ = all_sim
    pods = _api(sim).list_pod_for_all_namespaces().items
    by_name = {p.metadata.name: p for p in pods}
    crash = by_name["bert-large-finetune-master-0"].status.container_statuses[0]
    assert crash.state.waiting.reason == "CrashLoopBackOff" and crash.restart_count >= 5
    server = next(p for n, p in by_name.items() if n.startswith("sdxl-turbo-predictor-"))
    assert server.status.container_statuses[0].state.waiting.reason == "CrashLoopBackOff"
    failed = by_name["vit-l16-eval-master-0"]
    assert failed.status.phase == "Failed"
    finished = failed.status.container_statuses[0].state.terminated.finished_at.timestamp()
    assert 8 * 60 < time.time() - finished < 15 * 60
    pending = {
        n: next(c for c in p.status.conditions if c.type == "PodScheduled")
        for n, p in by_name.items()
        if p.status.phase == "Pending"
    }
    messages = " | ".join(c.message for c in pending.values())
    assert "Insufficient nvidia.com/gpu" in messages
    assert "had untolerated taint {nvidia.com/gpu: present}" in messages
    assert "didn't match Pod's node affinity/selector" in messages
    assert pending["llama3-70b-lora-queued"].reason == "SchedulingGated"
    assert len([n for n in by_name if n.startswith("qwen2-7b-chat-predictor-")]) == 2
    for down in ("nvidia-dcgm-exporter", "nvidia-device-plugin-daemonset"):
        (pod,) = [
            p
            for p in pods
            if p.metadata.name.startswith(down)
            and p.status.container_statuses[0].state.waiting is not None
        ]
        assert pod.status.container_statuses[0].state.waiting.reason == "CrashLoopBackOff"


def test_all_servers_and_queued_jobs_through_kubectl(all_sim: tuple[SimCluster, str]) -> None:
    sim, _ = all_sim
    isvcs = json.loads(_kubectl(sim, "get", "inferenceservices", "-n", "serving", "-o", "json"))
    ready = {
        i["metadata"]["name"]: next(c for c in i["status"]["conditions"] if c["type"] == "Ready")
        for i in isvcs["items"]
    }
    assert ready["sdxl-turbo"]["status"] == "False"
    assert ready["llama3-8b-instruct"]["status"] == ready["qwen2-7b-chat"]["status"] == "True"
    busy = next(i for i in isvcs["items"] if i["metadata"]["name"] == "qwen2-7b-chat")
    deployment = json.loads(
        _kubectl(sim, "get", "deployment", "-n", "serving", "qwen2-7b-chat-predictor", "-o", "json")
    )
    assert deployment["status"]["readyReplicas"] == busy["spec"]["predictor"]["maxReplicas"] == 2
    hpa = json.loads(_kubectl(sim, "get", "hpa", "-n", "serving", "-o", "json"))["items"]
    (limited,) = [
        c for h in hpa for c in h["status"]["conditions"] if c["type"] == "ScalingLimited"
    ]
    assert limited["status"] == "True" and limited["reason"] == "TooManyReplicas"
    queued = json.loads(
        _kubectl(sim, "get", "pytorchjob", "-n", "ml-research", "mixtral-8x22b-sft", "-o", "json")
    )
    assert queued["spec"]["runPolicy"]["suspend"] is True
    assert queued["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "research-h100"


def test_all_exporters_through_the_pod_proxy(all_sim: tuple[SimCluster, str]) -> None:
    from kubernetes.client.exceptions import ApiException

    sim, _ = all_sim
    api = _api(sim)
    exporters = api.list_namespaced_pod("gpu-operator", label_selector="app=nvidia-dcgm-exporter")
    series: list[tuple[str, dict[str, str], float]] = []
    refused = []
    for pod in exporters.items:
        try:
            text = api.connect_get_namespaced_pod_proxy_with_path(
                f"{pod.metadata.name}:9400", "gpu-operator", "metrics"
            )
        except ApiException as exc:
            refused.append((pod.spec.node_name, exc.status))
            continue
        series += _samples(text)
    assert len(refused) == 1 and refused[0][1] == 503
    values = {}
    for name, labels, value in series:
        values.setdefault(name, []).append((labels, value))
    (xid,) = [(lb, v) for lb, v in values["DCGM_FI_DEV_XID_ERRORS"] if v]
    assert xid[1] == 79 and xid[0]["err_code"] == "79"
    assert xid[0]["err_msg"] == "GPU has fallen off the bus"
    assert xid[0]["pod"].startswith("llama3-70b-pretrain-")
    gpu = (xid[0]["Hostname"], xid[0]["gpu"])
    for family in ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS"):
        bad = {(lb["Hostname"], lb["gpu"]) for lb, v in values[family] if v}
        assert bad == {gpu}, family
    assert len(values["DCGM_FI_DEV_CLOCKS_EVENT_REASONS"]) == len(values["DCGM_FI_DEV_GPU_TEMP"])
    (hot,) = [lb for lb, v in values["DCGM_FI_DEV_CLOCKS_EVENT_REASONS"] if v]
    temps = {(lb["Hostname"], lb["gpu"]): v for lb, v in values["DCGM_FI_DEV_GPU_TEMP"]}
    assert temps[(hot["Hostname"], hot["gpu"])] >= 85
    assert refused[0][0] not in {lb["Hostname"] for _, lb, _ in series}
    # what a Prometheus server scrapes: the node stays a target, its scrape is refused
    import requests

    targets = requests.get(f"{sim.metrics_url}/targets", timeout=10).json()
    assert refused[0][0] in {t["labels"]["node"] for t in targets}
    scrape = requests.get(f"{sim.metrics_url}/nodes/{refused[0][0]}/metrics", timeout=10)
    assert scrape.status_code == 503


def test_all_mlflow_run_stalled_from_the_first_read(all_sim: tuple[SimCluster, str]) -> None:
    from mlflow.tracking import MlflowClient

    sim, uri = all_sim
    jobs = {
        j["metadata"]["name"]: j
        for j in json.loads(_kubectl(sim, "get", "pytorchjobs", "-A", "-o", "json"))["items"]
    }
    hung = jobs["gpt-neox-20b-pretrain"]
    assert hung["status"]["conditions"][-1]["type"] == "Running"
    run_id = hung["metadata"]["annotations"]["mlflow.org/run-id"]
    mlflow = MlflowClient(tracking_uri=uri)
    last = max(m.timestamp for m in mlflow.get_metric_history(run_id, "loss")) / 1000
    assert time.time() - last > 20 * 60
    healthy = mlflow.search_runs(
        [e.experiment_id for e in mlflow.search_experiments()],
        "tags.`k8s.job` = 'ml-research/mistral-7b-sft'",
    )
    assert healthy
    fresh = max(m.timestamp for m in mlflow.get_metric_history(healthy[0].info.run_id, "loss"))
    assert time.time() - fresh / 1000 < 5 * 60
    logs = _api(sim).read_namespaced_pod_log("gpt-neox-20b-pretrain-master-0", "ml-research")
    assert "Watchdog caught collective operation timeout" in logs


def test_none_through_kubectl() -> None:
    with SimCluster(scenario="none", seed=1, metrics_port=None) as sim:
        nodes = json.loads(_kubectl(sim, "get", "nodes", "-o", "json"))["items"]
        assert all(
            c["status"] == ("True" if c["type"] == "Ready" else "False")
            for n in nodes
            for c in n["status"]["conditions"]
        )
        pods = json.loads(_kubectl(sim, "get", "pods", "-A", "-o", "json"))["items"]
        assert pods and all(p["status"]["phase"] == "Running" for p in pods)
        assert all(
            cs["ready"] and cs["restartCount"] == 0
            for p in pods
            for cs in p["status"]["containerStatuses"]
        )
        # the API server records who set a label, and when (what a time-slicing change leaves)
        node = nodes[0]["metadata"]["name"]
        _kubectl(sim, "label", "node", node, "nvidia.com/device-plugin.config=any")
        got = json.loads(_kubectl(sim, "get", "node", node, "-o", "json", "--show-managed-fields"))
        (entry,) = [m for m in got["metadata"]["managedFields"] if m["manager"] == "kubectl-label"]
        assert "f:nvidia.com/device-plugin.config" in entry["fieldsV1"]["f:metadata"]["f:labels"]
        assert abs(parse_rfc3339(entry["time"]) - time.time()) < 120


# ----- the command line --------------------------------------------------------------------


@pytest.mark.parametrize("command", [["demo"], ["sim", "serve"]])
def test_preset_with_scenario_is_a_usage_error(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--preset", "tiny", "--scenario", "xid"])
    assert result.exit_code == 2
    assert "--preset and --scenario cannot be used together" in result.output


def test_demo_hands_the_scenario_to_the_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    import console.cli as cli
    import console.sim.process as process

    # The console itself (a TUI) and the child process are replaced: only the wiring is tested
    # here; test_start_process_with_a_scenario starts a real one.
    started: list[dict[str, Any]] = []
    opened: list[dict[str, Any]] = []

    class FakeSim:
        kubeconfig = "/tmp/kmc-fake-kubeconfig"

        def stop(self, timeout: float = 1.0) -> None:
            pass

    monkeypatch.setattr(process, "start_process", lambda **kw: started.append(kw) or FakeSim())
    monkeypatch.setattr(
        cli, "run_console", lambda options, guard=None: opened.append(options.layer()) or 0
    )
    result = CliRunner().invoke(main, ["demo", "--scenario", "nccl-hang", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert started[-1]["scenario"] == "nccl-hang" and started[-1]["seed"] == 7
    assert started[-1]["mlflow_uri"]  # its runs go to the demo's MLflow store
    assert opened[-1]["mlflow_tracking_uri"] == started[-1]["mlflow_uri"]
    assert "scenario nccl-hang" in result.output


def test_help_lists_the_scenarios() -> None:
    result = CliRunner().invoke(main, ["sim", "serve", "--help"], terminal_width=400)
    assert result.exit_code == 0
    assert all(name in result.output for name in SCENARIOS)


def test_start_process_with_a_scenario() -> None:
    from console.sim.process import start_process

    with start_process(scenario="exporter-down") as sim:
        assert sim.info["scenario"] == "exporter-down"
        kubectl = require_binary("kubectl")

        def crash_looping() -> bool:
            out = subprocess.run(
                [kubectl, "--kubeconfig", str(sim.kubeconfig), "get", "pods", "-n", "gpu-operator"],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout
            return "CrashLoopBackOff" in out

        wait_for(crash_looping, what="the exporter crash-looping")
