"""The connection to one cluster: `connect` and raw HTTP.

Credentials come from the official `kubernetes.config` loaders (exec plugins,
client certs, tokens, in-cluster service account), in `console.cluster.kubeconfig`.
Requests go through the client's own urllib3 pool (`ApiClient.rest_client.pool_manager`)
and return raw bytes — the caller decodes them into slim records; the client's model
classes are never built. Every failure is a `ClusterError` (`console.cluster.errors`,
re-exported here with `list_contexts`) with a one-line message, cleaned and redacted.

A read-only connection refuses every write verb here, below every caller, with a
`ReadOnlyError` (the one gate: actions, tools and tests all go through `open`). Exec
credential plugins are run by `console.cluster.credentials`, not by the client.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3
from kubernetes import client as k8s_client

from console.cluster.credentials import CredentialError, ExecCredential, Suspender
from console.cluster.errors import (
    ClusterError,
    KubeconfigError,
    ReadOnlyError,
    TLSError,
    UnreachableError,
    error_for_status,
)
from console.cluster.kubeconfig import list_contexts, load_credentials
from console.text import clean_line

__all__ = [
    "POOL_SIZE",
    "WRITE_METHODS",
    "ClusterError",
    "Connection",
    "KubeconfigError",
    "ReadOnlyError",
    "TLSError",
    "UnreachableError",
    "connect",
    "list_contexts",
]

# One long-lived watch connection per kind plus requests: more than urllib3's default 10.
POOL_SIZE = 32
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Creates that only ask a question (may I? what may I? who am I?) and change nothing.
_READING_CREATES = re.compile(
    r"^/apis/authorization\.k8s\.io/v1(?:beta1)?/(?:selfsubjectaccessreviews|selfsubjectrulesreviews)/?$"
    r"|^/apis/authentication\.k8s\.io/v1(?:beta1|alpha1)?/selfsubjectreviews/?$"
)


def _server_of(configuration: k8s_client.Configuration) -> str:
    return configuration.host.rstrip("/")


@dataclass
class Connection:
    """One cluster: the client's ApiClient/Configuration and raw request helpers."""

    api_client: k8s_client.ApiClient
    context: str  # "" for in-cluster
    namespace: str  # the context's default namespace ("default" when unset)
    read_only: bool = False
    """Refuse every write verb (`ReadOnlyError`) before anything is sent."""
    credential: ExecCredential | None = None
    """The kubeconfig user's exec plugin, when it has one."""

    @property
    def configuration(self) -> k8s_client.Configuration:
        return self.api_client.configuration

    @property
    def server(self) -> str:
        return _server_of(self.configuration)

    def same_origin(self, url: str) -> bool:
        """True when `url` has the API server's scheme, host and port: only then may the
        cluster's credentials go with a request to it (the service proxy)."""
        return _origin(url) is not None and _origin(url) == _origin(self.server)

    def use_suspender(self, suspender: Suspender[Any] | None) -> None:
        """The TUI holds the terminal from now on: a credential plugin that needs the user
        runs through `suspender` (None: the process owns its terminal again)."""
        if self.credential is not None:
            self.credential.use_suspender(suspender)

    def check_write(self, method: str, path: str) -> None:
        """Raise `ReadOnlyError` when the connection is read-only and `method path` writes."""
        if not self.read_only or method.upper() not in WRITE_METHODS:
            return
        bare = path.split("?", 1)[0]
        if method.upper() == "POST" and _READING_CREATES.match(bare):
            return
        raise ReadOnlyError(
            f"read-only: {method.upper()} {bare} refused (context {self.context or 'in-cluster'}"
            " is read-only)",
            status=0,
            reason="ReadOnly",
        )

    def auth_headers(self) -> dict[str, str]:
        """The credentials' headers (a token refreshed when expired). Raises ClusterError
        when an exec plugin cannot produce one."""
        headers: dict[str, str] = {}
        try:
            settings = self.configuration.auth_settings()
        except CredentialError as exc:
            raise ClusterError(
                f"credentials for {self.server}: {exc}", 401, "Unauthorized"
            ) from None
        for setting in settings.values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        if self.configuration.username or self.configuration.password:
            basic = self.configuration.get_basic_auth_token()
            if basic:
                headers["Authorization"] = basic
        return headers

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "kmc"}
        headers.update(self.auth_headers())
        headers.update(extra or {})
        return headers

    def open(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | tuple[float, float] | None = 30.0,
    ) -> urllib3.BaseHTTPResponse:
        """Start a request and return the unread response (for streams: watch, logs).

        Raises ClusterError for connection failures and any non-2xx status, ReadOnlyError
        (nothing sent) for a write on a read-only connection.
        """
        self.check_write(method, path)
        url = self.server + path
        if query:
            url += "?" + urlencode({k: _query_value(v) for k, v in query.items() if v is not None})
        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        if isinstance(timeout, tuple):
            tmo = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        else:
            tmo = urllib3.Timeout(total=timeout) if timeout else urllib3.Timeout()
        for attempt in (1, 2):
            sent = self._headers(headers)
            try:
                response = self.api_client.rest_client.pool_manager.request(
                    method,
                    url,
                    body=data,
                    headers=sent,
                    timeout=tmo,
                    preload_content=False,
                    retries=False,
                )
            except urllib3.exceptions.SSLError as exc:
                raise TLSError(
                    f"TLS failure talking to {self.server}: {_root_cause(exc)}"
                ) from None
            except urllib3.exceptions.HTTPError as exc:
                raise UnreachableError(f"cannot reach {self.server}: {_root_cause(exc)}") from None
            if response.status != 401 or self.credential is None or attempt == 2:
                break
            # The plugin's token was rejected (revoked, or expired early): ask it once more.
            response.drain_conn()
            response.release_conn()
            self.credential.invalidate(_bearer(sent))
        if not 200 <= response.status < 300:
            payload = response.read()
            response.release_conn()
            raise error_for_status(response.status, payload, response.headers, method, path)
        return response

    def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = 30.0,
    ) -> bytes:
        """A whole request; returns the raw body bytes (no decoding, no models)."""
        response = self.open(method, path, query, body, headers, timeout)
        try:
            return response.read()
        except urllib3.exceptions.HTTPError as exc:
            raise UnreachableError(f"connection to {self.server} dropped: {exc}") from None
        finally:
            response.release_conn()

    def get(
        self, path: str, query: Mapping[str, Any] | None = None, timeout: float = 30.0
    ) -> bytes:
        return self.request("GET", path, query, timeout=timeout)

    def check(self) -> str:
        """Probe the server (GET /version); returns its gitVersion or raises ClusterError."""
        body = self.get("/version", timeout=10.0)
        try:
            return clean_line(json.loads(body).get("gitVersion", ""))
        except (ValueError, AttributeError):
            return ""

    def __post_init__(self) -> None:
        self._opened = _track_connections(self.api_client.rest_client.pool_manager)

    def abort(self) -> None:
        """Cut every request in flight, a watch stream or one still waiting for headers,
        and drop the pool: the requests fail at once (for stopping, whatever the server is
        doing). The connection stays usable: new requests open new sockets."""
        for conn in self._opened.snapshot():
            sock = getattr(conn, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:  # already closed
                    pass
        self.close()

    def close(self) -> None:
        self.api_client.rest_client.pool_manager.clear()


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization") or headers.get("Authorization") or ""
    return value[7:] if value.startswith("Bearer ") else None


class _Opened:
    """The HTTP connections a pool manager opened (weakly held), for `Connection.abort`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conns: weakref.WeakSet[Any] = weakref.WeakSet()

    def add(self, conn: Any) -> None:
        with self._lock:
            self._conns.add(conn)

    def snapshot(self) -> list[Any]:
        with self._lock:
            return list(self._conns)


def _track_connections(manager: urllib3.PoolManager) -> _Opened:
    """Have `manager`'s pools report each connection they open (urllib3 keeps no list of
    the ones in use, and a request waiting for headers can only be cut at its socket)."""
    opened = _Opened()

    def tracking(base: type) -> type:
        class Tracked(base):  # type: ignore[misc, valid-type]
            def _new_conn(self) -> Any:
                conn = super()._new_conn()
                opened.add(conn)
                return conn

        return Tracked

    classes = getattr(manager, "pool_classes_by_scheme", None)
    if isinstance(classes, dict):
        manager.pool_classes_by_scheme = {s: tracking(c) for s, c in classes.items()}
    return opened


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _root_cause(exc: BaseException) -> str:
    seen = exc
    while seen.__cause__ or seen.__context__:
        nxt = seen.__cause__ or seen.__context__
        if isinstance(nxt, ssl.SSLError | OSError):
            seen = nxt
            break
        seen = nxt
    reason = getattr(exc, "reason", None)
    text = str(reason or seen or exc)
    return clean_line(text)[:300]


def connect(
    kubeconfig: str | None = None,
    context: str | None = None,
    environ: Mapping[str, str] | None = None,
    probe: bool = False,
    *,
    read_only: bool = False,
    suspender: Suspender[Any] | None = None,
) -> Connection:
    """Load credentials (kubeconfig, or in-cluster when KUBERNETES_SERVICE_HOST is set and no
    kubeconfig exists) and return a Connection. With `probe`, also GET /version so that an
    unreachable server, TLS failure or 401 surfaces now.

    An exec credential plugin runs here the first time: call this before the TUI takes the
    terminal (a login prompt then works), or pass the TUI's `suspender` to hand it over.
    """
    env = os.environ if environ is None else environ
    configuration = k8s_client.Configuration()
    configuration.connection_pool_maxsize = POOL_SIZE
    from kubernetes.utils.keepalive import tcp_keepalive_socket_options

    # A watch through a NAT or load balancer that dropped it silently is found in ~1 min.
    configuration.socket_options = tcp_keepalive_socket_options(idle=30, interval=10, count=3)
    loaded = load_credentials(configuration, kubeconfig, context, env, suspender)
    connection = Connection(
        k8s_client.ApiClient(configuration),
        loaded.context,
        loaded.namespace,
        read_only=read_only,
        credential=loaded.credential,
    )
    if probe:
        connection.check()
    return connection
