"""The headless commands (`kmc nodes|jobs|servers|pods|gpus|triage -o table|wide|json`) run
as the real `kmc` entry point in a child process against the simulated cluster: every
command in every format, the rows against kubectl, -n/-A on the command and on `kmc`,
plain output when piped, colour on a terminal unless NO_COLOR or `no_color`, a
namespace-restricted user, and exit code 3 with one stderr line for bad flags, a bad
kubeconfig or context and an unreachable server."""

from __future__ import annotations

import json
import os
import pty
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_binary

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("nodes", "jobs", "servers", "pods", "gpus", "triage")
FIRST_LABEL = {
    "nodes": "NAME",
    "jobs": "NAMESPACE",
    "servers": "NAMESPACE",
    "pods": "NAMESPACE",
    "gpus": "NODE",
    "triage": "SEV",
}


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "KMC_CONFIG": "/nonexistent/kmc.toml", **(extra or {})}
    for name in ("KUBECONFIG", "NO_COLOR", "KMC_NO_COLOR", "PROMETHEUS_URL"):
        if not extra or name not in extra:
            env.pop(name, None)
    return env


def kmc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from console.cli import main; main()", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=_env(env), cwd=ROOT)


def on(sim, *args: str, **kw) -> subprocess.CompletedProcess[str]:
    """`kmc ARGS --kubeconfig <sim>` (the options given to the subcommand, like kubectl)."""
    return kmc(*args, "--kubeconfig", str(sim.kubeconfig_path), **kw)


def one_line_exit_3(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 3, result
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kmc: ")
    assert result.stdout == ""
    return lines[0]


def kubectl(sim, *args: str) -> dict:
    binary = require_binary("kubectl")
    out = subprocess.run(
        [binary, "--kubeconfig", str(sim.kubeconfig_path), *args, "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_in_every_format(tiny_sim, command: str) -> None:
    """Piped (not a terminal): plain text, no escape codes; json parses; wide has every
    column of table and more."""
    results = {fmt: on(tiny_sim, command, "-o", fmt) for fmt in ("table", "wide", "json")}
    for fmt, result in results.items():
        assert result.returncode in ((0, 1, 2) if command == "triage" else (0,)), (fmt, result)
        assert "\x1b" not in result.stdout and "Traceback" not in result.stderr
    data = json.loads(results["json"].stdout)
    if command == "triage":
        assert data["schema"] == 1 and isinstance(data["findings"], list)
        assert data["sources"]["cluster"] == "live"
        assert (
            results["table"]
            .stdout.splitlines()[-1]
            .startswith(f"{data['summary']['critical']} critical")
        )
        return
    assert data["view"] == command and data["context"] == "kmc-sim"
    assert data["items"], f"kmc {command} listed nothing on the tiny cluster"
    table = results["table"].stdout.splitlines()
    wide = results["wide"].stdout.splitlines()
    assert table[0].startswith(FIRST_LABEL[command])
    assert len(table) == len(wide) == len(data["items"]) + 1
    assert set(table[0].split()) < set(wide[0].split())
    for item in data["items"]:  # every row's key is in the table, whole
        name = item.get("name") or item.get("node")
        assert any(name in line for line in table[1:]), name


def _gpu_capacity(obj: dict) -> bool:
    capacity = (obj.get("status") or {}).get("capacity") or {}
    return any(k.startswith("nvidia.com/") and v not in ("0", 0) for k, v in capacity.items())


def test_nodes_and_pods_match_kubectl(tiny_sim) -> None:
    nodes = json.loads(on(tiny_sim, "nodes", "-o", "json").stdout)["items"]
    expected = {n["metadata"]["name"] for n in kubectl(tiny_sim, "get", "nodes")["items"]}
    gpu_nodes = {
        n["metadata"]["name"]
        for n in kubectl(tiny_sim, "get", "nodes")["items"]
        if _gpu_capacity(n)
    }
    names = {n["name"] for n in nodes}
    assert names == gpu_nodes and gpu_nodes < expected  # tiny has a CPU node: not shown

    def gpus_of(pod: dict) -> bool:
        for container in pod["spec"].get("containers", []):
            limits = (container.get("resources") or {}).get("limits") or {}
            if any(k.startswith("nvidia.com/") for k in limits):
                return True
        return False

    pods = json.loads(on(tiny_sim, "pods", "-A", "-o", "json").stdout)["items"]
    listed = kubectl(tiny_sim, "get", "pods", "-A")["items"]
    want = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in listed if gpus_of(p)}
    assert want and {(p["namespace"], p["name"]) for p in pods} == want


def test_namespace_on_the_command_and_on_kmc(tiny_sim) -> None:
    every = json.loads(on(tiny_sim, "pods", "-o", "json").stdout)["items"]
    namespace = every[0]["namespace"]
    for args in (
        ("pods", "-n", namespace),
        ("-n", namespace, "pods"),
        ("-A", "pods", "-n", namespace),
    ):
        data = json.loads(on(tiny_sim, *args, "-o", "json").stdout)
        assert data["namespace"] == namespace, args
        assert data["items"] and {p["namespace"] for p in data["items"]} == {namespace}, args
    assert (
        json.loads(on(tiny_sim, "-n", namespace, "pods", "-A", "-o", "json").stdout)["namespace"]
        is None
    )


def test_restricted_user_gets_its_namespaces(tiny_sim) -> None:
    """The team user may list pods in `ml` only: its pods come, and stderr says so."""
    result = on(tiny_sim, "pods", "--context", "kmc-sim-team", "-o", "json")
    assert result.returncode == 0, result
    data = json.loads(result.stdout)
    assert data["items"] and {p["namespace"] for p in data["items"]} == {"ml"}
    assert any("you may not list across the cluster" in n for n in data["notes"])
    admin = json.loads(on(tiny_sim, "pods", "-n", "ml", "-o", "json").stdout)["items"]
    assert {p["name"] for p in data["items"]} == {p["name"] for p in admin}
    nodes = on(tiny_sim, "nodes", "--context", "kmc-sim-team")
    assert nodes.returncode == 0 and "forbidden" in nodes.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("nodes", "--bogus"),
        ("nodes", "-o", "yaml"),
        ("triage", "-o"),
        ("nodes", "-n", "x", "-A"),
        ("-n", "x", "-A", "nodes"),
        ("--bogus", "nodes"),
        ("gpus", "--telemetry", "nope"),
    ],
)
def test_bad_flags_exit_3_with_one_line(args: tuple[str, ...]) -> None:
    one_line_exit_3(kmc(*args))


def test_kmc_and_demo_keep_click_usage_errors() -> None:
    """Only the headless commands exit 3: `kmc` and `kmc demo` keep click's 2."""
    assert kmc("--bogus").returncode == 2
    assert kmc("demo", "--preset", "enormous").returncode == 2
    assert kmc("-n", "x", "-A").returncode == 2


def test_bad_kubeconfig_and_context_exit_3(tmp_path, tiny_sim) -> None:
    assert "no kubeconfig" in one_line_exit_3(kmc("nodes", "--kubeconfig", str(tmp_path / "no")))
    broken = tmp_path / "config"
    broken.write_text("this: [is not: a kubeconfig\n")
    one_line_exit_3(kmc("triage", "--kubeconfig", str(broken)))
    line = one_line_exit_3(on(tiny_sim, "pods", "--context", "nope"))
    assert "'nope'" in line
    settings = tmp_path / "kmc.toml"
    settings.write_text("refresh_seconds = \n")
    one_line_exit_3(on(tiny_sim, "nodes", env={"KMC_CONFIG": str(settings)}))


def test_unreachable_server_exits_3(tmp_path) -> None:
    path = tmp_path / "config"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    for command in COMMANDS:
        assert "cannot reach" in one_line_exit_3(kmc(command, "--kubeconfig", str(path)))


def _on_pty(args: list[str], env: dict[str, str]) -> str:
    """Run kmc with stdout on a pseudo-terminal (stderr piped); its output."""
    import fcntl
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
    cmd = [sys.executable, "-c", "from console.cli import main; main()", *args]
    proc = subprocess.Popen(cmd, stdout=slave, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_on_a_terminal_unless_no_color(tiny_sim, tmp_path) -> None:
    args = ["nodes", "--kubeconfig", str(tiny_sim.kubeconfig_path)]
    assert "\x1b[" in _on_pty(args, _env({"TERM": "xterm"}))
    plain = _on_pty(args, _env({"TERM": "xterm", "NO_COLOR": "1"}))
    assert "\x1b" not in plain and plain.startswith("NAME")
    settings = tmp_path / "kmc.toml"
    settings.write_text("no_color = true\n")
    assert "\x1b" not in _on_pty(args, _env({"TERM": "xterm", "KMC_CONFIG": str(settings)}))


def test_headless_path_never_imports_textual(tiny_sim) -> None:
    code = (
        "import sys; from console.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n"
        "    assert not [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')], 'UI'\n"
        "    raise\n"
    )
    args = ["nodes", "--kubeconfig", str(tiny_sim.kubeconfig_path), "-o", "json"]
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
