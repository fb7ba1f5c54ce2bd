"""The connection to one cluster: kubeconfig / in-cluster loading and raw HTTP.

Credentials come from the official `kubernetes.config` loaders (exec plugins,
client certs, tokens, in-cluster service account). Requests go through the client's
own urllib3 pool (`ApiClient.rest_client.pool_manager`) and return raw bytes — the
caller decodes them into slim records; the client's model classes are never built.
Every failure is a `ClusterError` with a one-line message, cleaned and redacted.

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
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

from console.cluster.credentials import (
    CredentialError,
    ExecCredential,
    Suspender,
    install,
    take_exec_plugin,
)
from console.cluster.kinds import decode_status
from console.redact import redact
from console.text import clean_line

# One long-lived watch connection per kind plus requests: more than urllib3's default 10.
POOL_SIZE = 32
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Creates that only ask a question (may I? what may I? who am I?) and change nothing.
_READING_CREATES = re.compile(
    r"^/apis/authorization\.k8s\.io/v1(?:beta1)?/(?:selfsubjectaccessreviews|selfsubjectrulesreviews)/?$"
    r"|^/apis/authentication\.k8s\.io/v1(?:beta1|alpha1)?/selfsubjectreviews/?$"
)


class ClusterError(Exception):
    """A failure talking to the cluster. `status` is the HTTP code (0 when none)."""

    def __init__(self, message: str, status: int = 0, reason: str = "", retry_after: float = 0.0):
        super().__init__(redact(clean_line(message)))
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class KubeconfigError(ClusterError):
    """Missing or broken kubeconfig, unknown context."""


class UnreachableError(ClusterError):
    """Connection refused, DNS failure, timeout, dropped connection."""


class TLSError(UnreachableError):
    """Certificate verification or handshake failure."""


class ReadOnlyError(ClusterError):
    """A write refused because the connection is read-only (nothing was sent)."""


_KUBECONFIG_ERRORS = (ConfigException, OSError, ValueError, KeyError, TypeError, yaml.YAMLError)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(text[:2]) if text else type(exc).__name__


def _server_of(configuration: k8s_client.Configuration) -> str:
    return configuration.host.rstrip("/")


def list_contexts(kubeconfig: str | None = None) -> tuple[list[str], str | None]:
    """Context names in the kubeconfig and the current one (for `:ctx`), as the file spells
    them. They are untrusted text: show them cleaned (`clean_line`), never as markup."""
    path = _kubeconfig_path(kubeconfig, os.environ)
    try:
        contexts, current = k8s_config.list_kube_config_contexts(config_file=path)
        names = [str(c["name"]) for c in contexts]
    except _KUBECONFIG_ERRORS as exc:
        raise KubeconfigError(f"kubeconfig {path}: {_first_line(exc)}") from None
    current_name = (current or {}).get("name") if isinstance(current, dict) else None
    return names, None if current_name is None else str(current_name)


def _kubeconfig_path(kubeconfig: str | None, environ: Mapping[str, str]) -> str:
    return kubeconfig or environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def _kubeconfig_exists(path: str) -> bool:
    return any(os.path.exists(os.path.expanduser(p)) for p in path.split(os.pathsep) if p)


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
            raise _error_for(response.status, payload, response.headers, method, path)
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


def _error_for(
    status: int, body: bytes, headers: Mapping[str, str], method: str, path: str
) -> ClusterError:
    parsed = decode_status(body)
    message = (
        parsed.message
        if parsed and parsed.message
        else clean_line(body[:200].decode(errors="replace"))
    )
    reason = parsed.reason if parsed else ""
    retry_after = 0.0
    if status == 429 or "Retry-After" in headers:
        try:
            retry_after = float(headers.get("Retry-After", "1"))
        except ValueError:
            retry_after = 1.0
    prefix = {401: "unauthorized (credentials rejected)", 403: "forbidden", 404: "not found"}.get(
        status, f"HTTP {status}"
    )
    return ClusterError(
        f"{method} {path}: {prefix}: {message}" if message else f"{method} {path}: {prefix}",
        status=status,
        reason=reason,
        retry_after=retry_after,
    )


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
    path = _kubeconfig_path(kubeconfig, env)
    namespace = "default"
    if not kubeconfig and env.get("KUBERNETES_SERVICE_HOST") and not _kubeconfig_exists(path):
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise KubeconfigError(f"in-cluster config: {exc}") from None
        ns_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
        if os.path.exists(ns_file):
            with open(ns_file) as handle:
                namespace = handle.read().strip() or namespace
        context_name = ""
    else:
        if not _kubeconfig_exists(path):
            raise KubeconfigError(f"no kubeconfig at {path} (use --kubeconfig or KUBECONFIG)")
        names, current = list_contexts(path)
        context_name = context or current or ""
        if context and context not in names:
            raise KubeconfigError(
                f"context {context!r} not in {path}; available: {', '.join(names) or 'none'}"
            )
        if not context_name:
            raise KubeconfigError(f"{path} has no current-context; pass --context")
        try:
            merged = KubeConfigMerger(path).config
            if merged is None:
                raise ConfigException("no configuration found")
            credential = take_exec_plugin(merged, context_name, suspender)
            # config_base_path None: relative paths resolve against their own kubeconfig file.
            loader = KubeConfigLoader(
                config_dict=merged, active_context=context_name, config_base_path=None
            )
            loader.load_and_set(configuration)
            contexts = loader.list_contexts()
        except CredentialError as exc:
            raise KubeconfigError(f"context {context_name}: {exc}", 401, "Unauthorized") from None
        except _KUBECONFIG_ERRORS as exc:
            raise KubeconfigError(f"kubeconfig {path}: {_first_line(exc)}") from None
        for entry in contexts:
            if entry.get("name") == context_name:
                namespace = (entry.get("context") or {}).get("namespace") or namespace
        if credential is not None:
            try:
                install(credential, configuration)
            except CredentialError as exc:
                raise KubeconfigError(
                    f"context {context_name}: {exc}", 401, "Unauthorized"
                ) from None
    connection = Connection(
        k8s_client.ApiClient(configuration),
        context_name,
        namespace,
        read_only=read_only,
        credential=credential if context_name else None,
    )
    if probe:
        connection.check()
    return connection
