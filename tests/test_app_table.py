"""The virtual table inside the console, against the simulated cluster: the cursor follows its
object while watch events add and remove rows above it; filter, sort and refresh combine;
columns drop by priority at 80×24."""

from __future__ import annotations

from typing import Any

from console.cluster.connection import connect
from tests.test_app_support import column, command, filter_, make_app, populated, view, wait_until

GPU = {"nvidia.com/gpu": "1"}


def _pod(name: str, namespace: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {"containers": [{"name": "c", "image": "x", "resources": {"limits": GPU}}]},
    }


async def test_cursor_stays_on_its_pod_while_rows_above_come_and_go(fresh_sim) -> None:
    admin = connect(str(fresh_sim.kubeconfig_path), "kmc-sim")
    path = "/api/v1/namespaces/default/pods"
    for name in ("tbl-m", "tbl-p", "tbl-t"):
        admin.request("POST", path, body=_pod(name, "default"))
    app = make_app(fresh_sim, namespace="default")
    async with app.run_test(size=(120, 30)) as pilot:
        await command(pilot, "pods")
        await wait_until(pilot, lambda: {"tbl-m", "tbl-p", "tbl-t"} <= set(column(app, "name")))
        table = view(app).table
        assert table.move_to_key("default/tbl-p")
        index = table.cursor_row
        for name in ("tbl-a", "tbl-b"):  # sort before the cursor's pod (NAME ↑)
            admin.request("POST", path, body=_pod(name, "default"))
        await wait_until(pilot, lambda: "tbl-b" in column(app, "name"))
        assert table.current_row_key == "default/tbl-p"
        assert table.cursor_row == index + 2
        admin.request("DELETE", f"{path}/tbl-a")
        admin.request("DELETE", f"{path}/tbl-m")
        await wait_until(pilot, lambda: "tbl-m" not in column(app, "name"))
        assert table.current_row_key == "default/tbl-p"
        assert table.cursor_row == index
        # the cursor's own pod goes: the cursor keeps its place on the rows that remain
        admin.request("DELETE", f"{path}/tbl-p")
        await wait_until(pilot, lambda: "tbl-p" not in column(app, "name"))
        assert table.current_row_key is not None and table.cursor_row <= index


async def test_filter_and_sort_hold_across_refreshes(fresh_sim) -> None:
    admin = connect(str(fresh_sim.kubeconfig_path), "kmc-sim")
    path = "/api/v1/namespaces/default/pods"
    for name in ("fs-b", "fs-a", "other-c"):
        admin.request("POST", path, body=_pod(name, "default"))
    app = make_app(fresh_sim, namespace="default")
    async with app.run_test(size=(120, 30)) as pilot:
        await command(pilot, "pods")
        await wait_until(pilot, lambda: "other-c" in column(app, "name"))
        await filter_(pilot, "fs-")
        await wait_until(pilot, lambda: column(app, "name") == ["fs-a", "fs-b"])
        await pilot.press("R")  # reverse: NAME ↓
        await wait_until(pilot, lambda: column(app, "name") == ["fs-b", "fs-a"])
        # watch events: a pod that matches joins in its sorted place, one that doesn't stays out
        admin.request("POST", path, body=_pod("fs-c", "default"))
        admin.request("POST", path, body=_pod("zz-other", "default"))
        await wait_until(pilot, lambda: column(app, "name") == ["fs-c", "fs-b", "fs-a"])
        screen = view(app)
        assert screen.filter_text == "fs-" and screen.sort == ("name", True)
        assert "zz-other" not in column(app, "name")
        await pilot.press("escape")  # clears the filter, keeps the sort
        await wait_until(pilot, lambda: "zz-other" in column(app, "name"))
        names = column(app, "name")
        assert names == sorted(names, reverse=True)


async def test_columns_drop_by_priority_at_80x24(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=(80, 24)) as pilot:
        await populated(pilot, app, "nodes")
        narrow = [c.key for c in view(app).table.visible_columns]
    app = make_app(tiny_sim)
    async with app.run_test(size=(200, 40)) as pilot:
        await populated(pilot, app, "nodes")
        wide = [c.key for c in view(app).table.visible_columns]
    assert {"name", "status", "alloc"} <= set(narrow)  # priority 0: never dropped
    assert len(narrow) < len(wide) and set(narrow) < set(wide)
    assert "taints" in wide and "taints" not in narrow  # the least important goes first
    assert narrow == [k for k in wide if k in narrow]  # order kept
