"""The list+watch cache against a small scripted API server (plain HTTP on loopback).

The fake serves pods only, with pagination, chunked watch streams, 410 on an old
resourceVersion, and injectable failures — so every informer path is exercised
deterministically, independent of the simulated cluster.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from kubernetes import client as k8s
from test_cluster_records import node_json, pod_json

from console.cluster.cache import ClusterCache
from console.cluster.connection import Connection
from console.cluster.views import gpu_node_rows, gpu_pod_rows, totals
from tests.conftest import wait_for


class FakeApi:
    """Objects per collection path, a global resourceVersion and an event history."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.rv = 100
        self.objects: dict[str, dict[str, dict]] = {"/api/v1/pods": {}, "/api/v1/nodes": {}}
        self.history: list[tuple[int, str, str, dict]] = []  # (rv, path, type, object)
        self.oldest = 0  # watches from an RV below this get 410
        self.lists = 0
        self.watches = 0
        self.fail: list[tuple[int, dict[str, str]]] = []  # next responses: (status, headers)
        self.status_for: dict[str, int] = {}  # path → fixed status (403, 404)
        self.generation = 0  # bump to drop open watches

    def put(self, path: str, obj: dict, kind: str = "ADDED") -> None:
        with self.lock:
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            name = obj["metadata"]["name"]
            if kind == "DELETED":
                self.objects[path].pop(name, None)
            else:
                kind = "MODIFIED" if name in self.objects[path] else "ADDED"
                self.objects[path][name] = obj
            self.history.append((self.rv, path, kind, obj))
            self.lock.notify_all()

    def raw_event(self, path: str, line: bytes) -> None:
        with self.lock:
            self.history.append((self.rv, path, "RAW", {"line": line}))
            self.lock.notify_all()

    def drop_watches(self) -> None:
        with self.lock:
            self.generation += 1
            self.lock.notify_all()

    def expire(self) -> None:
        with self.lock:
            self.oldest = self.rv + 1
            self.generation += 1
            self.lock.notify_all()


def make_handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _status(self, code: int, headers: dict[str, str] | None = None) -> None:
            self._send(code, {"kind": "Status", "status": "Failure", "code": code, "message": f"fake {code}"}, headers)  # fmt: skip

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            with api.lock:
                if api.fail:
                    status, headers = api.fail.pop(0)
                    return self._status(status, headers)
            if url.path in api.status_for:
                return self._status(api.status_for[url.path])
            if url.path not in api.objects:
                return self._status(404)
            if query.get("watch") == "true":
                return self._watch(url.path, int(query.get("resourceVersion") or 0))
            with api.lock:
                api.lists += 1
                names = sorted(api.objects[url.path])
                start = int(query.get("continue") or 0)
                limit = int(query.get("limit") or len(names) or 1)
                page = names[start : start + limit]
                more = start + limit < len(names)
                meta = {
                    "resourceVersion": str(api.rv),
                    "continue": str(start + limit) if more else "",
                }
                if more:
                    meta["remainingItemCount"] = len(names) - start - limit
                items = [api.objects[url.path][n] for n in page]
            self._send(200, {"kind": "List", "metadata": meta, "items": items})

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _watch(self, path: str, since: int) -> None:
            with api.lock:
                api.watches += 1
                generation = api.generation
                expired = since < api.oldest
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if expired:
                status = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
                self._chunk(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
                self._chunk(b"")
                return
            sent = since
            try:
                while True:
                    with api.lock:
                        pending = [h for h in api.history if h[0] > sent and h[1] == path and h[2] != "RAW"]  # fmt: skip
                        raws = [h for h in api.history if h[2] == "RAW" and h[1] == path and h[3].get("sent") is None]  # fmt: skip
                        for h in raws:
                            h[3]["sent"] = True
                        if not pending and not raws:
                            if api.generation != generation:
                                break
                            api.lock.wait(0.05)
                            continue
                    for _rv, _p, kind, obj in pending:
                        self._chunk(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
                        sent = max(sent, _rv)
                    for h in raws:
                        self._chunk(h[3]["line"])
                self._chunk(b"")
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

    return Handler


@pytest.fixture
def api() -> Iterator[tuple[FakeApi, Connection]]:
    fake = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    cfg = k8s.Configuration()
    cfg.host = f"http://127.0.0.1:{server.server_address[1]}"
    connection = Connection(k8s.ApiClient(cfg), "fake", "default")
    yield fake, connection
    fake.drop_watches()
    server.shutdown()
    server.server_close()


def start(connection: Connection, kinds=("pods", "nodes")) -> ClusterCache:
    cache = ClusterCache(connection, kinds=kinds, notify_interval=0.05)
    for informer in cache.informers.values():
        informer.page_size = 2
        informer.backoff_start = 0.05
        informer.slow_retry = 0.2
    return cache.start()


def test_paginated_sync_then_watch(api) -> None:
    fake, connection = api
    for i in range(5):
        fake.put("/api/v1/pods", pod_json(f"p{i}", gpus=1))
    fake.put("/api/v1/nodes", node_json("gpu-0", gpus=8))
    cache = start(connection)
    changes = []
    cache.subscribe(changes.append)
    try:
        assert cache.wait_synced(30)
        assert len(cache["pods"]) == 5 and fake.lists >= 3  # 2 + 2 + 1 per page
        assert cache["pods"].state.state == "live"
        assert totals(cache).usage.total_requested == 5
        fake.put("/api/v1/pods", pod_json("p5", gpus=2))
        fake.put("/api/v1/pods", pod_json("p0", phase="Succeeded"))
        fake.put("/api/v1/pods", pod_json("p1"), kind="DELETED")
        wait_for(lambda: cache["pods"].get(("ml", "p5")) is not None)
        wait_for(lambda: cache.ledger.node("gpu-0").total_requested == 5)  # 5 - 1 - 1 + 2
        assert cache["pods"].get(("ml", "p1")) is None
        assert {p.name for p in cache["pods"].by_index("node", "gpu-0")} == {"p0", "p2", "p3", "p4", "p5"}  # fmt: skip
        wait_for(lambda: any(("ml", "p5") in (c.kinds["pods"].keys or ()) for c in changes if "pods" in c))  # fmt: skip
        rows = gpu_node_rows(cache)
        assert [(r.name, r.gpus_requested, r.gpus_allocatable) for r in rows] == [("gpu-0", 5, 8)]
        assert len(gpu_pod_rows(cache, namespace="ml")) == 5
    finally:
        cache.stop()
    assert cache["pods"].state.state == "stopped"


def test_dropped_watch_resumes_without_relist(api) -> None:
    fake, connection = api
    fake.put("/api/v1/pods", pod_json("a"))
    cache = start(connection, kinds=("pods",))
    try:
        assert cache.wait_synced(30)
        lists, watches = fake.lists, fake.watches
        fake.drop_watches()
        fake.put("/api/v1/pods", pod_json("b"))
        wait_for(lambda: cache["pods"].get(("ml", "b")) is not None)
        assert fake.lists == lists and fake.watches > watches
    finally:
        cache.stop()


def test_expired_resource_version_relists(api) -> None:
    fake, connection = api
    fake.put("/api/v1/pods", pod_json("a"))
    fake.put("/api/v1/pods", pod_json("b"))
    cache = start(connection, kinds=("pods",))
    try:
        assert cache.wait_synced(30)
        lists = fake.lists
        with fake.lock:  # delete "a" behind the watch's back, then expire history
            del fake.objects["/api/v1/pods"]["a"]
        fake.expire()
        wait_for(lambda: cache["pods"].get(("ml", "a")) is None)
        assert fake.lists > lists and cache["pods"].get(("ml", "b")) is not None
        wait_for(lambda: cache["pods"].state.state == "live")
    finally:
        cache.stop()


def test_forbidden_and_not_installed(api) -> None:
    fake, connection = api
    fake.status_for["/api/v1/nodes"] = 403
    cache = start(connection, kinds=("nodes", "pytorchjobs"))
    try:
        wait_for(lambda: cache["nodes"].state.state == "forbidden")
        wait_for(lambda: cache["pytorchjobs"].state.state == "not installed")
        assert "forbidden" in cache["nodes"].state.message
        del fake.status_for["/api/v1/nodes"]  # permission granted later: recovers
        wait_for(lambda: cache["nodes"].state.state == "live")
    finally:
        cache.stop()


def test_throttle_and_server_errors_back_off_then_recover(api) -> None:
    fake, connection = api
    fake.put("/api/v1/pods", pod_json("a"))
    fake.fail = [(503, {}), (429, {"Retry-After": "0.3"})]
    cache = start(connection, kinds=("pods",))
    try:
        wait_for(lambda: cache["pods"].state.state == "stale", 2)
        assert "stale since" in cache["pods"].state.label()
        began = time.monotonic()
        assert cache.wait_synced(30)
        assert time.monotonic() - began >= 0.2  # waited for Retry-After
        assert len(cache["pods"]) == 1
    finally:
        cache.stop()


def test_malformed_watch_objects_are_skipped(api) -> None:
    fake, connection = api
    cache = start(connection, kinds=("pods",))
    try:
        assert cache.wait_synced(30)
        fake.raw_event(
            "/api/v1/pods", b'{"type":"ADDED","object":{"metadata":{"labels":7}}}\nnot json\n'
        )
        fake.put("/api/v1/pods", pod_json("ok"))
        wait_for(lambda: cache["pods"].get(("ml", "ok")) is not None)
        wait_for(lambda: cache["pods"].state.skipped >= 0 and cache["pods"]._skipped == 2)
        assert cache["pods"].state.state == "live"
    finally:
        cache.stop()
