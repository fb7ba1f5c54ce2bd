"""The simulated cluster as a child process: `kmc demo`, conformance tests and benchmarks use it
so that the simulator never competes with the caller for the interpreter.

The child prints one JSON line when it serves ({"server", "kubeconfig", "metrics", ...}) and
exits when its parent dies (PR_SET_PDEATHSIG on Linux, and a parent watchdog everywhere)."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import SCENARIOS
from .presets import PRESETS


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class SimProcess:
    process: subprocess.Popen[bytes]
    server: str
    kubeconfig: Path
    metrics: str | None
    info: dict[str, Any] = field(default_factory=dict)
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 1.0) -> None:
        """SIGTERM, then SIGKILL if it is still there after `timeout` s; idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(1.0)
        if self._tmp:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_process(
    preset: str = "demo",
    seed: int = 1,
    port: int = 0,
    kubeconfig_out: str | Path | None = None,
    speed: float = 1.0,
    timeout: float = 180.0,
    stderr: int | IO[bytes] | None = subprocess.DEVNULL,
    mlflow_uri: str | None = None,
    scenario: str | None = None,
) -> SimProcess:
    """Start `python -m console.sim serve` and wait until it serves (and, with `mlflow_uri`,
    until its training jobs' MLflow store is open). `scenario` (`console.sim.SCENARIOS`)
    builds that incident scenario instead of `preset`."""
    tmp = None
    if kubeconfig_out is None:
        tmp = tempfile.TemporaryDirectory(prefix="kmc-sim-")
        kubeconfig_out = Path(tmp.name) / "kubeconfig"
    cmd = [
        sys.executable,
        "-m",
        "console.sim",
        "serve",
        "--preset",
        preset,
        "--seed",
        str(seed),
        "--port",
        str(port),
        "--speed",
        str(speed),
        "--kubeconfig-out",
        str(kubeconfig_out),
        "--json",
        *(["--mlflow-uri", mlflow_uri] if mlflow_uri else []),
        *(["--scenario", scenario] if scenario else []),
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line or proc.poll() is not None:
            break
    if not line:
        proc.kill()
        raise RuntimeError(f"the simulated cluster did not start (exit code {proc.poll()})")
    info = json.loads(line)
    return SimProcess(
        proc, info["server"], Path(info["kubeconfig"]), info.get("metrics"), info, tmp
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kmc sim", description="The simulated GPU cluster.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the simulated cluster in the foreground")
    add_serve_arguments(serve)
    args = parser.parse_args(argv)
    return serve_command(
        args.preset,
        args.seed,
        args.port,
        args.kubeconfig_out,
        args.speed,
        args.metrics_port,
        args.json,
        args.mlflow_uri,
        args.scenario,
    )


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="demo", choices=sorted(PRESETS))
    parser.add_argument(
        "--scenario", default=None, choices=list(SCENARIOS), help="a named incident scenario"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="API server port (default: a free one)")
    parser.add_argument(
        "--metrics-port", type=int, default=0, help="plain-HTTP exporter port for Prometheus"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="sim clock speed factor")
    parser.add_argument("--kubeconfig-out", default=None, help="where to write the kubeconfig")
    parser.add_argument("--json", action="store_true", help="announce readiness as one JSON line")
    parser.add_argument(
        "--mlflow-uri",
        default=None,
        help="MLflow tracking URI the training jobs log their runs to (default: none)",
    )


STOP_DEADLINE = 2.0
"""Seconds a stopping (or orphaned) simulator has to shut down cleanly before it is ended."""


def _exit_deadline(sim: Any, parent: int) -> None:
    """Once the simulator is asked to stop, or its parent is gone, it is gone within
    `STOP_DEADLINE` s: a graceful shutdown stuck on a client that stopped reading must not
    leave an orphan serving on a port (this thread does not depend on the event loop)."""
    while True:
        stopping = sim._stopping is not None and sim._stopping.is_set()
        if stopping or os.getppid() != parent:
            break
        time.sleep(0.2)
    if not stopping and sim.loop is not None and sim._stopping is not None:
        with contextlib.suppress(RuntimeError):
            sim.loop.call_soon_threadsafe(sim._stopping.set)
    time.sleep(STOP_DEADLINE)
    with contextlib.suppress(OSError):
        sim._tmp.cleanup()
    os._exit(0)


def default_kubeconfig_path() -> Path:
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "kmc" / "sim-kubeconfig"


def serve_command(
    preset: str,
    seed: int,
    port: int,
    kubeconfig_out: str | None,
    speed: float,
    metrics_port: int | None,
    as_json: bool,
    mlflow_uri: str | None = None,
    scenario: str | None = None,
) -> int:
    from .cluster import SimCluster, run_foreground

    path = Path(kubeconfig_out) if kubeconfig_out else default_kubeconfig_path()
    sim = SimCluster(
        preset,
        seed,
        port,
        speed=speed,
        kubeconfig_out=path,
        metrics_port=metrics_port or 0,
        mlflow_uri=mlflow_uri,
        scenario=scenario,
    )
    threading.Thread(
        target=_exit_deadline, args=(sim, os.getppid()), name="sim-exit-deadline", daemon=True
    ).start()

    def announce(s: SimCluster) -> None:
        info = {
            "server": s.server_url,
            "kubeconfig": str(s.kubeconfig_path),
            "metrics": s.metrics_url,
            "preset": preset,
            "scenario": scenario,
            "seed": seed,
            "pid": os.getpid(),
            "build_seconds": round(s.build_seconds, 3),
        }
        if as_json:
            print(json.dumps(info), flush=True)
            return
        what = f"scenario {scenario}" if scenario else preset
        print(f"Simulated GPU cluster ({what}, seed {seed}) serving at {s.server_url}", flush=True)
        print(
            f"  kubeconfig: {s.kubeconfig_path}  (contexts: kmc-sim = admin, kmc-sim-viewer = read-only, "
            "kmc-sim-team = its team's namespaces only)"
        )
        print(f"  try:        kubectl --kubeconfig {s.kubeconfig_path} get nodes")
        if s.metrics_url:
            print(
                f"  DCGM metrics for Prometheus: {s.metrics_url}/nodes/<node>/metrics (targets: {s.metrics_url}/targets)"
            )
        print("Ctrl-C stops it.", flush=True)

    run_foreground(sim, announce)
    return 0
