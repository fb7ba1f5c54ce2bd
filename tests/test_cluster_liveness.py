"""Watch liveness against the simulated cluster: every watch asks for bookmarks and a
server-side timeout and has a read deadline; a stream that goes silent (the simulator's
stall fault: no events, no bookmarks, no end) is restarted, the view says stale meanwhile
and until a new stream delivers, then live again with what changed meanwhile. The sockets
carry TCP keepalive."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import kubernetes
import pytest

from console.cluster.cache import ClusterCache
from console.cluster.connection import Connection, connect
from console.cluster.session import ClusterSession
from tests.kube import api_client


def until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


class Recording:
    """The real connection, noting each streamed request (path, query, timeout)."""

    def __init__(self, real: Connection) -> None:
        self.real = real
        self.opened: list[tuple[str, dict[str, Any], Any]] = []

    def get(self, *args: Any, **kwargs: Any) -> bytes:
        return self.real.get(*args, **kwargs)

    def open(self, method: str, path: str, query: Any = None, *rest: Any, **kw: Any) -> Any:
        self.opened.append((path, dict(query or {}), kw.get("timeout")))
        return self.real.open(method, path, query, *rest, **kw)


@pytest.fixture
def quick_session(fresh_sim) -> Iterator[ClusterSession]:
    """A session whose watches ask for 1–2 s windows and give up after 1 s more of silence."""
    session = ClusterSession(connect(str(fresh_sim.kubeconfig_path)), kinds=("nodes", "pods"))
    for informer in session.cache.informers.values():
        informer.watch_window = 1
        informer.liveness_grace = 1.0
        informer.bookmark_liveness = 1.5
        informer.backoff_start = 0.05
    session.start()
    assert until(lambda: session.view_state("pods") == ("live", "ok"), 30)
    yield session
    fresh_sim.faults.clear()
    session.stop()


def test_a_stalled_watch_is_stale_restarted_and_recovers(fresh_sim, quick_session) -> None:
    session = quick_session
    pods = session.cache["pods"]
    fresh_sim.faults.apply({"action": "stall-watches"})  # what the admin endpoint does
    assert until(lambda: session.view_state("pods")[0].startswith("pods stale since"), 20)
    assert session.view_state("pods")[1] == "warn"
    assert "watch silent" in session.state("pods").message
    # The restarted watch connects (headers come) but stays silent: still stale.
    opened = pods.watches
    assert until(lambda: pods.watches >= opened + 2, 20)
    assert session.state("pods").state == "stale"
    core = kubernetes.client.CoreV1Api(api_client(fresh_sim.kubeconfig_path))
    core.create_namespaced_pod(
        "ml",
        {
            "metadata": {"name": "while-stalled"},
            "spec": {"containers": [{"name": "c", "image": "x"}]},
        },
    )
    fresh_sim.faults.stall_watches(False)
    assert until(lambda: session.get("pods", ("ml", "while-stalled")) is not None, 20)
    assert until(lambda: session.view_state("pods") == ("live", "ok"), 20)
    assert pods.lists == 1  # resumed from its resourceVersion: no relist


def test_watches_ask_for_bookmarks_and_a_timeout_and_keep_alive(fresh_sim) -> None:
    real = connect(str(fresh_sim.kubeconfig_path))
    recording = Recording(real)
    cache = ClusterCache(recording, kinds=("nodes",)).start()  # type: ignore[arg-type]
    try:
        assert until(lambda: bool(recording.opened), 30)
        path, query, timeout = recording.opened[0]
        assert path == "/api/v1/nodes" and query["watch"] == "true"
        assert query["allowWatchBookmarks"] == "true" and query["resourceVersion"]
        window = query["timeoutSeconds"]
        assert 300 <= window <= 600
        assert timeout == (10.0, window + 30.0)  # silent past its window: restarted
        sockets = [c.sock for c in real._opened.snapshot() if getattr(c, "sock", None)]
        assert sockets
        for sock in sockets:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
    finally:
        cache.stop(interrupt=real.abort)
