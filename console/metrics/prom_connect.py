"""Reaching Prometheus: the URL's session (the cluster's credentials only for the API
server's own origin, i.e. its service proxy), discovery of a Prometheus Service in the
usual namespaces, and one-line failure reasons with the URL redacted."""

from __future__ import annotations

import json
import re
from typing import Any

import requests
from prometheus_api_client import PrometheusApiClientException

from console.cluster.connection import ClusterError, Connection
from console.redact import redact
from console.text import clean_line

NAMESPACES = ("monitoring", "prometheus", "kube-prometheus-stack", "observability", "default")
_SKIP = (
    "alertmanager",
    "operator",
    "node-exporter",
    "pushgateway",
    "adapter",
    "kube-state",
    "grafana",
)


# ---------------------------------------------------------------------- connecting


class _KubeAuth(requests.auth.AuthBase):
    """The kubeconfig's credentials on every request (tokens refresh through the connection:
    an exec plugin runs single-flight, never on the TUI's terminal)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if not self.connection.same_origin(request.url or ""):
            return request  # a redirect elsewhere: the cluster's credentials stay home
        try:
            request.headers.update(self.connection.auth_headers())
        except ClusterError as exc:
            raise requests.RequestException(str(exc)) from None
        return request


def _session(url: str, connection: Connection | None) -> tuple[requests.Session, Any]:
    """A session for `url`; with the cluster's CA, client certificate and credentials only
    when `url` has the API server's scheme, host and port (its service proxy): a string
    prefix would also match `https://api.example.com.attacker.net`. Returns (session, auth)."""
    session = requests.Session()
    if connection is None or not connection.same_origin(url):
        return session, None
    conf = connection.configuration
    session.verify = (conf.ssl_ca_cert or True) if conf.verify_ssl else False
    if conf.cert_file:
        session.cert = (conf.cert_file, conf.key_file) if conf.key_file else conf.cert_file
    return session, _KubeAuth(connection)


def discover(connection: Connection, namespaces: tuple[str, ...] = NAMESPACES) -> str | None:
    """The service-proxy URL of a Prometheus Service in the usual places, or None."""
    best: tuple[int, str] | None = None
    for ns in namespaces:
        try:
            body = connection.get(f"/api/v1/namespaces/{ns}/services", timeout=10.0)
            services = json.loads(body).get("items", [])
        except (ClusterError, ValueError):
            continue
        for svc in services:
            name = (svc.get("metadata") or {}).get("name", "")
            rank = _rank(name)
            ports = (svc.get("spec") or {}).get("ports") or []
            if rank is None or not ports:
                continue
            port = next(
                (p for p in ports if p.get("name") in ("web", "http-web", "http")),
                next((p for p in ports if p.get("port") == 9090), ports[0]),
            )
            port_ref = port.get("name") or str(port.get("port", ""))
            url = f"{connection.server}/api/v1/namespaces/{ns}/services/{name}:{port_ref}/proxy"
            if best is None or rank < best[0]:
                best = (rank, url)
    return best[1] if best else None


def _rank(name: str) -> int | None:
    if any(s in name for s in _SKIP):
        return None
    if name == "prometheus-operated":
        return 0
    if name.endswith(
        "-prometheus"
    ):  # kube-prometheus-stack: <release>-kube-prom(etheus)-prometheus
        return 1
    if name in ("prometheus-server", "prometheus", "prometheus-k8s"):
        return 2
    return None


def _reason(exc: BaseException, url: str) -> str:
    return redact(_unredacted_reason(exc, redact(url)))


def _unredacted_reason(exc: BaseException, url: str) -> str:
    text = clean_line(exc)
    if isinstance(exc, requests.ConnectionError):
        match = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
        return (
            f"cannot reach Prometheus at {url}: {match.group(1) if match else 'connection failed'}"
        )
    if isinstance(exc, requests.Timeout):
        return f"Prometheus at {url} timed out"
    if isinstance(exc, PrometheusApiClientException):
        return f"Prometheus at {url}: {text[:160]}"
    return f"Prometheus at {url}: {type(exc).__name__}: {text[:160]}"
