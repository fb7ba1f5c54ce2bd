"""The console at cluster scale (issue 3): start-up, sync, keystroke latency under churn, memory.

On the `huge` preset (10,040 nodes / 80,000 GPUs / 200,000 pods) with the simulator in its
own process, and kubectl timed against the same simulator in the same run. Prints one
JSON object.

    .venv/bin/python benchmarks/console_scale.py [--preset huge] [--startup-runs 3]
        [--no-kubectl] [--keys 40] [--out benchmarks/results/console_scale_huge.json]

What is measured, exactly:

(a) `first_frame_s`: process start → first populated GPU-node frame. `kmc --kubeconfig <sim>
    --context kmc-sim` runs on a 160×48 pseudo-terminal through `benchmarks/startup_probe.py`
    (it writes the wall-clock time of the frame after the first node rows and exits), as in
    `console_startup.py`. Median of `--startup-runs`.

(b) `synced_s`: process start → every kind's cache is past `syncing` (all 200,000 pods,
    nodes, jobs, … decoded and live), in the console process of (c)/(d) — the real `KmcApp`
    with the real Linux driver writing to a pseudo-terminal (this script's `--child`
    mode; `BenchApp` only adds timing). Its peer: `kubectl get nodes -o json` plus
    `kubectl get pods -A -o json` (output to /dev/null, fresh discovery cache), timed on the
    same simulator after the console process exits.

(c) `latency_ms`: keystroke → frame. While the simulator churns `--churn` pod updates per
    second (the admin fault endpoint), the child injects key events the way the terminal
    driver does (`Driver.send_message(events.Key)` onto the app's queue) with a random
    30–120 ms pause between keys. A key's latency is from posting the event to the end of
    the first `App._display` (the frame written to the terminal) after which the screen
    shows the key's effect: the table cursor moved (down / up / pagedown), the filter bar
    opened (`/`), or the typed filter text is applied to the rows (each character; the
    screen filters on every keystroke). Done on the GPU-node view (10k rows) and the GPU-pod
    view (80k+ rows). p50 / p99 / max per key class; a key that shows no effect within
    `--key-timeout` seconds counts as that timeout.

(d) `peak_rss_mb`: VmHWM of the console process of (b)/(c) at the end of the run (after the
    full sync and the churn phase).

Diagnostics: `refresh_ms` — the refresh pipeline's build times (its worker thread, off the
UI thread) during the churn phase, `apply_ms` — the UI thread's cost of swapping each
result into the screen, `filter_arrange_ms` — the arranger's cost of each filtered answer,
and `gc_pause_ms` — the cycle collector's pauses (every thread stops) per generation
during the key phases.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from tui_bench import KeyTiming, current_rss_mb, emit, peak_rss_mb, run_on_pty, summary  # noqa: E402

TARGETS = {"first_frame_s": 2.0, "latency_p99_ms": 50.0, "peak_rss_mb": 600.0}


# ---------------------------------------------------------------- the console child


def child_main(args: argparse.Namespace) -> None:
    """Run the real app on this process's terminal (a pty) and write the report."""
    from console.app import KmcApp
    from console.cluster.connection import connect
    from console.config import load_settings

    spawned = args.spawned
    settings = load_settings({"kubeconfig": args.kubeconfig, "context": "kmc-sim"})
    connection = connect(settings.kubeconfig, settings.context, probe=True)
    report: dict[str, Any] = {}

    class BenchApp(KeyTiming, KmcApp):
        """`KmcApp` plus timing: refresh durations and keystroke → frame latency."""

        key_timeout = args.key_timeout
        pause_rng = random.Random(7)

        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self.refresh_ms: list[float] = []
            self.apply_ms: list[float] = []
            self.arrange_ms: list[float] = []
            self.record_refresh = False
            self.ready_at: float | None = None
            self._first_rows_at: float | None = None

        def on_view_refreshed(self, message: Any) -> None:
            started = time.perf_counter()
            super().on_view_refreshed(message)
            result = message.result
            if self.record_refresh:
                self.refresh_ms.append(result.build_ms)
                self.apply_ms.append((time.perf_counter() - started) * 1000)
                if result.request.filter_text:
                    self.arrange_ms.append(result.arrange_ms)
            if self._first_rows_at is None and result.request.view == "nodes" and result.rows:
                self.call_after_refresh(self._first_rows)

        def _first_rows(self) -> None:
            if self._first_rows_at is None:
                self._first_rows_at = time.time()

        def on_ready(self) -> None:
            self.ready_at = time.time()
            self.run_worker(self.run_and_report(self._bench, report, args.report), group="bench")

        async def press(self, key: str, shown: Callable[[], bool]) -> float:
            _log(f"key {key!r} on {type(self.screen).__name__} focus={self.focused!r}")
            return await super().press(key, shown)

        async def _keys(self, view: str, filter_text: Callable[[], str]) -> dict[str, list[float]]:
            screen = self.screen
            table = screen.table  # type: ignore[attr-defined]
            out: dict[str, list[float]] = {"down": [], "up": [], "pagedown": [], "filter": []}
            table.focus()
            for _ in range(args.keys):
                before = table.cursor_row
                out["down"].append(await self.press("down", lambda b=before: table.cursor_row > b))
            for _ in range(max(1, args.keys // 4)):
                before = table.cursor_row
                out["pagedown"].append(
                    await self.press("pagedown", lambda b=before: table.cursor_row > b)
                )
            for _ in range(args.keys):
                before = table.cursor_row
                out["up"].append(await self.press("up", lambda b=before: table.cursor_row < b))
            from widgets.command_bar import CommandBar

            bar = screen.query_one(CommandBar)
            for _ in range(2):
                out["filter"].append(
                    await self.press("/", lambda: bool(bar.display and bar.has_focus))
                )
                typed = ""
                for char in filter_text():
                    typed += char
                    want = typed
                    out["filter"].append(
                        await self.press(char, lambda w=want: screen.applied_filter == w)  # type: ignore[attr-defined]
                    )
                await self.press("escape", lambda: screen.applied_filter == "")  # type: ignore[attr-defined]
                table.focus()
            report[f"{view}_rows"] = screen.total  # type: ignore[attr-defined]
            return out

        async def _bench(self) -> None:
            try:
                await self._bench_steps()
            finally:
                if self.session is not None and args.churn:
                    _churn(self.session.connection, 0)

        async def _bench_steps(self) -> None:
            await self.wait(lambda: self._first_rows_at is not None, 120)
            report["first_rows_s"] = (self._first_rows_at or time.time()) - spawned
            report["ready_s"] = (self.ready_at or time.time()) - spawned
            cache = self.session.cache
            live: dict[str, float] = {}

            def all_live() -> bool:
                for name, informer in cache.informers.items():
                    if name not in live and informer.state.state not in ("syncing", "stale"):
                        live[name] = round(time.time() - spawned, 2)
                return len(live) == len(cache.informers)

            await self.wait(all_live, args.sync_timeout)
            report["synced_s"] = max(live.values()) if len(live) == len(cache.informers) else None
            report["live_s"] = live
            report["items"] = {name: len(inf) for name, inf in cache.informers.items()}
            report["rss_after_sync_mb"] = round(current_rss_mb(), 1)
            if args.churn:
                await asyncio.to_thread(_churn, self.session.connection, args.churn)
                await asyncio.sleep(3.0)
            self.record_refresh = True
            frames = self.frames
            started = time.perf_counter()
            nodes = await self._keys("nodes", lambda: _node_filter(self.screen))
            report["frames_per_s_nodes"] = round(
                (self.frames - frames) / (time.perf_counter() - started), 1
            )
            report["refresh_ms_nodes"] = summary(self.refresh_ms)
            report["apply_ms_nodes"] = summary(self.apply_ms)
            report["filter_arrange_ms_nodes"] = summary(self.arrange_ms)
            self.refresh_ms, self.apply_ms, self.arrange_ms = [], [], []
            # :pods ⏎ — switch to the GPU-pod view and wait for its rows.
            for char in ":pods":
                await self.press(char, lambda: True)
            switched = time.perf_counter()
            view_switch = await self.press(
                "enter",
                lambda: getattr(getattr(self.screen, "view", None), "name", "") == "pods",
            )
            await self.wait(lambda: getattr(self.screen, "shown", 0) > 0, 60)
            report["view_rows_ms"] = round((time.perf_counter() - switched) * 1000, 1)
            await asyncio.sleep(1.0)
            self.refresh_ms, self.apply_ms, self.arrange_ms = [], [], []
            pods = await self._keys("pods", lambda: _pod_filter(self.screen))
            pods["view_switch"] = [view_switch]
            report["refresh_ms_pods"] = summary(self.refresh_ms)
            report["apply_ms_pods"] = summary(self.apply_ms)
            report["filter_arrange_ms_pods"] = summary(self.arrange_ms)
            report["latency_ms"] = {
                "nodes": {k: summary(v) for k, v in nodes.items()},
                "pods": {k: summary(v) for k, v in pods.items()},
            }
            every = [x for group in (nodes, pods) for v in group.values() for x in v]
            report["latency_all_ms"] = summary(every)
            report["peak_rss_mb"] = round(peak_rss_mb(), 1)
            report["gc_pause_ms"] = {f"gen{g}": summary(v) for g, v in gc_pauses.items()}
            old = gc.get_objects(2)
            kinds = Counter(type(o).__qualname__ for o in old)
            report["gc_tracked"] = {
                "frozen": gc.get_freeze_count(),
                "gen2": len(old),
                "gen2_types": dict(kinds.most_common(12)),
                "collected": {f"gen{g}": summary(v) for g, v in gc_collected.items()},
                "gen2_at_full_collections": gc_sizes,
                "gen2_types_at_a_full_collection": gc_sample,
                "gen2_biggest_containers": gc_big,
            }
            del old

    gc_pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    gc_started = [0.0]
    gc_sizes: list[int] = []
    gc_sample: dict[str, int] = {}
    gc_big: list[str] = []
    gc_collected: dict[int, list[float]] = {0: [], 1: [], 2: []}

    def gc_timer(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            if info["generation"] == 2 and app.record_refresh and len(gc_sizes) < 30:
                old = gc.get_objects(2)
                gc_sizes.append(len(old))
                if len(gc_sizes) == 3:
                    gc_sample.update(Counter(type(o).__qualname__ for o in old).most_common(15))
                    sized = [o for o in old if isinstance(o, list | dict | set | tuple | deque)]
                    sized.sort(key=len, reverse=True)
                    gc_big.extend(
                        f"{type(o).__qualname__}[{len(o)}] of {_first_type(o)}" for o in sized[:8]
                    )
                del old
            gc_started[0] = time.perf_counter()
        elif app.record_refresh:  # the churn and key phases only
            gc_pauses[info["generation"]].append((time.perf_counter() - gc_started[0]) * 1000)
            gc_collected[info["generation"]].append(info["collected"])

    gc.callbacks.append(gc_timer)
    app = BenchApp(settings, connection)
    app.run()


def _first_type(container: Any) -> str:
    items = container.values() if isinstance(container, dict) else container
    first = next(iter(items), None)
    return type(first).__qualname__


def _log(text: str) -> None:
    log = os.environ.get("KMC_SCALE_LOG")
    if log:
        with open(log, "a") as handle:
            handle.write(f"{time.time():.3f} {text}\n")


def _node_filter(screen: Any) -> str:
    items = getattr(screen, "rows", [])
    name = str(items[len(items) // 2].cells[0]) if items else "node-1"
    return name[: max(4, len(name) - 2)]  # a prefix that still matches a handful of nodes


def _pod_filter(screen: Any) -> str:
    items = getattr(screen, "rows", [])
    name = str(items[len(items) // 2].cells[1]) if items else "worker-1"
    return name[:8]


def _churn(connection: Any, rate: float) -> None:
    connection.request("POST", "/_sim/fault", body={"action": "churn", "rate": rate})


# ---------------------------------------------------------------- the parent


def run_child(kubeconfig: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The console process of (b)–(d), on a 160×48 pseudo-terminal."""
    cmd = [sys.executable, __file__, "--child", "--kubeconfig", str(kubeconfig)]
    cmd += ["--keys", str(args.keys), "--churn", str(args.churn)]
    cmd += ["--key-timeout", str(args.key_timeout), "--sync-timeout", str(args.sync_timeout)]
    return run_on_pty([*cmd, "--spawned", repr(time.time())], timeout=args.sync_timeout + 1800)


def kubectl_times(kubeconfig: Path) -> dict[str, float] | None:
    binary = shutil.which("kubectl")
    if binary is None:
        return None
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "KUBECACHEDIR": cache}
        base = [binary, "--kubeconfig", str(kubeconfig), "--context", "kmc-sim", "get"]
        for label, what in (("nodes_json_s", ["nodes"]), ("pods_A_json_s", ["pods", "-A"])):
            started = time.perf_counter()
            subprocess.run(
                [*base, *what, "-o", "json"],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            out[label] = round(time.perf_counter() - started, 2)
    out["nodes_plus_pods_s"] = round(out["nodes_json_s"] + out["pods_A_json_s"], 2)
    return out


class SimHost:
    """The simulator in its own process (this script's `--sim-host` mode).

    Not `console.sim.process.start_process`: under `kmc sim serve` (`run_foreground`) the
    admin endpoint's churn action deadlocks the simulator's loop (`FaultControl._on_loop`
    takes the loop thread for a foreign one when `SimCluster._thread` is None and waits on
    itself). Here the `SimCluster` runs on its own thread, where the endpoint works.
    """

    def __init__(self, preset: str, seed: int, timeout: float = 600.0) -> None:
        cmd = [sys.executable, __file__, "--sim-host", "--preset", preset, "--seed", str(seed)]
        self.process = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator did not start (exit {self.process.wait(timeout)})")
        self.info: dict[str, Any] = json.loads(line)
        self.kubeconfig = Path(self.info["kubeconfig"])
        self.pid = self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # EOF: the host stops the simulator and exits
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def sim_host_main(args: argparse.Namespace) -> None:
    import ctypes
    import signal

    from console.sim.cluster import SimCluster

    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # die with the parent
    except (OSError, AttributeError):
        pass
    sim = SimCluster(args.preset, args.seed, metrics_port=None).start(timeout=600)
    info = {"server": sim.server_url, "kubeconfig": str(sim.kubeconfig_path)}
    info["build_seconds"] = round(sim.build_seconds, 2)
    print(json.dumps(info), flush=True)
    sys.stdin.read()  # until the parent closes stdin or dies
    sim.stop()


def parent_main(args: argparse.Namespace) -> None:
    from console_startup import run_console

    started = time.perf_counter()
    sim = SimHost(args.preset, args.seed)
    result: dict[str, Any] = {
        "benchmark": "console_scale",
        "preset": args.preset,
        "sim_startup_s": round(time.perf_counter() - started, 1),
        "targets": TARGETS,
    }
    try:
        if args.startup_runs:
            runs = [run_console(sim.kubeconfig) for _ in range(args.startup_runs)]
            result["a_first_frame_s"] = round(statistics.median(r["first_rows_s"] for r in runs), 3)
            result["a_first_frame_runs_s"] = [round(r["first_rows_s"], 3) for r in runs]
            result["a_ready_s"] = round(statistics.median(r["ready_s"] for r in runs), 3)
        child = run_child(sim.kubeconfig, args)
        result["b_synced_s"] = child.get("synced_s")
        result["c_latency_p50_ms"] = child.get("latency_all_ms", {}).get("p50")
        result["c_latency_p99_ms"] = child.get("latency_all_ms", {}).get("p99")
        result["d_peak_rss_mb"] = child.get("peak_rss_mb")
        result["console"] = child
        if not args.no_kubectl:
            kubectl = kubectl_times(sim.kubeconfig)
            result["kubectl"] = kubectl
            if kubectl:
                result["b_target_s"] = kubectl["nodes_plus_pods_s"]
    finally:
        sim.stop()
    emit(result, args.out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="huge")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--keys", type=int, default=40, help="down (and up) presses per view")
    parser.add_argument("--churn", type=float, default=1000.0, help="pod updates per second")
    parser.add_argument("--key-timeout", type=float, default=10.0)
    parser.add_argument("--sync-timeout", type=float, default=600.0)
    parser.add_argument("--no-kubectl", action="store_true")
    parser.add_argument("--out", default="")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sim-host", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    parser.add_argument("--spawned", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
    elif args.sim_host:
        sim_host_main(args)
    else:
        parent_main(args)


if __name__ == "__main__":
    main()
