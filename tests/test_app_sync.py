"""Sync state in the header and the views: syncing, stale, forbidden, not installed, and
recovery after the API server drops every watch (restart) or expires them (410)."""

from __future__ import annotations

import time

import pytest
from textual.widgets import Static

from console.cluster.informer import FORBIDDEN, NOT_INSTALLED, STALE, SYNCING, SyncState
from console.cluster.kinds import JOB_KINDS
from tests.kube import api_client
from tests.test_app_support import (
    column,
    command,
    make_app,
    populated,
    refreshed,
    view,
    wait_until,
)

SIZE = (160, 48)


def _header(app):
    return app.screen.query_one("#header").data


def _notes(app) -> str:
    return str(app.screen.query_one("#notes", Static).render())


async def test_header_shows_syncing_stale_and_live(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await wait_until(pilot, lambda: _header(app).sync == "live")
        assert _header(app).sync_hint == "ok"
        app.session.state_overrides["pods"] = SyncState(SYNCING, 500, 2000)
        await refreshed(pilot, app)
        assert _header(app).sync == "pods syncing 500/2000"
        assert _header(app).sync_hint == "warn"
        since = time.time() - 30
        app.session.state_overrides["nodes"] = SyncState(STALE, 2, since=since)
        await refreshed(pilot, app)
        stamp = time.strftime("%H:%M:%S", time.localtime(since))
        assert _header(app).sync == f"nodes stale since {stamp}"
        assert len(column(app, "name")) == 2  # the last data stays on screen
        app.session.state_overrides.clear()
        await refreshed(pilot, app)
        assert _header(app).sync == "live"


async def test_missing_crds_are_noted_and_do_not_break_the_view(tiny_sim) -> None:
    # The sim serves no LLMInferenceService CRD (KServe's llm-d): a real 404 → "not installed".
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "servers")
        await populated(pilot, app, "servers")
        await wait_until(pilot, lambda: "LLMInferenceService" in _notes(app))
        assert "not installed in this cluster" in _notes(app)
        assert "InferenceService" in column(app, "kind")
        assert _header(app).sync == "live"  # optional kinds that are absent are not an error


async def test_view_whose_kinds_are_all_absent_says_so(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "jobs")
        await populated(pilot, app, "jobs")
        for name in JOB_KINDS:
            app.session.state_overrides[name] = SyncState(NOT_INSTALLED, 0)
        await command(pilot, "ns kube-system")  # no jobs there: the view is empty
        await wait_until(pilot, lambda: view(app).table.row_count == 0)
        empty = str(app.screen.query_one("#empty", Static).render())
        assert empty.startswith("not installed in this cluster: PyTorchJob")


async def test_forbidden_kind_is_shown_and_the_rest_works(tiny_sim) -> None:
    app = make_app(tiny_sim, context="kmc-sim-viewer")
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "jobs")
        await populated(pilot, app, "jobs")
        app.session.state_overrides["tfjobs"] = SyncState(FORBIDDEN, 0, message="403")
        await refreshed(pilot, app)
        assert "forbidden: you may not list TFJob" in _notes(app)
        assert _header(app).sync == "tfjobs forbidden" and _header(app).sync_hint == "error"
        assert "llama-ft" in column(app, "name")
        await command(pilot, "nodes")
        await populated(pilot, app, "nodes")
        assert _header(app).sync == "live"  # other views are not affected


def _gpu_pod(name: str) -> dict:
    return {
        "metadata": {"name": name, "labels": {"test": "sync"}},
        "spec": {
            "containers": [
                {"name": "c", "image": "busybox", "resources": {"limits": {"nvidia.com/gpu": "1"}}}
            ],
        },
    }


@pytest.mark.slow
async def test_recovers_after_watch_drop_and_410(fresh_sim) -> None:
    import kubernetes

    core = kubernetes.client.CoreV1Api(api_client(fresh_sim.kubeconfig_path))
    app = make_app(fresh_sim)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "pods")
        await populated(pilot, app, "pods")
        await wait_until(pilot, lambda: _header(app).sync == "live")

        fresh_sim.faults.drop_watches()  # like an API server restart
        core.create_namespaced_pod("ml", _gpu_pod("after-drop"))
        await wait_until(pilot, lambda: "after-drop" in column(app, "name"), timeout=30)

        fresh_sim.faults.expire_watches()  # the next resume gets 410 Gone → relist
        fresh_sim.faults.drop_watches()
        core.create_namespaced_pod("ml", _gpu_pod("after-410"))
        core.delete_namespaced_pod("after-drop", "ml", grace_period_seconds=0)
        await wait_until(
            pilot,
            lambda: "after-410" in column(app, "name") and "after-drop" not in column(app, "name"),
            timeout=30,
        )
        await wait_until(pilot, lambda: _header(app).sync == "live", timeout=30)
