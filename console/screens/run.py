"""`RunScreen`: a training job's MLflow run — run id and the linking rule that matched,
status, start time, params, latest metrics, and a plot of the primary metric over steps,
refreshed live (`r` on a job of the jobs view; Esc goes back).

The run's facts come from the tracking link's last refresh (`Host.tracking`); the plot's
points (a downsampled history plus the recent window, never millions of points) are read
by a thread worker when the run's last step moved, and arrive as a `HistoryLoaded`
message. Every string from MLflow was cleaned by the tracking layer and is shown as plain
`Text`, never markup.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from console.host import Host
from console.render.training import metric_rows, run_lines
from widgets.line_plot import LinePlot

JobKey = tuple[str, str, str]


class HistoryLoaded(Message):
    """Posted by the history worker: the points of `run_id`'s metric, or an error line."""

    def __init__(self, run_id: str, step: int | None, points: Any, error: str = "") -> None:
        super().__init__()
        self.run_id, self.step, self.points, self.error = run_id, step, points, error


class RunScreen(Screen[None]):
    """The MLflow run of one training job."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),
    ]

    CSS = """
    RunScreen #run-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    RunScreen #run-state { height: 1; padding: 0 1; }
    RunScreen #run-body { height: 1fr; }
    RunScreen .run-section { height: auto; padding: 0 1; }
    RunScreen LinePlot { height: 12; min-height: 6; }
    """

    def __init__(self, key: JobKey, job_state: str = "") -> None:
        super().__init__()
        self.key = key
        self.job_state = job_state
        self._plotted: tuple[str, int | None] | None = None
        self._loading = False

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    def compose(self) -> ComposeResult:
        kind, namespace, name = self.key
        yield Static(Text(f"MLflow run of {kind} {namespace}/{name}"), id="run-title")
        yield Static(id="run-state")
        with VerticalScroll(id="run-body"):
            yield Static(id="run-facts", classes="run-section")
            yield LinePlot(id="run-plot")
            yield Static(id="run-metrics", classes="run-section")
            yield Static(id="run-params", classes="run-section")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_data()

    # ------------------------------------------------------------ data

    def _job_state(self) -> str:
        session = self.host.session
        if session is None:
            return self.job_state
        from console.cluster.session import PLURAL_OF_KIND

        kind, namespace, name = self.key
        record = session.get(PLURAL_OF_KIND.get(kind, ""), (namespace, name))
        return getattr(record, "state", "") or self.job_state

    def refresh_data(self) -> None:
        """Redraw from the link's last refresh (the app's tick calls this)."""
        tracking = self.host.tracking
        now = self.host.now()
        label, hint = tracking.label()
        state = Text(label)
        if hint == "error":
            state.stylize("bold red")
        self.query_one("#run-state", Static).update(state)
        progress = tracking.progress().get(self.key)
        job_state = self._job_state()
        facts = run_lines(progress, now, tracking.stall_seconds, job_state)
        self.query_one("#run-facts", Static).update(_pairs(facts))
        run = progress.run if progress is not None else None
        metric = tracking.metric
        if run is None:
            self.query_one("#run-metrics", Static).update("")
            self.query_one("#run-params", Static).update("")
            self.query_one(LinePlot).set_points([], "")
            return
        rows = metric_rows(run.metrics)
        metrics = Text("Latest metrics\n", style="bold")
        metrics.append_text(_table([("KEY", "VALUE", "STEP"), *rows]))
        self.query_one("#run-metrics", Static).update(metrics)
        params = Text("Params\n", style="bold")
        params.append_text(_table(sorted(run.params.items())) if run.params else Text("none"))
        self.query_one("#run-params", Static).update(params)
        point = run.metrics.get(metric)
        last_step = point.step if point is not None else None
        if self._plotted != (run.run_id, last_step) and not self._loading:
            self._loading = True
            self.run_worker(
                lambda: self._load(run.run_id, metric, last_step),
                thread=True,
                exclusive=True,
                group="history",
                exit_on_error=False,
            )

    def _load(self, run_id: str, metric: str, last_step: int | None) -> None:
        """Worker thread: read the plot's points and post them."""
        from console.tracking.client import TrackingError

        try:
            history = self.host.tracking.history(run_id, metric, last_step)
        except TrackingError as exc:
            self.post_message(HistoryLoaded(run_id, last_step, None, str(exc)))
            return
        except Exception as exc:  # whatever went wrong, the next refresh may load again
            error = f"cannot read the history: {type(exc).__name__}"
            self.post_message(HistoryLoaded(run_id, last_step, None, error))
            return
        points = [(float(p.step), p.value) for p in history.points]
        self.post_message(HistoryLoaded(run_id, last_step, points))

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        self._loading = False
        plot = self.query_one(LinePlot)
        metric = self.host.tracking.metric
        if message.error:
            plot.set_points([], "")
            plot.empty = f"{metric}: {message.error}"
            plot.refresh()
            return
        self._plotted = (message.run_id, message.step)
        plot.empty = f"no {metric} logged yet"
        skipped = sum(1 for _, y in message.points if y != y or y in (float("inf"), -float("inf")))
        note = f" ({skipped} non-finite left out)" if skipped else ""
        plot.set_points(message.points, f"{metric} over steps{note}")


def _pairs(lines: list[tuple[str, str]]) -> Text:
    width = max((len(label) for label, _ in lines), default=0)
    out = Text()
    for i, (label, value) in enumerate(lines):
        out.append(label.ljust(width + 2), style="bold")
        out.append(value)
        if i < len(lines) - 1:
            out.append("\n")
    return out


def _table(rows: list[tuple[str, ...]]) -> Text:
    if not rows:
        return Text()
    widths = [min(40, max(len(r[i]) for r in rows)) for i in range(len(rows[0]))]
    out = Text()
    for n, row in enumerate(rows):
        cells = [cell[:40].ljust(w) for cell, w in zip(row, widths, strict=True)]
        out.append("  ".join(cells).rstrip())
        if n < len(rows) - 1:
            out.append("\n")
    return out
