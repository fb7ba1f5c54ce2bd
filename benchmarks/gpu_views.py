"""Cost of the GPU views' hot paths at cluster scale, each beside a peer baseline measured in
the same run (the figures the tests used to print; tests check behaviour, this measures):

- the GPU map at 80,000 GPUs: building its layout and groups, and one refresh of the
  heatmap (every value updated, then a frame) in a headless Textual app; peer: reading the
  values from the telemetry store, which any map must do;
- exporter discovery among 200,000 pods: the first call (one walk of the pods) and later
  calls (no walk); peer: a plain scan of every pod's labels per refresh;
- the simulator's DCGM exposition of busy 8-GPU nodes, µs per GPU; peer: prometheus_client
  exposing the same families.

    .venv/bin/python benchmarks/gpu_views.py [--repeat 5]

Prints one JSON object (medians of `--repeat` runs, in ms unless named otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from console.metrics import TelemetryStore, gpu_map
from console.metrics.dcgm import DcgmSource
from console.metrics.model import Frame, GpuReading
from console.screens.gpumap import build_groups
from console.sim.gpu_exposition import render_exposition
from console.sim.gpus import Assignment, GpuState, node_gpus
from tests.test_app_gpumap import MapApp, _Node, _Nodes
from tests.test_metrics_dcgm import OPERATOR, _Cache, _Pod, _Pods
from widgets.heatmap import GpuHeatmap

SIM_TIME = 1_795_000_000.0


def median_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


def gpu_map_figures(repeat: int) -> dict:
    pools = [f"pool-{p}" for p in range(8)]
    nodes = [_Node(f"node-{i:05d}", pools[i % 8]) for i in range(10_000)]
    store = TelemetryStore()
    readings = {
        n.name: [GpuReading(n.name, g, util=float((i * 8 + g) % 101)) for g in range(8)]
        for i, n in enumerate(nodes)
    }
    store.apply(Frame(readings=readings, full=False))
    cache = {"nodes": _Nodes(nodes)}

    def layout() -> object:
        built = gpu_map(store, cache)  # type: ignore[arg-type]
        return build_groups(built, per_node=False), build_groups(built, per_node=True)

    result = {"gpus": 80_000, "layout_ms": median_ms(layout, repeat)}
    result["peer_store_values_ms"] = median_ms(store.map_values, repeat)
    per_gpu, _per_node = layout()

    async def refresh() -> float:
        app = MapApp(per_gpu)
        async with app.run_test(size=(160, 48)) as pilot:
            heatmap = app.query_one(GpuHeatmap)
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                heatmap.update_values(store.map_values())
                await pilot.pause()  # the frame that shows them
                times.append(time.perf_counter() - started)
            return statistics.median(times)

    result["refresh_ms"] = round(asyncio.run(refresh()) * 1000, 2)
    return result


def exporter_figures(repeat: int) -> dict:
    pods = [_Pod("ml", f"worker-{i}", f"node-{i % 2500}", {"app": "train"}) for i in range(200_000)]
    pods += [_Pod("gpu-operator", f"dcgm-{n}", f"node-{n}", OPERATOR) for n in range(2500)]
    informer = _Pods(pods)
    firsts, laters = [], []
    for _ in range(repeat):
        informer.walks = 0
        source = DcgmSource(object(), _Cache(informer))  # type: ignore[arg-type]  # no scrape
        started = time.perf_counter()
        source.exporters()
        firsts.append(time.perf_counter() - started)
        started = time.perf_counter()
        source.exporters()
        laters.append(time.perf_counter() - started)

    def naive_scan() -> list:
        return [p for p in informer.pods.values() if p.labels.get("app") == OPERATOR["app"]]

    return {
        "pods": len(pods),
        "exporters": 2500,
        "first_ms": round(statistics.median(firsts) * 1000, 2),
        "later_ms": round(statistics.median(laters) * 1000, 3),
        "peer_scan_per_refresh_ms": median_ms(naive_scan, repeat),
    }


def exposition_figures(repeat: int) -> dict:
    nodes = [node_gpus(11, f"gpu-node-{n}", "H100-80GB-HBM3", 8) for n in range(50)]
    states = [
        [GpuState(g, [Assignment(f"job-{n}-worker-{g.index}", "ml", "pytorch")]) for g in gpus]
        for n, gpus in enumerate(nodes)
    ]
    for st in states:
        render_exposition(st, SIM_TIME)  # warm the label caches, as a long-lived server would
    gpus = len(nodes) * 8

    def ours() -> None:
        for st in states:
            render_exposition(st, SIM_TIME)

    registries = []
    for st in states:
        families = list(text_string_to_metric_families(render_exposition(st, SIM_TIME)))
        registry = CollectorRegistry()
        registry.register(_Fixed(families))
        registries.append(registry)

    def peer() -> None:
        for registry in registries:
            generate_latest(registry)

    return {
        "gpus": gpus,
        "us_per_gpu": round(median_ms(ours, repeat) * 1000 / gpus, 2),
        "peer_prometheus_client_us_per_gpu": round(median_ms(peer, repeat) * 1000 / gpus, 2),
    }


class _Fixed:
    """A prometheus_client collector yielding fixed metric families."""

    def __init__(self, families: list) -> None:
        self.families = families

    def collect(self) -> list:
        return self.families


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    result = {
        "gpu_map": gpu_map_figures(args.repeat),
        "exporter_discovery": exporter_figures(args.repeat),
        "dcgm_exposition": exposition_figures(args.repeat),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
