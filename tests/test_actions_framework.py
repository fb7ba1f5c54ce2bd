"""The actions framework against the simulated cluster: cordon / uncordon end to end,
dry run first, 409 re-read and retried once, 404, RBAC (viewer), read-only (zero writes
reach the server), and the audit log (0600, redacted, blocking when it cannot be written)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from console.cluster.actions import ActionError, ActionRunner, ObjectRef
from console.cluster.actions_node import Cordon
from console.cluster.audit import AuditLog, default_audit_path
from console.cluster.connection import ClusterError, connect
from console.sim.auth import ADMIN_CONTEXT, VIEWER_CONTEXT
from console.sim.cluster import SimCluster
from tests.conftest import require_binary


@pytest.fixture(scope="module")
def sim():
    """This module's own cluster: its tests cordon nodes."""
    cluster = SimCluster(preset="tiny", seed=5).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "state" / "kmc" / "audit.jsonl")


def _runner(sim: SimCluster, audit: AuditLog, context: str = ADMIN_CONTEXT, **kw) -> ActionRunner:
    return ActionRunner(connect(str(sim.kubeconfig_path), context, **kw), audit, user=context)


def _node(sim: SimCluster, pool: str) -> str:
    conn = connect(str(sim.kubeconfig_path), ADMIN_CONTEXT)
    names = [n["metadata"]["name"] for n in json.loads(conn.get("/api/v1/nodes"))["items"]]
    return next(n for n in names if pool in n)


def _kubectl(sim: SimCluster, *args: str) -> str:
    kubectl = require_binary("kubectl")
    return subprocess.run(
        [kubectl, "--kubeconfig", str(sim.kubeconfig_path), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout


def test_cordon_and_uncordon_as_kubectl_sees_them(sim, audit):
    node = _node(sim, "a100")
    runner = _runner(sim, audit)
    plan = runner.prepare(Cordon(node))
    assert plan.title(ADMIN_CONTEXT) == f"cordon Node {node}, context {ADMIN_CONTEXT}"
    assert plan.lines() == ["schedulable: yes → no"]
    mark = sim.requests.mark()
    outcome = runner.execute(Cordon(node))
    assert outcome.message == f"cordoned Node {node}"
    writes = sim.requests.since(mark, writes_only=True)
    patches = [p for m, p in writes if m == "PATCH"]
    assert patches == [f"/api/v1/nodes/{node}?dryRun=All", f"/api/v1/nodes/{node}"]
    jsonpath = "jsonpath={.spec.unschedulable}"
    assert _kubectl(sim, "get", "node", node, "-o", jsonpath) == "true"
    assert "SchedulingDisabled" in _kubectl(sim, "get", "node", node)
    # Cordoning again sends nothing and says so.
    mark = sim.requests.mark()
    assert runner.execute(Cordon(node)).message == f"Node {node} is already cordoned"
    assert [m for m, _p in sim.requests.since(mark, writes_only=True) if m != "POST"] == []
    assert runner.execute(Cordon(node, on=False)).message == f"uncordoned Node {node}"
    assert _kubectl(sim, "get", "node", node, "-o", jsonpath) == ""
    results = [(e["verb"], e["result"]) for e in audit.entries()]
    assert results == [
        ("cordon", "started"),
        ("cordon", "ok"),
        ("uncordon", "started"),
        ("uncordon", "ok"),
    ]


def test_a_conflict_is_reread_and_retried_once(sim, audit):
    node = _node(sim, "l4")
    runner = _runner(sim, audit)
    sim.faults.conflict(1)
    outcome = runner.execute(Cordon(node))
    assert outcome.retried and outcome.message == f"cordoned Node {node}"
    assert [e["result"] for e in audit.entries()] == ["started", "conflict", "started", "ok"]
    sim.faults.conflict(2)
    with pytest.raises(ActionError, match=r"changed while writing, twice \(409 Conflict\)"):
        runner.execute(Cordon(node, on=False))
    sim.faults.clear()
    assert _kubectl(sim, "get", "node", node, "-o", "jsonpath={.spec.unschedulable}") == "true"
    runner.execute(Cordon(node, on=False))


def test_an_object_gone_meanwhile_is_a_clear_message(sim, audit):
    runner = _runner(sim, audit)
    mark = sim.requests.mark()
    with pytest.raises(ActionError, match=r"^Node no-such-node is gone \(deleted meanwhile\?\)"):
        runner.execute(Cordon("no-such-node"))
    assert [m for m, _p in sim.requests.since(mark, writes_only=True) if m != "POST"] == []
    assert audit.entries() == []


def test_the_viewer_is_refused_with_the_reason_and_nothing_written(sim, audit):
    node = _node(sim, "a100")
    runner = _runner(sim, audit, VIEWER_CONTEXT)
    assert runner.allowed(Cordon(node)) == (False, "not allowed by RBAC: you may not patch nodes")
    mark = sim.requests.mark()
    with pytest.raises(ActionError, match=r"^not allowed by RBAC: you may not patch nodes$"):
        runner.execute(Cordon(node))
    sent = sim.requests.since(mark, writes_only=True)
    assert all("selfsubjectaccessreviews" in path for _m, path in sent)


def test_a_403_from_the_server_is_shown_plainly(sim, audit, monkeypatch):
    node = _node(sim, "a100")
    runner = _runner(sim, audit, VIEWER_CONTEXT)
    # The review says yes (as a stale cache or a webhook authorizer might); the server says no.
    from console.cluster.rbac import Decision

    monkeypatch.setattr(runner.access, "check", lambda access: Decision(True))
    with pytest.raises(ActionError) as raised:
        runner.execute(Cordon(node))
    assert raised.value.status == 403
    assert str(raised.value).startswith(f'forbidden: nodes "{node}" is forbidden: User "viewer"')
    assert [e["result"] for e in audit.entries()] == ["started", "failed"]


def test_read_only_sends_no_write_at_all(sim, audit):
    node = _node(sim, "a100")
    runner = _runner(sim, audit, read_only=True)
    mark = sim.requests.mark()
    assert runner.allowed(Cordon(node))[0] is False
    with pytest.raises(ActionError, match=r"^read-only: cordon Node .* refused \(context kmc-sim"):
        runner.execute(Cordon(node))
    assert sim.requests.since(mark, writes_only=True) == []
    assert audit.entries() == []


def test_an_unwritable_audit_log_blocks_the_action(sim, tmp_path):
    node = _node(sim, "a100")
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the log's directory should be")
    runner = _runner(sim, AuditLog(blocked / "kmc" / "audit.jsonl"))
    mark = sim.requests.mark()
    with pytest.raises(ActionError, match="refusing to act unrecorded"):
        runner.execute(Cordon(node))
    assert [m for m, _p in sim.requests.since(mark, writes_only=True) if m == "PATCH"] == []


def test_audit_file_is_private_and_redacted(audit):
    audit.path.parent.mkdir(parents=True)
    audit.path.write_text("")
    os.chmod(audit.path, 0o644)
    audit.append(
        {
            "verb": "scale",
            "message": "failed: Authorization: Bearer eyJhbGc.iOiJSUzI1 token=s3cr3t\x1b[31m",
        }
    )
    assert stat.S_IMODE(audit.path.stat().st_mode) == 0o600
    (entry,) = audit.entries()
    assert "s3cr3t" not in entry["message"] and "eyJhbGc" not in entry["message"]
    assert "\x1b" not in entry["message"]
    assert entry["time"].endswith("Z")


def test_default_audit_path_follows_xdg():
    assert default_audit_path({"XDG_STATE_HOME": "/srv/state"}) == Path(
        "/srv/state/kmc/audit.jsonl"
    )
    assert default_audit_path({}) == Path.home() / ".local/state/kmc/audit.jsonl"
    # A relative XDG_STATE_HOME is invalid per the spec: ignored.
    assert (
        default_audit_path({"XDG_STATE_HOME": "rel"})
        == Path.home() / ".local/state/kmc/audit.jsonl"
    )


def test_object_paths_encode_hostile_names():
    ref = ObjectRef("PyTorchJob", "pytorchjobs", "kubeflow.org", "v1", "evil-[/x]", "ml/../x")
    assert ref.path("scale") == (
        "/apis/kubeflow.org/v1/namespaces/ml%2F..%2Fx/pytorchjobs/evil-%5B%2Fx%5D/scale"
    )


def test_request_log_and_conflict_fault_over_the_admin_endpoint(sim):
    admin = connect(str(sim.kubeconfig_path), ADMIN_CONTEXT)
    node = _node(sim, "a100")
    admin.request("POST", "/_sim/fault", body={"action": "conflict", "count": 1})
    patch = {"metadata": {"labels": {"kmc.test/conflict": "1"}}}
    headers = {"Content-Type": "application/merge-patch+json"}
    with pytest.raises(ClusterError) as raised:
        admin.request("PATCH", f"/api/v1/nodes/{node}", body=patch, headers=headers)
    assert raised.value.status == 409
    admin.request("PATCH", f"/api/v1/nodes/{node}", body=patch, headers=headers)  # once only
    logged = json.loads(admin.get("/_sim/requests"))["requests"]
    assert logged[-2:] == [["PATCH", f"/api/v1/nodes/{node}"], ["PATCH", f"/api/v1/nodes/{node}"]]
    assert not any(path.startswith("/_sim/") for _method, path in logged)
