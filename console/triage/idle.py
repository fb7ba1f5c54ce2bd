"""How long each allocated GPU has been idle, for the idle-allocated rule. No Textual.

Two ways to know, and a finding says which:
- Prometheus keeps history: when the telemetry source is Prometheus, the store asks it when
  each idle unit last ran at or above the threshold (`TelemetryStore.idle_since`), so the
  duration is true from the first evaluation on ("prometheus history").
- Otherwise the console only knows what it has seen: an `IdleTracker` kept in the triage's
  state is fed at each evaluation with the store's units. A unit is idle since the first
  refresh of its current stretch below the threshold as the store saw it
  (`TelemetryStore.idle_started`: the store is fed every refresh, evaluated or not), or
  since the first evaluation that found it idle and held by the same pods, whichever is
  earlier; a sample at or above the threshold starts it over ("seen since HH:MM": the
  store's oldest refresh, or the first evaluation). A one-shot `kmc triage` without
  Prometheus therefore sees a few seconds at most: no idle finding.

A unit is a whole GPU or a MIG instance (`console.metrics.model.SlotKey`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from console.metrics.model import PodKey, SlotKey

PROMETHEUS = "prometheus history"
GRACE_SECONDS = 300.0
"""A unit missing from telemetry (a failed refresh, an exporter restart) keeps its idle
start this long; after that, or when seen busy or held by other pods, it starts over."""
RECHECK_SECONDS = 60.0
"""Prometheus answers are reused this long for units idle throughout."""
TRACKER, PROM_CACHE, FAILED = "idle-tracker", "idle-prometheus", "idle-prometheus-failed"


@dataclass(frozen=True, slots=True)
class IdleUnit:
    key: SlotKey
    pods: tuple[PodKey, ...]
    util: float | None
    since: float
    """Epoch seconds the unit has been idle since."""
    at_least: bool = False
    """The history starts after the idle stretch began: idle at least since `since`."""
    source: str = ""
    """PROMETHEUS or `seen since HH:MM`."""
    throughout: bool = False
    """Idle in every refresh this console has seen (so perhaps for much longer)."""
    shares: tuple[float, ...] = ()
    """Each pod's share of the unit (empty: equal shares)."""
    ledger: bool = False
    """Held per the cluster's ledger, the telemetry naming no pod on the node."""


Held = tuple[SlotKey, float | None, tuple[PodKey, ...], tuple[float, ...]]
"""A unit a pod holds as the ledger tells it: (key, utilization, pods, their shares)."""


def seen_label(started: float) -> str:
    return f"seen since {time.strftime('%H:%M', time.localtime(started))}"


class IdleTracker:
    """What this console has seen: units held by pods and below the threshold, since when."""

    def __init__(self) -> None:
        self.started = 0.0
        self._samples = -1
        self._since: dict[SlotKey, tuple[float, tuple[PodKey, ...], float]] = {}
        """key → (idle since, holding pods, last seen)."""

    @property
    def label(self) -> str:
        return seen_label(self.started) if self.started else "seen since now"

    def observe(
        self, store: Any, now: float, below: float, ledger: Iterable[Held] = ()
    ) -> dict[SlotKey, IdleUnit]:
        """Feed one evaluation; the units idle now, with their start as seen. `ledger`:
        units the telemetry attributes to no pod that the cluster says pods hold."""
        if not self.started:
            first = getattr(store, "first_sample", 0.0) or now
            self.started = min(now, first)
        samples = int(getattr(store, "samples", 0))
        new = samples - self._samples if self._samples >= 0 else 1
        self._samples = samples
        label = self.label
        since: dict[SlotKey, tuple[float, tuple[PodKey, ...], float]] = {}
        out: dict[SlotKey, IdleUnit] = {}
        reported: set[SlotKey] = set()
        held = [(*unit, (), False) for unit in store.held_units()]
        held += [(*unit, True) for unit in ledger]
        for key, util, pods, shares, by_ledger in held:
            reported.add(key)
            if util is None or util >= below:
                continue
            recent = store.recent_util(key, new) if new > 0 else ()
            busy = any(u is not None and u >= below for u in recent)  # since the last look
            prev = self._since.get(key)
            start = prev[0] if prev is not None and prev[1] == pods and not busy else now
            watched = store.idle_started(key, below) if hasattr(store, "idle_started") else None
            if watched is not None:  # the store has watched every refresh, not only these
                start = min(start, watched)
            since[key] = (start, pods, now)
            out[key] = IdleUnit(
                key, pods, util, start, False, label, start <= self.started, shares, by_ledger
            )
        for key, entry in self._since.items():
            if key not in reported and key not in since and now - entry[2] <= GRACE_SECONDS:
                since[key] = entry  # no reading this time: keep it, report it not
        self._since = since
        return out


def idle_units(
    state: dict[str, Any],
    store: Any,
    now: float,
    below: float,
    lookback: float,
    ledger: Iterable[Held] = (),
) -> tuple[dict[SlotKey, IdleUnit], str]:
    """The units held by pods and idle now, each with how long, and the source of the
    durations (`Report.sources["idle_duration"]`)."""
    tracker = state.setdefault(TRACKER, IdleTracker())
    seen = tracker.observe(store, now, below, ledger)
    if not getattr(store, "keeps_history", False):
        return seen, tracker.label
    history = _prometheus(state, store, seen, now, below, lookback)
    if history is None:
        state[FAILED] = True  # the rule says so in a note
        return seen, tracker.label
    state.pop(FAILED, None)
    out = {}
    for key, unit in seen.items():
        if key in history:
            start, at_least = history[key]
            out[key] = replace(
                unit, since=min(start, now), at_least=at_least, source=PROMETHEUS, throughout=False
            )
        else:  # no history there yet (a new GPU, Prometheus just started): what was seen
            out[key] = unit
    dated = not out or any(u.source == PROMETHEUS for u in out.values())
    return out, PROMETHEUS if dated else tracker.label


def _prometheus(
    state: dict[str, Any],
    store: Any,
    seen: dict[SlotKey, IdleUnit],
    now: float,
    below: float,
    lookback: float,
) -> dict[SlotKey, tuple[float, bool]] | None:
    """Prometheus's answer for `seen`, reusing the last one for units idle throughout since
    it was asked (within RECHECK_SECONDS)."""
    if not seen:
        return {}
    asked, keys, cached = state.get(PROM_CACHE, (0.0, frozenset(), None))
    if (
        cached is not None
        and now - asked < RECHECK_SECONDS
        and all(k in keys and k in cached and u.since <= asked for k, u in seen.items())
    ):
        return cached
    answer = store.idle_since(list(seen), below, lookback, now)
    if answer is not None:
        state[PROM_CACHE] = (now, frozenset(seen), answer)
    return answer
