"""Helpers for tests that drive the simulated cluster with real clients (kubectl, the Python client)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import kubernetes


def api_client(kubeconfig: Path, context: str = "kmc-sim") -> kubernetes.client.ApiClient:
    return kubernetes.config.new_client_from_config(str(kubeconfig), context=context)


def kubectl(
    binary: str, kubeconfig: Path, *args: str, context: str | None = None, timeout: float = 60, check: bool = True
) -> subprocess.CompletedProcess[str]:
    cmd = [binary, "--kubeconfig", str(kubeconfig)]
    if context:
        cmd += ["--context", context]
    env = {**os.environ, "KUBECACHEDIR": str(Path(kubeconfig).parent / "kube-cache")}
    result = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result
