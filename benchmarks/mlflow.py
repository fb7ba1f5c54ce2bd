"""The MLflow link's cost per refresh against a real `mlflow server` on loopback, with 50 and
500 linked runs, beside the official client and CLI listing the same runs in the same run.

Per size: N runs (20 loss points each) in one experiment; 90 % of the jobs name their run
by annotation, 10 % are found by the run tag. Measured:

- `kmc`: the `TrackingLink` refresh the console runs on its thread — the first (experiments,
  the search for tag-linked runs, the runs by id) and the steady ones after it;
- `client_get_run`: the official client reading each job's run with `get_run` (what a
  per-job integration does);
- `client_search_runs`: the official client's one `search_runs` over the experiment (all
  its runs, the floor for one request);
- `cli_runs_list`: `mlflow runs list --experiment-id …` (a process per listing, as a
  script would call it).

HTTP requests are counted at the `requests` session every client shares; wall times are
medians. The machine is shared: compare within one run.

    .venv/bin/python benchmarks/mlflow.py [--sizes 50 500] [--refreshes 5]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# This file is named like the package it measures: keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import requests  # noqa: E402

from console.tracking.link import TrackingLink  # noqa: E402
from console.tracking.linking import JobRef  # noqa: E402
from tests.test_tracking_support import Settings, start_mlflow_server, stop_server  # noqa: E402

COUNT = {"requests": 0}
_original = requests.Session.request


def _counting(self, *args, **kwargs):  # every MLflow REST call goes through a Session
    COUNT["requests"] += 1
    return _original(self, *args, **kwargs)


requests.Session.request = _counting


def measured(fn, times: int) -> dict:
    walls, counts = [], []
    for _ in range(times):
        before = COUNT["requests"]
        started = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - started)
        counts.append(COUNT["requests"] - before)
    return {
        "wall_ms_median": round(statistics.median(walls) * 1000, 1),
        "wall_ms_max": round(max(walls) * 1000, 1),
        "requests": counts[-1],
    }


def populate(url: str, size: int) -> tuple[str, list[JobRef]]:
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(url)
    exp = client.create_experiment(f"bench-{size}-{time.time_ns()}")
    now = int(time.time() * 1000)
    jobs = []
    for i in range(size):
        name = f"job-{i:04d}"
        tagged = i % 10 == 0
        run = client.create_run(exp, run_name=f"{name}-run", tags={"k8s.job": f"bench/{name}"})
        points = [Metric("loss", 5.0 / (s + 1), now - (20 - s) * 1000, s * 10) for s in range(20)]
        client.log_batch(run.info.run_id, metrics=points)
        notes = {} if tagged else {"mlflow.org/run-id": run.info.run_id}
        jobs.append(JobRef("PyTorchJob", "bench", name, "Running", notes, {}))
    return exp, jobs


def bench_size(url: str, size: int, refreshes: int) -> dict:
    from mlflow.tracking import MlflowClient

    exp, jobs = populate(url, size)
    run_ids = [j.annotations["mlflow.org/run-id"] for j in jobs if j.annotations]
    link = TrackingLink(Settings(url))
    link._jobs = lambda: jobs  # the benchmark's jobs instead of a cluster session's
    first = measured(link.refresh, 1)
    assert len(link.progress()) == size, f"linked {len(link.progress())} of {size}"
    steady = measured(link.refresh, refreshes)
    client = MlflowClient(url)
    per_job = measured(lambda: [client.get_run(r) for r in run_ids], max(1, refreshes // 2))
    search = measured(lambda: client.search_runs([exp], max_results=50000), refreshes)
    cli = [sys.executable, "-m", "mlflow", "runs", "list", "--experiment-id", exp]
    env = {"MLFLOW_TRACKING_URI": url, "PATH": "/usr/bin:/bin"}

    def listing() -> None:
        out = subprocess.run(cli, env=env, capture_output=True, text=True, check=True).stdout
        assert out.count("\n") >= size

    cli_runs = measured(listing, 2)
    return {
        "linked_runs": size,
        "kmc_first_refresh": first,
        "kmc_steady_refresh": steady,
        "client_get_run": {**per_job, "runs": len(run_ids)},
        "client_search_runs": search,
        "cli_runs_list": {**cli_runs, "requests": "one process, its own client"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--refreshes", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kmc-bench-mlflow-") as tmp:
        started = time.perf_counter()
        proc, url = start_mlflow_server(Path(tmp))
        server_start = time.perf_counter() - started
        try:
            results = [bench_size(url, size, args.refreshes) for size in args.sizes]
        finally:
            stop_server(proc)
    import mlflow

    print(
        json.dumps(
            {
                "benchmark": "mlflow",
                "mlflow_version": mlflow.__version__,
                "server": "mlflow server, SQLite backend, 1 worker, loopback",
                "server_start_s": round(server_start, 1),
                "refreshes": args.refreshes,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
