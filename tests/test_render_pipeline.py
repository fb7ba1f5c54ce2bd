"""The refresh pipeline's worker: what it builds, when, and what it answers without building.

A fake view (its build counts calls, can be slowed or made to fail) stands in for the real
ones so the pipeline's own rules are what is tested; the real views are tested in
`test_render_views.py` and through the app in `test_app_*`.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import pytest

from console.render.base import Column, Row, RowCache, View
from console.render.pipeline import RefreshPipeline, ViewRequest, ViewResult

COLUMNS = (Column("name", "NAME", 0, 4), Column("gpus", "GPUS", 1, 4, "right", "number"))


class FakeView:
    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.builds = 0
        self.delay = 0.0
        self.fail = False
        self.lock = threading.Lock()

    def build(self, _session: Any, _ctx: Any, cache: RowCache) -> list[Row]:
        with self.lock:
            self.builds += 1
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            raise ValueError("a bad record")
        return [Row(n, (n, str(len(n)))) for n in self.names]

    def view(self) -> View:
        return View("fake", "Fake", COLUMNS, self.build, lambda _r: None, lambda _r: "fake")


class FakeSession:
    def state(self, _kind: str) -> Any:
        return type("S", (), {"state": "live"})()

    def notes(self, _view: str) -> list[str]:
        return []


def make(names: list[str], **kw: Any) -> tuple[RefreshPipeline, FakeView, queue.Queue[ViewResult]]:
    fake = FakeView(names)
    results: queue.Queue[ViewResult] = queue.Queue()
    pipeline = RefreshPipeline(
        FakeSession(), None, results.put, views={"fake": fake.view()}, **kw
    ).start()
    return pipeline, fake, results


def take(results: queue.Queue[ViewResult], pipeline: RefreshPipeline) -> ViewResult:
    result = results.get(timeout=10)
    pipeline.ack(result.serial)
    return result


@pytest.fixture
def names() -> list[str]:
    return ["node-10", "node-2", "gpu-a", "gpu-bb"]


def test_nothing_is_built_until_a_table_is_shown(names) -> None:
    pipeline, fake, results = make(names)
    try:
        pipeline.mark_dirty()
        time.sleep(0.2)  # time for a build that must not come (a lower bound: no flake)
        assert fake.builds == 0 and results.empty()
        pipeline.show(ViewRequest("fake"))
        result = take(results, pipeline)
        assert [r.key for r in result.rows] == ["gpu-a", "gpu-bb", "node-2", "node-10"]
        assert result.index == {"gpu-a": 0, "gpu-bb": 1, "node-2": 2, "node-10": 3}
        assert result.total == 4 and fake.builds == 1
    finally:
        pipeline.stop()


def test_filter_and_sort_are_answered_from_the_built_rows(names) -> None:
    pipeline, fake, results = make(names, min_interval=3600, tick=3600)
    try:
        pipeline.show(ViewRequest("fake"))
        take(results, pipeline)
        pipeline.show(ViewRequest("fake", filter_text="node"))
        assert [r.key for r in take(results, pipeline).rows] == ["node-2", "node-10"]
        pipeline.show(ViewRequest("fake", filter_text="node-1"))  # narrows the last result
        assert [r.key for r in take(results, pipeline).rows] == ["node-10"]
        pipeline.show(ViewRequest("fake", filter_text="!node"))
        assert [r.key for r in take(results, pipeline).rows] == ["gpu-a", "gpu-bb"]
        pipeline.show(ViewRequest("fake", filter_text="^gpu-b$"))  # anchors hold per cell
        assert [r.key for r in take(results, pipeline).rows] == []
        pipeline.show(ViewRequest("fake", filter_text="^gpu-bb$"))
        assert [r.key for r in take(results, pipeline).rows] == ["gpu-bb"]
        result_sorted = ViewRequest("fake", sort=("gpus", True))
        pipeline.show(result_sorted)
        result = take(results, pipeline)
        assert [r.cells[1] for r in result.rows] == ["7", "6", "6", "5"]
        pipeline.show(ViewRequest("fake", filter_text="(", sort=("gpus", True)))
        result = take(results, pipeline)
        assert result.literal and result.rows == []
        assert fake.builds == 1  # never rebuilt: nothing changed
    finally:
        pipeline.stop()


def test_data_changes_rebuild_paced_by_the_build_cost(names) -> None:
    pipeline, fake, results = make(names, min_interval=0.05, duty=0.5)
    try:
        fake.delay = 0.2  # each build costs 0.2 s: the next may start 0.4 s after it ended
        pipeline.show(ViewRequest("fake"))
        take(results, pipeline)
        ended = time.monotonic()
        pipeline.mark_dirty()
        take(results, pipeline)
        assert time.monotonic() - ended >= 0.4 + 0.2 - 0.05  # waited, then built 0.2 s
        assert fake.builds == 2
    finally:
        pipeline.stop()


def test_no_second_result_until_the_first_is_acknowledged(names) -> None:
    pipeline, fake, results = make(names, min_interval=0.01, duty=1.0)
    try:
        pipeline.show(ViewRequest("fake"))
        first = results.get(timeout=10)
        pipeline.mark_dirty()
        time.sleep(0.3)  # time for a second result that must not come (a lower bound: no flake)
        assert results.empty() and fake.builds == 1  # the UI has not shown the first yet
        pipeline.ack(first.serial)
        assert take(results, pipeline).serial == first.serial + 1
    finally:
        pipeline.stop()


def test_a_failing_build_does_not_end_the_pipeline(names) -> None:
    pipeline, fake, results = make(names, min_interval=0.01, tick=0.5)
    try:
        fake.fail = True
        pipeline.show(ViewRequest("fake"))
        result = take(results, pipeline)
        assert result.rows == [] and result.notes == ("cannot build this view: ValueError",)
        fake.fail = False
        pipeline.show(ViewRequest("fake", namespace="other"))  # a new base: built at once
        assert len(take(results, pipeline).rows) == 4
    finally:
        pipeline.stop()
