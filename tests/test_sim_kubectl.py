"""Real-client conformance: kubectl against the simulated cluster, as an on-call engineer uses it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import kubernetes
import pytest

from tests.conftest import require_binary
from tests.kube import api_client, kubectl, read_until

pytestmark = pytest.mark.kubectl


@pytest.fixture(scope="module")
def kc() -> str:
    return require_binary("kubectl")


@pytest.fixture(scope="module")
def sim():
    from console.sim.cluster import SimCluster

    cluster = SimCluster(preset="tiny", seed=3).start()
    yield cluster
    cluster.stop()


def run(kc: str, sim, *args: str, **kw):
    return kubectl(kc, sim.kubeconfig_path, *args, **kw)


def _gpu_nodes(sim) -> list[str]:
    core = kubernetes.client.CoreV1Api(api_client(sim.kubeconfig_path))
    return [
        n.metadata.name for n in core.list_node(label_selector="nvidia.com/gpu.present=true").items
    ]


def test_get_nodes_prints_server_side_columns(kc, sim) -> None:
    out = run(kc, sim, "get", "nodes").stdout
    header = out.splitlines()[0].split()
    assert header[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert len(out.splitlines()) == 4
    assert "Ready" in out


def test_get_pods_wide_all_namespaces(kc, sim) -> None:
    out = run(kc, sim, "get", "pods", "-A", "-o", "wide").stdout
    header = out.splitlines()[0]
    for column in ("NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"):
        assert column in header
    assert "Running" in out


def test_get_training_jobs_and_inference_services(kc, sim) -> None:
    jobs = run(kc, sim, "get", "pytorchjobs", "-A").stdout
    assert jobs.splitlines()[0].split()[:3] == ["NAMESPACE", "NAME", "STATE"]
    assert len(jobs.splitlines()) >= 2
    isvc = run(kc, sim, "get", "isvc", "-A").stdout
    assert "URL" in isvc.splitlines()[0] and len(isvc.splitlines()) >= 2


def test_get_json_is_a_real_list(kc, sim) -> None:
    data = json.loads(run(kc, sim, "get", "pods", "-A", "-o", "json").stdout)
    assert data["kind"] == "List" and data["items"]


def _pod(name: str) -> dict:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def test_watch_sees_a_change(kc, sim) -> None:
    core = kubernetes.client.CoreV1Api(api_client(sim.kubeconfig_path))
    core.create_namespaced_pod("default", _pod("before-watch"))
    env = {**os.environ, "KUBECACHEDIR": str(Path(sim.kubeconfig_path).parent / "kube-cache")}
    proc = subprocess.Popen(
        [kc, "--kubeconfig", str(sim.kubeconfig_path), "get", "pods", "-n", "default", "-w"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        # kubectl lists first, then watches from the list's resourceVersion: once the list is
        # printed, a pod created now can only reach kubectl through the watch
        assert "before-watch" in read_until(proc, "before-watch", 60)
        core.create_namespaced_pod("default", _pod("seen-by-watch"))
        assert "seen-by-watch" in read_until(proc, "seen-by-watch", 60)
    finally:
        proc.kill()
        proc.wait()


def test_time_slicing_label_changes_allocatable(kc, sim) -> None:
    node = _gpu_nodes(sim)[0]
    before = int(
        run(
            kc, sim, "get", "node", node, "-o", "jsonpath={.status.allocatable.nvidia\\.com/gpu}"
        ).stdout
    )
    physical = int(
        run(
            kc,
            sim,
            "get",
            "node",
            node,
            "-o",
            "jsonpath={.metadata.labels.nvidia\\.com/gpu\\.count}",
        ).stdout
    )
    run(kc, sim, "label", "node", node, "nvidia.com/device-plugin.config=any", "--overwrite")
    sim.advance(10)
    after = json.loads(run(kc, sim, "get", "node", node, "-o", "json").stdout)
    replicas = int(after["metadata"]["labels"]["nvidia.com/gpu.replicas"])
    assert replicas > 1
    assert int(after["status"]["allocatable"]["nvidia.com/gpu"]) == physical * replicas
    assert after["metadata"]["labels"]["nvidia.com/gpu.product"].endswith("-SHARED")
    assert after["metadata"]["labels"]["nvidia.com/gpu.sharing-strategy"] == "time-slicing"
    run(kc, sim, "label", "node", node, "nvidia.com/device-plugin.config-")
    sim.advance(10)
    restored = run(
        kc, sim, "get", "node", node, "-o", "jsonpath={.status.allocatable.nvidia\\.com/gpu}"
    ).stdout
    assert int(restored) == before == physical


def test_cordon_and_uncordon(kc, sim) -> None:
    node = _gpu_nodes(sim)[-1]
    assert "cordoned" in run(kc, sim, "cordon", node).stdout
    sim.advance(2)
    obj = json.loads(run(kc, sim, "get", "node", node, "-o", "json").stdout)
    assert obj["spec"]["unschedulable"] is True
    assert {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}.items() <= obj[
        "spec"
    ]["taints"][0].items() or any(
        t["key"] == "node.kubernetes.io/unschedulable" for t in obj["spec"]["taints"]
    )
    assert "SchedulingDisabled" in run(kc, sim, "get", "node", node).stdout
    assert "uncordoned" in run(kc, sim, "uncordon", node).stdout
    sim.advance(2)
    obj = json.loads(run(kc, sim, "get", "node", node, "-o", "json").stdout)
    assert not obj["spec"].get("unschedulable")
    assert not any(
        t["key"] == "node.kubernetes.io/unschedulable" for t in obj["spec"].get("taints") or []
    )


def test_scale_deployment(kc, sim) -> None:
    run(
        kc, sim, "create", "deployment", "web", "--image=nginx", "-n", "default", "--validate=false"
    )
    sim.advance(3)
    assert (
        "scaled"
        in run(kc, sim, "scale", "deployment", "web", "-n", "default", "--replicas=3").stdout
    )
    sim.advance(5)
    obj = json.loads(run(kc, sim, "get", "deployment", "web", "-n", "default", "-o", "json").stdout)
    assert obj["spec"]["replicas"] == 3
    assert obj["status"].get("readyReplicas") == 3
    bad = run(kc, sim, "scale", "deployment", "web", "-n", "default", "--replicas=-1", check=False)
    assert bad.returncode != 0


def test_scale_pytorchjob(kc, sim) -> None:
    jobs = json.loads(run(kc, sim, "get", "pytorchjobs", "-A", "-o", "json").stdout)["items"]
    job = next(j for j in jobs if "Worker" in j["spec"]["pytorchReplicaSpecs"])
    ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
    assert "scaled" in run(kc, sim, "scale", "pytorchjob", name, "-n", ns, "--replicas=2").stdout
    obj = json.loads(run(kc, sim, "get", "pytorchjob", name, "-n", ns, "-o", "json").stdout)
    assert obj["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] == 2


def _training_pod(kc, sim) -> tuple[str, str]:
    pods = json.loads(
        run(
            kc,
            sim,
            "get",
            "pods",
            "-A",
            "-l",
            "training.kubeflow.org/job-role=master",
            "-o",
            "json",
        ).stdout
    )
    running = [
        p
        for p in pods["items"]
        if p["status"].get("phase") == "Running"
        and all(cs.get("restartCount") == 0 for cs in p["status"].get("containerStatuses") or [])
    ]
    assert running, "the tiny preset should have a running training master"
    return running[0]["metadata"]["namespace"], running[0]["metadata"]["name"]


def test_logs_tail_and_follow(kc, sim) -> None:
    ns, pod = _training_pod(kc, sim)
    out = run(kc, sim, "logs", pod, "-n", ns, "--tail=5").stdout
    assert len(out.strip().splitlines()) == 5
    stamped = run(kc, sim, "logs", pod, "-n", ns, "--tail=1", "--timestamps").stdout
    assert stamped[:4].isdigit() and "Z " in stamped
    env = {**os.environ, "KUBECACHEDIR": str(Path(sim.kubeconfig_path).parent / "kube-cache")}
    proc = subprocess.Popen(
        [kc, "--kubeconfig", str(sim.kubeconfig_path), "logs", "-f", pod, "-n", ns, "--tail=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        out = read_until(proc, "", 20, on_idle=lambda: sim.advance(2), lines=2)
        assert len(out.splitlines()) >= 2, f"logs -f produced {out!r}"
    finally:
        proc.kill()
        proc.wait()


def test_logs_previous(kc, sim) -> None:
    pods = json.loads(run(kc, sim, "get", "pods", "-A", "-o", "json").stdout)["items"]
    restarted = [
        p
        for p in pods
        if any(cs.get("restartCount", 0) > 0 for cs in p["status"].get("containerStatuses") or [])
    ]
    if not restarted:
        pytest.fail("the tiny preset should have a restarted container")
    pod = restarted[0]
    out = run(
        kc, sim, "logs", pod["metadata"]["name"], "-n", pod["metadata"]["namespace"], "--previous"
    ).stdout
    assert "Traceback" in out or "Error" in out
    fresh = pods[0]
    never = [
        p
        for p in pods
        if all(cs.get("restartCount", 0) == 0 for cs in p["status"].get("containerStatuses") or [])
    ]
    if never:
        fresh = never[0]
        res = run(
            kc,
            sim,
            "logs",
            fresh["metadata"]["name"],
            "-n",
            fresh["metadata"]["namespace"],
            "--previous",
            check=False,
        )
        assert res.returncode != 0 and "previous terminated container" in res.stderr


def test_auth_can_i_for_both_users(kc, sim) -> None:
    assert run(kc, sim, "auth", "can-i", "patch", "nodes").stdout.strip() == "yes"
    viewer = run(kc, sim, "auth", "can-i", "patch", "nodes", context="kmc-sim-viewer", check=False)
    assert viewer.stdout.strip() == "no"
    assert (
        run(kc, sim, "auth", "can-i", "list", "pods", "-A", context="kmc-sim-viewer").stdout.strip()
        == "yes"
    )


def test_viewer_cannot_cordon(kc, sim) -> None:
    node = _gpu_nodes(sim)[0]
    res = run(kc, sim, "cordon", node, context="kmc-sim-viewer", check=False)
    # kubectl prints the server's 403 (its exit code is 0 for cordon errors, whatever the server).
    assert "forbidden" in res.stderr and 'User "viewer" cannot patch resource "nodes"' in res.stderr


def test_drain_blocked_by_pdb_then_allowed(kc, sim) -> None:
    core = kubernetes.client.CoreV1Api(api_client(sim.kubeconfig_path))
    node = _gpu_nodes(sim)[0]
    run(kc, sim, "create", "namespace", "drain-test")
    run(
        kc,
        sim,
        "create",
        "deployment",
        "guarded",
        "--image=nginx",
        "--replicas=1",
        "-n",
        "drain-test",
        "--validate=false",
    )
    run(
        kc,
        sim,
        "patch",
        "deployment",
        "guarded",
        "-n",
        "drain-test",
        "-p",
        json.dumps({"spec": {"template": {"spec": {"nodeName": node}}}}),
    )
    run(
        kc,
        sim,
        "create",
        "pdb",
        "guarded",
        "-n",
        "drain-test",
        "--selector=app=guarded",
        "--min-available=1",
    )
    sim.advance(5)
    assert any(p.spec.node_name == node for p in core.list_namespaced_pod("drain-test").items)
    blocked = run(
        kc,
        sim,
        "drain",
        node,
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--force",
        "--timeout=4s",
        check=False,
    )
    assert blocked.returncode != 0
    assert "disruption budget" in (blocked.stdout + blocked.stderr)
    run(kc, sim, "delete", "pdb", "guarded", "-n", "drain-test")
    sim.advance(2)
    done = run(
        kc,
        sim,
        "drain",
        node,
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--force",
        "--timeout=20s",
    )
    assert "drained" in done.stdout
    run(kc, sim, "uncordon", node)


@pytest.mark.parametrize("version", ["1.27", "1.33"])
def test_oldest_and_newest_kubectl(kc, sim, version: str) -> None:
    binary = Path(os.path.realpath(kc)).parent / f"kubectl.{version}"
    path = require_binary(str(binary))
    assert "Ready" in kubectl(path, sim.kubeconfig_path, "get", "nodes").stdout
    assert "Running" in kubectl(path, sim.kubeconfig_path, "get", "pods", "-A", "-o", "wide").stdout
    assert kubectl(path, sim.kubeconfig_path, "get", "pytorchjobs", "-A").stdout
    node = _gpu_nodes(sim)[0]
    assert "cordoned" in kubectl(path, sim.kubeconfig_path, "cordon", node).stdout
    assert "uncordoned" in kubectl(path, sim.kubeconfig_path, "uncordon", node).stdout
    assert (
        kubectl(path, sim.kubeconfig_path, "auth", "can-i", "list", "pods").stdout.strip() == "yes"
    )


def test_logs_of_a_crash_looping_container_show_its_last_crash(kc, sim) -> None:
    for _ in range(60):
        pod = json.loads(
            run(kc, sim, "get", "pod", "bert-crashloop-master-0", "-n", "ml", "-o", "json").stdout
        )
        state = pod["status"]["containerStatuses"][0]["state"]
        if "waiting" in state:
            break
        sim.advance(5)
    assert "waiting" in state, "the crash-looping pod never waited in back-off"
    out = run(kc, sim, "logs", "bert-crashloop-master-0", "-n", "ml", "--tail=20").stdout
    assert "Error" in out or "Traceback" in out


def test_apply_client_and_server_side(kc, sim, tmp_path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: b\n"
    )
    assert "created" in run(kc, sim, "apply", "-f", str(manifest)).stdout
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: c\n"
    )
    assert "configured" in run(kc, sim, "apply", "-f", str(manifest)).stdout
    assert run(kc, sim, "get", "cm", "applied", "-o", "jsonpath={.data.a}").stdout == "c"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  x: hello\n"
    )
    assert (
        "serverside-applied" in run(kc, sim, "apply", "--server-side", "-f", str(manifest)).stdout
    )
    assert run(kc, sim, "get", "cm", "ssa", "-o", "jsonpath={.data.x}").stdout == "hello"
