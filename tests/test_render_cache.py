"""Incremental builds: unchanged inputs give the same `Row` object, a changed record or
figure rebuilds its row only, a ticking AGE rewrites only that cell."""

from __future__ import annotations

import pytest
from test_render_support import (
    NOW,
    FakeTelemetry,
    deployment,
    isvc,
    job,
    load,
    node,
    pod,
    session,
)

from console.metrics import NodeTelemetry, WorkloadTelemetry
from console.render import JOBS, NODES, PODS, SERVERS
from console.render.base import Column, Row, RowCache, RowContext, Scope
from console.render.fmt import age


def test_row_cache_tracks_widths_as_rows_change() -> None:
    columns = (Column("name", "NAME", 0, 4), Column("age", "AGE", 0, 3))
    cache = RowCache(columns)

    def row(key: str, name: str) -> Row:
        return Row(key, (name, "1s"))

    cache.begin(None)
    cache.put("a", ("a1",), row("a", "a-very-long-name"))
    cache.put("b", ("b1",), row("b", "b"))
    cache.end()
    assert cache.widths() == {"name": 16, "age": 3}
    cache.begin(None)
    assert cache.get("b", ("b1",)) is not None
    assert cache.get("a", ("a2",)) is None  # changed inputs: rebuild
    cache.put("a", ("a2",), row("a", "a"))
    cache.end()
    assert cache.widths() == {"name": 4, "age": 3}
    cache.begin(None)
    cache.get("a", ("a2",))
    cache.end()  # "b" is gone
    assert len(cache) == 1 and cache.built == 3
    same = row("a", "a")
    assert cache.with_cell("a", same, 1, "1s") is same  # nothing changed
    aged = cache.with_cell("a", same, 1, "2m")
    assert aged.cells == ("a", "2m") and cache.built == 3
    assert cache.get("a", ("a2",)) is aged
    sorted_again = cache.with_cell("a", aged, 1, "2m", {"age": 5.0})
    assert sorted_again.sort_values == {"age": 5.0} and sorted_again.cells == aged.cells


def test_row_cache_context_change_drops_everything_and_caps_widths() -> None:
    cache = RowCache((Column("name", "NAME", 0, 4),), cap=10)
    cache.begin("a")
    cache.put("x", (1,), Row("x", ("y" * 100,)))
    cache.end()
    assert cache.widths() == {"name": 10}
    cache.begin("b")
    assert cache.get("x", (1,)) is None and len(cache) == 0
    assert cache.widths() == {"name": 4}


@pytest.mark.parametrize("minutes", [30, 300])
def test_old_ages_change_at_most_once_a_minute(minutes: int) -> None:
    """A 2 s tick rewrites an AGE cell only when its text changes (from 10 minutes on, at
    most once a minute)."""
    texts = {age(minutes * 60 + s) for s in range(0, 60, 2)}
    assert len(texts) <= 2


def test_nodes_rebuild_only_what_changed() -> None:
    s = session(("nodes", node("gpu-0")), ("nodes", node("gpu-1")), ("pods", pod("a")))
    cache = RowCache(NODES.columns)
    figures = {"gpu-0": NodeTelemetry("gpu-0", 8, 10.0, 10.0, None, None, None)}
    telemetry = FakeTelemetry(figures)
    first = {r.key: r for r in NODES.build(s, RowContext(NOW, telemetry=telemetry), cache)}
    assert cache.built == 2
    again = {r.key: r for r in NODES.build(s, RowContext(NOW, telemetry=telemetry), cache)}
    assert all(again[k] is first[k] for k in first) and cache.built == 2
    load(s, ("pods", pod("b", node="gpu-1")))  # the ledger's usage of gpu-1 changes
    figures["gpu-0"] = NodeTelemetry("gpu-0", 8, 90.0, 90.0, None, None, None)  # a new sample
    rows = {r.key: r for r in NODES.build(s, RowContext(NOW, telemetry=telemetry), cache)}
    assert cache.built == 4 and rows["gpu-1"].cells[5].startswith("    1/8")
    assert rows["gpu-0"].cells[7] == " 90%"
    load(s, ("nodes", node("gpu-1", spec={"unschedulable": True})))
    rows2 = {r.key: r for r in NODES.build(s, RowContext(NOW, telemetry=telemetry), cache)}
    assert cache.built == 5 and rows2["gpu-0"] is rows["gpu-0"]
    assert rows2["gpu-1"].hint == "warn"
    load(s, ("nodes", node("gpu-1")), change="DELETED")
    assert [r.key for r in NODES.build(s, RowContext(NOW), cache)] == ["gpu-0"]


def test_age_tick_rewrites_only_the_age_cell() -> None:
    s = session(("nodes", node("gpu-0")), ("pods", pod("a")))
    for view in (NODES, PODS):
        cache = RowCache(view.columns)
        (before,) = view.build(s, RowContext(NOW), cache)
        (later,) = view.build(s, RowContext(NOW + 3600), cache)
        assert cache.built == 1 and later is not before
        age = [c.key for c in view.columns].index("age")
        assert later.cells[age] != before.cells[age]
        assert later.cells[:age] == before.cells[:age] and later.hint == before.hint
        assert later.cells[age + 1 :] == before.cells[age + 1 :]
        assert later.sort_values == before.sort_values  # steady: no resort needed
        assert later.record is before.record and later.styles == before.styles
        (same,) = view.build(s, RowContext(NOW + 3600), cache)
        assert same is later


def test_pods_rebuild_a_changed_record_only_and_follow_the_scope() -> None:
    s = session(("nodes", node("gpu-0")), ("pods", pod("a")), ("pods", pod("b")))
    cache = RowCache(PODS.columns)
    first = {r.key: r for r in PODS.build(s, RowContext(NOW), cache)}
    load(s, ("pods", pod("b", metadata={"labels": {"touched": "yes"}})))
    rows = {r.key: r for r in PODS.build(s, RowContext(NOW), cache)}
    assert rows["ml/a"] is first["ml/a"] and rows["ml/b"] is not first["ml/b"]
    assert rows["ml/b"].labels == {"touched": "yes"} and cache.built == 3
    scoped = PODS.build(s, RowContext(NOW, scope=Scope("t", node="gpu-0")), cache)
    assert len(scoped) == 2 and cache.built == 5  # a new scope: a fresh build


def test_jobs_reuse_rows_and_tick_duration() -> None:
    s = session(("pytorchjobs", job("llm")))
    cache = RowCache(JOBS.columns)
    key = ("PyTorchJob", "ml", "llm")
    figures = {key: WorkloadTelemetry(key, 8, 50.0, 0, ())}
    telemetry = FakeTelemetry(workloads=figures)
    (first,) = JOBS.build(s, RowContext(NOW, telemetry=telemetry), cache)
    (same,) = JOBS.build(s, RowContext(NOW, telemetry=telemetry), cache)
    assert same is first and cache.built == 1
    (later,) = JOBS.build(s, RowContext(NOW + 86400, telemetry=telemetry), cache)
    assert cache.built == 1 and later.cells[-2:] != first.cells[-2:]
    assert later.sort_values["duration"] == first.sort_values["duration"] + 86400
    figures[key] = WorkloadTelemetry(key, 8, 5.0, 1, ())
    (idle,) = JOBS.build(s, RowContext(NOW, telemetry=telemetry), cache)
    assert cache.built == 2 and idle.hint == "warn"


def test_servers_reuse_rows() -> None:
    s = session(("inferenceservices", isvc()), ("deployments", deployment()))
    cache = RowCache(SERVERS.columns)
    first = {r.key: r for r in SERVERS.build(s, RowContext(NOW), cache)}
    again = {r.key: r for r in SERVERS.build(s, RowContext(NOW + 1), cache)}
    assert cache.built == 2 and all(again[k] is first[k] for k in first)
    load(s, ("deployments", deployment(ready=2)))
    rows = {r.key: r for r in SERVERS.build(s, RowContext(NOW + 1), cache)}
    assert cache.built == 3 and rows["Deployment/serve/vllm"].hint is None
    assert rows["InferenceService/serve/llama"] is first["InferenceService/serve/llama"]
