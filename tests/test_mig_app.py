"""The console on a cluster with a MIG mixed-strategy node (Pilot): the nodes view counts
its slices as slices (`ALLOC 5/8 MIG`, `GPUS 2 GPUs · 8 MIG slices`), the header keeps
GPUs and MIG slices apart, and the node's GPUs tab lists each instance after its GPU with
its profile, pod and utilization (from DCGM_FI_PROF_GR_ENGINE_ACTIVE, said so)."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Static

from console.cluster.connection import connect
from console.metrics.model import GR_METRIC
from console.screens.detail import DetailScreen
from console.screens.gpus import NodeGpus
from console.sim.cluster import SimCluster
from console.sim.nodes import apply_mig, make_node
from console.sim.presets.gpu_shapes import slice_deployment
from tests.conftest import wait_for
from tests.test_app_support import column, populated, view, wait_until
from tests.test_app_telemetry import (
    SIZE,
    header_text,
    live,
    poller,
    sample,
    shown_cells,
    telemetry_app,
)

MIG_NODE = "gpu-a100-mig-0"


@pytest.fixture(scope="module")
def mig_sim():
    sim = SimCluster(preset="tiny", seed=5).start()
    admin = connect(str(sim.kubeconfig_path), "kmc-sim")
    node = make_node(MIG_NODE, "a100-mig", "A100-SXM4-80GB", 2, 96, 1360, index=40, gpu_taint=True)
    apply_mig(node, "all-balanced")
    admin.request("POST", "/api/v1/nodes", body=node)
    on_mig = {"nvidia.com/mig.config": "all-balanced"}
    for obj in (
        slice_deployment("lora", "ml", 2, "nvidia.com/mig-3g.40gb", on_mig, "training"),
        slice_deployment("nb", "ml", 3, "nvidia.com/mig-1g.10gb", on_mig, "idle"),
    ):
        admin.request("POST", "/apis/apps/v1/namespaces/ml/deployments", body=obj)

    def running() -> int:
        pods = json.loads(admin.get("/api/v1/pods", {"labelSelector": "app in (lora,nb)"}))
        return sum(p["status"].get("phase") == "Running" for p in pods["items"])

    sim.advance(20)
    wait_for(lambda: running() == 5, what="MIG pods running")
    sim.clock.set_speed(0)
    yield sim
    sim.stop()


async def test_a_mig_node_in_honest_units_and_its_instances(mig_sim) -> None:
    app = telemetry_app(mig_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await live(pilot, app)
        names = column(app, "name")
        row = dict(zip(names, column(app, "alloc"), strict=True))[MIG_NODE]
        assert row.strip().startswith("5/8 MIG")
        gpus_col = dict(zip(names, column(app, "gpus"), strict=True))
        assert gpus_col[MIG_NODE] == "2 GPUs · 8 MIG slices"
        header = header_text(app)
        assert "MIG 5/8" in header and "GPUs" in header
        view(app).table.move_to_key(MIG_NODE)
        await pilot.press("g")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        await sample(pilot, app, 2)
        gpus = app.screen.query_one(NodeGpus)
        rows = poller(app).store.gpu_rows(MIG_NODE)
        assert [r.key for r in rows] == ["0", "0/2", "0/3", "0/9", "0/10", "1", "1/2", "1/3", "1/9", "1/10"]  # fmt: skip
        await wait_until(pilot, lambda: gpus.table.row_count == len(rows))
        shown = [shown_cells(gpus.table, i) for i in range(len(rows))]
        assert [c["gpu"].strip() for c in shown] == [r.key for r in rows]
        assert shown[0]["mig"] == "MIG ×4" and shown[1]["mig"] == "3g.40gb"
        lora = [i for i, r in enumerate(rows) if any("lora" in p for p in r.pods) and r.mig_id]
        assert len(lora) == 2
        for i in lora:
            assert rows[i].util is not None and rows[i].util > 50
            assert shown[i]["util"].strip() == f"{rows[i].util:.0f}%"
        summary = str(app.screen.query_one("#gpu-summary", Static).render())
        assert "8 MIG instances" in summary and GR_METRIC in summary
        # Enter on an instance opens the pod on that slice
        gpus.table.move_to_key(rows[lora[0]].key)
        gpus.table.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: getattr(app.screen, "kind_name", "") == "pods")
        assert f"{app.screen.record.namespace}/{app.screen.record.name}" == rows[lora[0]].pods[0]
