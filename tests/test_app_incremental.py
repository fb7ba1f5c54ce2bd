"""Incremental refreshes: a refresh rebuilds only the rows whose records changed, ages tick
without rebuilding, and typing a filter is debounced and filters the rows already built."""

from __future__ import annotations

from typing import Any

import pytest

from console.cluster.connection import connect
from console.screens import resource, views
from tests.test_app_support import (
    column,
    command,
    make_app,
    populated,
    table_rows,
    view,
    wait_until,
)

SIZE = (160, 48)
GPU = {"nvidia.com/gpu": "1"}
NAMES = ("inc-a", "inc-b", "inc-c")


async def test_one_pod_change_rebuilds_only_its_row(fresh_sim, monkeypatch) -> None:
    admin = connect(str(fresh_sim.kubeconfig_path), "kmc-sim")
    for name in NAMES:
        pod = {
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "x", "resources": {"limits": GPU}}]},
        }
        admin.request("POST", "/api/v1/namespaces/default/pods", body=pod)
    fresh_sim.advance(60, step=30)
    built: list[str] = []
    real = views._pod_item

    def counting(pod: Any, ctx: Any) -> views.Item:
        built.append(f"{pod.namespace}/{pod.name}")
        return real(pod, ctx)

    monkeypatch.setattr(views, "_pod_item", counting)
    app = make_app(fresh_sim, namespace="default")
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await command(pilot, "pods")

        await wait_until(pilot, lambda: set(NAMES) <= set(column(app, "name")))
        for _ in range(100):  # until the pods stopped changing (scheduled, started)
            built.clear()
            await pilot.pause(0.3)
            if not built:
                break
        screen = view(app)
        shown = len(screen.items)
        assert shown >= len(NAMES)
        built.clear()
        screen.refresh_data()
        assert built == []  # nothing changed: every row reused

        patch = {"metadata": {"labels": {"touched": "yes"}}}
        headers = {"Content-Type": "application/strategic-merge-patch+json"}
        path = "/api/v1/namespaces/default/pods/inc-b"
        admin.request("PATCH", path, body=patch, headers=headers)

        def relabelled() -> bool:
            item = next(i for i in view(app).items if i.key == "default/inc-b")
            return item.labels.get("touched") == "yes"

        await wait_until(pilot, relabelled)
        assert set(built) == {"default/inc-b"}
        built.clear()
        screen.refresh_data()
        assert built == [] and len(screen.items) == shown


async def test_filter_typing_is_debounced_and_does_not_rebuild(tiny_sim, monkeypatch) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        screen = view(app)
        builds = 0
        real = screen.refresh_data

        def counting() -> None:
            nonlocal builds
            builds += 1
            real()

        monkeypatch.setattr(screen, "refresh_data", counting)
        applied: list[str] = []
        real_set = screen.set_filter

        def recording(text: str) -> None:
            before = builds
            applied.append(text)
            real_set(text)
            assert builds == before  # filtered the rows already built

        monkeypatch.setattr(screen, "set_filter", recording)
        assert resource.FILTER_DEBOUNCE <= 0.1
        monkeypatch.setattr(resource, "FILTER_DEBOUNCE", 1.0)  # slow enough for a loaded CI
        await pilot.press("slash", "l", "4")
        assert applied == [] and len(table_rows(app)) == 2  # not yet: within the debounce
        await wait_until(pilot, lambda: len(table_rows(app)) == 1)
        assert applied == ["l4"]  # once, after the last key, with the whole text
        assert "l4" in column(app, "name")[0]
        await pilot.press("escape")
        assert len(table_rows(app)) == 2


def test_item_cache_tracks_widths_as_items_change() -> None:
    columns = (views.Column("name", "NAME", 0, 4), views.Column("age", "AGE", 0, 3))
    cache = views.ItemCache(columns)

    def item(key: str, name: str) -> views.Item:
        return views.Item(key, (name, "1s"), None, {}, None)

    cache.begin(None)
    cache.put("a", ("a1",), item("a", "a-very-long-name"))
    cache.put("b", ("b1",), item("b", "b"))
    cache.end()
    assert cache.widths() == {"name": 16, "age": 3}
    cache.begin(None)
    assert cache.get("b", ("b1",)) is not None
    assert cache.get("a", ("a2",)) is None  # changed inputs: rebuild
    cache.put("a", ("a2",), item("a", "a"))
    cache.end()
    assert cache.widths() == {"name": 4, "age": 3}
    cache.begin(None)
    cache.get("a", ("a2",))
    cache.end()  # "b" is gone
    assert len(cache) == 1 and cache.built == 3
    aged = cache.with_cell("a", item("a", "a"), 1, "2m")
    assert aged.cells == ("a", "2m") and cache.built == 3


@pytest.mark.parametrize("minutes", [30, 300])
def test_old_ages_change_at_most_once_a_minute(minutes: int) -> None:
    """A 2 s tick rewrites an AGE cell only when its text changes (from 10 minutes on, at
    most once a minute)."""
    texts = {views.age(minutes * 60 + s) for s in range(0, 60, 2)}
    assert len(texts) <= 2
