"""Incremental refreshes through the refresh pipeline: a rebuild makes only the rows whose
records changed, and typing a filter filters the rows already built (no rebuild)."""

from __future__ import annotations

from typing import Any

from console.cluster.connection import connect
from console.render import pods
from console.render.base import Row
from tests.test_app_support import (
    column,
    command,
    make_app,
    populated,
    refreshed,
    table_rows,
    view,
    wait_until,
)

SIZE = (160, 48)
GPU = {"nvidia.com/gpu": "1"}
NAMES = ("inc-a", "inc-b", "inc-c")


async def test_one_pod_change_rebuilds_only_its_row(fresh_sim, monkeypatch) -> None:
    admin = connect(str(fresh_sim.kubeconfig_path), "kmc-sim")
    for name in NAMES:
        pod = {
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "x", "resources": {"limits": GPU}}]},
        }
        admin.request("POST", "/api/v1/namespaces/default/pods", body=pod)
    fresh_sim.advance(60, step=30)  # scheduled and started
    # Frozen and settled: from here no pod changes but the test's own patch.
    fresh_sim.clock.set_speed(0)
    fresh_sim.call(fresh_sim.ctx.run_due)
    built: list[str] = []
    real = pods.pod_row

    def counting(pod: Any, *args: Any) -> Row:
        built.append(f"{pod.namespace}/{pod.name}")
        return real(pod, *args)

    monkeypatch.setattr(pods, "pod_row", counting)
    app = make_app(fresh_sim, namespace="default")
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await command(pilot, "pods")

        await wait_until(pilot, lambda: set(NAMES) <= set(column(app, "name")))
        await wait_until(pilot, app.session.synced)
        await refreshed(pilot, app)  # built from every kind's full list
        screen = view(app)
        shown = len(screen.rows)
        assert shown >= len(NAMES)
        built.clear()
        await refreshed(pilot, app)
        assert built == []  # nothing changed: every row reused

        patch = {"metadata": {"labels": {"touched": "yes"}}}
        headers = {"Content-Type": "application/strategic-merge-patch+json"}
        path = "/api/v1/namespaces/default/pods/inc-b"
        admin.request("PATCH", path, body=patch, headers=headers)

        def relabelled() -> bool:
            row = next(r for r in view(app).rows if r.key == "default/inc-b")
            return row.labels.get("touched") == "yes"

        await wait_until(pilot, relabelled)
        assert set(built) == {"default/inc-b"}
        built.clear()
        await refreshed(pilot, app)
        assert built == [] and len(screen.rows) == shown


async def test_filter_typing_filters_the_built_rows(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        pipeline = app.pipeline
        assert pipeline is not None
        pipeline.min_interval = pipeline.tick = 3600.0  # no data-driven rebuild meanwhile
        builds = pipeline.builds
        await refreshed(pilot, app)
        # `refreshed` may return on a result built before; the build it asked for was still
        # due at the old pace, and would come while the filter is typed: wait for it.
        await wait_until(pilot, lambda: pipeline.builds > builds)
        screen = view(app)
        builds = pipeline.builds
        await pilot.press("slash", "l")
        await wait_until(pilot, lambda: screen.applied_filter == "l")
        await pilot.press("4")
        await wait_until(pilot, lambda: screen.applied_filter == "l4")
        assert len(table_rows(app)) == 1 and "l4" in column(app, "name")[0]
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen.applied_filter == "")
        assert len(table_rows(app)) == 2
        assert pipeline.builds == builds  # every answer came from the rows already built
