"""One refresh pipeline: a worker thread that builds the visible view's rows off the UI thread.

The UI says what it shows (`show(ViewRequest)`: view, scope, namespace, filter, sort) and
nothing else; cache and telemetry threads only `mark_dirty()`. The worker:

- rebuilds the rows from the caches (incrementally, `RowCache`) and sorts them when the
  request's base changed, or when the data changed and the next paced slot has come:
  after a build that cost C seconds the next data-driven build waits
  `max(min_interval, C / duty)`, so building takes at most `duty` of one core however
  fast the cluster churns; a slow tick (`tick`) keeps AGE cells moving;
- answers a filter or sort change at once from the last built rows (no rebuild): a
  filter that extends the previous literal text narrows the previous result;
- hands each result to `deliver` (the app posts one message) and builds the next data-
  driven result only once the UI acknowledged the last (`ack`), so results never queue.

Nothing is built while no table is visible (`show(None)`: a modal, a detail screen).
No Textual here.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from console.cluster.informer import SYNCING
from console.cluster.session import VIEW_KINDS
from console.render import VIEWS
from console.render.base import Row, RowCache, RowContext, Scope, View
from console.render.filter import RowFilter, parse_filter
from console.render.sort import sort_rows

log = logging.getLogger(__name__)

DUTY = 0.3
"""Share of one core that data-driven rebuilds may take."""
MIN_INTERVAL = 0.25
"""Seconds between two data-driven rebuilds, however cheap."""
ACK_TIMEOUT = 2.0
"""Deliver again after this long even if the UI never acknowledged (it was busy or gone)."""
_REGEX_META = re.compile(r"[\\.^$*+?{}\[\]|()]")


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
    serial: int = 0


@dataclass
class _Built:
    base: tuple[Any, ...]
    sort: tuple[str, bool]
    rows: list[Row]
    widths: Mapping[str, int]
    texts: list[str] | None = None
    filter_text: str = ""
    filtered: list[Row] = field(default_factory=list)
    filtered_texts: list[str] | None = None


class RefreshPipeline:
    """The worker thread and its pacing; see the module docstring."""

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
        views: Mapping[str, View] = VIEWS,
    ) -> None:
        self.session = session
        self.views = views
        self.telemetry = telemetry
        self._deliver = deliver
        self._now = now
        self.tick = max(0.5, tick)
        self.min_interval = min_interval
        self.duty = duty
        self._cond = threading.Condition()
        self._request: ViewRequest | None = None
        self._answered: ViewRequest | None = None
        self._dirty = True
        self._stopped = False
        self._serial = 0
        self._unacked_since = 0.0
        self._next_due = 0.0
        self._built_at = 0.0
        self._built: _Built | None = None
        self._caches: dict[tuple[Any, ...], RowCache] = {}
        self.builds = 0
        """Rebuilds from the caches so far (tests and diagnostics)."""
        self._thread = threading.Thread(target=self._run, name="kmc-refresh", daemon=True)

    # ------------------------------------------------------------ any thread

    def start(self) -> RefreshPipeline:
        self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

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

    # ------------------------------------------------------------ the worker

    def _next(self) -> tuple[ViewRequest, bool] | None:
        """Wait for work: (request, rebuild from the caches?) or None when stopped."""
        with self._cond:
            while not self._stopped:
                request = self._request
                if request is None:
                    self._cond.wait()
                    continue
                now = time.monotonic()
                built = self._built
                stale_base = built is None or built.base != request.base
                if request != self._answered and not stale_base:
                    return request, False  # filter / sort: answer from the last build
                if stale_base:
                    self._dirty = False
                    return request, True
                if self._unacked_since and now - self._unacked_since < ACK_TIMEOUT:
                    self._cond.wait(ACK_TIMEOUT - (now - self._unacked_since))
                    continue
                due = max(self._next_due, self._built_at + (0 if self._dirty else self.tick))
                if now >= due:
                    self._dirty = False
                    return request, True
                self._cond.wait(due - now)
            return None

    def _run(self) -> None:
        while True:
            work = self._next()
            if work is None:
                return
            request, rebuild = work
            started = time.monotonic()
            try:
                result = self._result(request, rebuild)
            except Exception:  # never let one bad build end the pipeline
                log.exception("building the %s view failed", request.view)
                with self._cond:
                    self._answered = request
                    self._next_due = time.monotonic() + self.tick
                continue
            cost = time.monotonic() - started
            with self._cond:
                self._answered = request
                if rebuild:
                    self._built_at = time.monotonic()
                    self._next_due = self._built_at + max(self.min_interval, cost / self.duty)
                self._serial += 1
                self._unacked_since = time.monotonic()
                result = replace(result, serial=self._serial, build_ms=cost * 1000)
            try:
                self._deliver(result)
            except Exception:  # the app is gone
                return

    def _result(self, request: ViewRequest, rebuild: bool) -> ViewResult:
        built = self._built
        if rebuild or built is None:
            built = self._build(request)
        elif built.sort != request.sort:
            built = _Built(
                built.base, request.sort, self._sorted(request, built.rows), built.widths
            )
        self._built = built
        rows, literal = self._filter(built, request.filter_text)
        session = self.session
        kinds = VIEW_KINDS.get(request.view, ())
        syncing = any(session.state(kind).state == SYNCING for kind in kinds)
        return ViewResult(
            request,
            rows,
            {row.key: i for i, row in enumerate(rows)},
            len(built.rows),
            built.widths,
            tuple(session.notes(request.view)),
            syncing,
            literal,
            0.0,
        )

    def _build(self, request: ViewRequest) -> _Built:
        view = self.views[request.view]
        key = (request.view, request.scope)
        cache = self._caches.get(key)
        if cache is None:
            if len(self._caches) >= 4:  # the views the user moves between; drop the oldest
                self._caches.pop(next(iter(self._caches)))
            cache = self._caches[key] = RowCache(view.columns)
        context = RowContext(
            now=self._now(),
            namespace=request.namespace,
            show_cpu_nodes=request.show_cpu_nodes,
            scope=request.scope,
            telemetry=self.telemetry if request.telemetry else None,
        )
        rows = view.build(self.session, context, cache)
        self.builds += 1
        return _Built(request.base, request.sort, self._sorted(request, rows), cache.widths())

    def _sorted(self, request: ViewRequest, rows: list[Row]) -> list[Row]:
        columns = self.views[request.view].columns
        key, reverse = request.sort
        index = next((i for i, c in enumerate(columns) if c.key == key), None)
        if index is None:
            return list(rows)
        return sort_rows(rows, columns[index], index, reverse)

    def _filter(self, built: _Built, text: str) -> tuple[list[Row], bool]:
        """The built rows that pass `text` (narrowing the previous result when it can)."""
        row_filter = parse_filter(text)
        if not row_filter.active:
            built.filter_text, built.filtered, built.filtered_texts = "", built.rows, built.texts
            return built.rows, False
        if row_filter.selector:
            rows = [r for r in built.rows if row_filter.matches((), r.labels)]
            built.filter_text, built.filtered, built.filtered_texts = text, rows, None
            return rows, False
        narrows = (
            built.filter_text
            and built.filtered_texts is not None
            and text.startswith(built.filter_text)
            and not row_filter.invert
            and not built.filter_text.startswith("!")
            and not _REGEX_META.search(text)
        )
        if narrows:
            rows, texts = built.filtered, built.filtered_texts
        else:
            if built.texts is None:
                built.texts = ["\n".join(r.cells) for r in built.rows]
            rows, texts = built.rows, built.texts
        assert texts is not None
        search = _multiline(row_filter).search
        invert = row_filter.invert
        kept = [(r, t) for r, t in zip(rows, texts, strict=True) if bool(search(t)) != invert]
        out = [r for r, _ in kept]
        built.filter_text, built.filtered, built.filtered_texts = text, out, [t for _, t in kept]
        return out, row_filter.literal


def _multiline(row_filter: RowFilter) -> re.Pattern[str]:
    """The filter's pattern over one row's cells joined by newlines: `^`/`$` anchor per cell
    and `.` never crosses into the next cell."""
    assert row_filter.pattern is not None
    return re.compile(row_filter.pattern.pattern, row_filter.pattern.flags | re.MULTILINE)
