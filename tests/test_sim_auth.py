"""The simulator's credentials and RBAC: random tokens per run, a kubeconfig written 0600
atomically, and the `team` user bound by a Role to its namespaces — seen by the real
Python client and by kubectl exactly as a namespace-restricted user sees a real cluster."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import kubernetes
import pytest
import yaml
from kubernetes.client.rest import ApiException

from console.sim import auth
from tests.conftest import require_binary
from tests.kube import api_client, kubectl


def test_tokens_are_random_per_run_not_derived_from_the_seed() -> None:
    first, second = auth.Authenticator(), auth.Authenticator()
    for name in ("admin", "viewer", "team"):
        a, b = first.by_name(name).token, second.by_name(name).token
        assert a != b and len(a) >= 40
    tokens = {first.by_name(n).token for n in ("admin", "viewer", "team")}
    assert len(tokens) == 3


def test_two_sims_with_one_seed_have_different_tokens(tiny_sim) -> None:
    other = auth.Authenticator(auth.team_namespaces(tiny_sim.preset))
    assert other.by_name("admin").token != tiny_sim.admin_token
    config = yaml.safe_load(Path(tiny_sim.kubeconfig_path).read_text())
    written = {u["name"]: u["user"]["token"] for u in config["users"]}
    assert written["kmc-sim-admin"] == tiny_sim.admin_token


def _private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


def test_kubeconfig_is_written_0600_atomically_whatever_the_umask(tmp_path, monkeypatch) -> None:
    path = tmp_path / "state" / "sim-kubeconfig"
    path.parent.mkdir()
    path.write_text("old: content\n")
    path.chmod(0o644)
    config = auth.kubeconfig("https://127.0.0.1:1", b"ca", auth.Authenticator())
    seen: list[tuple[int, str]] = []
    real_replace = os.replace

    def replace(src: str, dst: object) -> None:
        # At the moment of the rename the new file is complete and already private.
        seen.append((stat.S_IMODE(os.stat(src).st_mode), Path(src).read_text()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    old_umask = os.umask(0)
    try:
        auth.write_kubeconfig(path, config)
    finally:
        os.umask(old_umask)
    assert seen and seen[0][0] == 0o600 and yaml.safe_load(seen[0][1]) == config
    assert _private(path) and yaml.safe_load(path.read_text()) == config
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp file left


def test_a_failed_write_leaves_the_old_kubeconfig_and_no_temp_file(tmp_path, monkeypatch) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("old: content\n")

    def fail(_src: str, _dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        auth.write_kubeconfig(path, {"apiVersion": "v1"})
    assert path.read_text() == "old: content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["kubeconfig"]


def test_the_sims_kubeconfig_is_private_and_names_the_team_context(tiny_sim) -> None:
    path = Path(tiny_sim.kubeconfig_path)
    assert _private(path)
    config = yaml.safe_load(path.read_text())
    contexts = {c["name"]: c["context"] for c in config["contexts"]}
    assert contexts[auth.TEAM_CONTEXT]["namespace"] == "ml"


def test_team_rules_allow_their_namespaces_only() -> None:
    authn = auth.Authenticator(("ml", "serving"))
    team = authn.by_name("team")
    assert authn.authorize(team, "list", "", "pods", namespace="ml")
    assert authn.authorize(team, "watch", "kubeflow.org", "pytorchjobs", namespace="serving")
    assert authn.authorize(team, "get", "", "pods", "log", namespace="ml")
    assert not authn.authorize(team, "list", "", "pods")  # all namespaces: cluster scope
    assert not authn.authorize(team, "list", "", "pods", namespace="kube-system")
    assert not authn.authorize(team, "list", "", "nodes")
    assert not authn.authorize(team, "list", "", "namespaces")
    assert not authn.authorize(team, "get", "", "secrets", namespace="ml")
    viewer = authn.by_name("viewer")
    assert authn.authorize(viewer, "list", "", "pods") and authn.authorize(
        viewer, "list", "", "nodes"
    )


def test_the_team_user_with_the_real_client(tiny_sim) -> None:
    core = kubernetes.client.CoreV1Api(api_client(tiny_sim.kubeconfig_path, auth.TEAM_CONTEXT))
    pods = core.list_namespaced_pod("ml").items
    assert pods and {p.metadata.namespace for p in pods} == {"ml"}
    for call in (core.list_pod_for_all_namespaces, core.list_node, core.list_namespace):
        with pytest.raises(ApiException) as info:
            call()
        message = json.loads(info.value.body)["message"]
        assert info.value.status == 403
        assert 'User "team"' in message and "cluster scope" in message
    with pytest.raises(ApiException) as info:
        core.list_namespaced_pod("kube-system")
    message = json.loads(info.value.body)["message"]
    assert info.value.status == 403 and 'in the namespace "kube-system"' in message


@pytest.mark.kubectl
def test_the_team_context_with_kubectl(tiny_sim) -> None:
    kc = require_binary("kubectl")
    path, ctx = Path(tiny_sim.kubeconfig_path), auth.TEAM_CONTEXT
    own = kubectl(kc, path, "get", "pods", "-o", "name", context=ctx)  # the context's namespace
    assert own.stdout.strip() and own.stdout.startswith("pod/")
    jobs = kubectl(kc, path, "get", "pytorchjobs", "-n", "ml", "-o", "name", context=ctx)
    assert jobs.stdout.strip()
    for args in (("get", "pods", "-A"), ("get", "nodes"), ("get", "pods", "-n", "kube-system")):
        result = kubectl(kc, path, *args, context=ctx, check=False)
        assert result.returncode != 0 and "forbidden" in result.stderr, result
    can = kubectl(kc, path, "auth", "can-i", "list", "pods", "-A", context=ctx, check=False)
    assert can.stdout.strip() == "no"
    can = kubectl(kc, path, "auth", "can-i", "delete", "pods", "-n", "ml", context=ctx)
    assert can.stdout.strip() == "yes"
