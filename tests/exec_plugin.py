"""A fake exec credential plugin for the tests, and kubeconfigs that use it.

The plugin is a real executable run by the console the way EKS/GKE/AKS logins are: it
reads `KUBERNETES_EXEC_INFO`, appends one JSON line per run to a log file (what it was
given: interactive or not, its stdin, whether it has its own session), and prints an
ExecCredential carrying the simulated cluster's token. Its behaviour per run comes from
the kubeconfig's `env`:

- `FAKE_EXPIRED_FIRST=1`: the first credential is already expired (the next request
  must run the plugin again); `FAKE_BAD_FIRST=1`: its token is one the server refuses;
- `FAKE_NEEDS_USER_AFTER=N`: runs after the N-th fail without a terminal ("MFA needed");
- `FAKE_READ_CODE=1`: a run with the terminal (`spec.interactive`) prompts `MFA code: `
  on stderr and reads the code from stdin.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

PLUGIN = r"""
import datetime, json, os, sys
log = os.environ["FAKE_LOG"]
info = json.loads(os.environ.get("KUBERNETES_EXEC_INFO", "{}"))
interactive = bool(info.get("spec", {}).get("interactive"))
try:
    with open(log) as handle:
        runs = sum(1 for _ in handle)
except FileNotFoundError:
    runs = 0
record = {
    "run": runs + 1,
    "interactive": interactive,
    "stdin": os.path.realpath("/proc/self/fd/0"),
    "own_session": os.getsid(0) == os.getpid(),
    "cluster": info.get("spec", {}).get("cluster"),
}
needs_user_after = int(os.environ.get("FAKE_NEEDS_USER_AFTER", "0") or 0)
if needs_user_after and runs + 1 > needs_user_after and not interactive:
    record["failed"] = True
    with open(log, "a") as handle:
        handle.write(json.dumps(record) + "\n")
    token = os.environ["FAKE_TOKEN"]
    sys.stderr.write(f"MFA required: run me in a terminal (stale token={token})\n")
    sys.exit(3)
if interactive and os.environ.get("FAKE_READ_CODE") == "1":
    sys.stderr.write("MFA code: ")
    sys.stderr.flush()
    record["code"] = sys.stdin.readline().strip()
with open(log, "a") as handle:
    handle.write(json.dumps(record) + "\n")
now = datetime.datetime.now(datetime.timezone.utc)
expired = os.environ.get("FAKE_EXPIRED_FIRST") == "1" and runs == 0
expiry = now + datetime.timedelta(hours=-1 if expired else 1)
print(json.dumps({
    "apiVersion": "client.authentication.k8s.io/v1",
    "kind": "ExecCredential",
    "status": {
        "token": "revoked" if os.environ.get("FAKE_BAD_FIRST") == "1" and runs == 0
        else os.environ["FAKE_TOKEN"],
        "expirationTimestamp": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
    },
}))
"""


def write_plugin(directory: Path) -> Path:
    path = directory / "fake-login"
    path.write_text(f"#!{sys.executable}\n{PLUGIN}")
    path.chmod(0o700)
    return path


def exec_kubeconfig(
    sim_kubeconfig: Path,
    directory: Path,
    *,
    mode: str = "IfAvailable",
    provide_cluster_info: bool = False,
    extra_contexts: dict[str, dict[str, Any]] | None = None,
    **env: str,
) -> tuple[Path, Path]:
    """A copy of the simulator's kubeconfig with a context `kmc-exec` whose user logs in
    through the fake plugin (admin's token). Returns (kubeconfig, the plugin's run log)."""
    config = yaml.safe_load(sim_kubeconfig.read_text())
    admin = next(u for u in config["users"] if u["name"] == "kmc-sim-admin")
    cluster = config["contexts"][0]["context"]["cluster"]
    log = directory / "plugin-runs.jsonl"
    variables = {"FAKE_LOG": str(log), "FAKE_TOKEN": admin["user"]["token"], **env}
    config["users"].append(
        {
            "name": "exec-user",
            "user": {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": str(write_plugin(directory)),
                    "env": [{"name": k, "value": v} for k, v in variables.items()],
                    "interactiveMode": mode,
                    "provideClusterInfo": provide_cluster_info,
                }
            },
        }
    )
    config["contexts"].append(
        {"name": "kmc-exec", "context": {"cluster": cluster, "user": "exec-user"}}
    )
    for name, context in (extra_contexts or {}).items():
        config["contexts"].append({"name": name, "context": {"cluster": cluster, **context}})
    path = directory / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path, log


def runs(log: Path) -> list[dict[str, Any]]:
    """The plugin's runs so far, oldest first."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
