"""Drain, TUI-free: kubectl's options and pod rules, then whole drains against the simulated
cluster (cordon, evictions through the Eviction API, a PodDisruptionBudget's 429 retried
and summarized, pods without a controller refused unless forced, read-only and the viewer
refused with nothing changed), the effects checked from outside with kubectl."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from console.cluster.actions import ActionRunner
from console.cluster.audit import AuditLog
from console.cluster.connection import Connection, connect
from console.cluster.drain import DrainError, DrainOptions, classify, parse_drain_args, plan_drain
from console.cluster.drain_progress import BLOCKED, EVICTED, LEFT, TERMINATING, DrainProgress
from console.cluster.drain_run import Drain
from console.sim.auth import ADMIN_CONTEXT, VIEWER_CONTEXT
from tests.conftest import require_binary, wait_for
from tests.kube import kubectl

# ----- options -----------------------------------------------------------------------------


def test_options_parse_like_kubectl() -> None:
    node, options = parse_drain_args(
        "gpu-1 --force --delete-emptydir-data --grace-period=30 --timeout 2m30s"
    )
    assert node == "gpu-1"
    assert options == DrainOptions(True, True, True, 30, 150.0)
    assert options.describe() == "--force --delete-emptydir-data --grace-period=30 --timeout=150s"
    assert parse_drain_args("") == ("", DrainOptions())
    assert parse_drain_args("--ignore-daemonsets=false --grace-period=-1")[1] == DrainOptions(
        ignore_daemonsets=False
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("--grace-period=abc", "--grace-period must be a whole number"),
        ("--grace-period=-5", "out of range"),
        ("--timeout=5x", "invalid duration"),
        ("--timeout=99999h", "longer than a week"),
        ("--timeout", "--timeout needs a value"),
        ("--force=maybe", "--force takes true or false"),
        ("--frce", "unknown drain option --frce"),
        ("a b", "drain takes one node"),
    ],
)
def test_bad_options_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(DrainError) as info:
        parse_drain_args(text)
    assert message in str(info.value) and "\n" not in str(info.value)


# ----- kubectl's pod rules (pure) ----------------------------------------------------------


def _pod(name: str, owner: str | None = "ReplicaSet", phase: str = "Running", **extra: Any) -> dict:
    meta: dict[str, Any] = {"name": name, "namespace": "ml", "uid": f"uid-{name}"}
    if owner:
        meta["ownerReferences"] = [
            {
                "kind": owner,
                "name": f"{name}-owner",
                "controller": True,
                "apiVersion": "v1",
                "uid": "x",
            }
        ]
    meta.update(extra.pop("meta", {}))
    return {"metadata": meta, "spec": extra.pop("spec", {}), "status": {"phase": phase}}


def test_rules_daemonsets_mirrors_local_storage_and_unmanaged_pods() -> None:
    pods = [
        _pod("web"),
        _pod("exporter", owner="DaemonSet"),
        _pod("static", owner="Node", meta={"annotations": {"kubernetes.io/config.mirror": "x"}}),
        _pod("cache", spec={"volumes": [{"name": "c", "emptyDir": {}}]}),
        _pod("bare", owner=None),
        _pod("bare-done", owner=None, phase="Succeeded"),
        _pod("leaving", meta={"deletionTimestamp": "2026-01-01T00:00:00Z"}),
    ]
    plan = classify("n1", False, pods, DrainOptions())
    assert [p.name for p in plan.evict] == ["web", "bare-done", "leaving"]
    assert [p.terminating for p in plan.evict] == [False, False, True]
    assert [p.name for p in plan.stay] == ["exporter", "static"]
    assert plan.refused
    assert plan.refusals == (
        "cannot delete Pods with local storage (use --delete-emptydir-data to override): ml/cache",
        "cannot delete Pods that declare no controller (use --force to override): ml/bare",
    )
    assert plan.refusal().startswith("cannot drain n1: cannot delete Pods with local storage")
    forced = classify("n1", False, pods, DrainOptions(force=True, delete_emptydir_data=True))
    assert not forced.refused
    assert [p.name for p in forced.evict] == ["web", "cache", "bare", "bare-done", "leaving"]
    assert "deleting Pods that declare no controller: ml/bare" in forced.warnings
    strict = classify(
        "n1",
        False,
        pods,
        DrainOptions(force=True, delete_emptydir_data=True, ignore_daemonsets=False),
    )
    assert strict.refusals == (
        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ml/exporter",
    )


def test_hostile_pod_objects_do_not_break_the_plan() -> None:
    pods = [None, 7, {"metadata": "x"}, {"metadata": {"name": "a\x1b[31mb", "namespace": "ml"}}]
    plan = classify("n1", False, pods, DrainOptions(force=True))
    assert [p.name for p in plan.evict] == ["ab"]


# ----- against the simulated cluster ---------------------------------------------------------


def _admin(sim: Any, **kw: Any) -> Connection:
    return connect(str(sim.kubeconfig_path), ADMIN_CONTEXT, **kw)


def _node(conn: Connection, pool: str) -> str:
    names = [n["metadata"]["name"] for n in json.loads(conn.get("/api/v1/nodes"))["items"]]
    return next(n for n in names if pool in n)


def _pods_on(conn: Connection, node: str) -> list[dict]:
    query = {"fieldSelector": f"spec.nodeName={node}"}
    return json.loads(conn.get("/api/v1/pods", query))["items"]


def _deployment(conn: Connection, name: str, node: str, replicas: int) -> None:
    conn.request(
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        body={
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {
                        "nodeSelector": {"kubernetes.io/hostname": node},
                        "containers": [{"name": "c", "image": "busybox"}],
                    },
                },
            },
        },
    )


def _running(conn: Connection, node: str, app: str, count: int) -> bool:
    pods = [
        p for p in _pods_on(conn, node) if (p["metadata"].get("labels") or {}).get("app") == app
    ]
    ready = [
        p
        for p in pods
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p["status"].get("conditions") or ()
        )
    ]
    return len(ready) == count


def _budget(conn: Connection, name: str, app: str, min_available: int) -> None:
    conn.request(
        "POST",
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
        body={
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name},
            "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": app}}},
        },
    )


def _run(
    conn: Connection, node: str, options: DrainOptions, **kw: Any
) -> tuple[DrainProgress, list[DrainProgress]]:
    seen: list[DrainProgress] = []
    plan = plan_drain(conn, node, options)
    assert not plan.refused, plan.refusal()
    final = Drain(conn, plan, options, poll=0.2, **kw).run(seen.append)
    return final, seen


def test_drain_cordons_and_evicts_all_but_daemonset_pods(fresh_sim, tmp_path: Path) -> None:
    conn = _admin(fresh_sim)
    node = _node(conn, "a100")
    workers = sorted(
        p["metadata"]["name"] for p in _pods_on(conn, node) if p["metadata"]["namespace"] == "ml"
    )
    assert workers == ["llama-ft-master-0", "llama-ft-worker-0"]
    audit = AuditLog(tmp_path / "audit.jsonl")
    runner = ActionRunner(conn, audit, user="admin")
    final, seen = _run(conn, node, DrainOptions(timeout=60), runner=runner)
    assert final.phase == "done", final.summary()
    assert final.cordoned and final.evicted == 2
    assert [p.state for p in final.pods] == [EVICTED, EVICTED]
    assert seen[0].phase == "cordoning" and any(s.phase == "evicting" for s in seen)
    assert final.summary()[:3] == [
        f"{node}: drain done after {final.elapsed:.0f}s",
        "cordoned: yes",
        "evicted 2 of 2: ml/llama-ft-master-0, ml/llama-ft-worker-0",
    ]
    # Seen from outside: the node is unschedulable, only the DaemonSet pods are left on it.
    kc = require_binary("kubectl")
    out = kubectl(
        kc, fresh_sim.kubeconfig_path, "get", "node", node, "-o", "jsonpath={.spec.unschedulable}"
    )
    assert out.stdout == "true"
    pods = kubectl(
        kc,
        fresh_sim.kubeconfig_path,
        "get",
        "pods",
        "-A",
        "--field-selector",
        f"spec.nodeName={node}",
        "-o",
        "name",
    )
    left = sorted(pods.stdout.split())
    assert len(left) == 3 and all(
        n.split("/")[1].startswith(("gpu-feature-discovery", "nvidia-")) for n in left
    ), left
    records = [(e["verb"], e["result"]) for e in audit.entries()]
    assert records == [("drain", "started"), ("drain", "ok")]
    assert audit.entries()[-1]["evicted"] == ["ml/llama-ft-master-0", "ml/llama-ft-worker-0"]


def test_a_budget_blocks_retries_and_is_summarized(fresh_sim) -> None:
    conn = _admin(fresh_sim)
    node = _node(conn, "default-pool")
    _deployment(conn, "api", node, 2)
    wait_for(lambda: _running(conn, node, "api", 2), what="two api pods ready")
    _budget(conn, "api-pdb", "api", 2)
    final, seen = _run(conn, node, DrainOptions(timeout=3.5))
    assert final.phase == "timed out" and final.message == "timeout 3.5s reached"
    assert [p.state for p in final.pods] == [LEFT, LEFT]
    blocked = [p for s in seen for p in s.pods if p.state == BLOCKED]
    # Retried with backoff: tries at 0, 1 and 3 s (every second would be 4 tries by 3.5 s).
    assert 2 <= final.pods[0].attempts <= 3, final.pods[0]
    assert blocked[0].describe().endswith(" · try 1, next in 1s")
    assert final.pods[0].detail == ("PDB api-pdb: 2 healthy, 2 needed")
    assert final.pods[0].describe() == final.pods[0].detail + f" · {final.pods[0].attempts} tries"
    summary = final.summary()
    assert summary[2] == "evicted 0 of 2"
    assert any(
        line.startswith("still on the node: default/api-") and "api-pdb" in line for line in summary
    )
    assert len(_pods_on(conn, node)) == 2  # nothing was evicted


def test_a_budget_that_frees_up_lets_the_drain_finish(fresh_sim) -> None:
    conn = _admin(fresh_sim)
    node = _node(conn, "default-pool")
    _deployment(conn, "web", node, 1)
    wait_for(lambda: _running(conn, node, "web", 1), what="the web pod ready")
    _budget(conn, "web-pdb", "web", 1)
    seen: list[DrainProgress] = []
    options = DrainOptions(timeout=60)
    drain = Drain(conn, plan_drain(conn, node, options), options, poll=0.2)
    worker = threading.Thread(target=drain.run, args=(seen.append,))
    worker.start()
    try:
        wait_for(lambda: any(p.state == BLOCKED for s in seen for p in s.pods), what="blocked")
        conn.request("DELETE", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web-pdb")
        wait_for(lambda: seen and seen[-1].finished, timeout=30, what="the drain to finish")
    finally:
        drain.cancel()
        worker.join(10)
    assert seen[-1].phase == "done" and seen[-1].evicted == 1


def test_cancel_stops_and_reports_what_is_left(fresh_sim) -> None:
    conn = _admin(fresh_sim)
    node = _node(conn, "default-pool")
    _deployment(conn, "held", node, 1)
    wait_for(lambda: _running(conn, node, "held", 1), what="the held pod ready")
    _budget(conn, "held-pdb", "held", 1)
    seen: list[DrainProgress] = []
    drain = Drain(conn, plan_drain(conn, node, DrainOptions()), DrainOptions(), poll=0.2)
    worker = threading.Thread(target=drain.run, args=(seen.append,))
    worker.start()
    wait_for(lambda: any(p.state == BLOCKED for s in seen for p in s.pods), what="blocked")
    drain.cancel()
    worker.join(10)
    assert not worker.is_alive()
    assert seen[-1].phase == "cancelled" and seen[-1].pods[0].state == LEFT
    assert "held-pdb" in seen[-1].pods[0].detail


def _bare_pod(conn: Connection, node: str, name: str) -> None:
    conn.request(
        "POST",
        "/api/v1/namespaces/default/pods",
        body={
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
        },
    )


def test_pods_without_a_controller_refuse_the_drain_unless_forced(fresh_sim) -> None:
    conn = _admin(fresh_sim)
    node = _node(conn, "default-pool")
    _bare_pod(conn, node, "debug-shell")
    mark = fresh_sim.requests.mark()
    plan = plan_drain(conn, node, DrainOptions())
    assert plan.refusal() == (
        f"cannot drain {node}: cannot delete Pods that declare no controller (use --force to override):"
        " default/debug-shell"
    )
    assert fresh_sim.requests.since(mark, writes_only=True) == []  # planning only reads
    assert json.loads(conn.get(f"/api/v1/nodes/{node}"))["spec"].get("unschedulable") is None
    final, _seen = _run(conn, node, DrainOptions(force=True, timeout=30))
    assert final.phase == "done" and [p.pod.name for p in final.pods] == ["debug-shell"]
    assert _pods_on(conn, node) == []


def test_read_only_refuses_before_anything_is_sent(fresh_sim) -> None:
    conn = _admin(fresh_sim, read_only=True)
    node = _node(conn, "a100")
    mark = fresh_sim.requests.mark()
    with pytest.raises(DrainError) as info:
        plan_drain(conn, node, DrainOptions())
    assert str(info.value).startswith(f"read-only: PATCH /api/v1/nodes/{node} refused")
    assert fresh_sim.requests.since(mark) == []


def test_the_viewer_is_refused_by_rbac_and_by_the_server(fresh_sim, tmp_path: Path) -> None:
    viewer = connect(str(fresh_sim.kubeconfig_path), VIEWER_CONTEXT)
    node = _node(viewer, "a100")
    options = DrainOptions()
    plan = plan_drain(viewer, node, options)  # reading is allowed
    runner = ActionRunner(viewer, AuditLog(tmp_path / "audit.jsonl"), user="viewer")
    mark = fresh_sim.requests.mark()
    final = Drain(viewer, plan, options, runner=runner).run(lambda _p: None)
    assert final.phase == "failed"
    assert final.message.startswith("not allowed by RBAC: you may not patch nodes")
    writes = [
        (m, p)
        for m, p in fresh_sim.requests.since(mark, writes_only=True)
        if "accessreview" not in p
    ]
    assert writes == []
    # Without the RBAC check the server itself says no: 403, shown plainly, nothing evicted.
    final = Drain(viewer, plan, options).run(lambda _p: None)
    assert final.phase == "failed" and not final.cordoned
    assert final.message.startswith(f'cordon refused: forbidden: nodes "{node}" is forbidden')
    assert final.evicted == 0


@pytest.mark.kubectl
def test_kubectl_drain_refuses_and_drains_the_same_pods(fresh_sim) -> None:
    """Real kubectl against the simulator: it refuses for the same pods with the same words,
    and its drain (through the simulator's Eviction API) leaves what the console's plan
    says stays."""
    conn = _admin(fresh_sim)
    node = _node(conn, "l4")  # a KServe predictor with an emptyDir, a training pod
    _bare_pod(conn, node, "stray")
    kc = require_binary("kubectl")
    refused = kubectl(
        kc,
        fresh_sim.kubeconfig_path,
        "drain",
        node,
        "--ignore-daemonsets",
        "--timeout=30s",
        check=False,
    )
    assert refused.returncode != 0
    plan = plan_drain(conn, node, DrainOptions())
    assert len(plan.refusals) == 2
    for line in plan.refusals:
        assert line in refused.stderr, (line, refused.stderr)
    options = DrainOptions(force=True, delete_emptydir_data=True)
    plan = plan_drain(conn, node, options)
    assert not plan.refused
    drained = kubectl(
        kc,
        fresh_sim.kubeconfig_path,
        "drain",
        node,
        "--ignore-daemonsets",
        "--force",
        "--delete-emptydir-data",
        "--timeout=60s",
    )
    assert f"node/{node} drained" in drained.stdout
    left = {f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in _pods_on(conn, node)}
    assert left == {p.ref for p in plan.stay}


def test_a_grace_period_is_sent_and_the_terminating_pod_followed_until_gone(fresh_sim) -> None:
    conn = _admin(fresh_sim)
    node = _node(conn, "default-pool")
    _bare_pod(conn, node, "slow-to-stop")
    final, seen = _run(conn, node, DrainOptions(force=True, grace_period=5, timeout=60))
    assert final.phase == "done" and final.evicted == 1
    terminating = [p for s in seen for p in s.pods if p.state == TERMINATING]
    assert terminating and terminating[-1].detail == "terminating"
    assert _pods_on(conn, node) == []


def test_the_simulated_eviction_honours_the_grace_period() -> None:
    from console.sim.controllers.disruption import evict
    from console.sim.errors import ApiError
    from tests.test_sim_disruption import POD, api_pods, cluster

    ctx = cluster(replicas=2)
    first, second = api_pods(ctx)
    evict(ctx, "web", first, delete_options={"gracePeriodSeconds": 5})
    pod = ctx.store.get(POD, "web", first)
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 5
    assert pod["metadata"]["deletionTimestamp"]
    ctx.advance(6)
    assert ctx.store.get(POD, "web", first) is None
    with pytest.raises(ApiError) as info:
        evict(ctx, "web", second, delete_options={"gracePeriodSeconds": -3})
    assert info.value.code == 400
    evict(ctx, "web", second)  # no grace period: gone at once, as before
    assert ctx.store.get(POD, "web", second) is None


def test_a_pod_already_terminating_is_waited_for_not_evicted_again(fresh_sim) -> None:
    conn = _admin(fresh_sim)
    node = _node(conn, "default-pool")
    _bare_pod(conn, node, "on-its-way-out")
    conn.request(
        "POST",
        "/api/v1/namespaces/default/pods/on-its-way-out/eviction",
        body={
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "deleteOptions": {"gracePeriodSeconds": 3},
        },
    )
    mark = fresh_sim.requests.mark()
    final, seen = _run(conn, node, DrainOptions(force=True, timeout=30))
    assert final.phase == "done" and final.evicted == 1
    assert seen[0].pods[0].detail == "already terminating"
    evictions = [p for m, p in fresh_sim.requests.since(mark, writes_only=True) if "eviction" in p]
    assert evictions == []
