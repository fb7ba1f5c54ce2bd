"""Pilot tests of the console's views against the simulated `tiny` cluster: each view,
filter, sort, drill-down and back, detail / YAML / events, help, palette, `:ns`, `:ctx`."""

from __future__ import annotations

from textual.widgets import Static, TabbedContent

from console.cluster.connection import connect
from console.commands import KmcCommands, parse_command
from console.render.filter import parse_filter
from console.screens.detail import DetailScreen
from console.screens.pick import PickScreen
from tests.test_app_support import (
    column,
    command,
    filter_,
    make_app,
    populated,
    table_rows,
    view,
    wait_until,
)
from widgets.help import HelpScreen
from widgets.text_view import TextView

SIZE = (160, 48)
GPU = {"nvidia.com/gpu": "1"}


async def test_nodes_view_is_the_default_and_shows_gpu_nodes(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        names = column(app, "name")
        assert len(names) == 2  # 4×L4 and 8×A100; the CPU node is hidden
        assert any("a100" in n for n in names) and any("l4" in n for n in names)
        alloc = dict(zip(names, column(app, "alloc"), strict=True))
        assert any(text.strip().endswith("▁") or "/8" in text for text in alloc.values())
        header = app.screen.query_one("#header").data
        assert header.context == "kmc-sim" and header.allocatable == 12
        await wait_until(pilot, lambda: app.screen.query_one("#header").data.sync == "live")


async def test_cpu_nodes_toggle(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await pilot.press("h")  # `c` is cordon (k9s)
        await wait_until(pilot, lambda: len(table_rows(app)) == 3)
        assert "CPU nodes" in str(app.screen.query_one("#title", Static).render())
        await pilot.press("h")
        await wait_until(pilot, lambda: len(table_rows(app)) == 2)


async def test_switch_views_with_the_command_bar(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await command(pilot, "jobs")
        await populated(pilot, app, "jobs")
        assert "llama-ft" in column(app, "name")
        assert "PyTorchJob" in column(app, "kind")
        await command(pilot, "servers")
        await populated(pilot, app, "servers")
        assert "llama3-8b" in column(app, "name")
        await command(pilot, "po")  # alias
        await populated(pilot, app, "pods")
        assert all(g for g in column(app, "gpus"))  # only GPU pods
        await command(pilot, "nodes")
        await populated(pilot, app, "nodes")
        assert len(app.screen_stack) == 2


async def test_command_bar_completes_and_rejects_unknown(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app)
        await pilot.press("colon", "s", "e", "tab")
        bar = app.screen.query_one("#bar")
        assert bar.value == "servers "
        await pilot.press("enter")
        await populated(pilot, app, "servers")
        await command(pilot, "bogus")
        assert view(app).view.name == "servers"
        assert any("unknown command" in str(n.message) for n in app._notifications)


async def test_filter_regex_label_selector_and_invert(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await filter_(pilot, "a100")
        assert len(table_rows(app)) == 1 and "a100" in column(app, "name")[0]
        await filter_(pilot, "!a100")
        assert len(table_rows(app)) == 1 and "l4" in column(app, "name")[0]
        await filter_(pilot, "-l nvidia.com/gpu.product=NVIDIA-L4")
        assert len(table_rows(app)) == 1 and "l4" in column(app, "name")[0]
        await filter_(pilot, "!-l nvidia.com/gpu.product=NVIDIA-L4")
        assert len(table_rows(app)) == 1 and "a100" in column(app, "name")[0]
        await filter_(pilot, "[unclosed")  # not a regex: matched literally, no crash
        assert table_rows(app) == []
        assert "no rows match" in str(app.screen.query_one("#empty", Static).render())
        await pilot.press("escape")  # Esc clears the filter
        assert len(table_rows(app)) == 2


async def test_live_filter_and_cancel_restores(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await pilot.press("slash", "l", "4")
        await wait_until(pilot, lambda: len(table_rows(app)) == 1)  # filtered while typing
        await pilot.press("escape")
        assert len(table_rows(app)) == 2


def test_filter_parser() -> None:
    labels = {"app": "vllm", "tier": "gpu"}
    assert parse_filter("-l app=vllm").matches([], labels)
    assert not parse_filter("-l app!=vllm").matches([], labels)
    assert parse_filter("-l app,tier=gpu").matches([], labels)
    assert parse_filter("-l !missing").matches([], labels)
    assert not parse_filter("!-l app==vllm").matches([], labels)
    assert parse_filter("VLL").matches(["vllm-0"], {})
    assert parse_filter("a(").literal
    assert not parse_filter("").active
    assert parse_command(":ns  kube-system") == parse_command("namespace kube-system")
    assert parse_command("nope") is None


async def test_sort_cycles_and_reverses(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        names = column(app, "name")
        assert names == sorted(names)
        await pilot.press("R")  # reverse (`s` is scale, as in k9s)
        assert column(app, "name") == sorted(names, reverse=True)
        assert view(app).sort == ("name", True)
        await pilot.press("greater_than_sign")
        assert view(app).sort == ("status", False)
        await pilot.press("less_than_sign")
        assert view(app).sort == ("name", False)
        await pilot.press("greater_than_sign")
        # FREE: numeric sort
        for _ in range(10):
            if view(app).sort[0] == "free":
                break
            await pilot.press("greater_than_sign")
        free = [float(x) for x in column(app, "free")]
        assert free == sorted(free)
        await pilot.press("A")  # age sorts by seconds, not text
        assert view(app).sort == ("age", False)


async def test_age_sorts_by_seconds_and_stays_sorted(fresh_sim) -> None:
    admin = connect(str(fresh_sim.kubeconfig_path), "kmc-sim")
    for name, then in (("old", 7200 - 300), ("mid", 300 - 90), ("new", 90)):  # 120m, 5m, 90s
        pod = {
            "metadata": {"name": f"age-{name}", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "x", "resources": {"limits": GPU}}]},
        }
        admin.request("POST", "/api/v1/namespaces/default/pods", body=pod)
        fresh_sim.advance(then, step=30)
    app = make_app(fresh_sim, namespace="default")
    app.now = fresh_sim.clock.now  # ages on the sim's clock, which ran ahead
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await command(pilot, "pods")
        await wait_until(pilot, lambda: len(column(app, "name")) >= 3)

        def order() -> list[tuple[str, str]]:  # (name, age) of our pods, top to bottom
            rows = zip(column(app, "name"), column(app, "age"), strict=True)
            return [(n.removeprefix("age-"), a) for n, a in rows if n.startswith("age-")]

        await pilot.press("A")  # by seconds: 90s, 5m, 120m (the text would give 5m, 90s, 120m)
        assert view(app).sort == ("age", False)
        assert [n for n, _ in order()] == ["new", "mid", "old"]
        (_, new), (_, mid), _ = order()
        # 90 s old when created; a loaded machine may take a while to get here (still < 2 min)
        assert new.endswith("s") and 90 <= int(new[:-1]) < 120 and mid.startswith(("5m", "6m"))
        await pilot.press("A")
        assert view(app).sort == ("age", True)
        assert [n for n, _ in order()] == ["old", "mid", "new"]
        fresh_sim.advance(60, step=30)
        view(app).refresh_data()  # ages tick; the order holds without a re-sort
        await pilot.pause()
        assert [n for n, _ in order()] == ["old", "mid", "new"]


async def test_drill_down_node_to_pods_to_node_and_back(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await filter_(pilot, "a100")
        node = column(app, "name")[0]
        await pilot.press("enter")
        await populated(pilot, app, "pods")
        assert view(app).scope.node == node
        assert set(column(app, "node")) == {node}
        await pilot.press("enter")  # pod → its node
        await populated(pilot, app, "nodes")
        assert column(app, "name") == [node]
        await pilot.press("escape")
        await pilot.press("escape")
        await populated(pilot, app, "nodes")
        assert view(app).scope is None
        assert view(app).filter_text == "a100"  # the base view kept its filter


async def test_drill_down_job_and_server_to_pods(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "jobs")
        await populated(pilot, app, "jobs")
        await filter_(pilot, "llama-ft")
        await pilot.press("enter")
        await populated(pilot, app, "pods")
        assert all(n.startswith("llama-ft-") for n in column(app, "name"))
        await pilot.press("escape")
        await command(pilot, "servers")
        await populated(pilot, app, "servers")
        await filter_(pilot, "llama3-8b")
        await pilot.press("enter")
        await populated(pilot, app, "pods")
        assert all(n.startswith("llama3-8b-predictor") for n in column(app, "name"))
        assert set(column(app, "workload")) == {"InferenceService/llama3-8b"}


async def test_detail_describe_yaml_events(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        node = column(app, "name")[0]
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        screen = app.screen
        body = screen.query_one("#describe-body", TextView).text
        assert node in body and "Pool" in body
        await pilot.press("y")
        assert screen.query_one(TabbedContent).active == "yaml"
        await wait_until(pilot, lambda: screen.yaml_text is not None)
        yaml_view = screen.query_one("#yaml-body", TextView)
        assert "kind: Node" in screen.yaml_text and len(yaml_view.lines) > 10
        assert "managedFields" not in screen.yaml_text
        await pilot.press("e")
        assert screen.query_one(TabbedContent).active == "events"
        await wait_until(pilot, lambda: screen.events is not None)
        await pilot.press("escape")
        await populated(pilot, app, "nodes")


async def test_pod_detail_lists_events(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "pods")
        await populated(pilot, app, "pods")
        await filter_(pilot, "llama-ft-master")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        screen = app.screen
        await wait_until(pilot, lambda: bool(screen.events))  # Scheduled, Pulled, Started…
        table = screen.query_one("#events-table")
        reasons = [row.cells[1] for row in table.rows]
        assert "Scheduled" in reasons


async def test_help_lists_the_keys_of_the_view(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = {key for _, rows in app.screen.sections for key, _ in rows}
        for key in ("enter", "d", "y", "e", "/", ":", "c", "u", "h", ">", "<", "R", "esc", "?"):
            assert key in keys
        assert "s" not in keys  # scale: jobs and servers only
        titles = [title for title, _ in app.screen.sections]
        assert titles[-1] == "Legend"  # what the compact status markers mean
        assert "⊘" in {marker for marker, _ in app.screen.sections[-1][1]}
        await pilot.press("escape")
        await command(pilot, "pods")
        await populated(pilot, app, "pods")
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = {key for _, rows in app.screen.sections for key, _ in rows}
        assert "c" not in keys and "h" not in keys  # cordon, CPU toggle: nodes view only


async def test_palette_provider_offers_the_commands(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        await wait_until(pilot, lambda: "ml" in app.session.namespaces())
        provider = KmcCommands(app.screen)
        texts = [hit.text async for hit in provider.search("pods")]
        assert ":pods" in texts
        texts = [hit.text async for hit in provider.search("ctx viewer")]
        assert ":ctx kmc-sim-viewer" in texts
        found = [hit async for hit in provider.search("ns ml")]
        assert any(hit.text == ":ns ml" for hit in found)
        hit = next(h for h in found if h.text == ":ns ml")
        hit.command()
        assert app.namespace == "ml"
        discovered = [hit.text async for hit in provider.discover()]
        assert {":nodes", ":jobs", ":servers", ":pods", ":q"} <= set(discovered)


async def test_namespace_command_and_picker(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "pods")
        await populated(pilot, app, "pods")
        await command(pilot, "ns kube-system")
        await wait_until(pilot, lambda: table_rows(app) == [])
        assert app.screen.query_one("#header").data.namespace == "kube-system"
        await command(pilot, "ns ml")
        await populated(pilot, app, "pods")
        shown = [c.key for c in view(app).table.visible_columns]
        assert "namespace" not in shown  # one namespace: no column
        await command(pilot, "ns")
        await wait_until(pilot, lambda: isinstance(app.screen, PickScreen))
        picker = app.screen
        await pilot.press("home")  # "all" is first
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.namespace is None)
        assert picker is not app.screen
        await wait_until(
            pilot, lambda: "namespace" in [c.key for c in view(app).table.visible_columns]
        )


async def test_switch_context_to_the_viewer(tiny_sim) -> None:
    app = make_app(tiny_sim)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        old_session = app.session
        await command(pilot, "ctx kmc-sim-viewer")
        await wait_until(pilot, lambda: app.context == "kmc-sim-viewer", timeout=20)
        await populated(pilot, app, "nodes")
        assert app.session is not old_session
        assert app.screen.query_one("#header").data.context == "kmc-sim-viewer"
        await command(pilot, "ctx no-such-context")
        await wait_until(
            pilot, lambda: any("cannot switch" in str(n.message) for n in app._notifications)
        )
        assert app.context == "kmc-sim-viewer"


async def test_themes_registered_and_no_color(tiny_sim, monkeypatch) -> None:
    from textual.filter import Monochrome

    from themes import THEMES

    app = make_app(tiny_sim, theme="kmc-light")
    assert set(THEMES) <= set(app.available_themes)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        assert app.theme == "kmc-light"
        assert not app.no_color
    monkeypatch.setenv("NO_COLOR", "1")  # Textual itself turns the output monochrome
    app = make_app(tiny_sim)
    assert app.no_color and any(isinstance(f, Monochrome) for f in app._filters)
    monkeypatch.delenv("NO_COLOR")
    app = make_app(tiny_sim, no_color=True)  # KMC_NO_COLOR / settings
    assert any(isinstance(f, Monochrome) for f in app._filters)
