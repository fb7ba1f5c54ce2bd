"""Running one headless command: load once, build the view's rows (or evaluate triage once),
print them, return the exit code. No Textual.

`kmc triage -o json` prints `Report.to_json()` exactly; the other commands' JSON is
`console.headless.output.rows_json`. Notes (kinds not installed or forbidden, telemetry or
MLflow unavailable) go to stderr, so stdout stays the table or the JSON.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any

from console.headless.load import Loaded, LoadError, load
from console.headless.output import (
    columns_for,
    dumps,
    paint,
    rows_json,
    sorted_rows,
    table_lines,
    use_color,
)
from console.triage.model import Report

FAILURE_EXIT = 3


def _err(line: str) -> None:
    sys.stderr.write(f"kmc: {line}\n")


def run(command: str, output: str, layer: Mapping[str, object]) -> int:
    """Run `command` (`nodes`, …, `triage`) printing `output` (`table|wide|json`)."""
    try:
        loaded = load(
            layer,
            command,
            focus_all=command in ("gpus", "triage"),
            tracking=command in ("triage", "jobs"),
        )
    except LoadError as exc:
        _err(" ".join(str(exc).split()))
        return FAILURE_EXIT
    try:
        if command == "triage":
            return triage(loaded, output, sys.stdout)
        return _view(loaded, command, output, sys.stdout)
    except BrokenPipeError:  # `kmc nodes | head -1`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    finally:
        loaded.close()


def _notes(loaded: Loaded) -> None:
    for note in loaded.notes:
        _err(" ".join(note.split()))


def _view(loaded: Loaded, command: str, output: str, out: IO[str]) -> int:
    from console.render import VIEWS
    from console.render.base import RowCache, RowContext

    if command == "gpus":
        from console.headless.gpus import GPUS as view
    else:
        view = VIEWS[command]
    telemetry_on = loaded.settings.telemetry_source != "none"
    context = RowContext(
        now=time.time(),
        namespace=loaded.namespace,
        telemetry=loaded.telemetry if telemetry_on else None,
        tracking=loaded.tracking,
    )
    rows = view.build(loaded.session, context, RowCache(view.columns))
    if command != "gpus":
        rows = sorted_rows(view, rows)
    _notes(loaded)
    if output == "json":
        data = rows_json(view, rows, loaded.context, loaded.namespace, loaded.notes)
        out.write(dumps(data) + "\n")
        return 0
    if not rows:
        where = f" in namespace {loaded.namespace}" if loaded.namespace else ""
        sys.stderr.write(f"No {view.title.lower()} found{where}.\n")
        return 0
    columns = columns_for(view, output == "wide", telemetry_on, loaded.tracking is not None)
    color = use_color(out, loaded.settings.no_color)
    out.write("\n".join(table_lines(view, columns, rows, color)) + "\n")
    return 0


def triage(loaded: Loaded, output: str, out: IO[str], rules: Sequence[Any] | None = None) -> int:
    """Evaluate the rules (all of them unless `rules`) once, print, return the exit code."""
    from console.render.triage import TRIAGE, triage_rows
    from console.triage.engine import Thresholds, Triage

    live = not loaded.telemetry_source.startswith("none")
    report = Triage(Thresholds.from_settings(loaded.settings), rules).evaluate(
        loaded.session,
        store=loaded.store if live else None,
        telemetry=loaded.telemetry_source,
        progress=loaded.progress(),
        namespace=loaded.namespace,
        context=loaded.context,
    )
    sources = {"cluster": "live", **report.sources}
    link = loaded.tracking
    if link is not None:
        status = link.status()
        sources["tracking"] = (
            f"mlflow {status.uri}" if status.state == "live" else f"none: {status.error}"
        )
    report = dataclasses.replace(
        report,
        sources=sources,
        notes=tuple(dict.fromkeys((*report.notes, *loaded.notes))),
    )
    for note in report.notes:
        _err(" ".join(note.split()))
    if output == "json":
        out.write(dumps(report.to_json()) + "\n")
        return report.exit_code
    color = use_color(out, loaded.settings.no_color)
    rows = triage_rows(report, report.generated)
    if rows:
        columns = columns_for(TRIAGE, output == "wide")
        out.write("\n".join(table_lines(TRIAGE, columns, rows, color)) + "\n\n")
    else:
        out.write("No findings.\n")
    out.write(summary_line(report, color) + "\n")
    return report.exit_code


def summary_line(report: Report, color: bool = False) -> str:
    """`2 critical, 1 warning, 0 info · idle GPU-hours: ml-research 12.5, serving 1`."""
    counts = report.counts()
    parts = [paint(f"{n} {sev}", sev if n else None, color) for sev, n in counts.items()]
    line = ", ".join(parts)
    idle = dict(sorted(report.idle_gpu_hours.items()))
    if idle:
        line += " · idle GPU-hours: " + ", ".join(f"{ns or '-'} {h:g}" for ns, h in idle.items())
    return line
