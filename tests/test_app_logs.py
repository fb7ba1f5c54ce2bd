"""Pilot tests of the log screens against the simulated cluster: a pod followed live, the
container choice, the previous container, search, filter, pause / resume, save, a dropped
stream resumed without duplicates, hostile lines."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from console.cluster.connection import connect
from console.screens.logs import LogScreen
from tests.test_app_support import command, make_app, populated, wait_until

pytestmark = pytest.mark.asyncio

FAST = {"sim.kmc.dev/log-kind": "generic", "sim.kmc.dev/log-rate": "20"}
"""A pod that writes 20 lines a second once started."""


def create_pod(sim: Any, name: str, *, containers=("app",), annotations=None, ns="ml") -> None:
    """A bare pod through the real API (the sim's scheduler and kubelet start it)."""
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}},
        "spec": {
            "containers": [
                {"name": c, "image": "busybox", "resources": {"requests": {"cpu": "10m"}}}
                for c in containers
            ]
        },
    }
    conn = connect(str(sim.kubeconfig_path), "kmc-sim")
    conn.request("POST", f"/api/v1/namespaces/{ns}/pods", body=body)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pod = json.loads(conn.get(f"/api/v1/namespaces/{ns}/pods/{name}"))
        if (pod.get("status") or {}).get("phase") == "Running":
            return
        time.sleep(0.1)
    raise AssertionError(f"pod {name} did not start")


def logs(app) -> LogScreen:
    screen = app.screen
    assert isinstance(screen, LogScreen), f"not a log screen: {screen!r}"
    return screen


def texts(screen: LogScreen) -> list[str]:
    return [line.text for line in screen.log_view.rows]


async def open_pod_logs(pilot, app, pod: str, *extra: str) -> LogScreen:
    await populated(pilot, app)
    await command(pilot, " ".join(("logs", pod, *extra)))
    await wait_until(pilot, lambda: isinstance(app.screen, LogScreen))
    return logs(app)


async def test_single_pod_follow(tiny_sim) -> None:
    create_pod(tiny_sim, "logs-follow", annotations=FAST)
    app = make_app(tiny_sim, log_line_cap=5_000)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_pod_logs(pilot, app, "ml/logs-follow")
        await wait_until(pilot, lambda: len(screen.buffer.lines) > 0, 20)
        first = len(screen.buffer.lines)
        # serving pods write a few lines a second: following shows new ones arrive
        await wait_until(pilot, lambda: len(screen.buffer.lines) > first + 3, 20)
        assert screen.log_view.follow
        assert screen.buffer.sources[0].state in ("live", "reconnected")
        stamps = [line.ts for line in screen.buffer.lines]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, LogScreen))
