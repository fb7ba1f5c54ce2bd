"""GPU time-slicing in the console against the simulated cluster: the round trip exclusive →
time-slicing ×4 → exclusive on an 8-GPU node, allocatable 8 → 32 → 8 seen in the GPU nodes
view and with kubectl; the picker (`t`), completion of config names, a config the
ConfigMap does not define refused with nothing sent, read-only and the viewer refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from console.cluster.audit import AuditLog
from console.commands import argument_words, palette_entries
from console.screens.timeslice import TimeslicePicker
from console.sim.auth import VIEWER_CONTEXT
from tests.test_app_drain import _admin, _kubectl, _node, _notified, _text, select_node
from tests.test_app_support import command, make_app, view, wait_until
from widgets.confirm import ConfirmDialog

LABEL = "jsonpath={.metadata.labels.nvidia\\.com/device-plugin\\.config}"
ALLOCATABLE = "jsonpath={.status.allocatable.nvidia\\.com/gpu}"


@pytest.fixture
def audit_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "kmc" / "audit.jsonl"


def _cell(app: Any, node: str, key: str) -> str:
    """The nodes view's cell `key` of `node`'s row."""
    table = view(app).table
    index = next(c.index for c in table.columns if c.key == key)
    return next(r.cells[index] for r in table.rows if r.key == node)


def _allocatable(app: Any, node: str) -> str:
    """The total of the ALLOC cell (`   4/32 ▇▇…` → `32`)."""
    return _cell(app, node, "alloc").split("/", 1)[1].split()[0]


async def _confirm(pilot: Any, app: Any) -> ConfirmDialog:
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), 15)
    return app.screen


async def test_round_trip_seen_in_the_gpu_nodes_view(fresh_sim, audit_path) -> None:
    node = _node(fresh_sim, "a100")
    app = make_app(fresh_sim)
    async with app.run_test(size=(200, 48)) as pilot:
        await select_node(pilot, app, node)
        assert _cell(app, node, "sharing") == "exclusive"
        assert _allocatable(app, node) == "8"
        await command(pilot, "timeslice any")
        dialog = await _confirm(pilot, app)
        assert dialog.title_text == f"timeslice Node {node}, context kmc-sim"
        assert dialog.changes == (
            "device-plugin config: none (default: exclusive) → any",
            "sharing: exclusive → time-slicing ×4",
            "allocatable nvidia.com/gpu: 8 → 32 (8 GPUs × 4)",
        )
        assert dialog.warnings[0].startswith("2 GPU pods run on the node (ml/llama-ft-master-0")
        await pilot.press("y")
        await wait_until(pilot, lambda: _cell(app, node, "sharing") == "time-slicing ×4", 20)
        await wait_until(pilot, lambda: _allocatable(app, node) == "32")
        await wait_until(pilot, lambda: _notified(app, "allocatable nvidia.com/gpu 32 (converged"))
        assert _kubectl(fresh_sim, "get", "node", node, "-o", LABEL) == "any"
        assert _kubectl(fresh_sim, "get", "node", node, "-o", ALLOCATABLE) == "32"
        # Back through the picker: `t`, the first row is `off`.
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, TimeslicePicker), 15)
        picker = app.screen
        table = picker.query_one("VirtualTable")
        assert [r.key for r in table.rows] == ["off", "a100-x2", "any", "no-sharing", "t4-x4"]
        any_row = table.rows[2].cells
        assert any_row == ("any", "time-slicing ×4", "nvidia.com/gpu 32 → 32", "● current")
        assert table.rows[0].cells[:2] == ("off (no label)", "default: exclusive")
        assert table.rows[4].cells[1:3] == (
            "time-slicing ×4, renamed",
            "nvidia.com/gpu.shared 0 → 32",
        )
        assert table.rows[0].cells[2] == "nvidia.com/gpu 32 → 8"
        assert table.rows[1].cells[1:3] == ("time-slicing ×2", "nvidia.com/gpu 32 → 16")
        table.move_cursor(0)
        await pilot.press("enter")
        dialog = await _confirm(pilot, app)
        assert dialog.changes[-1] == "allocatable nvidia.com/gpu: 32 → 8 (8 GPUs × 1)"
        await pilot.press("y")
        await wait_until(pilot, lambda: _cell(app, node, "sharing") == "exclusive", 20)
        await wait_until(pilot, lambda: _allocatable(app, node) == "8")
    assert _kubectl(fresh_sim, "get", "node", node, "-o", LABEL) == ""
    assert _kubectl(fresh_sim, "get", "node", node, "-o", ALLOCATABLE) == "8"
    results = [(e["verb"], e["result"]) for e in AuditLog(audit_path).entries()]
    assert results == [("timeslice", "started"), ("timeslice", "ok")] * 2


async def test_unknown_config_is_one_line_and_nothing_is_sent(tiny_sim, audit_path) -> None:
    node = _node(tiny_sim, "a100")
    app = make_app(tiny_sim)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_node(pilot, app, node)
        mark = tiny_sim.requests.mark()
        await command(pilot, "timeslice a100-x9")
        message = (
            "config 'a100-x9' not defined in gpu-operator/time-slicing-config"
            " (defined: a100-x2, any, no-sharing, t4-x4): nothing sent"
        )
        await wait_until(pilot, lambda: _notified(app, message))
        assert not isinstance(app.screen, ConfirmDialog)
        writes = [
            p for _m, p in tiny_sim.requests.since(mark, writes_only=True) if "review" not in p
        ]
        assert writes == []
        # The names it read are offered for completion in the `:` bar from now on.
        await wait_until(pilot, lambda: "timeslice any" in argument_words(app, "nodes"))
        assert argument_words(app, "jobs") == []
        entries = [e.text for e in palette_entries(app, "nodes")]
        assert [e for e in entries if e.startswith(":timeslice")] == [
            ":timeslice", ":timeslice off", ":timeslice a100-x2", ":timeslice any",
            ":timeslice no-sharing", ":timeslice t4-x4",
        ]  # fmt: skip
        await pilot.press("colon", *"timeslice", "space", "a", "n", "tab")
        bar = view(app).query_one("CommandBar")
        assert bar.value == "timeslice any "
        await pilot.press("escape")


async def test_escape_in_the_picker_and_no_in_the_dialog_change_nothing(
    tiny_sim, audit_path
) -> None:
    node = _node(tiny_sim, "l4")
    app = make_app(tiny_sim)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_node(pilot, app, node)
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, TimeslicePicker), 15)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, TimeslicePicker))
        await command(pilot, "timeslice t4-x4")
        dialog = await _confirm(pilot, app)
        assert dialog.changes[1:] == (
            "sharing: exclusive → time-slicing ×4 as nvidia.com/gpu.shared",
            "allocatable nvidia.com/gpu.shared: 0 → 16 (4 GPUs × 4)",
            "allocatable nvidia.com/gpu: 4 → 0",
        )
        await pilot.press("n")
        await wait_until(pilot, lambda: _notified(app, "timeslice cancelled: nothing changed"))
    assert _kubectl(tiny_sim, "get", "node", node, "-o", LABEL) == ""
    assert not audit_path.exists()


async def test_read_only_and_the_viewer_are_refused(tiny_sim, audit_path) -> None:
    node = _node(tiny_sim, "a100")
    app = make_app(tiny_sim, read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_node(pilot, app, node)
        mark = tiny_sim.requests.mark()
        await pilot.press("t")  # not offered
        await pilot.pause(0.2)
        assert not isinstance(app.screen, TimeslicePicker)
        assert argument_words(app, "nodes") == []
        await command(pilot, "timeslice any")
        await wait_until(pilot, lambda: _notified(app, f"read-only: timeslice Node {node} refused"))
        assert tiny_sim.requests.since(mark, writes_only=True) == []
    app = make_app(tiny_sim, context=VIEWER_CONTEXT)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_node(pilot, app, node)
        await command(pilot, "timeslice any")
        denied = "not allowed by RBAC: you may not patch nodes"
        await wait_until(pilot, lambda: _notified(app, denied))
        app.clear_notifications()
        await pilot.press("t")  # the picker is not shown to whom may not use it
        await wait_until(pilot, lambda: _notified(app, denied))
        assert not isinstance(app.screen, TimeslicePicker)
    assert _kubectl(tiny_sim, "get", "node", node, "-o", LABEL) == ""


async def test_hostile_config_names_and_documents_are_shown_literally(
    fresh_sim, audit_path
) -> None:
    """The ConfigMap is the cluster's text: names and YAML with markup, escapes and junk are
    listed as they are (cleaned), a broken document is listed as invalid and not offered."""
    conn = _admin(fresh_sim)
    conn.request(
        "POST",
        "/api/v1/namespaces/gpu-operator/configmaps",
        body={
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "hostile"},
            "data": {
                "[red]x8[/red]": "sharing: {timeSlicing: {resources: [{name: nvidia.com/gpu, replicas: 8}]}}",
                "[@click=app.quit]": "sharing: [",
                "esc\x1b[2Jape": "version: v1",
            },
        },
    )
    node = _node(fresh_sim, "a100")
    app = make_app(fresh_sim, device_plugin_config="gpu-operator/hostile")
    async with app.run_test(size=(160, 48)) as pilot:
        await select_node(pilot, app, node)
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, TimeslicePicker), 15)
        table = app.screen.query_one("VirtualTable")
        cells = {r.key: r.cells for r in table.rows}
        assert cells["[red]x8[/red]"][1:3] == ("time-slicing ×8", "nvidia.com/gpu 8 → 64")
        assert cells["[@click=app.quit]"][1] == "invalid: not valid YAML"
        assert cells["escape"][1] == "exclusive"
        table.move_cursor(next(i for i, r in enumerate(table.rows) if r.key == "[@click=app.quit]"))
        await pilot.press("enter")  # an invalid config is not offered
        await wait_until(pilot, lambda: _notified(app, "config [@click=app.quit]: not valid YAML"))
        assert isinstance(app.screen, TimeslicePicker)
        text = _text(app)
        assert "[red]x8[/red]" in text and "\x1b" not in text
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.is_running  # no [@click=app.quit] became an action
