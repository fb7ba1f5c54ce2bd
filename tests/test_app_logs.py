"""Pilot tests of the log screens against the simulated cluster: a pod followed live, the
container choice, the previous container, search, filter, pause / resume, save, a dropped
stream resumed without duplicates, hostile lines."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from console.cluster.connection import connect
from console.screens.logs import LogScreen
from tests.test_app_support import command, make_app, populated, screen_text, wait_until

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


async def test_search_filter_pause_resume(tiny_sim) -> None:
    create_pod(tiny_sim, "logs-keys", annotations=FAST)
    app = make_app(tiny_sim)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_pod_logs(pilot, app, "ml/logs-keys")
        await wait_until(pilot, lambda: len(screen.buffer.lines) > 40, 20)
        # search: matches highlighted, n / N move between them, following stops
        await pilot.press("f", *"healthz", "enter")
        assert screen.search_text == "healthz" and screen.log_view.search is not None
        first = screen.log_view.current
        assert (
            first is not None
            and "healthz" in screen.log_view.rows[first - screen.log_view.base].text
        )
        assert screen.paused
        await pilot.press("N")
        assert screen.log_view.current is not None and screen.log_view.current < first
        await pilot.press("escape")  # clears the search
        assert screen.search_text == "" and screen.log_view.search is None
        # filter: regex, then inverted
        await pilot.press("slash", *"healthz", "enter")
        assert texts(screen) and all("healthz" in t for t in texts(screen))
        await pilot.press("slash", "ctrl+u", "exclamation_mark", *"healthz", "enter")
        assert texts(screen) and not any("healthz" in t for t in texts(screen))
        await pilot.press("slash", "ctrl+u", "left_parenthesis", "enter")  # a bad regex
        assert screen.buffer.line_filter.text == "!healthz"  # unchanged
        await pilot.press("escape")  # clears the filter
        assert screen.buffer.line_filter.pattern is None
        # pause: lines keep buffering and are counted; resume shows them and follows
        await pilot.press("G")
        assert not screen.paused and screen.log_view.follow
        await pilot.press("space")
        shown = len(screen.log_view.rows)
        await wait_until(pilot, lambda: screen.new_while_paused > 10, 20)
        assert len(screen.log_view.rows) == shown
        assert "PAUSED" in screen.query_one("#status").full_text
        await pilot.press("space")
        assert not screen.paused and len(screen.log_view.rows) > shown
        assert screen.log_view.follow


async def test_save_confirms_before_overwriting(tiny_sim, tmp_path: Path) -> None:
    create_pod(tiny_sim, "logs-save", annotations=FAST)
    target = tmp_path / "saved.log"
    app = make_app(tiny_sim)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_pod_logs(pilot, app, "ml/logs-save")
        await wait_until(pilot, lambda: len(screen.buffer.lines) > 20, 20)

        async def save() -> None:
            await pilot.press("ctrl+s")
            prompt = screen.query_one("#prompt")
            assert prompt.value.endswith(".log")  # a default path to confirm or edit
            prompt.value = str(target)
            await pilot.press("enter")

        await save()
        await wait_until(pilot, lambda: target.exists() and target.stat().st_size > 0)
        saved = target.read_text().splitlines()
        assert len(saved) >= 20 and re.match(r"^\d{4}-\d\d-\d\dT\S+Z ", saved[0])
        target.write_text("keep me\n")
        await save()
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog")
        await pilot.press("n")
        await pilot.pause(0.3)  # time for a write that must not come (a lower bound)
        assert target.read_text() == "keep me\n"
        await save()
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: target.read_text() != "keep me\n")


async def test_container_choice_and_previous(fresh_sim) -> None:
    two = {**FAST, "kubectl.kubernetes.io/default-container": "sidecar"}
    create_pod(fresh_sim, "logs-two", containers=("main", "sidecar"), annotations=two)
    crashy = {"sim.kmc.dev/log-kind": "training", "sim.kmc.dev/fail-after": "5"}
    create_pod(fresh_sim, "logs-crashy", annotations=crashy)
    app = make_app(fresh_sim)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_pod_logs(pilot, app, "ml/logs-two")
        await wait_until(pilot, lambda: screen.container == "sidecar" and screen.buffer.lines, 20)
        assert any("starting sidecar" in t for t in (line.text for line in screen.buffer.lines))
        await wait_until(pilot, lambda: len(screen.containers) == 2)
        await pilot.press("c")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "PickScreen")
        await pilot.press("up", "enter")
        await wait_until(pilot, lambda: screen.container == "main" and screen.buffer.lines, 20)
        assert any("starting main" in line.text for line in screen.buffer.lines)
        assert not any("starting sidecar" in line.text for line in screen.buffer.lines)
        await pilot.press("escape")
        # a crashed container: p shows the instance that died, with its traceback
        conn = connect(str(fresh_sim.kubeconfig_path), "kmc-sim")

        def restarted() -> bool:
            pod = json.loads(conn.get("/api/v1/namespaces/ml/pods/logs-crashy"))
            statuses = (pod.get("status") or {}).get("containerStatuses") or []
            return bool(statuses) and statuses[0].get("restartCount", 0) >= 1

        fresh_sim.advance(30)
        await wait_until(pilot, restarted, 20)
        screen = await open_pod_logs(pilot, app, "ml/logs-crashy", "-p")
        assert screen.previous
        await wait_until(
            pilot, lambda: screen.buffer.sources and screen.buffer.sources[0].state == "ended", 20
        )
        assert screen.buffer.sources[0].errors > 0
        await pilot.press("home", "e")
        line = screen.log_view.rows[screen.log_view.current - screen.log_view.base]
        assert line.level == "error"
        await pilot.press("p")  # back to the running instance, followed
        await wait_until(pilot, lambda: not screen.previous and screen.buffer.lines, 20)


async def test_stream_drop_reconnects_without_duplicates(fresh_sim) -> None:
    create_pod(fresh_sim, "logs-drop", annotations={**FAST, "sim.kmc.dev/log-rate": "100"})
    app = make_app(fresh_sim)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_pod_logs(pilot, app, "ml/logs-drop")
        await wait_until(pilot, lambda: len(screen.buffer.lines) > 100, 20)
        fresh_sim.faults.drop_log_streams()
        await wait_until(pilot, lambda: screen.reconnects >= 1, 20)
        count = len(screen.buffer.lines)
        await wait_until(pilot, lambda: len(screen.buffer.lines) > count + 100, 20)
        keys = [(line.ts, line.text) for line in screen.buffer.lines]
        assert len(set(keys)) == len(keys)
        assert [k[0] for k in keys] == sorted(k[0] for k in keys)
        assert any(row.level == "marker" for row in screen.log_view.rows)
        assert "reconnected" in screen.query_one("#status").full_text


async def test_hostile_lines_are_shown_as_plain_text(tiny_sim) -> None:
    create_pod(tiny_sim, "logs-hostile", annotations={"sim.kmc.dev/log-kind": "hostile"})
    app = make_app(tiny_sim)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_pod_logs(pilot, app, "ml/logs-hostile")
        await wait_until(pilot, lambda: len(screen.buffer.lines) >= 14, 30)
        all_text = "\n".join(texts(screen))
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", all_text)
        assert "[@click=app.quit]click me[/]" in all_text
        assert "[bold red]markup[/bold red]" in all_text
        assert any(t.endswith("more bytes]") for t in texts(screen))  # the 200 KB line, cut
        await pilot.press("home")

        def top_shown() -> bool:
            shown = screen_text(app).replace("\xa0", " ")
            return "[bold red]markup[/bold red]" in shown and "[/x] a closing tag" in shown

        await wait_until(pilot, top_shown)
        await pilot.press("J", "w", "t", "end", "home")
        await pilot.pause(0.2)  # time for a crash that must not come (a lower bound)
        assert app.is_running and isinstance(app.screen, LogScreen)
