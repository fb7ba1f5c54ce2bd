"""The README's pictures: the console on the `demo` simulated cluster, as SVG screenshots.

    .venv/bin/python tools/screenshots.py [--out docs/screenshots]

Runs the real console (in-process, headless, 160×48) against an in-process demo cluster with
the DCGM telemetry source, lets a history of samples build up, and saves the GPU nodes view,
the training jobs, the triage findings, the GPU map and one node's GPUs tab.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.app import KmcApp
from console.cluster.connection import connect
from console.config import Settings
from console.metrics import TelemetryPoller
from console.sim.cluster import SimCluster

SAMPLES = 24


async def _until(pilot, condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.1)
        try:
            if condition():
                return
        except Exception:
            pass
    raise TimeoutError("the console did not get there in time")


async def _command(pilot, text: str) -> None:
    await pilot.press("colon", *text, "enter")
    await pilot.pause(0.5)


async def shoot(out: Path) -> None:
    sim = SimCluster(preset="demo", seed=1, speed=30.0).start()
    try:
        kubeconfig = str(sim.kubeconfig_path)
        settings = Settings(kubeconfig=kubeconfig, context="kmc-sim", telemetry_source="dcgm")
        app = KmcApp(settings, connect(kubeconfig, "kmc-sim", probe=True))
        app.telemetry.factory = lambda s, conn, cache: TelemetryPoller(
            s, conn, cache, interval=3600
        )
        async with app.run_test(size=(160, 48)) as pilot:
            await _until(pilot, lambda: app.screen.table.row_count > 0)
            await _until(pilot, lambda: app.telemetry.started and app.telemetry.has_data())
            for _ in range(SAMPLES):  # sim time runs 30× faster: a real-looking history
                await asyncio.to_thread(app.telemetry.poller.refresh_once)
                await asyncio.sleep(0.1)
            serial = app.screen.serial
            app.pipeline.mark_dirty()  # the views redrawn with the whole history
            await _until(pilot, lambda: app.screen.serial > serial)
            await pilot.pause(0.5)
            (out / "gpu-nodes.svg").write_text(app.export_screenshot(title="kmc — GPU nodes"))
            await pilot.press("g")
            await pilot.pause(1.0)
            (out / "node-gpus.svg").write_text(app.export_screenshot(title="kmc — a node's GPUs"))
            await pilot.press("escape")
            await _command(pilot, "jobs")
            await _until(pilot, lambda: app.screen.table.row_count > 0)
            (out / "training-jobs.svg").write_text(
                app.export_screenshot(title="kmc — training jobs")
            )
            await _command(pilot, "triage")
            await _until(pilot, lambda: app.screen.table.row_count > 0)
            await pilot.pause(1.0)
            (out / "triage.svg").write_text(app.export_screenshot(title="kmc — triage"))
            await _command(pilot, "gpumap")
            await pilot.pause(1.0)
            (out / "gpu-map.svg").write_text(app.export_screenshot(title="kmc — GPU map"))
    finally:
        sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/screenshots", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(shoot(args.out))
    print(f"saved to {args.out}")


if __name__ == "__main__":
    main()
