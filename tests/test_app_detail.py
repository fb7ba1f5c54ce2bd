"""Pilot tests of the detail screen read from the keyboard over an 80×24 terminal, on a
simulated GPU node with a long YAML, a long describe (annotations) and many events:
every scrolling key moves the view, `/` searches describe and YAML with `n`/`N`, Esc
clears the search then goes back, annotations show folded like `kubectl describe`."""

from __future__ import annotations

from typing import Any

import pytest

from console.cluster.connection import connect
from console.screens.detail import DetailScreen
from console.screens.resource import ResourceScreen
from tests.test_app_support import make_app, populated, screen_text, view, wait_until
from widgets.text_view import TextView
from widgets.virtual_table import VirtualTable

SIZE = (80, 24)
EVENTS = 40
LONG_VALUE = "x" * 300  # longer than kubectl's 140: folded under its key
MULTILINE = "\n".join(f"line {i:02d} of the runbook" for i in range(30))
ANNOTATIONS = {
    "kmc.test/runbook": MULTILINE,
    "kmc.test/long": LONG_VALUE,
    "kmc.test/owner": "team-ml [/x]",  # brackets stay literal
}
DOWN_KEYS = ("down", "j", "pagedown", "space", "ctrl+d", "end", "G")
UP_KEYS = ("up", "k", "pageup", "ctrl+u", "home", "g")


@pytest.fixture(scope="module")
def detail_sim() -> Any:
    """A tiny cluster whose A100 node carries long annotations and many events."""
    from console.sim.cluster import SimCluster

    sim = SimCluster(preset="tiny", seed=13).start()
    admin = connect(str(sim.kubeconfig_path), "kmc-sim")
    nodes = [n for n in _node_names(admin) if "a100" in n]
    node = nodes[0]
    admin.request(
        "PATCH",
        f"/api/v1/nodes/{node}",
        body={"metadata": {"annotations": ANNOTATIONS}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    import orjson

    uid = orjson.loads(admin.get(f"/api/v1/nodes/{node}"))["metadata"]["uid"]
    for i in range(EVENTS):
        admin.request(
            "POST",
            "/api/v1/namespaces/default/events",
            body={
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"{node}.kmc-test-{i:02d}", "namespace": "default"},
                "involvedObject": {"kind": "Node", "name": node, "uid": uid},
                "reason": f"TestReason{i:02d}",
                "message": f"event number {i} about the node",
                "type": "Normal",
                "count": 1,
                "source": {"component": "kmc-test"},
                "lastTimestamp": "2026-01-01T00:00:00Z",
            },
        )
    admin.close()
    sim.test_node = node  # type: ignore[attr-defined]
    yield sim
    sim.stop()


def _node_names(admin: Any) -> list[str]:
    import orjson

    return [n["metadata"]["name"] for n in orjson.loads(admin.get("/api/v1/nodes"))["items"]]


async def _open(pilot: Any, app: Any, node: str, key: str) -> DetailScreen:
    await populated(pilot, app, "nodes")
    await wait_until(pilot, lambda: view(app).table.move_to_key(node))
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
    screen = app.screen
    assert isinstance(screen, DetailScreen)
    await wait_until(pilot, lambda: screen.yaml_text is not None and screen.events is not None)
    return screen


def _shown(app: Any) -> str:
    """The screen as a user reads it (the SVG's non-breaking spaces as spaces)."""
    return screen_text(app).replace("\xa0", " ")


def _text(screen: DetailScreen, tab: str) -> TextView:
    return screen.query_one(f"#{tab}-body", TextView)


async def _assert_keys_scroll(pilot: Any, app: Any, text: TextView) -> None:
    """Each scrolling key moves the view; what it shows is on the screen."""
    await wait_until(pilot, lambda: text.has_focus and text.max_scroll_y > 2 * text.size.height)
    for key in DOWN_KEYS:
        text.action_top()
        await pilot.pause()
        first = text.visible_lines[0]
        await pilot.press(key)
        await wait_until(pilot, lambda: text.scroll_offset.y > 0)
        assert text.visible_lines[0] != first, key
    assert text.scroll_offset.y == text.max_scroll_y  # G went to the end
    assert text.lines[-1].strip()[:40] in _shown(app)
    for key in UP_KEYS:
        text.action_bottom()
        await pilot.pause()
        bottom = text.scroll_offset.y
        await pilot.press(key)
        await wait_until(pilot, lambda bottom=bottom: text.scroll_offset.y < bottom)
    assert text.scroll_offset.y == 0  # g went to the top
    assert text.lines[0].strip()[:40] in _shown(app)


async def test_yaml_and_describe_scroll_with_every_key(detail_sim) -> None:
    app = make_app(detail_sim, telemetry_source="none")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app, detail_sim.test_node, "y")
        assert screen.active_tab == "yaml"
        yaml_view = _text(screen, "yaml")
        await wait_until(pilot, lambda: "kind: Node" in yaml_view.lines)
        await _assert_keys_scroll(pilot, app, yaml_view)
        await pilot.press("d")
        await wait_until(pilot, lambda: screen.active_tab == "describe")
        await _assert_keys_scroll(pilot, app, _text(screen, "describe"))


async def test_events_table_scrolls_with_every_key(detail_sim) -> None:
    app = make_app(detail_sim, telemetry_source="none")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app, detail_sim.test_node, "e")
        table = screen.query_one("#events-table", VirtualTable)
        await wait_until(pilot, lambda: table.row_count >= EVENTS and table.has_focus)
        for key in DOWN_KEYS:
            table.move_cursor(0)
            await pilot.pause()
            await pilot.press(key)
            await wait_until(pilot, lambda: table.cursor_row > 0)
        assert table.cursor_row == table.row_count - 1 and table.scroll_offset.y > 0
        assert table.rows[-1].cells[1] in _shown(app)
        for key in UP_KEYS:
            table.move_cursor(table.row_count - 1)
            await pilot.pause()
            await pilot.press(key)
            await wait_until(pilot, lambda: table.cursor_row < table.row_count - 1)
        assert table.cursor_row == 0 and table.scroll_offset.y == 0


async def test_search_yaml_highlights_and_cycles_then_esc_clears_and_leaves(detail_sim) -> None:
    app = make_app(detail_sim, telemetry_source="none")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app, detail_sim.test_node, "y")
        yaml_view = _text(screen, "yaml")
        await wait_until(pilot, lambda: yaml_view.has_focus and len(yaml_view.lines) > 40)
        expected = sum(line.lower().count("nvidia.com/") for line in yaml_view.lines)
        assert expected > 3
        await pilot.press("slash", *"nvidia.com/", "enter")
        await wait_until(pilot, lambda: yaml_view.match_count == expected)
        assert yaml_view.has_focus and yaml_view.current_index == 0
        assert f"match 1 of {expected}" in _shown(app)
        seen = [yaml_view.current_match]
        for _ in range(3):
            await pilot.press("n")
            seen.append(yaml_view.current_match)
        assert yaml_view.current_index == 3 and len(set(seen)) == 4
        assert f"match 4 of {expected}" in _shown(app)
        line, start, end = seen[-1]
        assert yaml_view.lines[line][start:end].lower() == "nvidia.com/"
        assert 0 <= line - round(yaml_view.scroll_offset.y) < yaml_view.size.height  # in view
        await pilot.press("N")
        assert yaml_view.current_match == seen[2]
        for _ in range(3):
            await pilot.press("N")
        assert yaml_view.current_index == expected - 1  # wrapped to the last
        await pilot.press("n")
        assert yaml_view.current_index == 0
        # the highlighted cells on screen: the current match has its own style
        y = seen[0][0] - round(yaml_view.scroll_offset.y)
        styles = {seg.text.lower(): seg.style for seg in yaml_view.render_line(y)}
        assert styles.get("nvidia.com/") not in (None, yaml_view.rich_style)
        await pilot.press("escape")  # clears the search, stays
        assert yaml_view.search_pattern == "" and yaml_view.match_count == 0
        assert isinstance(app.screen, DetailScreen)
        assert "match" not in _shown(app).splitlines()[-2]
        await pilot.press("escape")  # then leaves
        await wait_until(pilot, lambda: isinstance(app.screen, ResourceScreen))


async def test_search_describe_annotations_folded_and_literal(detail_sim) -> None:
    app = make_app(detail_sim, telemetry_source="none")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app, detail_sim.test_node, "d")
        text = _text(screen, "describe")
        await wait_until(pilot, lambda: any(x.startswith("Annotations:") for x in text.lines))
        lines = text.lines
        at = next(i for i, x in enumerate(lines) if x.startswith("Annotations:"))
        labels = next(i for i, x in enumerate(lines) if x.startswith("Labels:"))
        assert labels < at and all(x.startswith(" " * 16) for x in lines[labels + 1 : at])
        assert " " * 16 + "kubernetes.io/os=linux" in lines  # a label a line, like kubectl
        assert lines[at].endswith("kmc.test/long:")  # too long for one line: under its key
        assert "kmc.test/owner: team-ml [/x]" in "\n".join(lines)
        folded = [x.strip() for x in lines if set(x.strip()) == {"x"}]
        assert "".join(folded) == LONG_VALUE and max(map(len, folded)) <= 140
        assert "line 29 of the runbook" in "\n".join(lines)
        # typing the pattern highlights as it goes; an invalid regex is searched literally
        await pilot.press("slash", *"runbook")
        await wait_until(pilot, lambda: text.match_count == 31)  # 30 lines and the key
        await pilot.press("escape")  # cancels the bar: back to no search
        assert text.match_count == 0 and text.has_focus
        await pilot.press("slash", *"[/x", "enter")
        assert text.match_count == 1 and text.current_match is not None
        # `/` does nothing on the events tab (not a text)
        await pilot.press("e")
        await wait_until(pilot, lambda: screen.active_tab == "events")
        await pilot.press("slash")
        assert not screen.query_one("#search").display
        await pilot.press("d")
        await wait_until(pilot, lambda: screen.active_tab == "describe" and text.has_focus)
        assert text.search_pattern == "[/x"  # the describe tab keeps its search


async def test_search_survives_the_refresh_tick(detail_sim) -> None:
    """The summary is redrawn on every app tick: the scroll and the match stay put."""
    app = make_app(detail_sim, telemetry_source="none")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app, detail_sim.test_node, "d")
        text = _text(screen, "describe")
        await wait_until(pilot, lambda: any("runbook" in x for x in text.lines))
        await pilot.press("slash", *"line 2", "enter")
        await pilot.press("n", "n")
        before = (text.current_match, text.scroll_offset.y)
        screen.refresh_data()
        await pilot.pause()
        assert (text.current_match, text.scroll_offset.y) == before


async def test_help_lists_the_reading_keys(detail_sim) -> None:
    from widgets.help import HelpScreen

    app = make_app(detail_sim, telemetry_source="none")
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, detail_sim.test_node, "y")
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = {key for _, rows in app.screen.sections for key, _ in rows}
        for key in ("↓ / j", "↑ / k", "home / g", "end / G", "^d", "^u", "n", "N", "/", "4"):
            assert key in keys, (key, sorted(keys))


async def test_a_burst_after_slash_goes_to_the_search(detail_sim) -> None:
    """`/nvidia` arriving in one read (a paste, a fast typist): none of it is taken as a key
    of the text view (`d` would switch tabs), all of it lands in the search."""
    from textual import events

    app = make_app(detail_sim, telemetry_source="none")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app, detail_sim.test_node, "y")
        yaml_view = _text(screen, "yaml")
        await wait_until(pilot, lambda: yaml_view.has_focus and len(yaml_view.lines) > 40)
        for key, character in [("slash", "/"), *((c, c) for c in "nvidia"), ("enter", "\r")]:
            app.post_message(events.Key(key, character))  # as the driver posts them
        await wait_until(pilot, lambda: yaml_view.search_pattern == "nvidia")
        assert screen.active_tab == "yaml" and yaml_view.match_count > 3


def test_annotation_lines_print_like_kubectl_describe() -> None:
    from console.cluster.detail import annotation_lines

    assert annotation_lines({}) == ["Annotations:    <none>"]
    last_applied = {"kubectl.kubernetes.io/last-applied-configuration": "{...}"}
    assert annotation_lines(last_applied) == ["Annotations:    <none>"]  # kubectl skips it
    lines = annotation_lines({"b": "two\nlines\n", "a": "short", "c": "y" * 200})
    assert lines == [
        "Annotations:    a: short",
        " " * 16 + "b:",
        " " * 18 + "two",
        " " * 18 + "lines",
        " " * 16 + "c:",
        " " * 18 + "y" * 138,
        " " * 18 + "y" * 62,
    ]
