"""How fast `kmc` is gone after `q`, SIGHUP, SIGTERM or a closed terminal, with the API
server healthy and unresponsive (the simulator's latency fault plus dropped watches: every
request waits a minute for headers), and `kubectl get pods -A -w` hung up the same way as
the peer baseline, in the same run (kubectl ends when its watch is dropped, so for it the
watches stall instead: open, silent). Prints JSON: seconds from the request to the process
(and its children) gone, median and max over `--repeat` runs, and the exit codes.

    .venv/bin/python benchmarks/exit_time.py --repeat 3
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import urllib3
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pty_launch import KMC, PtyProcess, alive, until  # noqa: E402


class Admin:
    """The simulator's fault endpoint, with the admin token from its kubeconfig."""

    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        self.server = cluster["server"]
        self.token = next(u["user"]["token"] for u in config["users"] if "admin" in u["name"])
        ca = Path(tempfile.mkdtemp(prefix="kmc-bench-")) / "ca.crt"
        ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
        self.http = urllib3.PoolManager(ca_certs=str(ca), cert_reqs="CERT_REQUIRED")

    def fault(self, **body: object) -> None:
        answer = self.http.request(
            "POST",
            self.server + "/_sim/fault",
            body=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert answer.status == 200, answer.data


def one_run(cmd: list[str], ready: bytes, how: str, admin: Admin, unresponsive: bool) -> dict:
    term = PtyProcess(cmd)
    try:
        if not until(lambda: ready in term.output, 60, poll=0.02):
            raise RuntimeError(f"{cmd[0]} never showed {ready!r}")
        if unresponsive:
            admin.fault(action="latency", seconds=60)
            if cmd[0] == shutil.which("kubectl"):
                admin.fault(action="stall-watches")
            else:
                admin.fault(action="drop-watches")
            time.sleep(1.0)  # the clients reconnect and wait for headers
        if term.proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} ended before the exit request")
        family = term.family()
        started = time.monotonic()
        if how == "q":
            term.send(b"q")
        elif how == "close-terminal":
            term.close_terminal()
        else:
            term.proc.send_signal(getattr(signal, how))
        until(lambda: not any(alive(p) for p in family), 120, poll=0.02)
        seconds = time.monotonic() - started
        return {"seconds": round(seconds, 3), "code": term.proc.wait(5)}
    finally:
        admin.fault(action="clear")
        term.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from console.sim.process import start_process

    kubectl = shutil.which("kubectl")
    results: dict[str, dict] = {}
    with start_process(preset="tiny", seed=31) as sim:
        admin = Admin(sim.kubeconfig)
        kmc = [*KMC, "--kubeconfig", str(sim.kubeconfig), "--telemetry", "none"]
        cases = [
            (f"kmc {how} {state}", kmc, b"Ready", how, state == "unresponsive")
            for state in ("healthy", "unresponsive")
            for how in ("q", "SIGHUP", "SIGTERM", "close-terminal")
        ]
        if kubectl:
            peer = [kubectl, "--kubeconfig", str(sim.kubeconfig), "get", "pods", "-A", "-w"]
            for state in ("healthy", "unresponsive"):
                name = f"kubectl-watch SIGHUP {state}"
                cases.append((name, peer, b"NAMESPACE", "SIGHUP", state == "unresponsive"))
        for name, cmd, ready, how, unresponsive in cases:
            runs = [one_run(cmd, ready, how, admin, unresponsive) for _ in range(args.repeat)]
            seconds = [r["seconds"] for r in runs]
            results[name] = {
                "median_s": round(statistics.median(seconds), 3),
                "max_s": max(seconds),
                "codes": sorted({r["code"] for r in runs}),
            }
    print(json.dumps({"repeat": args.repeat, "promise_s": 2.0, "results": results}, indent=1))


if __name__ == "__main__":
    main()
