"""Pilot tests of GPU telemetry in the console, against an in-process `tiny` simulated cluster
with the direct DCGM scrape: the GPU nodes columns, the header and the jobs / servers columns
show the figures of `poller.store`; the node GPUs tab has one row per GPU with sparklines;
XID and heat are flagged; a telemetry source that dies mid-session (garbage exporters, or a
real Prometheus stopped) shows `telemetry unavailable: <reason>` while browsing keeps working,
then recovers by itself. Also the `--telemetry` / `--prometheus-url` options."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from click.testing import CliRunner
from textual.widgets import Static, TabbedContent

from console.app import KmcApp
from console.metrics import TelemetryPoller, workload_telemetry
from console.render.fmt import BLOCKS
from console.screens.detail import DetailScreen
from console.screens.gpus import NodeGpus
from console.screens.resource import ResourceScreen
from console.sim.cluster import SimCluster
from tests.conftest import require_binary
from tests.kube import IDLE_JOB
from tests.test_app_support import (
    column,
    command,
    make_app,
    populated,
    redrawn,
    view,
    wait_until,
)

SIZE = (160, 48)
XID_NODE_ANNOTATIONS = {"sim.kmc.dev/xid-gpus": "1", "sim.kmc.dev/hot-gpus": "2"}


# ---------------------------------------------------------------- helpers (shared)


def telemetry_app(sim: Any, *, idle_samples: int = 12, **settings: Any) -> KmcApp:
    """A console on `sim` whose poller refreshes only when asked (`sample`) after its first."""
    settings.setdefault("telemetry_source", "dcgm")
    app = make_app(sim, **settings)

    def factory(s: Any, connection: Any, cache: Any) -> TelemetryPoller:
        return TelemetryPoller(s, connection, cache, interval=3600, idle_samples=idle_samples)

    app.telemetry.factory = factory
    return app


def shown_cells(table: Any, index: int) -> dict[str, str]:
    """Column key → text of row `index` of a `VirtualTable`, for its shown columns."""
    row = table.rows[index]
    return {c.key: row.cells[c.index] for c in table.visible_columns}


def poller(app: KmcApp) -> TelemetryPoller:
    assert app.telemetry.poller is not None
    return app.telemetry.poller


async def live(pilot: Any, app: KmcApp) -> None:
    """Until the first telemetry refresh has data and the screen shows it."""
    await wait_until(pilot, lambda: app.telemetry.started and app.telemetry.has_data(), 30)
    await redrawn(pilot, app)


async def sample(pilot: Any, app: KmcApp, times: int = 1) -> None:
    """Make the poller's thread refresh `times` more times, then redraw the screen."""
    for _ in range(times):
        before = poller(app).store.samples
        poller(app).refresh_now()
        await wait_until(pilot, lambda b=before: poller(app).store.samples > b, 20)
    await redrawn(pilot, app)


def annotate_node(sim: Any, node: str, annotations: dict[str, str]) -> None:
    from console.cluster.connection import connect

    admin = connect(str(sim.kubeconfig_path), "kmc-sim")
    admin.request(
        "PATCH",
        f"/api/v1/nodes/{node}",
        body={"metadata": {"annotations": annotations}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    admin.close()


def gpu_node_names(sim: Any) -> list[str]:
    return sorted(sim.call(sim.telemetry.gpu_nodes))


def cells_by_name(app: KmcApp, key: str, name_key: str = "name") -> dict[str, str]:
    return dict(zip(column(app, name_key), column(app, key), strict=True))


def header_text(app: KmcApp) -> str:
    return str(app.screen.query_one("#header").render())


def status_text(app: KmcApp) -> str:
    return str(app.screen.query_one("#status", Static).render())


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def frozen_tiny():
    """A tiny cluster whose sim clock stands still: every scrape reads the same numbers."""
    sim = SimCluster(preset="tiny", seed=5).start()
    sim.clock.set_speed(0)
    yield sim
    sim.stop()


# ---------------------------------------------------------------- tests


async def test_node_columns_and_header_match_the_store(frozen_tiny) -> None:
    app = telemetry_app(frozen_tiny)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await live(pilot, app)
        store = poller(app).store
        names = column(app, "name")
        assert len(names) == 2
        for key in ("util", "max", "mem", "temp", "power"):
            shown = cells_by_name(app, key)
            for name in names:
                figures = store.node(name)
                assert figures is not None
                expected = {
                    "util": f"{figures.mean_util:.0f}%",
                    "max": f"{figures.max_util:.0f}%",
                    "mem": f"{figures.mem_pct:.0f}%",
                    "temp": f"{figures.hottest:.0f}°C",
                    "power": f"{figures.power:.0f} W",
                }[key]
                assert shown[name].strip().rstrip("!") == expected, (key, name)
        assert all(x == "" for x in column(app, "xid"))  # no XID in this cluster yet
        header = app.screen.query_one("#header").data
        figures = store.header()
        assert (header.busy, header.idle) == (figures.busy, figures.allocated_idle)
        assert header.mean_util == pytest.approx(figures.mean_util)
        assert header.allocatable == 12 and header.telemetry == "dcgm live"
        text = header_text(app)
        assert f"busy {figures.busy}" in text and f"util {figures.mean_util:.0f}%" in text
        assert "dcgm live" in text
        # the numeric columns sort numerically
        await pilot.press(*[">"] * [c.key for c in view(app).table.visible_columns].index("util"))
        assert view(app).sort == ("util", False)
        await wait_until(pilot, lambda: view(app).applied.sort == ("util", False))
        utils = [float(u.strip("% ")) for u in column(app, "util")]
        assert utils == sorted(utils)


async def test_node_gpus_tab_has_one_row_per_gpu_with_sparklines(frozen_tiny) -> None:
    app = telemetry_app(frozen_tiny)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await live(pilot, app)
        a100 = next(n for n in column(app, "name") if "a100" in n)
        view(app).table.move_to_key(a100)
        await pilot.press("g")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        screen = app.screen
        assert screen.query_one(TabbedContent).active == "gpus"
        assert poller(app)._focus == frozenset({a100})  # the poller follows the screen
        await sample(pilot, app, 3)
        gpus = screen.query_one(NodeGpus)
        rows = poller(app).store.gpu_rows(a100)
        assert len(rows) == 8 == gpus.table.row_count
        for i, row in enumerate(rows):
            cells = shown_cells(gpus.table, i)
            assert int(cells["gpu"]) == row.index
            assert cells["util"].strip() == f"{row.util:.0f}%"
            spark = cells["util_hist"]
            assert sum(ch in BLOCKS for ch in spark) >= 4  # 1 + 3 samples drawn
            assert cells["temp"].strip().rstrip("!") == f"{row.temp:.0f}°C"
            pods = cells["pod"]
            assert pods == (", ".join(row.pods) if row.pods else "(free)")
        assert any("llama-ft" in p for r in rows for p in r.pods)
        summary = str(screen.query_one("#gpu-summary", Static).render())
        assert summary.startswith("8 GPUs") and "mean" in summary
        # Enter on a held GPU opens its pod
        held = next(r for r in rows if r.pods)
        gpus.table.move_to_key(str(held.index))
        gpus.table.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: getattr(app.screen, "kind_name", "") == "pods")
        assert f"{app.screen.record.namespace}/{app.screen.record.name}" == held.pods[0]
        await pilot.press("escape", "escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ResourceScreen))
        await redrawn(pilot, app)
        assert poller(app)._focus == frozenset()


async def test_jobs_and_servers_show_util_and_idle(frozen_tiny) -> None:
    app = telemetry_app(frozen_tiny)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await live(pilot, app)
        figures = workload_telemetry(poller(app).store, app.session.cache)
        await command(pilot, "jobs")
        await populated(pilot, app, "jobs")
        util, idle = cells_by_name(app, "util"), cells_by_name(app, "idle")
        job = figures[("PyTorchJob", "ml", "llama-ft")]
        assert util["llama-ft"].strip() == f"{job.mean_util:.0f}%"
        assert idle["llama-ft"] == str(job.idle_gpus)
        await command(pilot, "servers")
        await populated(pilot, app, "servers")
        server = figures[("InferenceService", "ml", "llama3-8b")]
        assert cells_by_name(app, "util")["llama3-8b"].strip() == f"{server.mean_util:.0f}%"
        assert cells_by_name(app, "idle")["llama3-8b"] == str(server.idle_gpus)


async def test_idle_allocation_xid_and_heat_are_flagged(fresh_sim) -> None:
    fresh_sim.clock.set_speed(0)
    a100 = next(n for n in gpu_node_names(fresh_sim) if "a100" in n)
    annotate_node(fresh_sim, a100, XID_NODE_ANNOTATIONS)
    app = telemetry_app(fresh_sim, idle_samples=2)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await live(pilot, app)
        await sample(pilot, app)
        figures = poller(app).store.node(a100)
        assert figures is not None and figures.last_xid and figures.hottest >= 85
        assert cells_by_name(app, "xid")[a100] == str(figures.last_xid)
        assert cells_by_name(app, "temp")[a100] == f"{figures.hottest:.0f}°C!"
        assert next(r for r in view(app).rows if r.key == a100).hint == "bad"  # the row's hint
        await pilot.press("g")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        await sample(pilot, app)
        gpus = app.screen.query_one(NodeGpus)
        assert shown_cells(gpus.table, 1)["xid"].strip() == str(figures.last_xid)
        assert gpus.table.rows[1].hint == "bad"
        assert "XID" in str(app.screen.query_one("#gpu-summary", Static).render())
        await pilot.press("escape")
        # an allocated GPU that stays idle: the header and the jobs view count it
        await asyncio.to_thread(_idle_notebook, fresh_sim)
        await wait_until(
            pilot,
            lambda: any(
                p.workload == ("Job", "idle-notebook") and p.phase == "Running"
                for p in app.session.cache["pods"].items()
            ),
            30,
        )
        await sample(pilot, app, 2)
        assert app.screen.query_one("#header").data.idle >= 1
        await command(pilot, "jobs")
        await populated(pilot, app, "jobs")
        await wait_until(pilot, lambda: "idle-notebook" in column(app, "name"))
        assert cells_by_name(app, "idle")["idle-notebook"] == "1"
        assert cells_by_name(app, "util")["idle-notebook"].strip() == "0%"


def _idle_notebook(sim: Any) -> None:
    """A Job whose pod holds a GPU and never uses it; the sim runs it to Running."""
    from console.cluster.connection import connect

    admin = connect(str(sim.kubeconfig_path), "kmc-sim")
    admin.request("POST", "/apis/batch/v1/namespaces/ml/jobs", body=IDLE_JOB)
    admin.close()
    sim.advance(20)


async def test_dead_exporters_degrade_then_recover(fresh_sim, monkeypatch) -> None:
    fresh_sim.clock.set_speed(0)
    real = fresh_sim.telemetry.node_metrics
    broken: set[str] = set()

    def serve(node: str, *args: Any, **kw: Any) -> str:
        return "<html>502 Bad Gateway</html>\n" if node in broken else real(node, *args, **kw)

    monkeypatch.setattr(fresh_sim.telemetry, "node_metrics", serve)
    nodes = gpu_node_names(fresh_sim)
    app = telemetry_app(fresh_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await live(pilot, app)
        broken.add(nodes[0])  # one exporter serves garbage: degraded, that node shows "-"
        await sample(pilot, app)
        assert "1 node(s) without telemetry" in header_text(app)
        assert cells_by_name(app, "util")[nodes[0]].strip() == "-"
        assert cells_by_name(app, "util")[nodes[1]].strip().endswith("%")
        broken.update(nodes)  # all of them: unavailable, with the reason
        await sample(pilot, app)
        assert "telemetry unavailable: all 2 DCGM exporters failed" in header_text(app)
        assert "telemetry unavailable" in status_text(app)
        assert all(u.strip() == "-" for u in column(app, "util"))
        assert app.screen.query_one("#header").data.busy is None
        # browsing keeps working
        await command(pilot, "jobs")
        await populated(pilot, app, "jobs")
        assert "llama-ft" in column(app, "name")
        await command(pilot, "pods")
        await populated(pilot, app, "pods")
        await command(pilot, "nodes")
        await populated(pilot, app, "nodes")
        broken.clear()  # the exporters come back: the next refresh recovers by itself
        await sample(pilot, app)
        assert "dcgm live" in header_text(app)
        assert all(u.strip().endswith("%") for u in column(app, "util"))


async def test_prometheus_stopped_then_restarted(fresh_sim, tmp_path) -> None:
    require_binary("prometheus")
    from tests.prometheus import PrometheusServer

    server = PrometheusServer(fresh_sim.metrics_url, tmp_path).start()
    try:
        server.wait_for_targets(expected=2)
        app = telemetry_app(fresh_sim, telemetry_source="prometheus", prometheus_url=server.url)
        async with app.run_test(size=SIZE) as pilot:
            await populated(pilot, app, "nodes")
            await live(pilot, app)
            assert app.screen.query_one("#header").data.telemetry == "prometheus live"
            assert all(u.strip().endswith("%") for u in column(app, "util"))
            await asyncio.to_thread(server.stop)
            await sample(pilot, app)
            assert "telemetry unavailable" in header_text(app)
            await command(pilot, "jobs")  # still browsable
            await populated(pilot, app, "jobs")
            await asyncio.to_thread(server.start)
            await asyncio.to_thread(server.wait_for_targets, 2)
            await sample(pilot, app)
            assert app.screen.query_one("#header").data.telemetry == "prometheus live"
            assert all(u.strip().endswith("%") for u in column(app, "util"))
    finally:
        server.stop()


async def test_telemetry_off_hides_the_columns(frozen_tiny) -> None:
    app = make_app(frozen_tiny, telemetry_source="none")
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        keys = [c.key for c in view(app).table.visible_columns]
        assert "util" not in keys and "xid" not in keys and "alloc" in keys
        assert "telemetry off" in header_text(app)
        assert app.telemetry.poller is not None and not app.telemetry.started


def test_cli_telemetry_options(monkeypatch) -> None:
    import console.cli as cli
    import console.sim.process as process

    seen: list[dict[str, object]] = []
    monkeypatch.setattr(
        cli, "run_console", lambda options, guard=None: seen.append(options.layer()) or 0
    )

    class FakeSim:
        kubeconfig = "/tmp/kmc-fake-kubeconfig"

        def stop(self) -> None:
            pass

    monkeypatch.setattr(process, "start_process", lambda **kw: FakeSim())
    runner = CliRunner()
    result = runner.invoke(cli.main, ["--telemetry", "prometheus", "--prometheus-url", "http://p"])
    assert result.exit_code == 0, result.output
    assert seen[-1]["telemetry_source"] == "prometheus"
    assert seen[-1]["prometheus_url"] == "http://p"
    assert runner.invoke(cli.main, ["--telemetry", "nope"]).exit_code == 2
    assert runner.invoke(cli.main, ["demo", "--preset", "tiny"]).exit_code == 0
    assert seen[-1]["telemetry_source"] == "dcgm"  # the demo has no Prometheus
    assert runner.invoke(cli.main, ["demo", "--telemetry", "none"]).exit_code == 0
    assert seen[-1]["telemetry_source"] == "none"
    assert runner.invoke(cli.main, ["--telemetry", "auto", "demo"]).exit_code == 0
    assert seen[-1]["telemetry_source"] == "auto"
