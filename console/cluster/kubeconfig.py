"""Where a connection's credentials come from: the kubeconfig (its contexts, the chosen
one's namespace and user, an exec credential plugin) or the in-cluster service account,
through the official `kubernetes.config` loaders. `console.cluster.connection.connect`
uses `load_credentials`; `list_contexts` feeds `:ctx`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
from console.cluster.errors import KubeconfigError

_KUBECONFIG_ERRORS = (ConfigException, OSError, ValueError, KeyError, TypeError, yaml.YAMLError)
_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(text[:2]) if text else type(exc).__name__


def kubeconfig_path(kubeconfig: str | None, environ: Mapping[str, str]) -> str:
    """The kubeconfig in use: the one given, else $KUBECONFIG, else ~/.kube/config."""
    return kubeconfig or environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def _kubeconfig_exists(path: str) -> bool:
    return any(os.path.exists(os.path.expanduser(p)) for p in path.split(os.pathsep) if p)


def list_contexts(kubeconfig: str | None = None) -> tuple[list[str], str | None]:
    """Context names in the kubeconfig and the current one (for `:ctx`), as the file spells
    them. They are untrusted text: show them cleaned (`clean_line`), never as markup."""
    path = kubeconfig_path(kubeconfig, os.environ)
    try:
        contexts, current = k8s_config.list_kube_config_contexts(config_file=path)
        names = [str(c["name"]) for c in contexts]
    except _KUBECONFIG_ERRORS as exc:
        raise KubeconfigError(f"kubeconfig {path}: {_first_line(exc)}") from None
    current_name = (current or {}).get("name") if isinstance(current, dict) else None
    return names, None if current_name is None else str(current_name)


@dataclass(frozen=True)
class Credentials:
    """What `load_credentials` set up a `Configuration` for."""

    context: str
    """The kubeconfig context ("" in-cluster)."""
    namespace: str
    """Its default namespace ("default" when unset)."""
    credential: ExecCredential | None = None
    """The context user's exec plugin, when it has one."""


def load_credentials(
    configuration: k8s_client.Configuration,
    kubeconfig: str | None,
    context: str | None,
    environ: Mapping[str, str],
    suspender: Suspender[Any] | None = None,
) -> Credentials:
    """Fill `configuration` (server, TLS, credentials) from the kubeconfig, or in-cluster
    when KUBERNETES_SERVICE_HOST is set and no kubeconfig exists. Raises `KubeconfigError`
    (one line). An exec credential plugin runs here the first time (through `suspender`
    when the TUI holds the terminal)."""
    path = kubeconfig_path(kubeconfig, environ)
    if not kubeconfig and environ.get("KUBERNETES_SERVICE_HOST") and not _kubeconfig_exists(path):
        return _in_cluster(configuration)
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
    namespace = "default"
    for entry in contexts:
        if entry.get("name") == context_name:
            namespace = (entry.get("context") or {}).get("namespace") or namespace
    if credential is not None:
        try:
            install(credential, configuration)
        except CredentialError as exc:
            raise KubeconfigError(f"context {context_name}: {exc}", 401, "Unauthorized") from None
    return Credentials(context_name, namespace, credential)


def _in_cluster(configuration: k8s_client.Configuration) -> Credentials:
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except ConfigException as exc:
        raise KubeconfigError(f"in-cluster config: {exc}") from None
    namespace = "default"
    if os.path.exists(_NAMESPACE_FILE):
        with open(_NAMESPACE_FILE) as handle:
            namespace = handle.read().strip() or namespace
    return Credentials("", namespace)
