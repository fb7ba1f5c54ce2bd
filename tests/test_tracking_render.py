"""The training-progress cells and the braille plot, as plain text (no app)."""

from __future__ import annotations

import math

from console.render.training import metric_value, progress_cells, rate, step_count
from console.tracking.client import MetricPoint, RunFacts
from console.tracking.progress import FOUND, JobProgress
from widgets.line_plot import braille_lines


def _progress(last: float, step: int = 120, value: float = 0.5) -> JobProgress:
    point = MetricPoint(value, step, last)
    run = RunFacts("r1", "run", "1", "RUNNING", False, last - 600, None, metrics={"loss": point})
    return JobProgress("r1", "tag", FOUND, run, point, 12.5, last)


def test_metric_values() -> None:
    assert metric_value(0.123456) == ("0.1235", None)
    assert metric_value(math.nan) == ("NaN", "bad")
    assert metric_value(-math.inf) == ("-Inf", "bad")
    assert step_count(2_500_000) == "2.5M" and step_count(999_999) == "999999"
    assert rate(7.25) == "7.2" and rate(312.4) == "312" and rate(math.inf) == ""


def test_cells_live_stalled_down() -> None:
    live = _progress(last=1000.0)
    cells, hints, stalled = progress_cells(live, "Running", 1030.0, 300)
    assert cells == ("0.5", "120", "12", "30s") and not stalled and hints[3] is None
    cells, hints, stalled = progress_cells(live, "Running", 1400.0, 300)
    assert stalled and cells[2:] == ("0.0", "stalled") and hints[3] == "bad"
    cells, hints, stalled = progress_cells(live, "Succeeded", 1400.0, 300)
    assert not stalled and cells[3] == "6m40s"
    cells, hints, _ = progress_cells(live, "Running", 1030.0, 300, down="timed out")
    assert cells[:2] == ("0.5", "120") and cells[3] == "down" and hints[3] == "bad"
    assert progress_cells(None, "Running", 0, 300)[0] == ("", "", "", "")
    assert progress_cells(None, "Running", 0, 300, down="timed out")[0][3] == "down"


def test_braille_plot() -> None:
    blank = "\u2800"  # the empty braille cell: every cell of the plot is one glyph wide
    lines = braille_lines([(0, 0), (1, 1), (2, math.nan), (3, math.inf)], 4, 2)
    assert len(lines) == 2 and all(len(line) == 4 for line in lines)
    assert lines[1][0] != blank and lines[0][-1] != blank  # from bottom left to top right
    assert lines[0][0] == blank and lines[1][-1] == blank
    assert braille_lines([], 4, 2) == [blank * 4, blank * 4]
    flat = braille_lines([(0, 5.0), (10, 5.0)], 3, 1)
    assert all(cell != blank for cell in flat[0])
