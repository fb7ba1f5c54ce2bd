"""GPU telemetry cost per refresh at scale, for both sources, against the simulated cluster.

The simulator runs in a child process; this process is the console. Per refresh: wall time,
CPU time of this process (all its threads), bytes fetched, HTTP requests; then the CPU share
of one core at a 5 s interval (the poller re-arms after a refresh completes, so the period
is wall + interval). Also: the maintained parser (prometheus_client) vs the fast path on the
same exporter bodies, and how a real Prometheus copes with scraping every exporter.

    .venv/bin/python benchmarks/telemetry.py [--preset large] [--preset huge] [--refreshes 3]

Prints one JSON object. Needs `/usr/bin/prometheus` for the Prometheus half.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.cluster.connection import connect
from console.metrics.dcgm import DcgmSource
from console.metrics.parse import FIELDS, parse_fast, parse_reference
from console.metrics.prometheus import PrometheusSource
from console.metrics.store import TelemetryStore
from console.sim.process import start_process
from tests.prometheus import PrometheusServer

INTERVAL = 5.0
SCRAPE = {"large": ("15s", "14s"), "huge": ("120s", "115s")}  # Prometheus interval, timeout


def refreshes(source, count: int, focus: frozenset[str]) -> dict:
    store = TelemetryStore()
    runs = []
    for _ in range(count):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        frame = source.refresh(focus)
        fetched = time.process_time() - cpu0
        store.apply(frame)
        applied = time.process_time() - cpu0
        store.header(), store.nodes(), store.map_values()
        for node in focus:
            store.gpu_rows(node)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        runs.append(
            {
                "wall_s": round(wall, 3),
                "cpu_s": round(cpu, 3),
                "cpu_fetch_parse_s": round(fetched, 3),
                "cpu_store_s": round(applied - fetched, 3),
                "cpu_ui_reads_s": round(cpu - applied, 3),
                "bytes": frame.bytes,
                "requests": frame.requests,
                "gpus": sum(len(r) for r in frame.readings.values()),
                "failed_nodes": len(frame.failed),
            }
        )
    steady = runs[1:] or runs
    cpu = sum(r["cpu_s"] for r in steady) / len(steady)
    wall = sum(r["wall_s"] for r in steady) / len(steady)
    return {
        "runs": runs,
        "cpu_pct_of_core_at_5s": round(100 * cpu / (wall + INTERVAL), 1),
        "period_s_at_5s": round(wall + INTERVAL, 2),
    }


def parser_comparison(connection, source: DcgmSource, sample: int = 200) -> dict:
    exporters = source.exporters()[:sample]
    bodies = [connection.get(e.path, timeout=60).decode() for e in exporters]
    out = {"exporters": len(bodies), "bytes": sum(map(len, bodies))}
    for name, parse in (("fast", parse_fast), ("reference", parse_reference)):
        cpu0 = time.process_time()
        gpus = sum(len(parse(b)) for b in bodies)
        cpu = time.process_time() - cpu0
        out[name] = {"cpu_s": round(cpu, 3), "cpu_us_per_gpu": round(1e6 * cpu / gpus, 1)}
    out["reference_over_fast"] = round(
        out["reference"]["cpu_s"] / max(out["fast"]["cpu_s"], 1e-6), 1
    )
    return out


def prometheus_side(server: PrometheusServer, pid: int) -> dict:
    def q(expr: str) -> float | None:
        result = server.query(expr)
        return float(result[0]["value"][1]) if result else None

    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            rss = int(line.split()[1]) / 1024
    return {
        "targets_up": q("count(up == 1)"),
        "targets_down": q("count(up == 0)"),
        "dcgm_series": q('count({__name__=~"DCGM_.+"})'),
        "max_scrape_s": q("max(scrape_duration_seconds)"),
        "oldest_sample_age_s": q("time() - min(timestamp(DCGM_FI_DEV_GPU_UTIL))"),
        "peak_rss_mb": round(rss),
    }


def run(preset: str, count: int, prometheus: str | None) -> dict:
    started = time.perf_counter()
    sim = start_process(preset, seed=1, timeout=900)
    out: dict = {"preset": preset, "sim_start_s": round(time.perf_counter() - started, 1)}
    try:
        connection = connect(str(sim.kubeconfig), "kmc-sim")
        dcgm = DcgmSource(connection, None, workers=16, timeout=120)
        exporters = dcgm.exporters()
        focus = frozenset([exporters[0].node])
        out["exporters"] = len(exporters)
        out["dcgm"] = refreshes(dcgm, count, focus)
        out["parsers"] = parser_comparison(connection, dcgm)
        dcgm.close()
        if prometheus:
            interval, timeout = SCRAPE.get(preset, ("5s", "5s"))
            workdir = Path(tempfile.mkdtemp(prefix="kmc-prom-"))
            keep = "|".join(FIELDS)  # store only what the console reads
            server = PrometheusServer(sim.metrics, workdir, prometheus, interval, timeout, keep)
            server.start()
            try:
                wait0 = time.perf_counter()
                try:
                    server.wait_for_targets(len(exporters), timeout=900)
                    out["prometheus_first_round_s"] = round(time.perf_counter() - wait0, 1)
                except TimeoutError:
                    out["prometheus_first_round_s"] = None  # did not complete a full round
                source = PrometheusSource(server.url, None, interval=INTERVAL)
                out["prometheus"] = refreshes(source, count, focus)
                out["prometheus"]["server"] = prometheus_side(server, server.process.pid)
                out["prometheus"]["scrape_interval"] = interval
                source.close()
            finally:
                server.stop()
                shutil.rmtree(workdir, ignore_errors=True)
    finally:
        sim.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", action="append", choices=["tiny", "demo", "large", "huge"])
    parser.add_argument("--refreshes", type=int, default=3)
    parser.add_argument("--prometheus", default=shutil.which("prometheus"))
    args = parser.parse_args()
    results = {
        "machine_cores": len(__import__("os").sched_getaffinity(0)),
        "interval_s": INTERVAL,
        "presets": [
            run(p, args.refreshes, args.prometheus) for p in args.preset or ["large", "huge"]
        ],
    }
    results["console_peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
