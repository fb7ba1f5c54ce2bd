"""The screens' handle on one cluster: a `ClusterSession` around the cluster layer's cache.

`console.cluster.cache.ClusterCache` runs one list+watch thread per kind plus a notifier
thread that coalesces changes; the session subscribes one callback (the app posts a
message from it and returns at once) and adds what the views need on top: sync state
per view for the header, notes about kinds that are not installed or forbidden, and
small lookups. Nothing here imports Textual.

Pacing: the callback is the app's cue to rebuild the visible screen on the UI thread,
and at cluster scale one rebuild costs a large fraction of a second. So the session
posts at most one cue until the UI reads (`ack`, called as a refresh starts), measures
how long the UI thread then stays busy (its CPU clock), and holds the next cue until
refreshing has used at most `DUTY` of the UI thread's time — the rest is left for
keystrokes and frames, however fast the cluster churns.
"""

from __future__ import annotations

import threading
import time
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

SERVER_KINDS = ("inferenceservices", "deployments", "statefulsets")

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

DUTY = 0.3
"""Share of the UI thread's time that cluster-driven refreshes may take."""


class _Pacer:
    """Calls `post` when the cache changed, at most once per `ack`, spaced by refresh cost.

    After each `ack` (a refresh began on the UI thread) the pacer's thread samples the UI
    thread's CPU clock every `_SAMPLE` s; the refresh (and the frame it causes) is over when
    the UI thread used under `_IDLE` of a sample. With that busy time B, the next post
    waits until B / (now - ack) ≤ DUTY, and at least `interval`. Without a per-thread CPU
    clock (not Linux) it only keeps one post outstanding, `interval` apart.
    """

    _SAMPLE = 0.02
    _IDLE = 0.25
    _MAX_BUSY = 5.0
    _CHEAP = 0.05  # refreshes shorter than this are not spaced out (small clusters)
    _ACK_TIMEOUT = 5.0  # post again if the UI never read (a screen without a refresh)

    def __init__(self, post: Callable[[], None], interval: float) -> None:
        self._post = post
        self.interval = interval
        self._cond = threading.Condition()
        self._dirty = False
        self._outstanding = 0.0  # monotonic time of an unread post, 0 when none
        self._acks = 0
        self._acked_at = 0.0
        self._measured = 0
        self._stopped = False
        self.busy = 0.0
        """Seconds the UI thread stayed busy after the last measured ack (also diagnostics)."""
        self._clock: int | None = None
        try:
            self._clock = time.pthread_getcpuclockid(threading.get_ident())
        except (AttributeError, OSError):
            pass
        self._thread = threading.Thread(target=self._run, name="kmc-pacer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def changed(self) -> None:
        with self._cond:
            self._dirty = True
            self._cond.notify_all()

    def ack(self) -> None:
        with self._cond:
            self._acks += 1
            self._acked_at = time.monotonic()
            self._outstanding = 0.0
            self._cond.notify_all()

    def _ready(self) -> bool:
        if self._outstanding and time.monotonic() - self._outstanding > self._ACK_TIMEOUT:
            self._outstanding = 0.0
        return self._dirty and not self._outstanding

    def _run(self) -> None:
        cond = self._cond
        while True:
            with cond:
                cond.wait_for(
                    lambda: self._stopped or self._acks != self._measured or self._ready(),
                    self._ACK_TIMEOUT if self._outstanding else None,
                )
                if self._stopped:
                    return
                if self._acks != self._measured:
                    self._measured = self._acks
                    acked_at = self._acked_at
                    measure = True
                elif self._ready():
                    measure = False
                else:
                    continue
            if measure:
                if self._clock is not None:
                    self.busy = self._busy_since(acked_at)
                continue
            with cond:
                hold = self.busy / DUTY if self.busy >= self._CHEAP else 0.0
                due = self._acked_at + max(self.interval, hold)
                cond.wait_for(
                    lambda: self._stopped or self._acks != self._measured,
                    max(0.0, due - time.monotonic()),
                )
                if self._stopped:
                    return
                if self._acks != self._measured:
                    continue  # a refresh ran meanwhile (the app's tick): measure it first
                self._dirty = False
                self._outstanding = time.monotonic()
            try:
                self._post()
            except Exception:  # the app is gone
                return

    def _busy_since(self, acked_at: float) -> float:
        """Seconds from `acked_at` until the UI thread went (nearly) idle."""
        assert self._clock is not None
        cpu = time.clock_gettime(self._clock)
        while time.monotonic() - acked_at < self._MAX_BUSY and not self._stopped:
            time.sleep(self._SAMPLE)
            now_cpu = time.clock_gettime(self._clock)
            if now_cpu - cpu < self._IDLE * self._SAMPLE:
                break
            cpu = now_cpu
        return max(0.0, time.monotonic() - acked_at - self._SAMPLE)


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
    ) -> None:
        self.connection = connection
        self.context = connection.context
        self.cache = ClusterCache(
            connection, kinds, pool_label=pool_label, notify_interval=notify_interval
        )
        self.ledger = self.cache.ledger
        self.kinds: dict[str, Kind] = {name: inf.kind for name, inf in self.cache.informers.items()}
        self.state_overrides: dict[str, SyncState] = {}
        """Per-kind states that win over the informers' (tests; never set in production)."""
        self._versions: dict[str, int] = {}
        self._on_change = on_change
        self._pacer = _Pacer(on_change, notify_interval) if on_change is not None else None
        self.cache.subscribe(self._changed)

    def _changed(self, changes: Changes) -> None:
        """Notifier thread: note each kind's version, then cue the app (paced, see above)."""
        for name, change in changes.kinds.items():
            self._versions[name] = change.version
        if self._pacer is not None:
            self._pacer.changed()

    def kind_version(self, name: str) -> int:
        """A number that changes whenever the kind's cache changed (e.g. to relayout only
        when nodes changed); 0 before the first notification."""
        return self._versions.get(name, 0)

    def start(self) -> ClusterSession:
        if self._pacer is not None:
            self._pacer.start()
        self.cache.start()
        return self

    def stop(self) -> None:
        if self._pacer is not None:
            self._pacer.stop()
        self.cache.stop()
        self.connection.close()

    def ack(self) -> None:
        """The UI thread starts reading for a refresh (the app calls this first thing)."""
        if self._pacer is not None:
            self._pacer.ack()

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

    def pods_on_node(self, node: str) -> list[PodRecord]:
        return self.cache["pods"].by_index("node", node)

    def pods_of(self, namespace: str, kind: str, name: str) -> list[PodRecord]:
        return self.cache["pods"].by_index("workload", (namespace, kind, name))

    def pods_of_job(self, namespace: str, name: str) -> list[PodRecord]:
        return self.cache["pods"].by_index("job", (namespace, name))

    def namespaces(self) -> list[str]:
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
        return out

    def _kind(self, name: str) -> str:
        kind = self.kinds.get(name) or KINDS.get(name)
        return kind.kind if kind else name
