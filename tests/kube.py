"""Helpers for tests that drive the simulated cluster with real clients (kubectl, the Python client)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import kubernetes


def api_client(kubeconfig: Path, context: str = "kmc-sim") -> kubernetes.client.ApiClient:
    return kubernetes.config.new_client_from_config(str(kubeconfig), context=context)


def kubectl(
    binary: str,
    kubeconfig: Path,
    *args: str,
    context: str | None = None,
    timeout: float = 60,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    cmd = [binary, "--kubeconfig", str(kubeconfig)]
    if context:
        cmd += ["--context", context]
    env = {**os.environ, "KUBECACHEDIR": str(Path(kubeconfig).parent / "kube-cache")}
    result = subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def read_until(
    proc: subprocess.Popen, needle: str, timeout: float, on_idle=None, lines: int = 0
) -> str:
    """Read a child's stdout (unbuffered, so select() tells the truth) until `needle` appears, or
    until `lines` newlines arrived when `lines` is given; `on_idle()` runs whenever nothing came."""
    import select
    import time

    fd = proc.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (needle and needle.encode() in seen) or (lines and seen.count(b"\n") >= lines):
            break
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk
        elif on_idle:
            on_idle()
    return seen.decode(errors="replace")


# A Job whose pod holds one GPU and never uses it (an idle allocation for telemetry tests).
IDLE_JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "idle-notebook", "namespace": "ml"},
    "spec": {
        "template": {
            "metadata": {"annotations": {"sim.kmc.dev/profile": "idle"}},
            "spec": {
                "restartPolicy": "Never",
                "tolerations": [{"operator": "Exists"}],
                "containers": [
                    {
                        "name": "nb",
                        "image": "jupyter/base",
                        "resources": {"limits": {"nvidia.com/gpu": "1"}},
                    }
                ],
            },
        }
    },
}
