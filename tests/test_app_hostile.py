"""Hostile strings from the cluster are shown as plain text in every view and the detail
screen: no markup is interpreted, no action runs, no escape byte reaches the screen."""

from __future__ import annotations

import re

import kubernetes
import pytest

from console.screens.detail import DetailScreen
from console.screens.gpus import NodeGpus
from tests.kube import api_client
from tests.test_app_support import (
    column,
    command,
    filter_,
    make_app,
    populated,
    screen_svg,
    screen_text,
    view,
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


# ------------------------------------------------- invisible characters, digits, telemetry

INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u202a-\u202e"
    "\u2028\u2029\u2060-\u2064\u2066-\u206f\ufeff]"
)
TENANT = "tenant"
BIDI_POD = "rlo-\u202egnp.exe"
REORDERING = "job \u202edeliaf\u202c ok \u2066x\u2069 zero\u200bwidth\u2028next \ufeffline"
LONG_RUN = "registry.example/img-" + "7" * 5000 + ":v1"


def _hostile_exporter(real, node: str):
    """The simulator's exporter text for `node` with hostile samples mixed in: escapes, bidi
    and markup in labels, a malformed GPU index, non-finite values."""

    def serve(name: str, *args, **kw):
        text = real(name, *args, **kw)
        if name != node or not text:
            return text
        out = []
        for line in text.split("\n"):
            if 'modelName="' in line:
                line = line.replace('modelName="', 'modelName="\x1b]52;c;QUFB\x07\u202e[/x] ')
            out.append(line)
            if line.startswith("DCGM_FI_DEV_GPU_UTIL{") and 'gpu="0"' in line:
                head = line.rsplit(" ", 1)[0]
                out.append(head.replace('gpu="0"', 'gpu="²"') + " 50")
                out.append(head.replace('gpu="0"', 'gpu="1"') + " +Inf")
                out.append(head.replace('gpu="0"', 'gpu="2"') + " NaN")
        return "\n".join(out)

    return serve


def _assert_clean_screen(app) -> None:
    _assert_safe(app)
    text = screen_text(app)
    assert not INVISIBLE.search(text), repr(INVISIBLE.search(text).group())  # type: ignore[union-attr]


async def test_invisible_characters_long_digits_and_hostile_telemetry(
    fresh_sim, monkeypatch
) -> None:
    core = kubernetes.client.CoreV1Api(api_client(fresh_sim.kubeconfig_path))
    apps = kubernetes.client.AppsV1Api(api_client(fresh_sim.kubeconfig_path))
    core.create_namespace({"metadata": {"name": TENANT}})
    gpu_node = sorted(fresh_sim.call(fresh_sim.telemetry.gpu_nodes))[0]
    pod = core.create_namespaced_pod(
        TENANT,
        {
            "metadata": {"name": BIDI_POD, "labels": {"team": "a\u200bb\u2066c"}},
            "spec": {"containers": [{"name": "c", "image": LONG_RUN,
                                     "resources": {"limits": {"nvidia.com/gpu": "1"}}}]},
        },
    )  # fmt: skip
    core.create_namespaced_event(
        TENANT,
        {
            "metadata": {"name": "reorder"},
            "involvedObject": {"kind": "Pod", "name": BIDI_POD, "namespace": TENANT,
                               "uid": pod.metadata.uid},
            "reason": "Evil\u202e", "message": REORDERING, "type": "Warning",
        },
    )  # fmt: skip
    apps.create_namespaced_deployment(
        TENANT,
        {
            "metadata": {"name": "digits"},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "digits"}},
                "template": {
                    "metadata": {"labels": {"app": "digits"}},
                    "spec": {"containers": [{"name": "c", "image": LONG_RUN,
                                             "resources": {"limits": {"nvidia.com/gpu": "1"}}}]},
                },
            },
        },
    )  # fmt: skip
    # a tenant's pod labelled like the DCGM exporter, on a GPU node: never trusted
    core.create_namespaced_pod(
        TENANT,
        {
            "metadata": {"name": "dcgm-spoof", "labels": {"app": "nvidia-dcgm-exporter"}},
            "spec": {"nodeName": gpu_node, "containers": [{"name": "x", "image": "evil"}]},
        },
    )
    monkeypatch.setattr(
        fresh_sim.telemetry,
        "node_metrics",
        _hostile_exporter(fresh_sim.telemetry.node_metrics, gpu_node),
    )
    fresh_sim.advance(10)

    app = make_app(fresh_sim, telemetry_source="dcgm")
    async with app.run_test(size=(160, 48)) as pilot:
        await command(pilot, "pods")
        await populated(pilot, app, "pods")
        await wait_until(pilot, lambda: "rlo-gnp.exe" in column(app, "name"))
        for name in ("pods", "nodes", "jobs", "servers"):
            await command(pilot, name)
            await populated(pilot, app, name)
            for _ in view(app).table.visible_columns:  # every column's sort, both ways
                await pilot.press("greater_than_sign")
                await pilot.press("R")
            await pilot.pause(0.1)
            _assert_clean_screen(app)
        await wait_until(pilot, lambda: any(n == "digits" for n in column(app, "name")))
        await filter_(pilot, "7777")  # a regex over a capped 5,000-digit cell
        _assert_clean_screen(app)

        await wait_until(pilot, lambda: app.telemetry.has_data(), 30)
        status = app.telemetry.status()
        assert any(f"{TENANT}/dcgm-spoof" in note for note in status.notes)
        assert any("dropped 3 bad sample(s)" in note for note in status.notes)

        await command(pilot, "nodes")
        await populated(pilot, app, "nodes")
        view(app).table.move_to_key(gpu_node)
        await pilot.press("g")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        gpus = app.screen.query_one(NodeGpus)
        await wait_until(pilot, lambda: gpus.table.row_count > 0, 30)
        _assert_clean_screen(app)
        summary = str(app.screen.query_one("#gpu-summary").render())
        assert "GPUs [/x] NVIDIA" in summary  # the model label, escape and override gone
        assert [r.index for r in app.telemetry.store.gpu_rows(gpu_node)][:3] == [0, 1, 2]
        await pilot.press("escape")

        await command(pilot, "pods")
        await populated(pilot, app, "pods")
        await filter_(pilot, "rlo")
        assert column(app, "name") == ["rlo-gnp.exe"]
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("e")
        detail = app.screen
        await wait_until(pilot, lambda: bool(detail.events))
        messages = [row.cells[5] for row in detail.query_one("#events-table").rows]
        assert "job deliaf ok x zerowidth next line" in messages
        _assert_clean_screen(app)
