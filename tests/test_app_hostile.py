"""Hostile strings from the cluster are shown as plain text in every view and the detail
screen: no markup is interpreted, no action runs, no escape byte reaches the screen."""

from __future__ import annotations

import kubernetes
import pytest

from console.screens.detail import DetailScreen
from tests.kube import api_client
from tests.test_app_support import (
    column,
    command,
    filter_,
    make_app,
    populated,
    screen_svg,
    screen_text,
    wait_until,
)

MARKUP = ("[/x]", "[@click=app.quit]", "[link=http://e]x[/link]")
ESCAPES = ("\x1b]52;c;QUFB\x07", "\x1b[2J")
HOSTILE = " ".join(MARKUP + ESCAPES)
NAMESPACE = "hostile"
PODS = ("evil-[/x]", "evil-[@click=app.quit]")


@pytest.fixture(scope="module")
def hostile_sim(tiny_sim):
    """The shared tiny sim plus pods, a node label and an event carrying hostile strings."""
    core = kubernetes.client.CoreV1Api(api_client(tiny_sim.kubeconfig_path))
    try:
        core.create_namespace({"metadata": {"name": NAMESPACE}})
    except kubernetes.client.ApiException as exc:
        if exc.status != 409:
            raise
    uids = {}
    for name in PODS:
        uids[name] = core.create_namespaced_pod(
            NAMESPACE,
            {
                "metadata": {
                    "name": name,
                    "labels": {"evil": HOSTILE},
                    "annotations": {"a": HOSTILE},
                },
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": HOSTILE,
                            "resources": {"limits": {"nvidia.com/gpu": "1"}},
                        }
                    ]
                },
            },
        ).metadata.uid
    node = next(n for n in core.list_node().items if "l4" in n.metadata.name)
    core.patch_node(node.metadata.name, {"metadata": {"labels": {"evil": HOSTILE}}})
    core.create_namespaced_event(
        NAMESPACE,
        {
            "metadata": {"name": "evil-event"},
            "involvedObject": {
                "kind": "Pod",
                "name": PODS[1],
                "namespace": NAMESPACE,
                "uid": uids[PODS[1]],
            },
            "reason": "Evil",
            "message": HOSTILE,
            "type": "Warning",
        },
    )
    yield tiny_sim
    core.patch_node(node.metadata.name, {"metadata": {"labels": {"evil": None}}})
    for name in PODS:  # best effort: a "/" in a name defeats the client's URL building
        try:
            core.delete_namespaced_pod(name, NAMESPACE, grace_period_seconds=0)
        except kubernetes.client.ApiException:
            pass


def _assert_safe(app) -> None:
    assert app.is_running and app.return_code is None, "the app quit or crashed"
    svg = screen_svg(app)
    assert "\x1b" not in svg and "\x07" not in svg


async def test_hostile_strings_in_views_and_detail(hostile_sim) -> None:
    app = make_app(hostile_sim)
    async with app.run_test(size=(200, 50)) as pilot:
        await command(pilot, "pods")
        await populated(pilot, app, "pods")
        await wait_until(pilot, lambda: set(PODS) <= set(column(app, "name")))
        text = screen_text(app)
        for name in PODS:
            assert name in text  # literally, brackets and all
        _assert_safe(app)

        await filter_(pilot, "-l evil")  # label selector on a hostile label value
        assert sorted(column(app, "name")) == sorted(PODS)
        await filter_(pilot, "click=app")  # regex over the visible cells
        assert column(app, "name") == [PODS[1]]

        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        detail = app.screen
        body = detail.query_one("#describe-body").text
        assert "[link=http://e]x[/link]" in body and "[@click=app.quit]" in body
        assert "\x1b" not in body
        await pilot.press("y")
        await wait_until(pilot, lambda: detail.yaml_text is not None)
        assert "\x1b" not in detail.yaml_text and "\x07" not in detail.yaml_text
        _assert_safe(app)
        await pilot.press("e")
        await wait_until(pilot, lambda: bool(detail.events))
        table = detail.query_one("#events-table")
        messages = [row.cells[5] for row in table.rows]
        assert any("[/x] [@click=app.quit]" in m for m in messages)
        assert not any("\x1b" in m for m in messages)
        await pilot.click("#events-table", offset=(60, 1))  # a click on the text runs nothing
        _assert_safe(app)
        await pilot.press("escape")

        for name in ("nodes", "jobs", "servers"):
            await command(pilot, name)
            await populated(pilot, app, name)
            _assert_safe(app)
        await command(pilot, "nodes")
        await populated(pilot, app, "nodes")
        await filter_(pilot, "-l evil")
        assert len(column(app, "name")) == 1
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        body = app.screen.query_one("#describe-body").text
        assert "evil=[/x] [@click=app.quit] [link=http://e]x[/link]" in body
        _assert_safe(app)
