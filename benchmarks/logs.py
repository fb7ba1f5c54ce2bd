"""Log tailing (issue 11): throughput against `kubectl logs -f`, keystroke latency while
ingesting 20,000 lines/s, and memory over a long soak. Prints one JSON object.

    .venv/bin/python benchmarks/logs.py [--pods 16] [--burst-rate 4000] [--rate 1250]
        [--window 20] [--keys 30] [--soak 600] [--out benchmarks/results/logs.json]

The simulator (`tiny` preset) runs in its own process (`console_scale.SimHost`); two
Deployments in namespace `ml` write `sim.kmc.dev/log-rate` lines a second per pod:
`logburst` (`--pods` × `--burst-rate`, more than either client can take) and `logload`
(`--pods` × `--rate` = 20,000 lines/s by default). Only one of them runs at a time.

(a) `kubectl_lines_per_s`: `kubectl logs -f -l app=logburst --max-log-requests N --tail 0`,
    its output into `wc -l` (a pipe to a C counter: nothing is kept), lines over `--window`
    seconds. Peer of `console_lines_per_s`: the real `KmcApp` on a 160×48 pseudo-terminal
    (this script's `--child` mode) following the same pods merged (`:logs server/ml/logburst`);
    lines the screen took in (cleaned, classified, retained) per second over the same
    window, and `console_rows_shown_per_s` / `console_frames_per_s`: rows appended to the
    log view and frames written to the terminal meanwhile.

(b) `latency_ms`: keystroke → frame on the merged view of `logload` while it ingests
    `--pods` × `--rate` lines/s. Keys are posted the way the terminal driver does, with a
    random 30–120 ms pause between them; a key's latency runs from posting the event to the
    end of the first frame written after the screen shows its effect: scrolling (up /
    down / pageup move the view), pause / resume (space), a toggle (w wrap, t timestamps),
    the search prompt opening (f) and each typed search character highlighting matches.

(c) `rss_mb`: the console's resident memory sampled every 30 s during `--soak` seconds of
    following `logload` at that rate (sim time runs at wall speed: 10 minutes = 10 minutes
    of sim time), and `peak_rss_mb` (VmHWM) at the end; the screen's line cap is the
    default (`log_line_cap`, 50,000).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from console_scale import SimHost  # noqa: E402
from tui_bench import KeyTiming, current_rss_mb, emit, peak_rss_mb, run_on_pty, summary  # noqa: E402

TARGETS = {"latency_p99_ms": 50.0, "rss": "flat, bounded by the line cap"}


# ---------------------------------------------------------------- the console child


def child_main(args: argparse.Namespace) -> None:
    from console.app import KmcApp
    from console.cluster.connection import connect
    from console.config import load_settings
    from console.screens.logs import LogScreen

    settings = load_settings({"kubeconfig": args.kubeconfig, "context": "kmc-sim"})
    connection = connect(settings.kubeconfig, settings.context, probe=True)
    report: dict[str, Any] = {}

    # Diagnostics, kept with the benchmark: the UI thread's cost of each batch, and the cycle
    # collector's pauses (every thread stops), during the key phase.
    batch_ms: list[float] = []
    gc_ms: list[float] = []
    original = LogScreen.on_log_screen_batch_ready

    def timed_batch(self: Any, message: Any) -> None:
        started = time.perf_counter()
        original(self, message)
        batch_ms.append((time.perf_counter() - started) * 1000)

    LogScreen.on_log_screen_batch_ready = timed_batch  # type: ignore[method-assign]
    gc_started: list[float] = []

    def gc_timer(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[:] = [time.perf_counter()]
        elif gc_started:
            gc_ms.append((time.perf_counter() - gc_started[0]) * 1000)

    gc.callbacks.append(gc_timer)

    class BenchApp(KeyTiming, KmcApp):
        pause_rng = random.Random(11)

        def on_ready(self) -> None:
            self.run_worker(self.run_and_report(self._steps, report, args.report), group="bench")

        def _log_screen(self) -> LogScreen:
            screen = self.screen
            assert isinstance(screen, LogScreen)
            return screen

        async def _steps(self) -> None:
            await self.wait(lambda: self.session is not None and self.session.synced(), 60)
            await self.run_command(f"logs server/ml/{args.deployment}")
            await self.wait(lambda: isinstance(self.screen, LogScreen), 20)
            screen = self._log_screen()
            live = await self.wait(
                lambda: (
                    len(screen.buffer.sources) >= args.pods
                    and all(s.lines > 0 for s in screen.buffer.sources)
                ),
                60,
            )
            report["sources_live"] = live
            await asyncio.sleep(3)  # past the initial tails
            report["throughput"] = await self._throughput(screen, args.window)
            if args.keys:
                batch_ms.clear()
                gc_ms.clear()
                report["latency_ms"] = await self._keys(screen)
                report["ui_batch_ms"] = summary(batch_ms)
                report["gc_pause_ms"] = summary(gc_ms)
            if args.soak:
                report["soak"] = await self._soak(screen)
            report["peak_rss_mb"] = round(peak_rss_mb(), 1)
            report["line_cap"] = screen.buffer.cap
            report["dropped"] = screen.buffer.dropped

        async def _throughput(self, screen: LogScreen, window: float) -> dict[str, float]:
            def counts() -> tuple[int, int, int]:
                view = screen.log_view
                return (
                    sum(s.lines for s in screen.buffer.sources),
                    view.base + len(view.rows),
                    self.frames,
                )

            started, (lines0, rows0, frames0) = time.perf_counter(), counts()
            await asyncio.sleep(window)
            elapsed = time.perf_counter() - started
            lines1, rows1, frames1 = counts()
            return {
                "lines_per_s": round((lines1 - lines0) / elapsed),
                "rows_shown_per_s": round((rows1 - rows0) / elapsed),
                "frames_per_s": round((frames1 - frames0) / elapsed, 1),
                "dropped_by_line_cap": screen.buffer.dropped,
            }

        async def _keys(self, screen: LogScreen) -> dict[str, Any]:
            view = screen.log_view
            view.focus()
            out: dict[str, list[float]] = {"scroll": [], "pause": [], "toggle": [], "search": []}
            for key in ("up", "pageup") * (args.keys // 2) + ("down",) * (args.keys // 2):
                before = view.scroll_offset.y
                out["scroll"].append(
                    await self.press(key, lambda b=before: view.scroll_offset.y != b)
                )
            for _ in range(max(2, args.keys // 5)):
                was = screen.paused
                out["pause"].append(await self.press("space", lambda w=was: screen.paused != w))
            for key in ("w", "t") * max(1, args.keys // 5):
                option = "wrap" if key == "w" else "show_timestamps"
                was = getattr(view, option)
                out["toggle"].append(
                    await self.press(key, lambda o=option, w=was: getattr(view, o) != w)
                )
            prompt = screen.query_one("#prompt")
            for _ in range(2):
                out["search"].append(await self.press("f", lambda: bool(prompt.display)))
                typed = ""
                for char in "loss=4":
                    typed += char
                    want = typed
                    out["search"].append(
                        await self.press(char, lambda w=want: screen.search_text == w)
                    )
                await self.press("escape", lambda: not prompt.display)
                await self.press("escape", lambda: screen.search_text == "")
            if screen.paused:
                await self.press("space", lambda: not screen.paused)
            every = [ms for values in out.values() for ms in values]
            return {**{k: summary(v) for k, v in out.items()}, "all": summary(every)}

        async def _soak(self, screen: LogScreen) -> dict[str, Any]:
            if args.trace:  # where memory grows: tracemalloc's top differences over the soak
                import tracemalloc

                tracemalloc.start(8)
                await asyncio.sleep(10)
                first = tracemalloc.take_snapshot()
            samples = []
            started = time.perf_counter()
            lines0 = sum(s.lines for s in screen.buffer.sources)
            while time.perf_counter() - started < args.soak:
                await asyncio.sleep(min(30.0, args.soak))
                samples.append(
                    {
                        "t_s": round(time.perf_counter() - started),
                        "rss_mb": round(current_rss_mb(), 1),
                        "retained_lines": len(screen.buffer.lines),
                        "received_lines": sum(s.lines for s in screen.buffer.sources),
                    }
                )
            if args.trace:
                diff = tracemalloc.take_snapshot().compare_to(first, "traceback")
                report["trace"] = [
                    {"kib": round(d.size_diff / 1024), "count": d.count_diff,
                     "where": d.traceback.format()[-16:]}
                    for d in diff[:6]
                ]  # fmt: skip
            elapsed = time.perf_counter() - started
            received = sum(s.lines for s in screen.buffer.sources) - lines0
            return {
                "seconds": round(elapsed),
                "lines_per_s": round(received / elapsed),
                "samples": samples,
            }

    app = BenchApp(settings, connection)
    app.run()


# ---------------------------------------------------------------- the parent


def run_child(
    kubeconfig: Path, args: argparse.Namespace, deployment: str, keys: int, soak: float
) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", "--kubeconfig", str(kubeconfig)]
    cmd += ["--deployment", deployment, "--pods", str(args.pods)]
    cmd += ["--window", str(args.window), "--keys", str(keys), "--soak", str(soak)]
    cmd += ["--trace"] if args.trace else []
    return run_on_pty(cmd, timeout=soak + 600)


def deployment(name: str, replicas: int, rate: float) -> dict[str, Any]:
    annotations = {"sim.kmc.dev/log-kind": "generic", "sim.kmc.dev/log-rate": str(rate)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": annotations},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "busybox",
                            "resources": {"requests": {"cpu": "10m"}},
                        }
                    ]
                },
            },
        },
    }


def scale(connection: Any, name: str, replicas: int, timeout: float = 120.0) -> None:
    """Scale through the API and wait until exactly `replicas` pods of it run."""
    connection.request(
        "PATCH",
        f"/apis/apps/v1/namespaces/ml/deployments/{name}/scale",
        body={"spec": {"replicas": replicas}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = json.loads(
            connection.get("/api/v1/namespaces/ml/pods", {"labelSelector": f"app={name}"})
        )["items"]
        running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
        if len(pods) == replicas and len(running) == replicas:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{name} did not reach {replicas} running pods")


def kubectl_rate(kubeconfig: Path, name: str, pods: int, window: float) -> dict[str, Any] | None:
    binary = shutil.which("kubectl")
    if binary is None:
        return None
    kubectl = (
        f"exec {binary} --kubeconfig {kubeconfig} --context kmc-sim -n ml logs -f "
        f"-l app={name} --max-log-requests {pods} --tail 0"
    )
    warm = 3.0
    proc = subprocess.Popen(
        ["sh", "-c", f"timeout -s INT {window + warm} sh -c '{kubectl}' | wc -l"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out, _ = proc.communicate(timeout=window + 60)
    lines = int(out.decode().strip() or 0)
    # kubectl starts its 16 streams within the warm-up; the count covers the whole run
    return {"lines": lines, "seconds": window + warm, "lines_per_s": round(lines / (window + warm))}


def parent_main(args: argparse.Namespace) -> None:
    from console.cluster.connection import connect

    started = time.perf_counter()
    sim = SimHost("tiny", 1)
    result: dict[str, Any] = {
        "benchmark": "logs",
        "pods": args.pods,
        "sim_startup_s": round(time.perf_counter() - started, 1),
        "targets": TARGETS,
        # What else the machine was doing: latency figures swing with it.
        "cpus": os.cpu_count(),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
    }
    try:
        connection = connect(str(sim.kubeconfig), "kmc-sim")
        for name, rate in (("logburst", args.burst_rate), ("logload", args.rate)):
            connection.request(
                "POST", "/apis/apps/v1/namespaces/ml/deployments", body=deployment(name, 0, rate)
            )
        scale(connection, "logburst", args.pods)
        result["offered_burst_lines_per_s"] = args.pods * args.burst_rate
        result["a_kubectl"] = kubectl_rate(sim.kubeconfig, "logburst", args.pods, args.window)
        burst = run_child(sim.kubeconfig, args, "logburst", 0, 0)
        result["a_console"] = burst.get("throughput")
        result["a_console_error"] = burst.get("error")
        scale(connection, "logburst", 0)
        scale(connection, "logload", args.pods)
        result["offered_load_lines_per_s"] = args.pods * args.rate
        load = run_child(sim.kubeconfig, args, "logload", args.keys, args.soak)
        result["b_latency_ms"] = load.get("latency_ms")
        result["b_latency_p99_ms"] = (load.get("latency_ms") or {}).get("all", {}).get("p99")
        result["b_ingest"] = load.get("throughput")
        result["b_ui_batch_ms"] = load.get("ui_batch_ms")
        result["b_gc_pause_ms"] = load.get("gc_pause_ms")
        result["c_soak"] = load.get("soak")
        result["c_peak_rss_mb"] = load.get("peak_rss_mb")
        result["line_cap"] = load.get("line_cap")
        result["error"] = load.get("error")
        result["trace"] = load.get("trace")
    finally:
        sim.stop()
    emit(result, args.out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=16)
    parser.add_argument("--burst-rate", type=float, default=4000.0, help="lines/s per pod (a)")
    parser.add_argument("--rate", type=float, default=1250.0, help="lines/s per pod (b, c)")
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured in (a)")
    parser.add_argument("--keys", type=int, default=30)
    parser.add_argument("--soak", type=float, default=600.0, help="seconds of (c)")
    parser.add_argument("--trace", action="store_true", help="tracemalloc during the soak")
    parser.add_argument("--out", default="")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    parser.add_argument("--deployment", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
    else:
        parent_main(args)


if __name__ == "__main__":
    main()
