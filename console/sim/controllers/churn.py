"""Background churn: N pod updates per second, like kubelets reporting status on a busy cluster.

Off by default; benchmarks and load tests turn it on (`sim.faults.churn(1000)`, or the admin
endpoint's `{"action": "churn", "rate": 1000}`). Each update is a real write (new
resourceVersion, a MODIFIED watch event); one in ten also bumps a container's restartCount.
"""

from __future__ import annotations

import random
from typing import Any

from ..kinds import by_kind
from ..runtime import SimContext

TICK_SECONDS = 0.1
KEY_REFRESH_SECONDS = 10.0


class Churn:
    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.rate = 0.0
        self.updates = 0
        self._rng = random.Random(ctx.seed ^ 0xC4)
        self._keys: list[tuple[str, str]] = []
        self._keys_at = -1e18
        self._running = False

    def set_rate(self, per_second: float) -> None:
        self.rate = max(0.0, per_second)
        if self.rate and not self._running:
            self._running = True
            self.ctx.after(TICK_SECONDS, self._tick)

    def _tick(self) -> None:
        if not self.rate:
            self._running = False
            return
        now = self.ctx.clock.now()
        rt = by_kind("Pod")
        if now - self._keys_at > KEY_REFRESH_SECONDS:
            self._keys = list(self.ctx.store.table(rt).objects)
            self._keys_at = now
        if self._keys:
            for _ in range(max(1, round(self.rate * TICK_SECONDS))):
                ns, name = self._keys[self._rng.randrange(len(self._keys))]
                self.ctx.store.mutate(rt, ns, name, self._touch)
                self.updates += 1
        self.ctx.after(TICK_SECONDS, self._tick)

    def _touch(self, pod: dict[str, Any]) -> None:
        annotations = pod["metadata"].setdefault("annotations", {})
        annotations["sim.kmc.dev/churn"] = str(int(annotations.get("sim.kmc.dev/churn", "0")) + 1)
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        if statuses and self._rng.random() < 0.1:
            statuses[0]["restartCount"] = statuses[0].get("restartCount", 0) + 1


def start(ctx: SimContext) -> Churn:
    return Churn(ctx)
