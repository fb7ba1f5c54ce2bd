"""Start-up time of the console: process start → Textual `Ready` and → first populated
GPU-node frame, on the `demo` preset with the simulator in its own process; and, on the
same simulator, `kubectl get nodes` (the peer baseline). Prints one JSON object.

    python benchmarks/console_startup.py [--runs 5] [--preset demo] [--seed 1]

The console runs as `kmc --kubeconfig <sim> --context kmc-sim` on a pseudo-terminal
(160×48) through `benchmarks/startup_probe.py` with `KMC_STARTUP_REPORT=<file>`: it exits as
soon as the first populated frame is drawn and writes the wall-clock times of `Ready` and of
that frame.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


def run_console(kubeconfig: Path, size: tuple[int, int] = (160, 48)) -> dict[str, float]:
    """One start of the console; returns seconds from spawn to Ready and to first rows."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = {**os.environ, "KMC_STARTUP_REPORT": str(report), "TERM": "xterm-256color"}
        env.pop("NO_COLOR", None)
        cmd = [sys.executable, "-c", "from benchmarks.startup_probe import main; main()"]
        cmd += ["--kubeconfig", str(kubeconfig), "--context", "kmc-sim"]
        reader = threading.Thread(target=_drain, args=(master,), daemon=True)
        reader.start()
        started = time.time()
        proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT)
        os.close(slave)
        code = proc.wait(timeout=60)
        ended = time.time()
        os.close(master)
        if code != 0 or not report.exists():
            raise RuntimeError(f"the console exited with {code} and no report")
        data = json.loads(report.read_text())
    return {
        "ready_s": data["ready"] - started,
        "first_rows_s": data["first_rows"] - started,
        "exit_s": ended - started,
        "rows": data["rows"],
    }


def kubectl_get_nodes(kubeconfig: Path) -> dict[str, float] | None:
    binary = shutil.which("kubectl")
    if binary is None:
        return None
    times = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "KUBECACHEDIR": cache}
        for label in ("cold_s", "warm_s"):  # cold: empty discovery cache
            started = time.time()
            subprocess.run(
                [binary, "--kubeconfig", str(kubeconfig), "--context", "kmc-sim", "get", "nodes"],
                check=True,
                capture_output=True,
                env=env,
            )
            times[label] = time.time() - started
    return times


def import_time() -> float:
    """Seconds to import everything on the console's start-up path (fresh interpreter)."""
    code = "import console.cli, console.app, console.cluster.cache, console.cluster.views"
    started = time.time()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    return time.time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from console.sim.process import start_process

    sim = start_process(preset=args.preset, seed=args.seed)
    try:
        runs = [run_console(sim.kubeconfig) for _ in range(args.runs)]
        kubectl = kubectl_get_nodes(sim.kubeconfig)
        imports = import_time()
    finally:
        sim.stop()

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 3)

    print(
        json.dumps(
            {
                "benchmark": "console_startup",
                "preset": args.preset,
                "runs": args.runs,
                "kmc_ready_s": median("ready_s"),
                "kmc_first_gpu_node_rows_s": median("first_rows_s"),
                "kmc_first_rows_max_s": round(max(r["first_rows_s"] for r in runs), 3),
                "rows": runs[0]["rows"],
                "import_path_s": round(imports, 3),
                "kubectl_get_nodes_s": kubectl,
                "budget_s": 1.0,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
