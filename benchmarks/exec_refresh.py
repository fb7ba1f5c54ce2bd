"""Exec credential plugin runs when 20 requests find the credential expired at once: the
console's connection against the official `kubernetes` client (the peer baseline), on the
simulated cluster, with the fake plugin of the tests (it counts its runs).

    .venv/bin/python -m benchmarks.exec_refresh [--requests 20] [--rounds 3]

Each round makes a new client (the plugin runs once, and gives an expired credential),
then fires the burst, which needs one refresh. Prints one JSON object: per client and
round, the plugin runs during the burst and its wall time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _burst(count: int, call: Callable[[], Any]) -> float:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def one() -> None:
        barrier.wait(60)
        try:
            call()
        except BaseException as exc:  # counted and reported
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed: {errors[0]!r}")
    return time.perf_counter() - started


def _round(make: Callable[[Path], Callable[[], Any]], sim: Any, requests: int) -> dict:
    from tests.exec_plugin import exec_kubeconfig, runs

    with tempfile.TemporaryDirectory(prefix="kmc-bench-exec-") as tmp:
        # The first credential (fetched when the client is made) is already expired: the
        # burst needs one refresh, and the next credential lasts an hour.
        kubeconfig, log = exec_kubeconfig(sim.kubeconfig_path, Path(tmp), FAKE_EXPIRED_FIRST="1")
        call = make(kubeconfig)
        before = len(runs(log))
        seconds = _burst(requests, call)
        return {"plugin_runs": len(runs(log)) - before, "seconds": round(seconds, 3)}


def _kmc(kubeconfig: Path) -> Callable[[], Any]:
    from console.cluster.connection import connect

    connection = connect(str(kubeconfig), "kmc-exec")
    return lambda: connection.get("/api/v1/namespaces", timeout=60)


def _official(kubeconfig: Path) -> Callable[[], Any]:
    import kubernetes

    client = kubernetes.config.new_client_from_config(str(kubeconfig), context="kmc-exec")
    client.configuration.connection_pool_maxsize = 32
    api = kubernetes.client.CoreV1Api(client)
    return lambda: api.list_namespace(_preload_content=False).read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from console.sim.cluster import SimCluster

    sim = SimCluster(preset="tiny", seed=3).start()
    try:
        result: dict[str, Any] = {"requests": args.requests, "kmc": [], "kubernetes_client": []}
        for _ in range(args.rounds):
            result["kmc"].append(_round(_kmc, sim, args.requests))
            result["kubernetes_client"].append(_round(_official, sim, args.requests))
    finally:
        sim.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
