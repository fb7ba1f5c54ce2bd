"""Drain in the console against the simulated cluster: `r` on a GPU node and `:drain`,
the confirmation, the drain screen's progress and summary, a PodDisruptionBudget that
blocks, pods without a controller refused unless `--force`, read-only and the viewer
refused with nothing changed — checked from outside with kubectl and in the audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from console.cluster.audit import AuditLog
from console.cluster.connection import Connection, connect
from console.screens.drain import DrainScreen
from console.sim.auth import ADMIN_CONTEXT, VIEWER_CONTEXT
from tests.conftest import require_binary
from tests.kube import kubectl
from tests.test_app_support import command, make_app, populated, screen_text, view, wait_until
from tests.test_drain import _bare_pod, _budget, _deployment, _running
from widgets.confirm import ConfirmDialog


@pytest.fixture
def audit_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The console's audit log goes to this test's own state directory."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "kmc" / "audit.jsonl"


def _admin(sim: Any) -> Connection:
    return connect(str(sim.kubeconfig_path), ADMIN_CONTEXT)


def _node(sim: Any, pool: str) -> str:
    names = [n["metadata"]["name"] for n in json.loads(_admin(sim).get("/api/v1/nodes"))["items"]]
    return next(n for n in names if pool in n)


def _kubectl(sim: Any, *args: str) -> str:
    return kubectl(require_binary("kubectl"), sim.kubeconfig_path, *args).stdout


def _unschedulable(sim: Any, node: str) -> str:
    return _kubectl(sim, "get", "node", node, "-o", "jsonpath={.spec.unschedulable}")


async def select_node(pilot: Any, app: Any, node: str) -> None:
    await populated(pilot, app, "nodes")
    table = view(app).table
    await wait_until(pilot, lambda: any(r.key == node for r in table.rows))
    table.move_cursor(next(i for i, r in enumerate(table.rows) if r.key == node))
    await wait_until(pilot, lambda: table.current_row.key == node)


def _cordoned_in_view(app: Any, node: str) -> bool:
    """The nodes view's STATUS cell of `node` says cordoned (wide or compact form)."""
    table = view(app).table
    index = next(c.index for c in table.columns if c.key == "status")
    cell = next(r.cells[index] for r in table.rows if r.key == node)
    return "SchedulingDisabled" in cell or "⊘" in cell


def _text(app: Any) -> str:
    """What the screen shows, spaces as typed."""
    return screen_text(app).replace("\xa0", " ")


def _notified(app: Any, text: str) -> bool:
    return any(text in str(n.message) for n in app._notifications)


async def _finished(pilot: Any, app: Any, timeout: float = 30.0) -> DrainScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, DrainScreen), 15)
    screen = app.screen
    await wait_until(
        pilot, lambda: screen.progress is not None and screen.progress.finished, timeout
    )
    await wait_until(pilot, lambda: "(Esc: back)" in _text(app))  # the finished drain drawn
    return screen


async def test_r_on_a_gpu_node_confirms_drains_and_summarizes(fresh_sim, audit_path) -> None:
    node = _node(fresh_sim, "a100")
    app = make_app(fresh_sim)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_node(pilot, app, node)
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        dialog = app.screen
        assert dialog.title_text == f"drain Node {node}, context kmc-sim"
        assert dialog.changes == (
            "schedulable: yes → no",
            "pods to evict: 2 → 0 (4 GPUs freed)",
            "pods that stay: 3 (DaemonSet and mirror pods)",
        )
        assert dialog.detail == (
            "  evict ml/llama-ft-master-0 (PyTorchJob/llama-ft), 2 GPUs",
            "  evict ml/llama-ft-worker-0 (PyTorchJob/llama-ft), 2 GPUs",
        )
        assert dialog.warnings == ()
        assert _unschedulable(fresh_sim, node) == ""  # nothing is sent before "y"
        await pilot.press("y")
        screen = await _finished(pilot, app)
        assert screen.progress.phase == "done"
        text = _text(app)
        assert "evicted 2 of 2: ml/llama-ft-master-0, ml/llama-ft-worker-0" in text
        assert "done · 2 of 2 evicted" in text
        await pilot.press("escape")
        await populated(pilot, app, "nodes")
        await wait_until(pilot, lambda: _cordoned_in_view(app, node), 20)
    assert _unschedulable(fresh_sim, node) == "true"
    left = _kubectl(
        fresh_sim, "get", "pods", "-A", "--field-selector", f"spec.nodeName={node}", "-o", "name"
    )
    assert "llama-ft" not in left and len(left.split()) == 3  # the DaemonSet pods stay
    entries = AuditLog(audit_path).entries()
    assert [(e["verb"], e["result"], e["object"]) for e in entries] == [
        ("drain", "started", f"Node {node}"),
        ("drain", "ok", f"Node {node}"),
    ]


async def test_a_disruption_budget_blocks_and_the_summary_says_why(fresh_sim, audit_path) -> None:
    conn = _admin(fresh_sim)
    node = _node(fresh_sim, "default-pool")
    _deployment(conn, "blk", node, 2)
    _budget(conn, "blk-pdb", "blk", 2)
    app = make_app(fresh_sim)
    async with app.run_test(size=(160, 48)) as pilot:
        await populated(pilot, app, "nodes")
        await wait_until(pilot, lambda: _running(conn, node, "blk", 2), 20)
        await command(pilot, f"drain {node} --timeout=4s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert app.screen.warnings == ("options: --timeout=4s",)
        await pilot.press("y")
        screen = await _finished(pilot, app)
        progress = screen.progress
        assert progress.phase == "timed out" and progress.evicted == 0
        assert {p.state for p in progress.pods} == {"not evicted"}
        text = _text(app)
        assert "timed out · 0 of 2 evicted" in text
        assert "PDB blk-pdb: 2 healthy, 2 needed · " in text and " tries" in text
        assert "still on the node: default/blk-" in text
    assert _unschedulable(fresh_sim, node) == "true"  # cordoned, as kubectl leaves it
    assert len(json.loads(conn.get("/api/v1/pods", {"labelSelector": "app=blk"}))["items"]) == 2
    assert AuditLog(audit_path).entries()[-1]["result"] == "timed out"


async def test_pods_without_a_controller_refuse_unless_forced(fresh_sim, audit_path) -> None:
    conn = _admin(fresh_sim)
    node = _node(fresh_sim, "default-pool")
    _bare_pod(conn, node, "debug-shell")
    app = make_app(fresh_sim)
    async with app.run_test(size=(160, 48)) as pilot:
        await populated(pilot, app, "nodes")
        await command(pilot, f"drain {node}")
        refusal = (
            f"cannot drain {node}: cannot delete Pods that declare no controller (use --force to override):"
            " default/debug-shell: nothing changed"
        )
        await wait_until(pilot, lambda: _notified(app, refusal))
        assert not isinstance(app.screen, ConfirmDialog)
        assert _unschedulable(fresh_sim, node) == ""
        await command(pilot, f"drain {node} --force")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert (
            "deleting Pods that declare no controller: default/debug-shell" in app.screen.warnings
        )
        await pilot.press("y")
        assert (await _finished(pilot, app)).progress.phase == "done"
    assert "debug-shell" not in _kubectl(fresh_sim, "get", "pods", "-n", "default", "-o", "name")


async def test_bad_options_and_a_cancelled_confirmation_change_nothing(
    fresh_sim, audit_path
) -> None:
    node = _node(fresh_sim, "a100")
    app = make_app(fresh_sim)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_node(pilot, app, node)
        mark = fresh_sim.requests.mark()
        await command(pilot, "drain --grace-period=soon")
        await wait_until(pilot, lambda: _notified(app, "--grace-period must be a whole number"))
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("enter")  # Enter typed ahead does not confirm a write
        await pilot.pause(0.2)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await wait_until(pilot, lambda: _notified(app, "drain cancelled: nothing changed"))
        writes = [
            p
            for _m, p in fresh_sim.requests.since(mark, writes_only=True)
            if "accessreview" not in p
        ]
        assert writes == []
    assert _unschedulable(fresh_sim, node) == ""


async def test_read_only_offers_no_drain_and_refuses_the_command(fresh_sim, audit_path) -> None:
    node = _node(fresh_sim, "a100")
    app = make_app(fresh_sim, read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_node(pilot, app, node)
        mark = fresh_sim.requests.mark()
        await pilot.press("r")  # not offered: nothing happens
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmDialog)
        await command(pilot, "drain")
        await wait_until(pilot, lambda: _notified(app, f"read-only: drain Node {node} refused"))
        assert fresh_sim.requests.since(mark, writes_only=True) == []
    assert _unschedulable(fresh_sim, node) == ""
    assert not audit_path.exists()


async def test_the_viewer_is_told_rbac_forbids_it(fresh_sim, audit_path) -> None:
    """RBAC first: a node kubectl would refuse to drain anyway (local storage, here) still
    tells the viewer that they may not."""
    node = _node(fresh_sim, "l4")
    app = make_app(fresh_sim, context=VIEWER_CONTEXT)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_node(pilot, app, node)
        await pilot.press("r")
        await wait_until(
            pilot, lambda: _notified(app, "not allowed by RBAC: you may not patch nodes")
        )
        assert not isinstance(app.screen, ConfirmDialog)
    assert _unschedulable(fresh_sim, node) == ""
