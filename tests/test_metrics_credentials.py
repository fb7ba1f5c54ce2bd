"""Telemetry and credentials: the cluster's token goes only to the API server's own origin,
and a Prometheus URL's userinfo or token never reaches the status line or an error."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator

import pytest

from console.cluster.connection import connect
from console.config import Settings
from console.metrics.link import TelemetryLink
from console.metrics.model import UNAVAILABLE
from console.metrics.prometheus import PrometheusSource, _session
from console.metrics.source import SourceError


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Not Prometheus: answers 500 with the request's credentials echoed back, as some
    proxies do, and remembers the Authorization headers it was sent."""

    seen: list[str] = []

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization") or ""
        _Recorder.seen.append(auth)
        body = f"upstream rejected {self.path} with Authorization: {auth}".encode()
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_credentials_only_for_the_api_servers_own_origin(tiny_sim):
    connection = connect(str(tiny_sim.kubeconfig_path), "kmc-sim")
    server = connection.server  # https://127.0.0.1:<port>
    proxy = f"{server}/api/v1/namespaces/monitoring/services/prometheus:web/proxy"
    assert _session(proxy, connection)[1] is not None
    assert _session(server.replace("127.0.0.1", "LOCALHOST.") + "/x", connection)[1] is None
    for elsewhere in (
        f"{server}@attacker.example/api",  # a string prefix of the server, another host
        f"{server}0/api",  # a longer port
        server.replace("https://", "http://") + "/api",  # same host and port, no TLS
        "https://prometheus.monitoring:9090",
        "not a url",
    ):
        session, auth = _session(elsewhere, connection)
        assert auth is None, elsewhere
        assert session.cert is None and session.verify is True


def test_token_not_sent_to_a_foreign_prometheus_and_userinfo_never_shown(tiny_sim, recorder):
    connection = connect(str(tiny_sim.kubeconfig_path), "kmc-sim")
    token = connection.configuration.api_key["BearerToken"].removeprefix("Bearer ")
    url = f"http://alice:hunter2@{recorder}/prom?token=sekrit123"
    source = PrometheusSource(url, connection, timeout=10)
    assert source.where == f"http://alice:***@{recorder}/prom?token=***"
    with pytest.raises(SourceError) as info:
        source.refresh()
    message = str(info.value)
    for secret in ("hunter2", "sekrit123", token, "YWxpY2U6aHVudGVyMg"):
        assert secret not in message
    assert _Recorder.seen and all(token not in auth for auth in _Recorder.seen)
    assert all(auth.startswith("Basic ") for auth in _Recorder.seen)  # the URL's own userinfo


def test_telemetry_status_is_redacted_for_every_screen(tiny_sim, recorder):
    connection = connect(str(tiny_sim.kubeconfig_path), "kmc-sim")
    settings = Settings(
        telemetry_source="prometheus", prometheus_url=f"http://bob:pa55word@{recorder}/"
    )
    link = TelemetryLink(settings)
    link.attach(connection, cache=None, notify=lambda _status: None)
    link.start_when_ready(pods_synced=True)
    try:
        with contextlib.suppress(TimeoutError):
            _wait(lambda: link.status().state == UNAVAILABLE)
        status = link.status()
        assert status.state == UNAVAILABLE
        text, hint = link.label()
        for shown in (status.where, status.error, text):
            assert "pa55word" not in shown
        assert "bob:***@" in status.where
        assert hint == "error"
    finally:
        link.detach()


def _wait(condition, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise TimeoutError
