"""Per incident scenario, the Triage screen with the real rules: the scenario's finding is
the top one, on the right object, with its evidence; Enter lands on that object in its view
and the finding's action key works there; Esc comes back. `none` shows no critical finding.

Each scenario runs its own simulated cluster in this process (the scenarios' four hours of
warm-up are simulated, not waited for), with DCGM telemetry and an MLflow store.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.widgets import Static

from console.cluster.connection import connect
from console.screens.triage import TriageScreen, finding_of
from console.screens.triage_jump import JumpScreen
from console.sim.cluster import SimCluster
from console.triage.model import CRITICAL
from tests.test_app_support import wait_until
from tests.test_app_telemetry import telemetry_app
from tests.test_headless_triage import NODE_FAULT, TOP_OBJECT, TOP_RULE, _expected_node

SIZE = (160, 48)


@pytest.fixture
def mlflow_store(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/mlflow.db"


def scenario_app(scenario: str, store: str) -> tuple[SimCluster, Any]:
    sim = SimCluster(scenario=scenario, mlflow_uri=store).start()
    settings: dict[str, Any] = {}
    if scenario == "idle-allocated":
        # Direct DCGM scrapes have no history: the console counts idle time from its own
        # start, so a GPU idle for hours is reported after `triage_idle_minutes` seen.
        settings["triage_idle_minutes"] = 0.0
    app = telemetry_app(sim, landing="triage", mlflow_tracking_uri=store, **settings)
    return sim, app


def node_of(sim: SimCluster, scenario: str) -> str:
    nodes = json.loads(connect(str(sim.kubeconfig_path), "kmc-sim").get("/api/v1/nodes"))
    return _expected_node(scenario, nodes["items"])


async def ready(pilot: Any, app: Any) -> TriageScreen:
    await wait_until(pilot, lambda: app.telemetry.started and app.telemetry.has_data(), 60)
    await wait_until(pilot, lambda: isinstance(app.screen, TriageScreen), 30)
    return app.screen


@pytest.mark.parametrize("scenario", list(TOP_RULE))
async def test_each_scenario_on_the_triage_screen(scenario: str, mlflow_store: str) -> None:
    sim, app = scenario_app(scenario, mlflow_store)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await ready(pilot, app)

            def top() -> Any:
                rows = screen.table.rows
                return finding_of(rows[0]) if rows else None

            try:
                await wait_until(
                    pilot,
                    lambda: top() is not None and top().rule.startswith(TOP_RULE[scenario]),
                    60,
                )
            except AssertionError:
                shown = [finding_of(r).id for r in screen.table.rows]
                raise AssertionError(f"top finding not {TOP_RULE[scenario]}: {shown}") from None
            finding = top()
            ref = finding.object
            if scenario in NODE_FAULT or scenario == "node-notready":
                assert (ref.kind, ref.name) == ("nodes", node_of(sim, scenario)), ref
                gpu = NODE_FAULT.get(scenario, (None, None))[1]
                if gpu is not None:
                    assert ref.gpu == gpu, ref
            elif scenario in TOP_OBJECT:
                assert (ref.kind, ref.namespace, ref.name) == TOP_OBJECT[scenario], ref
            assert finding.evidence, finding
            screen.table.move_cursor(0)
            pane = lambda: str(screen.query_one("#evidence", Static).render())  # noqa: E731
            await wait_until(pilot, lambda: finding.evidence[0][:40] in pane())
            assert finding.title[:40] in pane()

            await pilot.press("enter")
            await wait_until(
                pilot, lambda: isinstance(app.screen, JumpScreen) and app.screen.landed, 20
            )
            jump = app.screen
            record = jump.table.current_row.record
            assert jump.view_name == ref.view
            assert (record.name, getattr(record, "namespace", "") or "") == (
                ref.name,
                ref.namespace,
            )
            if finding.action_key:  # the suggested key does something here
                await pilot.press(finding.action_key)
                await wait_until(pilot, lambda: app.screen is not jump, 20)
                while app.screen is not jump:
                    await pilot.press("escape")
                    await pilot.pause(0.1)
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is screen)
    finally:
        sim.stop()


async def test_the_healthy_scenario_shows_no_critical_finding(mlflow_store: str) -> None:
    sim, app = scenario_app("none", mlflow_store)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await ready(pilot, app)
            await wait_until(
                pilot,
                lambda: (
                    screen.facts is not None
                    and screen.facts.report.sources.get("telemetry") == "dcgm"
                ),
                60,
            )
            assert screen.facts.report.counts()[CRITICAL] == 0
            assert "critical" not in str(screen.query_one("#title", Static).render())
    finally:
        sim.stop()
