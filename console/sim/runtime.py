"""What the controllers share: the store, the sim clock, timers in sim time, and Events.

Controllers never block and never sleep: they react to store changes (through `Store.listen`,
deferring their work with `soon`) and to timers (`after`, `every`) that fire in sim time. Tests
move time forward with `advance`, which fires every due timer in order.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable
from typing import Any

from .clock import SimClock
from .kinds import by_kind
from .store import Store

log = logging.getLogger("kmc.sim")

Task = Callable[[], Any]


class SimContext:
    def __init__(self, store: Store, clock: SimClock, seed: int) -> None:
        self.store = store
        self.clock = clock
        self.seed = seed
        self._timers: list[tuple[float, int, Task]] = []
        self._soon: list[Task] = []
        self._order = itertools.count()
        self._event_counts: dict[tuple[str, str, str, str], str] = {}
        self.wake: Callable[[], None] = lambda: None  # set by the runner to run due work promptly

    # ----- scheduling -----------------------------------------------------------------------
    def soon(self, task: Task) -> None:
        """Run `task` after the current write finishes (never re-entrantly inside a listener)."""
        self._soon.append(task)
        self.wake()

    def after(self, seconds: float, task: Task) -> None:
        heapq.heappush(self._timers, (self.clock.now() + seconds, next(self._order), task))
        self.wake()

    def every(self, seconds: float, task: Task, jitter: float = 0.0) -> None:
        def repeat() -> None:
            try:
                task()
            finally:
                self.after(seconds, repeat)

        self.after(seconds * jitter if jitter else seconds, repeat)

    def run_due(self, until: float | None = None) -> int:
        """Run queued tasks and every timer due by `until` (default: now). Returns how many ran."""
        ran = 0
        deadline = self.clock.now() if until is None else until
        while True:
            while self._soon:
                batch, self._soon = self._soon, []
                for task in batch:
                    self._run(task)
                    ran += 1
            if not self._timers or self._timers[0][0] > deadline:
                return ran
            _, _, task = heapq.heappop(self._timers)
            self._run(task)
            ran += 1

    def next_due(self) -> float | None:
        if self._soon:
            return self.clock.now()
        return self._timers[0][0] if self._timers else None

    @staticmethod
    def _run(task: Task) -> None:
        try:
            task()
        except Exception:  # a controller bug must not stop the cluster
            log.exception("sim controller task failed")

    def advance(self, seconds: float, step: float = 1.0) -> None:
        """Move sim time forward by `seconds`, firing timers in order as time passes."""
        remaining = seconds
        while remaining > 0:
            delta = min(step, remaining)
            self.clock.advance(delta)
            remaining -= delta
            self.run_due()

    # ----- events ---------------------------------------------------------------------------
    def record_event(
        self,
        obj: dict[str, Any],
        reason: str,
        message: str,
        type_: str = "Normal",
        component: str = "kmc-sim",
    ) -> None:
        """Record a core/v1 Event about `obj`, counting repeats like the real event recorder."""
        meta = obj.get("metadata", {})
        namespace = meta.get("namespace") or "default"
        ident = (namespace, meta.get("uid", ""), reason, message)
        rt = by_kind("Event")
        now = self.clock.iso()
        existing = self._event_counts.get(ident)
        if existing and self.store.entry(rt, namespace, existing):

            def bump(ev: dict[str, Any]) -> None:
                ev["count"] = ev.get("count", 1) + 1
                ev["lastTimestamp"] = now

            self.store.mutate(rt, namespace, existing, bump)
            return
        name = f"{meta.get('name', 'x')}.{self.store.random_suffix(8)}{next(self._order):x}"
        event = {
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion", "v1"),
                "kind": obj.get("kind", ""),
                "name": meta.get("name", ""),
                "namespace": meta.get("namespace", ""),
                "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": component},
            "reportingComponent": component,
            "reportingInstance": component,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        self.store.create(rt, event)
        self._event_counts[ident] = name
