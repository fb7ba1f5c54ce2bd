"""Scale-related behaviour of the cluster layer: URL-quoted object paths, shared record
memory, the ledger's per-node usage cache, and the session's refresh pacing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec
import pytest
from kubernetes import client as k8s
from test_cluster_cache import FakeApi
from test_cluster_cache import api as _api
from test_cluster_records import pod_json

from console.cluster import wire
from console.cluster.accounting import GpuLedger
from console.cluster.cache import ClusterCache
from console.cluster.connection import Connection
from console.cluster.decode_core import pod_record
from console.cluster.detail import object_yaml
from console.cluster.informer import Informer
from console.cluster.kinds import KINDS, quote_segment

# ---------------------------------------------------------------- paths


def test_path_quotes_names_and_namespaces() -> None:
    pods = KINDS["pods"]
    assert pods.path("ml", "evil-[/x]") == "/api/v1/namespaces/ml/pods/evil-%5B%2Fx%5D"
    assert pods.path("a/b", "p?q#r") == "/api/v1/namespaces/a%2Fb/pods/p%3Fq%23r"
    assert pods.path("ml", "..") == "/api/v1/namespaces/ml/pods/%2E%2E"
    assert pods.path("ml", "100%") == "/api/v1/namespaces/ml/pods/100%25"
    assert KINDS["nodes"].path(None, "gpu-node-1") == "/api/v1/nodes/gpu-node-1"
    assert pods.path(None) == "/api/v1/pods"
    assert quote_segment("ok-name.1") == "ok-name.1"


@pytest.fixture
def recorder() -> Iterator[tuple[list[str], Connection]]:
    """An HTTP server that records raw request paths and answers every GET with a pod."""
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            body = b'{"kind": "Pod", "metadata": {"name": "evil-[/x]", "namespace": "ml"}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    cfg = k8s.Configuration()
    cfg.host = f"http://127.0.0.1:{server.server_address[1]}"
    yield paths, Connection(k8s.ApiClient(cfg), "fake", "default")
    server.shutdown()
    server.server_close()


def test_object_with_hostile_name_is_fetched_by_its_own_path(recorder) -> None:
    paths, connection = recorder
    text = object_yaml(connection, "pods", "ml", "evil-[/x]")
    assert paths == ["/api/v1/namespaces/ml/pods/evil-%5B%2Fx%5D"]
    assert "evil-[/x]" in text


# ---------------------------------------------------------------- shared record memory


def _pod(name: str, **kw: object) -> wire.Pod:
    return msgspec.json.decode(msgspec.json.encode(pod_json(name, **kw)), type=wire.Pod)


def test_pod_records_share_equal_parts_and_keep_their_own() -> None:
    a = pod_record(_pod("a", gpus=8))
    b = pod_record(_pod("b", gpus=8))
    assert a.name == "a" and b.name == "b"
    assert a.labels == b.labels and a.labels is b.labels
    assert a.gpu_request is b.gpu_request
    assert a.containers is b.containers
    assert a.node is b.node and a.namespace is b.namespace
    c = pod_record(_pod("c", gpus=4))
    assert c.gpu_request == {"nvidia.com/gpu": 4.0} and a.gpu_request == {"nvidia.com/gpu": 8.0}


# ---------------------------------------------------------------- ledger


def test_ledger_node_usage_is_reused_until_the_node_changes() -> None:
    ledger = GpuLedger()
    first = ledger.node("n1")
    assert ledger.node("n1") is first and first.total_allocatable == 0
    a = pod_record(_pod("a", gpus=2, node="n1"))
    ledger.on_upsert(None, a)
    usage = ledger.node("n1")
    assert usage is not first and usage.total_requested == 2 and usage.pods == 1
    assert ledger.node("n1") is usage
    ledger.on_delete(a)
    assert ledger.node("n1").total_requested == 0


# ---------------------------------------------------------------- nodes listed first

api = _api  # the fake API server fixture of test_cluster_cache


def _fresh(connection: Connection) -> Connection:
    return Connection(k8s.ApiClient(connection.api_client.configuration), "fake", "default")


def test_deferred_informer_lists_after_its_gate_or_timeout(api: tuple[FakeApi, Connection]) -> None:
    fake, connection = api
    fake.put("/api/v1/pods", pod_json("p1"))
    gate = threading.Event()
    # Fresh clients for each informer: a pooled keep-alive connection that an earlier watch
    # left behind must not be what a list waits on (seen hanging once on a loaded box).
    late = Informer(_fresh(connection), KINDS["pods"])
    late.start_after(gate, timeout=0.3)
    started = time.monotonic()
    late.start()
    try:
        while late.state.state != "live" and time.monotonic() - started < 30:
            time.sleep(0.01)
        assert late.state.state == "live" and time.monotonic() - started >= 0.25
    finally:
        late.stop()
    opened = Informer(_fresh(connection), KINDS["pods"])
    opened.start_after(gate, timeout=120)
    gate.set()
    started = time.monotonic()
    opened.start()
    try:
        while opened.state.state != "live" and time.monotonic() - started < 60:
            time.sleep(0.01)
        # an open gate lists at once, not after the 120 s timeout (generous for a loaded box)
        assert opened.state.state == "live" and time.monotonic() - started < 60
    finally:
        opened.stop()


def test_cache_defers_pods_until_nodes_listed(api: tuple[FakeApi, Connection]) -> None:
    _fake, connection = api
    cache = ClusterCache(connection, kinds=("pods", "nodes"), notify_interval=0.02)
    assert cache["pods"]._after is not None and cache["nodes"]._after is None
    cache.start()
    try:
        assert cache.wait_synced(30.0)
    finally:
        cache.stop()
