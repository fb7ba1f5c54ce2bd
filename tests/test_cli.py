"""The `kmc` command line: help, version, one-line errors with exit code 1 (no traceback)
for broken settings, kubeconfig, unknown context, unreachable server, unknown theme; and
`kmc demo`, which runs the simulator as a child process and stops it on exit."""

from __future__ import annotations

import json
import os
import pty
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from console import __version__

ROOT = Path(__file__).resolve().parent.parent


def kmc(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from console.cli import main; main()", *args]
    full_env = {**os.environ, "KMC_CONFIG": "/nonexistent/kmc.toml", **(env or {})}
    full_env.pop("KUBECONFIG", None) if env is None or "KUBECONFIG" not in env else None
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=ROOT
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kmc: ")
    return lines[0]


def test_help_and_version() -> None:
    result = kmc("--help")
    assert result.returncode == 0
    for option in (
        "--kubeconfig",
        "--context",
        "--namespace",
        "--all-namespaces",
        "--theme",
        "--read-only",
        "demo",
        "sim",
    ):
        assert option in result.stdout
    result = kmc("--version")
    assert result.returncode == 0 and __version__ in result.stdout
    assert "--preset" in kmc("demo", "--help").stdout


def test_missing_kubeconfig(tmp_path) -> None:
    line = one_line_error(kmc("--kubeconfig", str(tmp_path / "nope")))
    assert "no kubeconfig" in line


def test_broken_kubeconfig(tmp_path) -> None:
    path = tmp_path / "config"
    path.write_text("this: [is not: a kubeconfig\n")
    one_line_error(kmc("--kubeconfig", str(path)))


def test_broken_settings_file(tmp_path) -> None:
    path = tmp_path / "kmc.toml"
    path.write_text("theme = \n")
    line = one_line_error(kmc(env={"KMC_CONFIG": str(path)}))
    assert str(path) in line and "line 1" in line


def test_unknown_context(tiny_sim) -> None:
    line = one_line_error(kmc("--kubeconfig", str(tiny_sim.kubeconfig_path), "--context", "nope"))
    assert "'nope'" in line and "kmc-sim" in line


def test_unreachable_server(tmp_path) -> None:
    path = tmp_path / "config"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    line = one_line_error(kmc("--kubeconfig", str(path)))
    assert "cannot reach" in line


def test_unknown_theme(tiny_sim) -> None:
    result = kmc("--kubeconfig", str(tiny_sim.kubeconfig_path), "--theme", "nope")
    assert result.returncode == 2 and "Invalid value for '--theme'" in result.stderr
    # a theme named by the environment (or the settings file) is checked too
    env = {"KMC_THEME": "nope", "KUBECONFIG": str(tiny_sim.kubeconfig_path)}
    line = one_line_error(kmc(env=env))
    assert "unknown theme" in line


def test_unknown_preset() -> None:
    result = kmc("demo", "--preset", "enormous")
    assert result.returncode == 2 and "Invalid value for '--preset'" in result.stderr


def test_namespace_and_all_namespaces_exclude_each_other() -> None:
    result = kmc("-n", "x", "-A")
    assert result.returncode == 2 and "exclude" in result.stderr


def _sim_children(seed: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"console.sim" in cmdline and b"--seed" in cmdline and str(seed).encode() in cmdline:
            pids.append(int(entry.name))
    return pids


def _run_on_pty(
    args: list[str], env: dict[str, str], timeout: float = 90, entry: str = "console.cli"
) -> int:
    import fcntl
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    def drain() -> None:
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass

    threading.Thread(target=drain, daemon=True).start()
    cmd = [sys.executable, "-c", f"from {entry} import main; main()", *args]
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    try:
        return proc.wait(timeout=timeout)
    finally:
        os.close(master)


@pytest.mark.slow
def test_demo_runs_the_sim_as_a_child_and_stops_it(tmp_path) -> None:
    seed = 4242 + os.getpid() % 1000
    report = tmp_path / "report.json"
    env = {
        **os.environ,
        "KMC_STARTUP_REPORT": str(report),
        "TERM": "xterm-256color",
        "KMC_CONFIG": "/nonexistent",
    }
    code = _run_on_pty(
        ["demo", "--preset", "tiny", "--seed", str(seed)], env, entry="benchmarks.startup_probe"
    )
    assert code == 0
    data = json.loads(report.read_text())
    assert data["rows"] == 2  # the tiny preset's GPU nodes were on screen
    deadline = time.monotonic() + 10
    while _sim_children(seed) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _sim_children(seed) == []
