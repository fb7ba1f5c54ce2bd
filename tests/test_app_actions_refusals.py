"""Refusals of the console's write actions on a simulated cluster: read-only (zero writes
reach the server, nothing offered), the viewer (RBAC: the reason, in `?` too), a 409
injected (retried once), an object deleted while the confirmation is open (named), and a
command typed in one burst (never taken as the table's action keys)."""

from __future__ import annotations

from console.sim.auth import VIEWER_CONTEXT
from tests.test_app_actions_support import (
    JOBS,
    SIZE,
    admin,
    audit_home,
    dialog_of,
    kubectl,
    new_job,
    node_in,
    notes_of,
    select,
    selected_name,
    sim,
    writes_after,
)
from tests.test_app_support import column, command, filter_, make_app, populated, wait_until
from widgets.confirm import ConfirmDialog

__all__ = ["audit_home", "sim"]  # fixtures


async def test_read_only_offers_nothing_and_sends_nothing(sim, audit_home) -> None:
    node = node_in(sim, "a100")
    app = make_app(sim, read_only=True)
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "nodes", node)
        mark = sim.requests.mark()
        assert app.screen.check_action("act", ("cordon",)) is False
        await pilot.press("c")  # not offered: nothing happens
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        listed = {key for _, rows in app.screen.sections for key, _ in rows}
        assert "c" not in listed and ":cordon" not in listed
        from console.commands import palette_entries

        offered = {entry.text for entry in palette_entries(app, "nodes")}
        assert ":nodes" in offered and not offered & {":cordon", ":uncordon"}
        await pilot.press("escape")
        await command(pilot, "cordon")
        await wait_until(pilot, lambda: any(n.startswith("read-only: cordon") for n in notes))
        assert f"read-only: cordon Node {node} refused (context kmc-sim is read-only;" in notes[-1]
        await command(pilot, "jobs")
        await populated(pilot, app, "jobs")
        await command(pilot, "scale 3")
        await wait_until(pilot, lambda: notes[-1].startswith("read-only: scale"))
    assert sim.requests.since(mark, writes_only=True) == []  # not even an access review
    assert audit_home.entries() == []


async def test_the_viewer_is_told_why_and_nothing_is_written(sim) -> None:
    node = node_in(sim, "a100")
    app = make_app(sim, VIEWER_CONTEXT)
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "nodes", node)
        # reviewed in a thread as the cursor lands, before any key is pressed
        await wait_until(pilot, lambda: "act('cordon')" in app.screen.denied_keys())
        mark = sim.requests.mark()
        await pilot.press("c")
        await wait_until(pilot, lambda: "not allowed by RBAC: you may not patch nodes" in notes)
        assert not isinstance(app.screen, ConfirmDialog)
        await pilot.press("question_mark")  # the help says which keys RBAC denies, and why
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        described = dict(row for _, rows in app.screen.sections for row in rows)
        assert described["c"] == (
            "cordon the selected node (confirmed) — not allowed by RBAC: you may not patch nodes"
        )
        assert described["u"].endswith("not allowed by RBAC: you may not patch nodes")
        await pilot.press("escape")
    assert writes_after(sim, mark) == []
    assert kubectl(sim, "get", "node", node, "-o", "jsonpath={.spec.unschedulable}").stdout == ""


async def test_a_conflict_is_retried_and_a_vanished_object_is_named(sim, audit_home) -> None:
    node = node_in(sim, "l4")
    new_job(sim, "act-vanish", workers=1)
    app = make_app(sim)
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "nodes", node)
        sim.faults.conflict(1)
        await command(pilot, "cordon")
        await dialog_of(pilot, app)
        await pilot.press("y")
        await wait_until(pilot, lambda: f"cordoned Node {node}" in notes)
        assert [e["result"] for e in audit_home.entries()] == [
            "started",
            "conflict",
            "started",
            "ok",
        ]
        await command(pilot, "uncordon")
        await dialog_of(pilot, app)
        await pilot.press("y")
        await wait_until(pilot, lambda: f"uncordoned Node {node}" in notes)
        await select(pilot, app, "jobs", "act-vanish")
        await command(pilot, "suspend")
        await dialog_of(pilot, app)
        admin(sim).request("DELETE", f"{JOBS}/act-vanish")  # while the user reads
        await pilot.press("y")
        await wait_until(pilot, lambda: any("is gone (deleted meanwhile?)" in n for n in notes))
    assert notes[-1] == "PyTorchJob ml/act-vanish is gone (deleted meanwhile?): nothing changed"


async def test_a_command_typed_in_one_burst_is_a_command_not_keys(sim) -> None:
    """`:cordon` arriving in one read (tmux send-keys, a paste): none of it is taken as the
    table's keys (`c` cordon, `d` describe, `r`…), all of it lands in the bar; the same for
    a `/` filter."""
    from textual import events

    node = node_in(sim, "a100")
    app = make_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "nodes", node)
        await filter_(pilot, "")  # back to every node, the cursor on the first
        await wait_until(pilot, lambda: len(column(app, "name")) > 1)
        keys = [("slash", "/"), *((c, c) for c in "a100"), ("enter", "\r")]
        for key, character in keys:
            app.post_message(events.Key(key, character))  # as the driver posts them
        await wait_until(
            pilot, lambda: selected_name(app) == node and len(column(app, "name")) == 1
        )
        keys = [("colon", ":"), *((c, c) for c in "cordon"), ("enter", "\r")]
        for key, character in keys:
            app.post_message(events.Key(key, character))
        dialog = await dialog_of(pilot, app)
        assert dialog.title_text.startswith(f"cordon Node {node}")
        assert len(app.screen_stack) == 3  # the view, the dialog: no describe, no drain
        await pilot.press("n")
