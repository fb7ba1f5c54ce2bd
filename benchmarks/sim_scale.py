"""Scale of the simulated cluster: start-up of a preset, and listing every pod through real clients.

Prints one JSON object: the simulator's start-up time (process start → serving), the time of
`kubectl get pods -A -o json` (the peer baseline: kubectl's own paging, 500 per page), the time of
a paginated list with the official Python client (raw bytes, 500 per page, and — on smaller presets
— the client's model objects too), and the simulator's peak RSS.

    .venv/bin/python benchmarks/sim_scale.py [--preset huge] [--kubectl kubectl]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.sim.process import start_process


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def kubectl_list(binary: str, kubeconfig: Path) -> int:
    out = subprocess.run(
        [binary, "--kubeconfig", str(kubeconfig), "get", "pods", "-A", "-o", "json"],
        capture_output=True,
        check=True,
        env={**os.environ, "KUBECACHEDIR": str(kubeconfig.parent / "kube-cache")},
    ).stdout
    return len(json.loads(out)["items"])


def client_raw_pages(kubeconfig: Path, limit: int = 500) -> int:
    import kubernetes

    api = kubernetes.config.new_client_from_config(str(kubeconfig))
    core = kubernetes.client.CoreV1Api(api)
    count, token = 0, None
    while True:
        response = core.list_pod_for_all_namespaces(
            limit=limit, _continue=token, _preload_content=False
        )
        page = json.loads(response.data)
        count += len(page["items"])
        token = page["metadata"].get("continue")
        if not token:
            return count


def client_model_pages(kubeconfig: Path, limit: int = 500) -> int:
    import kubernetes

    core = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(str(kubeconfig)))
    count, token = 0, None
    while True:
        page = core.list_pod_for_all_namespaces(limit=limit, _continue=token)
        count += len(page.items)
        token = page.metadata._continue
        if not token:
            return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="huge")
    parser.add_argument("--kubectl", default=shutil.which("kubectl") or "kubectl")
    parser.add_argument(
        "--models", action="store_true", help="also time the client's model objects"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    sim = start_process(preset=args.preset, seed=1, timeout=600)
    startup = time.perf_counter() - started
    result: dict[str, object] = {
        "preset": args.preset,
        "sim_startup_s": round(startup, 2),
        "sim_build_s": sim.info.get("build_seconds"),
    }
    try:
        t, n = timed(lambda: kubectl_list(args.kubectl, sim.kubeconfig))
        result |= {"pods": n, "kubectl_get_pods_A_json_s": round(t, 2)}
        t, n = timed(lambda: client_raw_pages(sim.kubeconfig))
        result |= {"python_client_paged_raw_s": round(t, 2), "python_client_paged_raw_pods": n}
        if args.models or args.preset in ("tiny", "demo", "large"):
            t, n = timed(lambda: client_model_pages(sim.kubeconfig))
            result |= {"python_client_paged_models_s": round(t, 2)}
        result["sim_peak_rss_mb"] = round(peak_rss_mb(sim.pid), 1)
    finally:
        sim.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
