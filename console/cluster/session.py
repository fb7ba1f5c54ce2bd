"""One cluster as the console reads it: a `ClusterSession` around the cluster layer's cache.

`console.cluster.cache.ClusterCache` runs one list+watch thread per kind plus a notifier
thread that coalesces changes; the session subscribes one callback (the refresh
pipeline's `mark_dirty`: it returns at once) and adds what the views need on top: sync
state per view for the header, notes about kinds that are not installed or forbidden,
and small lookups. Nothing here imports Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from console.cluster.cache import DEFAULT_KINDS, Changes, ClusterCache
from console.cluster.connection import Connection
from console.cluster.informer import (
    FORBIDDEN,
    LIVE,
    NOT_INSTALLED,
    STALE,
    STOPPED,
    SYNCING,
    SyncState,
)
from console.cluster.kinds import JOB_KINDS, KINDS, Kind
from console.cluster.records import PodRecord

SERVER_KINDS = ("inferenceservices", "llminferenceservices", "deployments", "statefulsets")

VIEW_KINDS: dict[str, tuple[str, ...]] = {
    "nodes": ("nodes", "pods"),
    "pods": ("pods",),
    "jobs": JOB_KINDS,
    "servers": SERVER_KINDS,
}
"""The kinds each view reads (for its sync state and not-installed / forbidden notes)."""

PLURAL_OF_KIND: dict[str, str] = {kind.kind: name for name, kind in KINDS.items()}
"""`"PyTorchJob"` → `"pytorchjobs"`."""

_SEVERITY = {FORBIDDEN: 0, STALE: 1, SYNCING: 2, NOT_INSTALLED: 3, STOPPED: 4, LIVE: 5}


class ClusterSession:
    """The cache of one context, with the lookups the screens need."""

    def __init__(
        self,
        connection: Connection,
        *,
        on_change: Callable[[], None] | None = None,
        pool_label: str | None = None,
        kinds: Iterable[str] = DEFAULT_KINDS,
        notify_interval: float = 0.1,
        namespaces: Iterable[str] = (),
    ) -> None:
        self.connection = connection
        self.context = connection.context
        # Where a user who may not list across the cluster may list: `-n`, the settings'
        # `namespaces`, the context's namespace (the informers fall back to them on a 403).
        own = getattr(connection, "namespace", "")
        self.fallback_namespaces = tuple(dict.fromkeys(n for n in (*namespaces, own) if n))
        self.cache = ClusterCache(
            connection,
            kinds,
            pool_label=pool_label,
            notify_interval=notify_interval,
            fallback_namespaces=self.fallback_namespaces,
        )
        self.ledger = self.cache.ledger
        self.kinds: dict[str, Kind] = {name: inf.kind for name, inf in self.cache.informers.items()}
        self.state_overrides: dict[str, SyncState] = {}
        """Per-kind states that win over the informers' (tests; never set in production)."""
        self._versions: dict[str, int] = {}
        self._on_change = on_change
        self.cache.subscribe(self._changed)

    def _changed(self, changes: Changes) -> None:
        """Notifier thread: note each kind's version, then tell the subscriber."""
        for name, change in changes.kinds.items():
            self._versions[name] = change.version
        if self._on_change is not None:
            self._on_change()

    def kind_version(self, name: str) -> int:
        """A number that changes whenever the kind's cache changed (e.g. to relayout only
        when nodes changed); 0 before the first notification."""
        return self._versions.get(name, 0)

    def start(self) -> ClusterSession:
        self.cache.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        """Stop within about `timeout` s whatever the server does: requests in flight are cut."""
        self.cache.stop(timeout, interrupt=getattr(self.connection, "abort", None))
        self.connection.close()

    # ------------------------------------------------------------ reads (any thread)

    def has(self, name: str) -> bool:
        return name in self.cache and self.state(name).state not in (NOT_INSTALLED, FORBIDDEN)

    def items(self, name: str) -> list[Any]:
        return self.cache[name].items() if name in self.cache else []

    def get(self, name: str, key: tuple[str, str]) -> Any | None:
        return self.cache[name].get(key) if name in self.cache else None

    def state(self, name: str) -> SyncState:
        if name in self.state_overrides:
            return self.state_overrides[name]
        return self.cache[name].state if name in self.cache else SyncState(NOT_INSTALLED, 0)

    def synced(self) -> bool:
        """Every kind has been listed (live, or known to be forbidden / not installed)."""
        return all(self.state(name).state not in (SYNCING, STALE) for name in self.cache.informers)

    def pods_on_node(self, node: str) -> list[PodRecord]:
        return self.cache["pods"].by_index("node", node)

    def pods_of(self, namespace: str, kind: str, name: str) -> list[PodRecord]:
        return self.cache["pods"].by_index("workload", (namespace, kind, name))

    def pods_of_job(self, namespace: str, name: str) -> list[PodRecord]:
        return self.cache["pods"].by_index("job", (namespace, name))

    def namespaces(self) -> list[str]:
        """The namespaces to offer (`:ns`): all the cluster's, or, for a user who may not
        list them, those whose lists work."""
        listed = self.cache.namespaces_listed()
        if listed is not None and not self.has("namespaces"):
            return listed
        return sorted(ns.name for ns in self.items("namespaces"))

    def view_state(self, view: str) -> tuple[str, str | None]:
        """`(text, hint)` for the header: the worst sync state among the view's kinds.

        Optional kinds (CRDs) that are not installed do not count: the view notes them.
        """
        states = [(name, self.state(name)) for name in VIEW_KINDS.get(view, ("nodes", "pods"))]
        relevant = [
            (n, s)
            for n, s in states
            if not (s.state == NOT_INSTALLED and n in self.kinds and self.kinds[n].optional)
        ] or states
        name, worst = min(relevant, key=lambda item: _SEVERITY.get(item[1].state, 9))
        if worst.state == LIVE:
            return "live", "ok"
        hint = "warn" if worst.state in (SYNCING, STALE) else "error"
        return f"{name} {worst.label()}", hint

    def notes(self, view: str) -> list[str]:
        """Lines about the view's kinds that cannot be shown: not installed, forbidden."""
        names = VIEW_KINDS.get(view, ())
        missing = [self._kind(n) for n in names if self.state(n).state == NOT_INSTALLED]
        forbidden = [self._kind(n) for n in names if self.state(n).state == FORBIDDEN]
        out = []
        if missing:
            out.append(f"not installed in this cluster: {', '.join(missing)}")
        if forbidden:
            out.append(f"forbidden: you may not list {', '.join(forbidden)}")
        scoped = {n: self.cache[n].scope_states() for n in names if n in self.cache}
        scoped = {n: s for n, s in scoped.items() if None not in s}
        if scoped:
            shown = sorted({ns for s in scoped.values() for ns, st in s.items() if st != FORBIDDEN})
            if shown:
                out.append(
                    "you may not list across the cluster: showing namespace"
                    f"{'s' if len(shown) > 1 else ''} {', '.join(str(n) for n in shown)} only"
                )
            refused = sorted(
                {ns for s in scoped.values() for ns, st in s.items() if st == FORBIDDEN}
            )
            if refused:
                plural = "s" if len(refused) > 1 else ""
                line = f"forbidden in namespace{plural} {', '.join(str(n) for n in refused)}"
                if not shown:
                    line += "; name yours with -n or namespaces = [...] in the settings"
                out.append(line)
        return out

    def _kind(self, name: str) -> str:
        kind = self.kinds.get(name) or KINDS.get(name)
        return kind.kind if kind else name
