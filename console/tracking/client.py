"""The MLflow tracking API through the official client (`mlflow-skinny`), imported lazily:
`import mlflow` costs over a second, so nothing on the console's start-up path imports
this module's users' MLflow side until a tracking link starts (on its own thread).

One `TrackingClient` per tracking URI. Every call is blocking (call it off the UI thread),
bounded by a request timeout with no retries by default (MLflow's own defaults are a 120 s
timeout and 7 retries with backoff; the user's `MLFLOW_HTTP_REQUEST_*` settings win), and
raises `TrackingError` with one line of text that never holds the URI's credentials.
MLflow's own auth environment variables (`MLFLOW_TRACKING_TOKEN`, `_USERNAME`/`_PASSWORD`,
`_INSECURE_TLS`) work, as the client reads them.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from console.redact import redact
from console.text import clean_line

DEFAULT_TIMEOUT = 5
"""Seconds per request (MLflow reads an integer)."""
ID_BATCH = 500
"""Run ids per `search_runs` filter."""
HISTORY_POINTS = 240
"""Points of a metric's downsampled history (the plot is at most a terminal wide)."""
RECENT_POINTS = 120
"""Points of the recent window, read in full."""
_BULK_INTERVAL = "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"
_RUN_ID = re.compile(r"^[0-9a-zA-Z_-]{1,64}$")
_SAFE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,252}$")
"""Kubernetes object names (DNS-1123) fit; nothing that could break out of a filter's quotes."""
_SAFE_TAG = re.compile(r"^[a-zA-Z0-9._/:-]{1,250}$")


class TrackingError(Exception):
    """One line, credentials removed."""


def redact_uri(text: str) -> str:
    """`text` with the credentials of any URL in it masked (`console.redact`)."""
    return redact(text)


def valid_run_id(text: str) -> bool:
    """MLflow run ids are hex uuids; anything else is bad input, never sent in a filter."""
    return bool(_RUN_ID.match(text))


@dataclass(frozen=True, slots=True)
class MetricPoint:
    value: float
    """May be NaN or ±Inf: MLflow stores what the script logged."""
    step: int
    timestamp: float
    """Epoch seconds."""


@dataclass(frozen=True, slots=True)
class RunFacts:
    """One run as the console keeps it: plain, cleaned strings."""

    run_id: str
    run_name: str
    experiment_id: str
    status: str  # RUNNING | FINISHED | FAILED | KILLED | SCHEDULED
    deleted: bool
    start_time: float | None
    end_time: float | None
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, MetricPoint] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class History:
    """A metric over steps: a downsampled whole and the recent window, merged by step."""

    key: str
    points: tuple[MetricPoint, ...]
    """Sorted by step; non-finite values kept (the plot skips them)."""
    total_hint: str = ""


class TrackingClient:
    """Blocking calls to one MLflow tracking server or store."""

    def __init__(self, uri: str, timeout: int = DEFAULT_TIMEOUT) -> None:
        self.uri = uri
        self.shown_uri = redact_uri(uri)
        self.timeout = max(1, int(timeout))
        self.requests = 0
        """Requests made so far (benchmarks and diagnostics)."""
        self._client: Any = None

    def _mlflow(self) -> Any:
        if self._client is None:
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(self.timeout))
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
            try:
                from mlflow.tracking import MlflowClient
            except ImportError as exc:
                raise TrackingError(f"the MLflow client is not installed: {exc.name}") from None
            self._client = self._call(lambda: MlflowClient(tracking_uri=self.uri), count=False)
        return self._client

    def _call(self, fn: Any, count: bool = True) -> Any:
        self.requests += count
        try:
            return fn()
        except TrackingError:
            raise
        except Exception as exc:
            raise TrackingError(self.error_text(exc)) from None

    def error_text(self, exc: BaseException) -> str:
        """One short line about `exc`, the URI's credentials masked."""
        text = str(exc).replace(self.uri, self.shown_uri)
        first = next((line for line in text.splitlines() if line.strip()), type(exc).__name__)
        if "timed out" in text.lower() or "ReadTimeout" in text:
            first = "timed out"
        elif "Max retries" in text or "Connection refused" in text or "NewConnectionError" in text:
            first = "cannot connect"
        return clean_line(redact_uri(first))[:160]

    # ------------------------------------------------------------ reads

    def experiment_ids(self) -> list[str]:
        client = self._mlflow()
        found = self._call(lambda: client.search_experiments(max_results=1000))
        return [e.experiment_id for e in found]

    def runs_by_id(self, experiment_ids: Sequence[str], run_ids: Iterable[str]) -> list[RunFacts]:
        """The runs among `run_ids` (deleted ones too), in one `search_runs` per `ID_BATCH`."""
        ids = sorted({r for r in run_ids if valid_run_id(r)})
        out: list[RunFacts] = []
        for start in range(0, len(ids), ID_BATCH):
            chunk = ids[start : start + ID_BATCH]
            quoted = ", ".join(f"'{r}'" for r in chunk)
            out += self._search(experiment_ids, f"attributes.run_id IN ({quoted})", len(chunk))
        return out

    def runs_tagged(
        self, experiment_ids: Sequence[str], tag: str, namespace: str, limit: int = 5000
    ) -> list[RunFacts]:
        """Active runs whose `tag` starts with `<namespace>/` (newest first): one request."""
        if not _SAFE_NAME.match(namespace) or not _SAFE_TAG.match(tag):
            return []
        query = f"tags.`{tag}` LIKE '{namespace}/%'"
        return self._search(experiment_ids, query, limit, deleted=False)

    def recent_runs(self, experiment_ids: Sequence[str], limit: int) -> list[RunFacts]:
        """The newest `limit` active runs, in one request (MLflow's filters compare a run
        name with one value only, so run-name links are matched among these)."""
        return self._search(experiment_ids, "", limit, deleted=False)

    def _search(
        self, experiment_ids: Sequence[str], query: str, limit: int, deleted: bool = True
    ) -> list[RunFacts]:
        if not experiment_ids:
            return []
        from mlflow.entities import ViewType

        client = self._mlflow()
        view = ViewType.ALL if deleted else ViewType.ACTIVE_ONLY
        runs = self._call(
            lambda: client.search_runs(
                list(experiment_ids),
                filter_string=query,
                run_view_type=view,
                max_results=max(1, min(limit, 50000)),
                order_by=["attributes.start_time DESC"],
            )
        )
        return [run_facts(run) for run in runs]

    def history(self, run_id: str, key: str, last_step: int | None = None) -> History:
        """`key` of `run_id`: `HISTORY_POINTS` sampled over all steps, plus `RECENT_POINTS`
        over the recent window (the last 5 % of the steps, at least `RECENT_POINTS` steps: in
        full when that few were logged there) — never the whole history, which may hold
        millions of points."""
        if not valid_run_id(run_id):
            raise TrackingError(f"not a run id: {clean_line(run_id)[:40]}")
        sampled = self._interval(run_id, key, HISTORY_POINTS, None)
        points = {p.step: p for p in sampled}
        last = max(points, default=None) if last_step is None else last_step
        if last is not None and sampled and last > sampled[0].step:
            span = max(RECENT_POINTS, (last - sampled[0].step) // 20)
            window = (max(0, last - span), last)
            points.update((p.step, p) for p in self._interval(run_id, key, RECENT_POINTS, window))
        return History(key, tuple(points[s] for s in sorted(points)))

    def _interval(
        self, run_id: str, key: str, count: int, steps: tuple[int, int] | None
    ) -> list[MetricPoint]:
        client = self._mlflow()
        store = client._tracking_client.store  # the client has no public handle on its store
        if hasattr(store, "get_host_creds"):  # a tracking server: its sampled-history endpoint
            from mlflow.utils.rest_utils import http_request, verify_rest_response

            params: dict[str, Any] = {"run_ids": run_id, "metric_key": key, "max_results": count}
            if steps is not None:
                params["start_step"], params["end_step"] = steps

            def call() -> Any:
                response = http_request(
                    store.get_host_creds(), _BULK_INTERVAL, "GET", params=params
                )
                return verify_rest_response(response, _BULK_INTERVAL).json()

            data = self._call(call)
            return [
                MetricPoint(
                    _number(m.get("value")), int(m.get("step", 0)), m.get("timestamp", 0) / 1e3
                )
                for m in data.get("metrics", [])
            ]
        start, end = steps if steps is not None else (None, None)
        found = self._call(
            lambda: store.get_metric_history_bulk_interval([run_id], key, count, start, end)
        )
        return [MetricPoint(_number(m.value), int(m.step), m.timestamp / 1e3) for m in found]


def _number(value: Any) -> float:
    """A metric value as a float; MLflow's JSON spells the non-finite ones as strings, and
    its SQL store saves ±Inf as the largest finite float (read back as ±Inf here)."""
    if isinstance(value, (int, float)):
        number = float(value)
        return math.copysign(math.inf, number) if abs(number) >= sys.float_info.max else number
    text = str(value).strip().lower()
    if text in ("nan", "-nan"):
        return math.nan
    if text in ("inf", "infinity", "+inf"):
        return math.inf
    if text in ("-inf", "-infinity"):
        return -math.inf
    try:
        return float(text)
    except ValueError:
        return math.nan


def _text(value: Any, limit: int = 200) -> str:
    return clean_line(str(value))[:limit]


def run_facts(run: Any, params: int = 64) -> RunFacts:
    """A client `Run` as `RunFacts`: strings cleaned, at most `params` params."""
    info, data = run.info, run.data
    metrics: dict[str, MetricPoint] = {}
    for m in data.to_proto().metrics:
        metrics[_text(m.key, 80)] = MetricPoint(_number(m.value), int(m.step), m.timestamp / 1e3)
    kept = dict(list(data.params.items())[:params])
    return RunFacts(
        run_id=_text(info.run_id, 64),
        run_name=_text(info.run_name or ""),
        experiment_id=_text(info.experiment_id, 64),
        status=_text(info.status, 16),
        deleted=info.lifecycle_stage == "deleted",
        start_time=info.start_time / 1e3 if info.start_time else None,
        end_time=info.end_time / 1e3 if info.end_time else None,
        tags={_text(k, 120): _text(v) for k, v in data.tags.items() if not k.startswith("mlflow.")},
        params={_text(k, 80): _text(v) for k, v in kept.items()},
        metrics=metrics,
    )
