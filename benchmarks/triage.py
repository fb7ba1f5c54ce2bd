"""Wall time and peak memory of the headless commands: `kmc triage -o json` (and `kmc nodes
-o json`, the start-up of a one-shot command) at the `demo` and `large` presets, beside
`kubectl get nodes,pods -A -o json` on the same simulator in the same run. Prints one JSON
object.

    python benchmarks/triage.py [--runs 3] [--presets demo,large] [--seed 1]

Each preset's simulator runs in its own process (`start_process`, telemetry from its DCGM
exporters through the API server, as `kmc demo`); the commands run one after the other as
child processes, timed from spawn to exit; peak RSS is the child's own (`wait4`), so
neither the simulator nor the benchmark counts. kubectl runs with an empty discovery
cache the first time (cold) and a warm one after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run `cmd` (output discarded); seconds from spawn to exit, peak RSS, exit code."""
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: no one reads it meanwhile
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1, 2):
            err.seek(0)
            text = err.read().decode(errors="replace").strip()[:300]
            raise RuntimeError(f"{' '.join(cmd[3:5])} exited {code}: {text}")
    return {"s": elapsed, "rss_mib": usage.ru_maxrss / 1024, "exit": code}


def kmc_cmd(command: str, kubeconfig: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from console.cli import main; main()",
        command,
        "-o",
        "json",
        "--kubeconfig",
        str(kubeconfig),
        "--context",
        "kmc-sim",
        "--telemetry",
        "dcgm",
    ]


def summary(runs: list[dict[str, float]]) -> dict[str, float]:
    return {
        "median_s": round(statistics.median(r["s"] for r in runs), 3),
        "max_s": round(max(r["s"] for r in runs), 3),
        "peak_rss_mib": round(max(r["rss_mib"] for r in runs), 1),
    }


def bench_preset(preset: str, seed: int, runs: int) -> dict[str, object]:
    from console.sim.process import start_process

    env = {**os.environ, "KMC_CONFIG": "/nonexistent/kmc.toml"}
    env.pop("KUBECONFIG", None)
    sim = start_process(preset=preset, seed=seed)
    try:
        nodes = [timed(kmc_cmd("nodes", sim.kubeconfig), env) for _ in range(runs)]
        triage = [timed(kmc_cmd("triage", sim.kubeconfig), env) for _ in range(runs)]
        kubectl: dict[str, object] | None = None
        binary = shutil.which("kubectl")
        if binary:
            with tempfile.TemporaryDirectory() as cache:
                kenv = {**env, "KUBECACHEDIR": cache}
                cmd = [binary, "--kubeconfig", str(sim.kubeconfig), "--context", "kmc-sim"]
                cmd += ["get", "nodes,pods", "-A", "-o", "json"]
                cold = timed(cmd, kenv)
                warm = [timed(cmd, kenv) for _ in range(runs)]
            kubectl = {"cold_s": round(cold["s"], 3), **summary(warm)}
    finally:
        sim.stop()
    return {
        "kmc_triage_json": {**summary(triage), "exit_code": triage[0]["exit"]},
        "kmc_nodes_json": summary(nodes),
        "kubectl_get_nodes_pods_json": kubectl,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--presets", default="demo,large")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    results = {p: bench_preset(p, args.seed, args.runs) for p in args.presets.split(",")}
    print(
        json.dumps(
            {
                "benchmark": "triage",
                "runs": args.runs,
                "cpus": os.cpu_count(),
                "load_avg_1m_at_start": round(load, 2),
                "presets": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
