"""The connection to one cluster: kubeconfig / in-cluster loading and raw HTTP.

Credentials come from the official `kubernetes.config` loaders (exec plugins,
client certs, tokens, in-cluster service account). Requests go through the client's
own urllib3 pool (`ApiClient.rest_client.pool_manager`) and return raw bytes — the
caller decodes them into slim records; the client's model classes are never built.
Every failure is a `ClusterError` with a one-line message.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from console.cluster.kinds import decode_status
from console.text import clean_line

# One long-lived watch connection per kind plus requests: more than urllib3's default 10.
POOL_SIZE = 32


class ClusterError(Exception):
    """A failure talking to the cluster. `status` is the HTTP code (0 when none)."""

    def __init__(self, message: str, status: int = 0, reason: str = "", retry_after: float = 0.0):
        super().__init__(clean_line(message))
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class KubeconfigError(ClusterError):
    """Missing or broken kubeconfig, unknown context."""


class UnreachableError(ClusterError):
    """Connection refused, DNS failure, timeout, dropped connection."""


class TLSError(UnreachableError):
    """Certificate verification or handshake failure."""


_KUBECONFIG_ERRORS = (ConfigException, OSError, ValueError, KeyError, TypeError, yaml.YAMLError)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(text[:2]) if text else type(exc).__name__


def _server_of(configuration: k8s_client.Configuration) -> str:
    return configuration.host.rstrip("/")


def list_contexts(kubeconfig: str | None = None) -> tuple[list[str], str | None]:
    """Context names in the kubeconfig and the current one (for `:ctx`)."""
    path = _kubeconfig_path(kubeconfig, os.environ)
    try:
        contexts, current = k8s_config.list_kube_config_contexts(config_file=path)
    except _KUBECONFIG_ERRORS as exc:
        raise KubeconfigError(f"kubeconfig {path}: {_first_line(exc)}") from None
    return [c["name"] for c in contexts], (current or {}).get("name")


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

    @property
    def configuration(self) -> k8s_client.Configuration:
        return self.api_client.configuration

    @property
    def server(self) -> str:
        return _server_of(self.configuration)

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "kmc"}
        for setting in self.configuration.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        if self.configuration.username or self.configuration.password:
            basic = self.configuration.get_basic_auth_token()
            if basic:
                headers["Authorization"] = basic
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

        Raises ClusterError for connection failures and any non-2xx status.
        """
        url = self.server + path
        if query:
            url += "?" + urlencode({k: _query_value(v) for k, v in query.items() if v is not None})
        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        if isinstance(timeout, tuple):
            tmo = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        else:
            tmo = urllib3.Timeout(total=timeout) if timeout else urllib3.Timeout()
        try:
            response = self.api_client.rest_client.pool_manager.request(
                method,
                url,
                body=data,
                headers=self._headers(headers),
                timeout=tmo,
                preload_content=False,
                retries=False,
            )
        except urllib3.exceptions.SSLError as exc:
            raise TLSError(f"TLS failure talking to {self.server}: {_root_cause(exc)}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise UnreachableError(f"cannot reach {self.server}: {_root_cause(exc)}") from None
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

    def close(self) -> None:
        self.api_client.rest_client.pool_manager.clear()


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
) -> Connection:
    """Load credentials (kubeconfig, or in-cluster when KUBERNETES_SERVICE_HOST is set and no
    kubeconfig exists) and return a Connection. With `probe`, also GET /version so that an
    unreachable server, TLS failure or 401 surfaces now.
    """
    env = os.environ if environ is None else environ
    configuration = k8s_client.Configuration()
    configuration.connection_pool_maxsize = POOL_SIZE
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
            k8s_config.load_kube_config(
                config_file=path,
                context=context_name,
                client_configuration=configuration,
                persist_config=False,
            )
            contexts, _ = k8s_config.list_kube_config_contexts(config_file=path)
        except _KUBECONFIG_ERRORS as exc:
            raise KubeconfigError(f"kubeconfig {path}: {_first_line(exc)}") from None
        for entry in contexts:
            if entry.get("name") == context_name:
                namespace = (entry.get("context") or {}).get("namespace") or namespace
    connection = Connection(k8s_client.ApiClient(configuration), context_name, namespace)
    if probe:
        connection.check()
    return connection
