"""The console's handle on MLflow: a `TrackingLink` that links the cluster's training jobs to
their runs and keeps their progress, refreshed on its own daemon thread. No Textual.

Per refresh, whatever the number of jobs: one `search_runs` for every linked run id (in
batches of 500 ids), a `search_experiments` at most once a minute, and — while some job has
no run yet and a tag or run-name rule is on — at most every `SEARCH_EVERY` seconds one
`search_runs` per namespace of such jobs for the run tag and one of the newest runs for
their run names. Runs are cached by id between refreshes (the rate meters).
A refresh starts `period` seconds after the previous one finished, so a slow server slows
the loop instead of piling requests up; each request has a timeout. A failing server never
raises here: `status()` says why, in one line without the URI's credentials, and the
last progress stays readable (marked down). `stop()` returns at once; the thread is a daemon.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from console.tracking.client import History, RunFacts, TrackingClient, TrackingError
from console.tracking.linking import Candidates, JobRef, Link, LinkRules, resolve
from console.tracking.progress import JobProgress, RateMeter, progress_of

log = logging.getLogger(__name__)

SEARCH_EVERY = 30.0
"""Seconds between two searches for the runs of jobs that have no run yet."""
EXPERIMENTS_EVERY = 60.0
OFF, STARTING, LIVE, DOWN = "off", "starting", "live", "down"

JobKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class TrackingStatus:
    state: str
    error: str = ""
    refreshed: float = 0.0
    """time.time() of the last good refresh (0: none yet)."""
    uri: str = ""
    """The tracking URI with credentials masked."""
    requests: int = 0
    """Requests of the last refresh."""


def job_refs(session: Any, namespace: str | None = None) -> list[JobRef]:
    """The training jobs of the session's cache as `JobRef`s (all namespaces: None)."""
    from console.cluster.views import JOB_KINDS

    cache = session.cache
    out = []
    for kind in JOB_KINDS:
        if kind not in cache:
            continue
        for job in cache[kind].items():
            if namespace is not None and job.namespace != namespace:
                continue
            state = "Suspended" if job.suspended and job.state != "Failed" else job.state
            out.append(
                JobRef(
                    job.kind,
                    job.namespace,
                    job.name,
                    state,
                    getattr(job, "annotations", {}),
                    getattr(job, "run_env", {}),
                )
            )
    return out


class TrackingLink:
    """Job ↔ run links and progress for the app; see the module docstring."""

    def __init__(
        self,
        settings: Any,
        client: TrackingClient | None = None,
        period: float | None = None,
    ) -> None:
        uri = getattr(settings, "mlflow_tracking_uri", None)
        self.client = client or (TrackingClient(uri) if uri else None)
        self.rules = LinkRules.from_settings(settings)
        self.metric = getattr(settings, "mlflow_metric", "loss") or "loss"
        self.stall_seconds = 60.0 * float(getattr(settings, "mlflow_stall_minutes", 5.0))
        refresh = float(getattr(settings, "refresh_seconds", 2.0))
        self.period = period if period is not None else max(5.0, refresh)
        self._jobs: Callable[[], Iterable[JobRef]] | None = None
        self._notify: Callable[[], None] | None = None
        self._progress: Mapping[JobKey, JobProgress] = {}
        self._status = TrackingStatus(OFF if self.client is None else STARTING)
        self._links: dict[JobKey, Link] = {}
        self._meters: dict[str, RateMeter] = {}
        self._experiments: list[str] = []
        self._experiments_at = 0.0
        self._searched_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """False without a tracking URI: the MLflow columns hide."""
        return self.client is not None

    # ------------------------------------------------------------ lifecycle

    def attach(self, jobs: Callable[[], Iterable[JobRef]], notify: Callable[[], None]) -> None:
        """Start refreshing the progress of `jobs()` (called on the link's thread)."""
        self.detach()
        self._jobs, self._notify = jobs, notify
        if self.client is None:
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, args=(self._stop,), name="kmc-mlflow", daemon=True
        )
        self._thread.start()

    def detach(self) -> None:
        """Stop the thread (returns at once: a request in flight ends by its timeout)."""
        self._stop.set()
        self._thread = None
        self._jobs = self._notify = None

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.refresh()
            if stop.is_set():
                return
            notify = self._notify
            if notify is not None:
                notify()
            stop.wait(self.period)

    # ------------------------------------------------------------ one refresh

    def refresh(self) -> TrackingStatus:
        """Link the jobs and read their runs (blocking; the link's thread, tests, benchmarks)."""
        client, jobs = self.client, self._jobs
        if client is None or jobs is None:
            return self._status
        with self._lock:
            before = client.requests
            try:
                progress = self._refresh(client, list(jobs()))
            except TrackingError as exc:
                self._status = TrackingStatus(
                    DOWN, str(exc), self._status.refreshed, client.shown_uri
                )
                return self._status
            except Exception as exc:  # a bug must not end the thread: say so, try again
                log.exception("MLflow refresh failed")
                error = f"refresh failed: {type(exc).__name__}"
                self._status = TrackingStatus(DOWN, error, self._status.refreshed, client.shown_uri)
                return self._status
            self._progress = progress
            self._status = TrackingStatus(
                LIVE, "", time.time(), client.shown_uri, client.requests - before
            )
            return self._status

    def _refresh(self, client: TrackingClient, jobs: list[JobRef]) -> dict[JobKey, JobProgress]:
        now = time.monotonic()
        if not self._experiments or now - self._experiments_at > EXPERIMENTS_EVERY:
            self._experiments = client.experiment_ids()
            self._experiments_at = now
        keys = {job.key for job in jobs}
        self._links = {k: v for k, v in self._links.items() if k in keys}
        unlinked = []
        for job in jobs:
            link = resolve(job, self.rules, None)
            if link is not None:
                self._links[job.key] = link
            elif self._links.get(job.key, Link("", "")).rule not in ("tag", "name"):
                self._links.pop(job.key, None)
                unlinked.append(job)
        if unlinked and self.rules.needs_search and now - self._searched_at > SEARCH_EVERY:
            self._searched_at = now
            candidates = Candidates(self._candidates(client, unlinked), self.rules.tag)
            for job in unlinked:
                link = resolve(job, self.rules, candidates)
                if link is not None:
                    self._links[job.key] = link
        runs = {r.run_id: r for r in client.runs_by_id(self._experiments, self._ids())}
        self._meters = {rid: m for rid, m in self._meters.items() if rid in runs}
        out = {}
        for key, link in self._links.items():
            run = runs.get(link.run_id)
            meter = self._meters.setdefault(link.run_id, RateMeter()) if run else None
            out[key] = progress_of(link.run_id, link.rule, run, self.metric, meter)
        return out

    def _candidates(self, client: TrackingClient, unlinked: list[JobRef]) -> list[RunFacts]:
        """The runs the tag and run-name rules may match: one search per namespace for the
        tag; the newest `4 × jobs + 100` runs (at most 5,000) for the run name."""
        runs: list[RunFacts] = []
        if "tag" in self.rules.order:
            for namespace in sorted({job.namespace for job in unlinked}):
                runs += client.runs_tagged(self._experiments, self.rules.tag, namespace)
        if "name" in self.rules.order:
            limit = min(5000, 4 * len(unlinked) + 100)
            runs += client.recent_runs(self._experiments, limit)
        runs.sort(key=lambda r: r.start_time or 0.0, reverse=True)  # the newest run wins
        return runs

    def _ids(self) -> set[str]:
        return {link.run_id for link in self._links.values()}

    # ------------------------------------------------------------ reads (any thread)

    def progress(self) -> Mapping[JobKey, JobProgress]:
        """(kind, namespace, name) → progress of the linked jobs (replaced whole per refresh)."""
        return self._progress

    def status(self) -> TrackingStatus:
        return self._status

    @property
    def down(self) -> str:
        """The reason MLflow cannot be read now ("" while it can)."""
        status = self._status
        return (status.error or "unreachable") if status.state == DOWN else ""

    def label(self) -> tuple[str, str | None]:
        """(text, hint) of the link's state, for headers and the job detail."""
        status = self._status
        if status.state == OFF:
            return "mlflow off (no tracking URI)", "muted"
        if status.state == STARTING:
            return "mlflow starting…", "muted"
        if status.state == DOWN:
            return f"mlflow {status.uri}: {status.error}", "error"
        return f"mlflow {status.uri}", "ok"

    def history(self, run_id: str, key: str, last_step: int | None = None) -> History:
        """The plot's points (blocking: call it from a worker). Raises `TrackingError`."""
        if self.client is None:
            raise TrackingError("no MLflow tracking URI")
        return self.client.history(run_id, key, last_step)
