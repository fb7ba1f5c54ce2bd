"""Exec credential plugins against the simulated cluster: single-flight refresh, no terminal
for refreshes while the TUI holds it, a suspender for a plugin that needs the user, a
rerun on 401, and one-line redacted errors."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from console.cluster.connection import ClusterError, KubeconfigError, connect
from tests.exec_plugin import exec_kubeconfig, runs


def _concurrent_gets(connection, count: int) -> list[BaseException | bytes]:
    barrier = threading.Barrier(count)
    results: list[BaseException | bytes] = [b""] * count

    def one(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = connection.get("/api/v1/namespaces", timeout=30)
        except BaseException as exc:  # collected, asserted below
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_first_fetch_at_connect_then_one_run_for_twenty_requests(tiny_sim, tmp_path: Path):
    kubeconfig, log = exec_kubeconfig(tiny_sim.kubeconfig_path, tmp_path, FAKE_EXPIRED_FIRST="1")
    connection = connect(str(kubeconfig), "kmc-exec", probe=True)
    assert len(runs(log)) == 1  # the credential was fetched by connect (before any TUI)
    results = _concurrent_gets(connection, 20)
    assert all(isinstance(r, bytes) and b"NamespaceList" in r for r in results), results
    assert len(runs(log)) == 2  # the expired credential was refreshed once, not 20 times
    connection.get("/version")
    assert len(runs(log)) == 2  # and is now cached until it expires


def test_refresh_while_the_tui_holds_the_terminal_is_detached(tiny_sim, tmp_path: Path):
    kubeconfig, log = exec_kubeconfig(tiny_sim.kubeconfig_path, tmp_path, FAKE_EXPIRED_FIRST="1")
    connection = connect(str(kubeconfig), "kmc-exec", probe=True)
    handed: list[str] = []
    connection.use_suspender(lambda fn: handed.append("called") or fn())
    connection.get("/version")
    refresh = runs(log)[-1]
    assert refresh["run"] == 2
    assert refresh["interactive"] is False
    assert refresh["stdin"] == "/dev/null"
    assert refresh["own_session"] is True  # no controlling terminal: /dev/tty is not the TUI's
    assert handed == []  # it did not need the user


def test_plugin_that_needs_the_user_runs_through_the_suspender(tiny_sim, tmp_path: Path):
    kubeconfig, log = exec_kubeconfig(
        tiny_sim.kubeconfig_path, tmp_path, FAKE_EXPIRED_FIRST="1", FAKE_NEEDS_USER_AFTER="1"
    )
    connection = connect(str(kubeconfig), "kmc-exec", probe=True)
    handed: list[str] = []

    def suspender(function):
        handed.append("suspended")
        result = function()
        handed.append("resumed")
        return result

    connection.use_suspender(suspender)
    results = _concurrent_gets(connection, 5)
    assert all(isinstance(r, bytes) for r in results), results
    history = runs(log)
    assert [(r["interactive"], r.get("failed", False)) for r in history[1:]] == [
        (False, True),  # tried without the user first (IfAvailable)
        (True, False),  # then once with the terminal handed over
    ]
    assert handed == ["suspended", "resumed"]


def test_always_interactive_plugin_goes_straight_to_the_suspender(tiny_sim, tmp_path: Path):
    kubeconfig, log = exec_kubeconfig(tiny_sim.kubeconfig_path, tmp_path, mode="Always")
    with pytest.raises(KubeconfigError, match="needs a terminal"):
        connect(str(kubeconfig), "kmc-exec", probe=True)  # no tty here and no TUI to suspend
    assert runs(log) == []
    connection = connect(
        str(kubeconfig), "kmc-exec", probe=True, suspender=lambda function: function()
    )
    assert [r["interactive"] for r in runs(log)] == [True]
    assert connection.check()


def test_a_failing_plugin_is_a_one_line_redacted_error(tiny_sim, tmp_path: Path):
    kubeconfig, log = exec_kubeconfig(
        tiny_sim.kubeconfig_path,
        tmp_path,
        mode="Never",
        FAKE_EXPIRED_FIRST="1",
        FAKE_NEEDS_USER_AFTER="1",
    )
    connection = connect(str(kubeconfig), "kmc-exec", probe=True)
    token = connection.configuration.api_key["BearerToken"].removeprefix("Bearer ")
    with pytest.raises(ClusterError) as info:
        connection.get("/version")  # expired: the plugin runs again, and fails
    message = str(info.value)
    assert "\n" not in message
    assert "exec plugin fake-login exited with 3: MFA required" in message
    assert token not in message and "token=***" in message
    assert info.value.status == 401
    assert len(runs(log)) == 2


def test_a_rejected_token_runs_the_plugin_once_more(tiny_sim, tmp_path: Path):
    kubeconfig, log = exec_kubeconfig(tiny_sim.kubeconfig_path, tmp_path, FAKE_BAD_FIRST="1")
    connection = connect(str(kubeconfig), "kmc-exec", probe=True)  # 401, plugin again, 200
    assert len(runs(log)) == 2
    assert b"gitVersion" in connection.get("/version")
    assert len(runs(log)) == 2


def test_cluster_info_is_given_when_asked(tiny_sim, tmp_path: Path):
    kubeconfig, log = exec_kubeconfig(tiny_sim.kubeconfig_path, tmp_path, provide_cluster_info=True)
    connect(str(kubeconfig), "kmc-exec")
    cluster = runs(log)[0]["cluster"]
    assert cluster["server"] == tiny_sim.server_url
    assert cluster["certificateAuthorityData"]


def test_relative_paths_resolve_next_to_the_kubeconfig(tiny_sim, tmp_path: Path, monkeypatch):
    import base64

    import yaml

    kubeconfig, log = exec_kubeconfig(tiny_sim.kubeconfig_path, tmp_path)
    config = yaml.safe_load(kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    (tmp_path / "ca.crt").write_bytes(base64.b64decode(cluster.pop("certificate-authority-data")))
    cluster["certificate-authority"] = "ca.crt"
    user = next(u for u in config["users"] if u["name"] == "exec-user")["user"]
    user["exec"]["command"] = "./fake-login"
    kubeconfig.write_text(yaml.safe_dump(config))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    connection = connect(str(kubeconfig), "kmc-exec", probe=True)
    assert b"gitVersion" in connection.get("/version")
    assert len(runs(log)) == 1
