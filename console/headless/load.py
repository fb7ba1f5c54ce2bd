"""One-shot load for the headless commands (`kmc nodes|jobs|servers|pods|gpus|triage`).

Resolve the settings (command line > environment > file, the context's section), connect
(probing the server, so a bad kubeconfig or an unreachable server fails at once), list
every kind the command needs once through the console's own cache (the same decoding,
indexes and GPU ledger as the TUI; the informers are stopped as soon as everything is
listed), read telemetry once and, when asked and a tracking URI is set, refresh MLflow
once. Every failure that stops the command is a `LoadError`: one line, exit code 3.
No Textual.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from console.cluster.cache import DEFAULT_KINDS
from console.cluster.kinds import JOB_KINDS, RUNTIME_KINDS
from console.cluster.session import SERVER_KINDS, ClusterSession
from console.config import ConfigError, Settings, load_settings

SYNC_TIMEOUT = 300.0
"""Seconds to wait for every list (a `huge` cluster's 200,000 pods take about a minute)."""
TRACKING_TIMEOUT = 30.0
"""Seconds to wait for the one MLflow refresh."""

COMMAND_KINDS: dict[str, tuple[str, ...]] = {
    "nodes": ("nodes", "pods"),
    "pods": ("nodes", "pods"),
    "gpus": ("nodes", "pods"),
    "jobs": (*JOB_KINDS, *RUNTIME_KINDS, "nodes", "pods"),
    "servers": (*SERVER_KINDS, "nodes", "pods"),
    "triage": DEFAULT_KINDS,
}
"""The kinds each command lists (what its view or the triage rules read)."""


class LoadError(Exception):
    """Why the command cannot run, in one line (exit code 3)."""


@dataclass
class Loaded:
    """What one command reads: the settings, the listed cluster, the telemetry and
    MLflow links after their one refresh each."""

    settings: Settings
    session: ClusterSession
    context: str
    namespace: str | None
    """None: all namespaces."""
    telemetry: Any = None
    """The `console.metrics.link.TelemetryLink` after one refresh, or None (turned off)."""
    telemetry_source: str = "none: turned off"
    """`dcgm`, `prometheus`, or `none: <why>` (the triage engine's `telemetry`)."""
    tracking: Any = None
    """The `console.tracking.link.TrackingLink` after one refresh, or None."""
    notes: list[str] = field(default_factory=list)
    """Lines for stderr: kinds not installed or forbidden, telemetry or MLflow down."""

    @property
    def store(self) -> Any:
        return self.telemetry.store if self.telemetry is not None else None

    def progress(self) -> Mapping[Any, Any] | None:
        """MLflow progress by (kind, namespace, name), or None without a live refresh."""
        link = self.tracking
        if link is None or link.status().state != "live":
            return None
        return link.progress()

    def close(self) -> None:
        if self.tracking is not None:
            self.tracking.detach()
        if self.telemetry is not None:
            self.telemetry.detach()
        self.session.stop(timeout=0.5)


def resolve_settings(layer: Mapping[str, object]) -> Settings:
    try:
        return load_settings(dict(layer))
    except ConfigError as exc:
        raise LoadError(str(exc)) from None


def load(
    layer: Mapping[str, object],
    command: str,
    *,
    telemetry: bool = True,
    focus_all: bool = False,
    tracking: bool = False,
    sync_timeout: float = SYNC_TIMEOUT,
) -> Loaded:
    """Connect and read everything `command` needs once; raises `LoadError`."""
    from console.cluster.connection import ClusterError, connect

    settings = resolve_settings(layer)
    try:
        connection = connect(settings.kubeconfig, settings.context, probe=True, read_only=True)
    except ClusterError as exc:
        raise LoadError(str(exc)) from None
    if settings.context is None and connection.context:
        try:  # the config file's section for the kubeconfig's current context
            settings = load_settings(dict(layer), current_context=connection.context)
        except ConfigError as exc:
            connection.close()
            raise LoadError(str(exc)) from None
    namespace = None if settings.all_namespaces or not settings.namespace else settings.namespace
    session = ClusterSession(
        connection,
        pool_label=settings.node_pool_label,
        kinds=COMMAND_KINDS[command],
        notify_interval=0.02,
        namespaces=(settings.namespace or "", *(settings.namespaces or "").split(",")),
    )
    loaded = Loaded(settings, session, connection.context or "", namespace)
    try:
        session.start()
        _wait_listed(session, sync_timeout)
        loaded.notes.extend(_kind_notes(session, command))
        if telemetry and settings.telemetry_source != "none":
            _read_telemetry(loaded, connection, focus_all)
        if tracking and settings.mlflow_tracking_uri:
            _refresh_tracking(loaded)
    except BaseException:
        loaded.close()
        raise
    return loaded


def _wait_listed(session: ClusterSession, timeout: float) -> None:
    if session.cache.wait_synced(timeout):
        return
    late = [
        f"{name} {session.state(name).label()}"
        for name in session.cache.informers
        if session.state(name).state in ("syncing", "stale")
    ]
    raise LoadError(f"the cluster did not list within {timeout:g}s: {', '.join(late)}")


def _kind_notes(session: ClusterSession, command: str) -> list[str]:
    if command == "triage":  # what the rules could not see; optional kinds absent are fine
        views = ("nodes", "jobs", "servers", "pods")
        notes = (n for v in views for n in session.notes(v) if not n.startswith("not installed"))
    else:
        notes = (n for n in session.notes("nodes" if command == "gpus" else command))
    return list(dict.fromkeys(notes))


def _gpu_nodes(session: ClusterSession) -> Iterable[str]:
    return [n.name for n in session.cache["nodes"].by_index("gpu", "gpu")]


def _read_telemetry(loaded: Loaded, connection: Any, focus_all: bool) -> None:
    from console.metrics.link import TelemetryLink
    from console.metrics.model import DEGRADED, LIVE

    link = TelemetryLink(loaded.settings)
    link.attach(connection, loaded.session.cache, lambda _status: None)
    loaded.telemetry = link
    if focus_all:  # per-GPU detail of every GPU node (a Prometheus source asks for it)
        link.focus(_gpu_nodes(loaded.session))
    assert link.poller is not None
    status = link.poller.refresh_once()
    shown = link.status()
    if status.state in (LIVE, DEGRADED):
        loaded.telemetry_source = status.source
        if status.state == DEGRADED:
            loaded.notes.append(f"telemetry {status.source}: {shown.error}")
    else:
        why = shown.error or status.state
        loaded.telemetry_source = f"none: {why}"
        loaded.notes.append(f"telemetry unavailable: {why}")


def _refresh_tracking(loaded: Loaded) -> None:
    from console.tracking.link import TrackingLink, job_refs

    link = TrackingLink(loaded.settings)
    if not link.enabled:
        return
    loaded.tracking = link
    done = threading.Event()
    session, namespace = loaded.session, loaded.namespace
    started = time.monotonic()
    link.attach(lambda: job_refs(session, namespace), done.set)
    if not done.wait(TRACKING_TIMEOUT):
        loaded.notes.append(f"mlflow: no answer within {time.monotonic() - started:.0f}s")
    link.detach()
    status = link.status()
    if status.state != "live" and status.error:
        loaded.notes.append(f"mlflow {status.uri}: {status.error}")
