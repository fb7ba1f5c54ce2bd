"""One refresh pipeline: the visible view's rows are built, sorted and filtered off the UI
thread.

The UI says what it shows (`show(ViewRequest)`: view, scope, namespace, filter, sort) and
nothing else; cache and telemetry threads only `mark_dirty()`. Two worker threads:

- the builder makes a snapshot of the rows from the caches (incrementally, `RowCache`)
  when the request's base changed at once, and when the data changed at the next paced
  slot: after a build that cost C seconds the next data-driven build waits
  `max(min_interval, C / duty)`, so building takes at most `duty` of one core however
  fast the cluster churns; a slow tick (`tick`) keeps AGE cells moving;
- the arranger answers every request from the newest snapshot (`console.render.arrange`:
  sort, filter, narrowing the last filter as the user types) and hands the result to
  `deliver` (the app posts one message). A keystroke never waits for a build: while the
  builder works, the arranger answers from the snapshot before.

Results never queue: the next one is delivered only once the UI acknowledged the last
(`ack`), and intermediate requests (fast typing) are skipped for the newest. Nothing is
built while no table is visible (`show(None)`: a modal, a detail screen). No Textual here.

The triage view's build first evaluates the session's `Triage` (its rules over the caches,
telemetry and MLflow progress) in the builder thread; its result carries that `Report`
(counts, notes, sources) beside the rows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from console.cluster.informer import SYNCING
from console.cluster.session import VIEW_KINDS
from console.render import VIEWS
from console.render.arrange import Arrangement, RowTexts
from console.render.base import Row, RowCache, RowContext, Scope, View
from console.render.triage import TRIAGE
from console.render.triage_facts import TRIAGE_KINDS, TriageFacts, evaluate, triage_notes

log = logging.getLogger(__name__)

DUTY = 0.3
"""Share of one core that data-driven rebuilds may take."""
MIN_INTERVAL = 0.25
"""Seconds between two data-driven rebuilds, however cheap."""
ACK_TIMEOUT = 2.0
"""Deliver again after this long even if the UI never acknowledged (it was busy or gone)."""
TRIAGE_EVERY = 30.0
"""Seconds between two triage evaluations while another view is shown."""
ALL_VIEWS: Mapping[str, View] = {**VIEWS, TRIAGE.name: TRIAGE}
"""The views the pipeline builds: the four resource views and triage."""


@dataclass(frozen=True)
class ViewRequest:
    """What the visible table shows. Equal requests are the same table."""

    view: str
    scope: Scope | None = None
    namespace: str | None = None
    show_cpu_nodes: bool = False
    telemetry: bool = True
    filter_text: str = ""
    sort: tuple[str, bool] = ("name", False)
    owner: int = 0
    """Identity of the screen that asked (results go to it alone)."""

    @property
    def base(self) -> tuple[Any, ...]:
        """What the rows are built from (filter and sort are applied after)."""
        return (self.view, self.scope, self.namespace, self.show_cpu_nodes, self.telemetry)


@dataclass(frozen=True)
class ViewResult:
    request: ViewRequest
    rows: Sequence[Row]
    """Filtered and sorted."""
    index: Mapping[str, int]
    """Row key → position in `rows`."""
    total: int
    """Rows before the filter."""
    widths: Mapping[str, int]
    notes: tuple[str, ...]
    syncing: bool
    literal: bool
    """The filter is not a valid regex and was matched literally."""
    build_ms: float
    """What the snapshot's build cost (the builder thread)."""
    arrange_ms: float
    """What sorting and filtering cost for this result (the arranger thread)."""
    serial: int
    triage: TriageFacts | None = None
    """The triage view's: the report its rows show (None for the other views)."""


@dataclass(frozen=True)
class _Snapshot:
    base: tuple[Any, ...]
    rows: list[Row]
    widths: Mapping[str, int]
    version: int
    build_ms: float
    error: str = ""
    triage: TriageFacts | None = None


class RefreshPipeline:
    """The builder and arranger threads and their pacing; see the module docstring."""

    def __init__(
        self,
        session: Any,
        telemetry: Any,
        deliver: Callable[[ViewResult], None],
        *,
        now: Callable[[], float] = time.time,
        tick: float = 2.0,
        min_interval: float = MIN_INTERVAL,
        duty: float = DUTY,
        views: Mapping[str, View] = ALL_VIEWS,
        tracking: Any = None,
        triage: Any = None,
        context: str = "",
    ) -> None:
        self.session = session
        self.telemetry = telemetry
        self.tracking = tracking
        self.triage = triage
        """The session's `console.triage.engine.Triage` (its rules' memory lives as long as
        the session), or None: the triage view then shows no findings."""
        self.context = context
        self.triage_facts: TriageFacts | None = None
        """The newest evaluation (any view's build may make one, see `TRIAGE_EVERY`)."""
        self._triage_due = 0.0
        self.views = views
        self._deliver = deliver
        self._now = now
        self.tick = max(0.5, tick)
        self.min_interval = min_interval
        self.duty = duty
        self._cond = threading.Condition()
        self._request: ViewRequest | None = None
        self._snapshot: _Snapshot | None = None
        self._answered: tuple[ViewRequest, int] | None = None
        self._dirty = True
        self._stopped = False
        self._serial = 0
        self._unacked_since = 0.0
        self._next_due = 0.0
        self._built_at = 0.0
        self._caches: dict[tuple[Any, ...], RowCache] = {}
        self._texts: dict[tuple[Any, ...], RowTexts] = {}
        """Filter texts per (view, scope), for the arranger alone."""
        self.builds = 0
        """Snapshots built from the caches so far (tests and diagnostics)."""
        self._threads = [
            threading.Thread(target=self._build_loop, name="kmc-build", daemon=True),
            threading.Thread(target=self._arrange_loop, name="kmc-arrange", daemon=True),
        ]

    # ------------------------------------------------------------ any thread

    def start(self) -> RefreshPipeline:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for thread in self._threads:
            if thread.is_alive() and threading.current_thread() is not thread and timeout:
                thread.join(timeout)

    def show(self, request: ViewRequest | None) -> None:
        """The visible table's request; None pauses the pipeline."""
        with self._cond:
            self._request = request
            self._cond.notify_all()

    def mark_dirty(self) -> None:
        """Cache or telemetry data changed (called from their threads)."""
        with self._cond:
            self._dirty = True
            self._cond.notify_all()

    def ack(self, serial: int) -> None:
        """The UI has shown result `serial`."""
        with self._cond:
            if serial == self._serial:
                self._unacked_since = 0.0
                self._cond.notify_all()

    def _waiting_for_ack(self, now: float) -> float:
        """Seconds left to wait for the UI's ack of the last result (0: none pending)."""
        if not self._unacked_since:
            return 0.0
        return max(0.0, ACK_TIMEOUT - (now - self._unacked_since))

    # ------------------------------------------------------------ the builder

    def _next_build(self) -> ViewRequest | None:
        with self._cond:
            while not self._stopped:
                request, snapshot = self._request, self._snapshot
                if request is None:
                    self._cond.wait()
                    continue
                if snapshot is None or snapshot.base != request.base:
                    self._dirty = False
                    return request
                now = time.monotonic()
                answered = self._answered is not None and self._answered[1] == snapshot.version
                pending = self._waiting_for_ack(now)
                if not answered or pending:  # the last snapshot is not on screen yet
                    self._cond.wait(pending or None)
                    continue
                due = max(self._next_due, self._built_at + (0 if self._dirty else self.tick))
                if now >= due:
                    self._dirty = False
                    return request
                self._cond.wait(due - now)
            return None

    def _build_loop(self) -> None:
        version = 0
        while (request := self._next_build()) is not None:
            started = time.monotonic()
            try:
                rows, widths, facts = self._build(request)
            except Exception as exc:  # never let one bad build end the pipeline
                log.exception("building the %s view failed", request.view)
                with self._cond:  # keep the rows before; retry at the next tick
                    self._built_at = time.monotonic()
                    self._next_due = self._built_at + self.tick
                    if self._snapshot is None or self._snapshot.base != request.base:
                        version += 1
                        error = f"cannot build this view: {type(exc).__name__}"
                        self._snapshot = _Snapshot(request.base, [], {}, version, 0.0, error)
                    self._cond.notify_all()
                continue
            cost = time.monotonic() - started
            version += 1
            with self._cond:
                self._built_at = time.monotonic()
                self._next_due = self._built_at + max(self.min_interval, cost / self.duty)
                self._snapshot = _Snapshot(
                    request.base, rows, widths, version, cost * 1000, triage=facts
                )
                self._cond.notify_all()

    def _build(
        self, request: ViewRequest
    ) -> tuple[list[Row], Mapping[str, int], TriageFacts | None]:
        view = self.views[request.view]
        key = (request.view, request.scope)
        cache = self._caches.get(key)
        if cache is None:
            if len(self._caches) >= 4:  # the views the user moves between; drop the oldest
                self._caches.pop(next(iter(self._caches)))
            cache = self._caches[key] = RowCache(view.columns)
        now = self._now()
        facts = None
        shown = request.view == TRIAGE.name
        if shown or (self.triage is not None and time.monotonic() >= self._triage_due):
            # Also now and then behind the other views: rules that remember (how long a GPU
            # has been idle) see the whole session, not only while Triage is on screen.
            telemetry = self.telemetry if request.telemetry else None
            facts = evaluate(self.session, self.triage, telemetry, self.tracking,
                             request.namespace, now, self.context)  # fmt: skip
            self.triage_facts = facts
            self._triage_due = time.monotonic() + TRIAGE_EVERY
            facts = facts if shown else None
        context = RowContext(
            now=now,
            namespace=request.namespace,
            show_cpu_nodes=request.show_cpu_nodes,
            scope=request.scope,
            telemetry=self.telemetry if request.telemetry else None,
            tracking=self.tracking,
            triage=facts.report if facts is not None else None,
        )
        rows = view.build(self.session, context, cache)
        self.builds += 1
        return rows, cache.widths(), facts

    # ------------------------------------------------------------ the arranger

    def _next_answer(self) -> tuple[ViewRequest, _Snapshot] | None:
        """Wait until the request or the snapshot changed since the last answer and the UI
        has shown that answer; then the request and the newest snapshot of its base."""
        with self._cond:
            while not self._stopped:
                request, snapshot = self._request, self._snapshot
                ready = (
                    request is not None
                    and snapshot is not None
                    and snapshot.base == request.base
                    and self._answered != (request, snapshot.version)
                )
                if not ready:
                    self._cond.wait()
                    continue
                pending = self._waiting_for_ack(time.monotonic())
                if pending:
                    self._cond.wait(pending)
                    continue
                assert request is not None and snapshot is not None
                return request, snapshot
            return None

    def _arrange_loop(self) -> None:
        arrangement: Arrangement | None = None
        arranged: _Snapshot | None = None
        last: ViewRequest | None = None
        while (work := self._next_answer()) is not None:
            request, snapshot = work
            started = time.monotonic()
            # A request the user just changed (a filter key, a sort) is answered first from
            # the snapshot already arranged, where the filter narrows; a newer snapshot
            # follows as the next answer.
            keep = (
                arrangement is not None
                and arranged is not None
                and arranged.base == request.base
                and request != last
                and (last is None or last.base == request.base)
            )
            if not keep or arrangement is None or arranged is None:
                columns = self.views[request.view].columns
                if len(self._texts) >= 4 and (request.view, request.scope) not in self._texts:
                    self._texts.pop(next(iter(self._texts)))
                texts = self._texts.setdefault((request.view, request.scope), RowTexts())
                arrangement, arranged = Arrangement(snapshot.rows, columns, texts), snapshot
            with self._cond:
                self._answered = (request, arranged.version)
            last = request
            try:
                rows, literal = arrangement.arrange(request.sort, request.filter_text)
                result = self._result(request, arranged, rows, literal)
            except Exception:
                log.exception("arranging the %s view failed", request.view)
                continue
            cost = (time.monotonic() - started) * 1000
            with self._cond:
                self._serial += 1
                self._unacked_since = time.monotonic()
                serial = self._serial
                self._cond.notify_all()
            try:
                self._deliver(ViewResult(**result, arrange_ms=cost, serial=serial))
            except Exception:  # the app is gone
                return

    def _result(
        self, request: ViewRequest, snapshot: _Snapshot, rows: list[Row], literal: bool
    ) -> dict[str, Any]:
        session = self.session
        triage = request.view == TRIAGE.name
        kinds = TRIAGE_KINDS if triage else VIEW_KINDS.get(request.view, ())
        notes = triage_notes(session, snapshot.triage) if triage else session.notes(request.view)
        return {
            "request": request,
            "rows": rows,
            "index": {row.key: i for i, row in enumerate(rows)},
            "total": len(snapshot.rows),
            "widths": snapshot.widths,
            "notes": tuple(notes) + ((snapshot.error,) * bool(snapshot.error)),
            "syncing": any(session.state(kind).state == SYNCING for kind in kinds),
            "literal": literal,
            "build_ms": snapshot.build_ms,
            "triage": snapshot.triage,
        }
