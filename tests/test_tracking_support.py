"""Helpers for the MLflow tests (no tests here): a real SQLite tracking store, runs with
metrics logged through the official client, fixed run ids for snapshots, a real
`mlflow server` on loopback, and a loopback server that never answers (a slow MLflow)."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from console.sim.cluster import free_port
from console.tracking.linking import JobRef


def sqlite_uri(directory: Path) -> str:
    return f"sqlite:///{directory}/mlflow.db"


def client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def experiment(mlflow: Any, name: str) -> str:
    found = mlflow.get_experiment_by_name(name)
    return found.experiment_id if found else mlflow.create_experiment(name)


def make_run(
    mlflow: Any,
    exp: str,
    name: str,
    *,
    tags: dict[str, str] | None = None,
    start: float | None = None,
    points: Sequence[tuple[int, float, float]] = (),
    params: dict[str, str] | None = None,
) -> str:
    """A run with `points` (step, value, epoch seconds) of `loss` logged; its id."""
    from mlflow.entities import Param

    run = mlflow.create_run(
        exp,
        run_name=name,
        tags=tags or {},
        start_time=int((start if start is not None else time.time()) * 1000),
    )
    run_id = run.info.run_id
    log(mlflow, run_id, points)
    if params:
        mlflow.log_batch(run_id, params=[Param(k, v) for k, v in params.items()])
    return run_id


def log(mlflow: Any, run_id: str, points: Sequence[tuple[int, float, float]], key: str = "loss"):
    from mlflow.entities import Metric

    metrics = [Metric(key, value, int(ts * 1000), step) for step, value, ts in points]
    for i in range(0, len(metrics), 1000):
        mlflow.log_batch(run_id, metrics=metrics[i : i + 1000])


def fix_run_id(db: Path, old: str, new: str) -> None:
    """Give a fresh run (tags only, no metrics yet) a fixed id, for stable snapshots."""
    with sqlite3.connect(db) as con:
        for table in ("runs", "tags", "params", "metrics", "latest_metrics"):
            con.execute(f"UPDATE {table} SET run_uuid=? WHERE run_uuid=?", (new, old))


def job(name: str, ns: str = "ml", state: str = "Running", **extra: Any) -> JobRef:
    return JobRef("PyTorchJob", ns, name, state, extra.get("annotations", {}), extra.get("env", {}))


class Settings:
    """What `TrackingLink` reads of the settings."""

    def __init__(self, uri: str | None, **changes: Any) -> None:
        self.mlflow_tracking_uri = uri
        self.mlflow_link_rules = "annotation,env,tag,name"
        self.mlflow_run_annotation = "mlflow.org/run-id"
        self.mlflow_run_env = "MLFLOW_RUN_ID"
        self.mlflow_job_tag = "k8s.job"
        self.mlflow_metric = "loss"
        self.mlflow_stall_minutes = 5.0
        self.refresh_seconds = 2.0
        for key, value in changes.items():
            setattr(self, key, value)


# ---------------------------------------------------------------- servers


def start_mlflow_server(store: Path, timeout: float = 90.0) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{store}/server.db",
        "--default-artifact-root",
        str(store / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("mlflow server did not start in time")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `mlflow server` (the full `mlflow` distribution) on loopback: its URL."""
    proc, url = start_mlflow_server(tmp_path_factory.mktemp("mlflow-server"))
    yield url
    stop_server(proc)


class SilentServer:
    """Accepts connections on loopback and never answers: a hung MLflow."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()
