"""Pilot tests of the Triage screen on the simulated `tiny` cluster: the screen with
findings made by a test rule (ranked, counted, filtered, the evidence pane, no findings,
notes), Enter to the object's view with the cursor on it and its action's key working
there, Esc back, `:triage` and `landing = "triage"`. The per-scenario tests with the real
rules are in test_app_triage_scenarios.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import Static

from console.cluster.connection import connect
from console.screens.detail import DetailScreen
from console.screens.logs import LogScreen
from console.screens.resource import ResourceScreen
from console.screens.triage import TriageScreen, finding_of
from console.screens.triage_jump import JumpScreen
from console.sim.auth import TEAM_CONTEXT
from console.sim.cluster import SimCluster
from console.triage.engine import Thresholds, Triage, TriageInputs
from console.triage.model import CRITICAL, INFO, WARNING, Finding, ObjectRef
from tests.test_app_actions_support import SIZE, audit_home, dialog_of, sim
from tests.test_app_support import command, filter_, make_app, screen_text, wait_until
from tests.test_app_telemetry import telemetry_app

__all__ = ["audit_home", "sim"]  # fixtures


def gpu_nodes(session: Any) -> list[str]:
    return sorted(n.name for n in session.items("nodes") if n.has_gpus)


def jobs(session: Any) -> list[Any]:
    return sorted(session.items("pytorchjobs"), key=lambda j: (j.namespace, j.name))


def made_up(inputs: TriageInputs, _thresholds: Thresholds) -> Iterator[Finding]:
    """Three findings on real objects of the cluster: a node, a job and a pod.

    (A test rule, so the screen is tested apart from the real rules' thresholds.)"""
    session = inputs.session
    nodes, training = gpu_nodes(session), jobs(session)
    if not nodes or not training:
        return
    job = training[0]
    yield Finding(
        "crashloop", WARNING, "training replicas restarting",
        ObjectRef("pytorchjobs", job.namespace, job.name, "jobs"),
        evidence=("worker-1 restarted 4 times in 10m", "last exit: OOMKilled [red]"),
        action="read the worker's logs", action_key="l", gpus=2,
    )  # fmt: skip
    yield Finding(
        "xid", CRITICAL, "XID 79 (GPU fell off the bus)",
        ObjectRef("nodes", "", nodes[-1], "nodes", gpu=3),
        evidence=("DCGM_FI_DEV_XID_ERRORS = 79 on GPU 3",),
        action="cordon the node, then drain it", action_key="c", gpus=1,
    )  # fmt: skip
    yield Finding(
        "pending-gpus", INFO, "1 GPU pod Pending: Insufficient nvidia.com/gpu",
        ObjectRef("nodes", "", nodes[0], "nodes"), evidence=("waiting 6m",), gpus=1,
    )  # fmt: skip


async def use_rules(pilot: Any, app: Any, *rules: Any) -> None:
    """Swap the session's triage for one running `rules`, and wait until the screen shows
    an evaluation of those (the real rules' first findings may be on it already)."""
    assert app.pipeline is not None
    swapped = time.time()
    app.pipeline.triage = Triage(rules=rules)
    app.pipeline.mark_dirty()

    def theirs() -> bool:
        facts = triage(app).facts
        return facts is not None and facts.report.generated >= swapped

    await wait_until(pilot, theirs, 20)


def triage(app: Any) -> TriageScreen:
    assert isinstance(app.screen, TriageScreen), f"not the triage screen: {app.screen!r}"
    return app.screen


def cells(app: Any, key: str) -> list[str]:
    table = triage(app).table
    index = next(c.index for c in table.visible_columns if c.key == key)
    return [row.cells[index] for row in table.rows]


def shown(app: Any) -> str:
    """The screen as a user reads it (spaces plain)."""
    return screen_text(app).replace("\xa0", " ")


def title(app: Any) -> str:
    return str(app.screen.query_one("#title", Static).render())


async def findings(pilot: Any, app: Any, count: int) -> None:
    await wait_until(pilot, lambda: triage(app).table.row_count == count, 20)


async def test_findings_ranked_counted_filtered_with_evidence(sim) -> None:
    app = make_app(sim, landing="triage")
    async with app.run_test(size=(160, 48)) as pilot:
        await use_rules(pilot, app, made_up)
        await findings(pilot, app, 3)
        assert cells(app, "sev") == ["CRIT", "WARN", "INFO"]  # severity first, then GPUs
        assert "1 critical · 1 warning · 1 info" in title(app)
        pane = str(app.screen.query_one("#evidence", Static).render())
        assert "XID 79 (GPU fell off the bus)" in pane and "GPU 3" in pane
        assert "DCGM_FI_DEV_XID_ERRORS = 79 on GPU 3" in pane
        assert "cordon the node, then drain it" in pane and "then c" in pane
        await pilot.press("down")
        await wait_until(pilot, lambda: "[red]" in str(app.screen.query_one("#evidence").render()))
        assert "last exit: OOMKilled [red]" in shown(app)  # cluster text, never markup
        await pilot.press("d")
        await wait_until(pilot, lambda: not app.screen.query_one("#evidence").display)
        await pilot.press("d")
        await wait_until(pilot, lambda: app.screen.query_one("#evidence").display)

        await filter_(pilot, "restart")
        await findings(pilot, app, 1)
        assert cells(app, "sev") == ["WARN"]
        assert "1 of 3 findings" in shown(app)
        assert "1 critical · 1 warning · 1 info" in title(app)  # the counts are the report's
        await filter_(pilot, "nothing-like-this")
        await findings(pilot, app, 0)
        assert "no findings match the filter" in shown(app)
        await pilot.press("escape")  # clears the filter
        await findings(pilot, app, 3)


async def test_enter_on_a_node_finding_then_cordon_then_back(sim) -> None:
    app = make_app(sim, landing="triage")
    async with app.run_test(size=SIZE) as pilot:
        await use_rules(pilot, app, made_up)
        await findings(pilot, app, 3)
        node = gpu_nodes(app.session)[-1]
        await pilot.press("e")  # the object's events, without leaving Triage
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert app.screen.record.name == node and app.screen.initial_tab == "events"
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, TriageScreen))
        await pilot.press("g")  # its GPUs, the finding's GPU selected
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert app.screen.initial_tab == "gpus" and app.screen.gpu == 3
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, TriageScreen))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, JumpScreen) and app.screen.landed)
        jump = app.screen
        assert jump.view_name == "nodes" and jump.table.row_count > 1
        assert jump.table.current_row.record.name == node
        assert "from Triage" in title(app)
        await pilot.press("c")
        dialog = await dialog_of(pilot, app)
        assert dialog.title_text == f"cordon Node {node}, context kmc-sim"
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is jump)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, TriageScreen))
        await findings(pilot, app, 3)


async def test_enter_on_a_job_finding_then_logs_then_back(sim) -> None:
    app = make_app(sim, landing="triage")
    async with app.run_test(size=SIZE) as pilot:
        await use_rules(pilot, app, made_up)
        await findings(pilot, app, 3)
        job = jobs(app.session)[0]
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, JumpScreen) and app.screen.landed)
        jump = app.screen
        assert jump.view_name == "jobs"
        record = jump.table.current_row.record
        assert (record.namespace, record.name) == (job.namespace, job.name)
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, LogScreen))
        assert job.name in shown(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is jump)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, TriageScreen))


async def test_a_gone_object_says_so_and_stays_in_its_view(sim) -> None:
    def gone(_inputs: TriageInputs, _t: Thresholds) -> Iterator[Finding]:
        yield Finding("xid", CRITICAL, "XID 48", ObjectRef("nodes", "", "no-such-node", "nodes"))

    app = make_app(sim, landing="triage")
    notes: list[str] = []
    app.notify = lambda message, *a, **k: notes.append(str(message))  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await use_rules(pilot, app, gone)
        await findings(pilot, app, 1)
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("no-such-node is not in the" in n for n in notes))
        assert isinstance(app.screen, JumpScreen) and app.screen.view_name == "nodes"


async def test_no_findings_says_so_and_over_what(sim) -> None:
    app = make_app(sim, landing="triage", telemetry_source="none")
    async with app.run_test(size=SIZE) as pilot:
        await use_rules(pilot, app)
        await wait_until(pilot, lambda: "No findings" in shown(app), 20)
        nodes = len(gpu_nodes(app.session))
        text = shown(app)
        assert f"No findings — {nodes} GPU nodes, telemetry: none (off)" in text
        assert "0 findings" in text


async def test_a_failing_rule_is_a_note_and_the_others_still_show(sim) -> None:
    def broken(_inputs: TriageInputs, _t: Thresholds) -> Iterator[Finding]:
        raise KeyError("bad record")

    app = make_app(sim, landing="triage")
    async with app.run_test(size=SIZE) as pilot:
        await use_rules(pilot, app, broken, made_up)
        await findings(pilot, app, 3)
        await wait_until(pilot, lambda: app.screen.query_one("#notes").display)
        assert "rule broken failed: KeyError" in shown(app)


@pytest.mark.parametrize("word", ["triage", "tr"])
async def test_the_triage_command_and_back_to_a_view(sim, word: str) -> None:
    app = make_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ResourceScreen))
        assert app.screen.view_name == "nodes"  # the default landing
        await command(pilot, word)
        await wait_until(pilot, lambda: isinstance(app.screen, TriageScreen))
        await command(pilot, "jobs")
        await wait_until(pilot, lambda: getattr(app.screen, "view_name", "") == "jobs")


@pytest.fixture(scope="module")
def demo_sim():
    cluster = SimCluster(preset="demo", seed=5).start()
    yield cluster
    cluster.stop()


async def test_demo_xid_first_and_its_node_cordons_from_where_enter_lands(demo_sim) -> None:
    """The real rules on the demo preset: its XID GPU is the top finding, critical; Enter
    lands on that node in the nodes view and `c` (the finding's key) asks to cordon it."""
    app = telemetry_app(demo_sim, landing="triage")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.telemetry.started and app.telemetry.has_data(), 30)
        screen = triage(app)
        await wait_until(pilot, lambda: finding_of(screen.table.current_row) is not None, 30)
        await wait_until(pilot, lambda: finding_of(screen.table.rows[0]).rule == "xid", 30)
        top = finding_of(screen.table.rows[0])
        assert top.severity == CRITICAL and top.object.view == "nodes" and top.action_key == "c"
        assert "critical" in title(app)
        assert "XID" in str(app.screen.query_one("#evidence", Static).render())
        await pilot.press("home", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, JumpScreen) and app.screen.landed)
        assert app.screen.table.current_row.record.name == top.object.name
        await pilot.press("c")
        dialog = await dialog_of(pilot, app)
        assert dialog.title_text == f"cordon Node {top.object.name}, context kmc-sim"
        await pilot.press("n")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, TriageScreen))


async def test_the_rules_run_behind_the_other_views_too(sim) -> None:
    """Rules with memory (how long a GPU has been idle) see the session from its start, not
    only while Triage is shown: the pipeline evaluates now and then behind any view."""
    app = make_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.pipeline.triage_facts is not None, 20)
        assert getattr(app.screen, "view_name", "") == "nodes"
        assert app.pipeline.triage_facts.gpu_nodes == len(gpu_nodes(app.session))


async def test_demo_every_finding_jumps_to_its_object(demo_sim) -> None:
    """Enter on each of the demo's findings (real rules) lands on its object's row in the
    view the finding names, and Esc comes back to the same finding."""
    app = telemetry_app(demo_sim, landing="triage")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.telemetry.started and app.telemetry.has_data(), 30)
        screen = triage(app)
        await wait_until(pilot, lambda: screen.table.row_count > 3, 30)
        await pilot.press("d")  # no pane: fewer redraws per step
        missed = []
        for index in range(screen.table.row_count):
            screen.table.move_cursor(index)
            finding = finding_of(screen.table.current_row)
            await pilot.press("enter")
            await wait_until(
                pilot, lambda: isinstance(app.screen, JumpScreen) and app.screen.landed, 20
            )
            jump = app.screen
            row = jump.table.current_row
            record = row.record if row is not None else None
            ref = finding.object
            found = (
                jump.view_name == ref.view
                and getattr(record, "name", None) == ref.name
                and (getattr(record, "namespace", "") or "") == ref.namespace
            )
            if not found:
                missed.append(f"{finding.id} → {jump.view_name}")
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is screen)
        assert not missed


async def test_a_restricted_user_sees_what_triage_could_not_read(sim) -> None:
    """The team user may not list nodes: Triage says so in its notes, like the other views,
    and still shows what it can see of its namespace."""
    app = make_app(sim, context=TEAM_CONTEXT, namespaces="ml", landing="triage")
    async with app.run_test(size=SIZE) as pilot:
        notes = lambda: str(app.screen.query_one("#notes", Static).render())  # noqa: E731
        await wait_until(pilot, lambda: "forbidden: you may not list Node" in notes(), 30)
        assert isinstance(app.screen, TriageScreen)
        assert "not installed" not in notes()  # an optional kind that is absent is no news


async def test_namespace_help_and_messages_on_triage(sim) -> None:
    """`:ns` narrows the findings to a namespace (cluster-scoped ones stay); `?` and `m`
    open over Triage and Esc comes back."""

    def elsewhere(inputs: TriageInputs, t: Thresholds) -> Iterator[Finding]:
        yield from made_up(inputs, t)
        ref = ObjectRef("pods", "other-team", "their-pod\x1b[31m", "pods")
        yield Finding("crashloop", WARNING, "restarting [b]bold[/b]", ref, gpus=1)

    app = make_app(sim, landing="triage")
    async with app.run_test(size=SIZE) as pilot:
        await use_rules(pilot, app, elsewhere)
        await findings(pilot, app, 4)
        assert "restarting [b]bold[/b]" in shown(app)  # never markup
        assert "\x1b" not in shown(app)
        await command(pilot, "ns ml")
        await findings(pilot, app, 3)
        assert "other-team" not in " ".join(cells(app, "object"))
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: "Help · triage" in shown(app))
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, TriageScreen))
        await pilot.press("m")
        await wait_until(pilot, lambda: "in full" in shown(app))
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, TriageScreen))


async def test_findings_follow_the_cluster_without_a_key(sim) -> None:
    """A watch event re-runs the rules through the pipeline: a node that gains a label the
    test rule looks for shows up as a finding, and goes when the label goes."""
    label = "kmc.test/triage-probe"

    def labelled(inputs: TriageInputs, _t: Thresholds) -> Iterator[Finding]:
        for node in inputs.session.items("nodes"):
            if label in node.labels:
                yield Finding("xid", CRITICAL, "probe", ObjectRef("nodes", "", node.name, "nodes"))

    def set_label(node: str, value: str | None) -> None:
        admin = connect(str(sim.kubeconfig_path), "kmc-sim")
        admin.request(
            "PATCH",
            f"/api/v1/nodes/{node}",
            body={"metadata": {"labels": {label: value}}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        admin.close()

    app = make_app(sim, landing="triage")
    async with app.run_test(size=SIZE) as pilot:
        await use_rules(pilot, app, labelled)
        await wait_until(pilot, lambda: "No findings" in shown(app), 20)
        node = gpu_nodes(app.session)[0]
        set_label(node, "yes")
        try:
            await findings(pilot, app, 1)
            assert node in cells(app, "object")[0]
        finally:
            set_label(node, None)
        await findings(pilot, app, 0)
