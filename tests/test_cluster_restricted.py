"""A user who may list only in their namespaces (the simulator's `team` user, bound by a
Role): the cluster-wide lists are forbidden, so the console watches each namespace they may
list (from `-n`, the settings' `namespaces`, the context's namespace), says which kinds are
forbidden (nodes) while the rest works, and `:ns` offers the namespaces that work."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from textual.widgets import Static

from console.cluster.connection import connect
from console.cluster.session import ClusterSession
from console.commands import COMMANDS
from console.sim.auth import TEAM_CONTEXT
from tests.test_app_support import (
    column,
    command,
    make_app,
    populated,
    screen_text,
    wait_until,
)

SIZE = (160, 40)


@pytest.fixture
def team_session(tiny_sim) -> Iterator[ClusterSession]:
    connection = connect(str(tiny_sim.kubeconfig_path), TEAM_CONTEXT, probe=True)
    session = ClusterSession(connection, namespaces=("kube-system",)).start()
    yield session
    session.stop()


def _synced(session: ClusterSession, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not session.synced():
        time.sleep(0.05)
    assert session.synced(), session.cache.states()


def test_the_team_user_sees_its_namespace_and_a_note_for_nodes(team_session) -> None:
    session = team_session
    assert session.connection.namespace == "ml"  # the team context's namespace
    _synced(session)
    pods = session.items("pods")
    assert pods and {p.namespace for p in pods} == {"ml"}
    jobs = session.items("pytorchjobs")
    assert jobs and {j.namespace for j in jobs} == {"ml"}
    assert session.items("inferenceservices")
    assert session.state("pods").state == "live"
    assert session.state("nodes").state == "forbidden"
    assert session.cache["pods"].scope_states() == {"kube-system": "forbidden", "ml": "live"}
    assert session.namespaces() == ["ml"]  # what `:ns` offers
    assert "forbidden: you may not list Node" in session.notes("nodes")
    notes = session.notes("pods")
    assert "you may not list across the cluster: showing namespace ml only" in notes
    assert "forbidden in namespace kube-system" in notes
    assert session.view_state("pods") == ("live", "ok")
    assert session.view_state("jobs")[0] == "live"
    assert session.view_state("nodes") == ("nodes forbidden", "error")


def test_a_change_in_the_namespace_reaches_the_restricted_watch(tiny_sim, team_session) -> None:
    import kubernetes

    from tests.kube import api_client

    _synced(team_session)
    core = kubernetes.client.CoreV1Api(api_client(tiny_sim.kubeconfig_path, TEAM_CONTEXT))
    name = "restricted-watch-probe"
    core.create_namespaced_pod(
        "ml",
        {
            "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        },
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and team_session.get("pods", ("ml", name)) is None:
            time.sleep(0.05)
        assert team_session.get("pods", ("ml", name)) is not None
    finally:
        core.delete_namespaced_pod(name, "ml")


def test_no_namespace_that_works_is_forbidden_with_the_namespaces_tried(tiny_sim) -> None:
    connection = connect(str(tiny_sim.kubeconfig_path), TEAM_CONTEXT, probe=True)
    connection.namespace = "kube-system"  # a context whose namespace the user may not list
    session = ClusterSession(connection, kinds=("nodes", "pods"), namespaces=("default",))
    session.start()
    try:
        _synced(session)
        state = session.state("pods")
        assert state.state == "forbidden"
        assert state.message.startswith("forbidden in every namespace tried: default, kube-system")
        assert "-n" in state.message and "namespaces = [...]" in state.message
        assert session.notes("nodes") == [
            "forbidden: you may not list Node, Pod",
            "forbidden in namespaces default, kube-system; name yours with -n or"
            " namespaces = [...] in the settings",
        ]
        assert session.namespaces() == []
    finally:
        session.stop()


def _notes(app) -> str:
    return str(app.screen.query_one("#notes", Static).render())


async def test_the_console_for_a_restricted_user(tiny_sim) -> None:
    app = make_app(tiny_sim, context=TEAM_CONTEXT, namespaces="ml")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "forbidden: you may not list Node" in _notes(app), 30)
        header = app.screen.query_one("#header").data
        assert header.sync == "nodes forbidden" and header.sync_hint == "error"
        # Allocatable comes from nodes: unknown to this user, never shown as 0.
        assert header.allocatable is None and header.free is None
        text = screen_text(app)
        assert re.search(r"GPU(\salloc)?\s\d+/\?", text), text[:300]
        await command(pilot, "pods")
        await populated(pilot, app, "pods")
        assert set(column(app, "namespace")) == {"ml"}
        await wait_until(pilot, lambda: "showing namespace ml only" in _notes(app))
        await command(pilot, "jobs")
        await populated(pilot, app, "jobs")
        assert "llama-ft" in column(app, "name")
        await command(pilot, "servers")
        await populated(pilot, app, "servers")
        assert "llama3-8b" in column(app, "name")
        ns = next(c for c in COMMANDS if c.name == "ns")
        assert ns.choices is not None
        assert [name for name, _help in ns.choices(app)] == ["all", "ml"]
