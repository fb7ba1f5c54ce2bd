"""Drain as the user reaches it: `:drain [NODE] [--force …]` or `r` on a node (k9s's key).

`start_drain(host, arg)` parses the options (bad input: one line, nothing sent), then a
worker plans off the UI thread (read-only first, the node's pods by kubectl's rules, RBAC),
refuses a drain kubectl would refuse (pods without a controller unless `--force`, …),
shows the `ConfirmDialog` with what goes and what stays, and on `y` opens `DrainScreen`:
a progress bar, one row per pod with its state (blocked pods say which budget), `x`
cancels, and the summary at the end. The drain runs on a worker thread and posts
`DrainScreen.Progressed` messages; it is audited through the actions runner.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static

from console.cluster.actions import ActionError, ActionRunner
from console.cluster.actions_node import node_ref
from console.cluster.drain import (
    FINISHED,
    DrainError,
    DrainOptions,
    DrainPlan,
    parse_drain_args,
    plan_drain,
)
from console.cluster.drain_progress import BLOCKED, EVICTED, FAILED, LEFT, DrainProgress
from console.cluster.drain_run import Drain
from console.host import Host
from console.text import clean_line
from widgets.confirm import ConfirmDialog
from widgets.virtual_table import TableColumn, VirtualTable

MOST_LISTED = 8
"""Pods named one by one in the confirmation (the rest are counted)."""

_HINTS = {EVICTED: "ok", BLOCKED: "warn", FAILED: "bad", LEFT: "bad"}


def selected_node(host: Host) -> str:
    """The selected row's node name in the nodes view ('' elsewhere)."""
    screen: Any = getattr(host, "screen", None)
    view = getattr(screen, "view", None)
    row = getattr(screen, "_selected", lambda: None)()
    if view is None or view.name != "nodes" or row is None or row.record is None:
        return ""
    return str(row.record.name)


def start_drain(host: Host, arg: str = "") -> None:
    """`:drain [NODE] [options]`: plan, confirm, then the drain screen."""
    app: Any = host
    try:
        node, options = parse_drain_args(arg)
    except DrainError as exc:
        app.notify(str(exc), severity="error", markup=False)
        return
    node = node or selected_node(host)
    if not node:
        app.notify("drain: select a node (or :drain NODE)", severity="warning", markup=False)
        return
    runner = host.write_runner()
    if runner is None:
        app.notify("drain: not connected", severity="error", markup=False)
        return
    app.run_worker(confirm_drain(app, runner, node, options), group="action", exclusive=True)


async def confirm_drain(app: Any, runner: ActionRunner, node: str, options: DrainOptions) -> None:
    """Plan (in a thread), refuse or confirm, then push the drain screen."""
    try:
        runner.refuse_read_only("drain", node_ref(node))
        await asyncio.to_thread(runner.check_access, [node_ref(node).access("patch")])
        plan = await asyncio.to_thread(plan_drain, runner.connection, node, options)
        if plan.refused:
            raise DrainError(plan.refusal() + ": nothing changed")
        drain = Drain(runner.connection, plan, options, runner=runner)
        await asyncio.to_thread(runner.check_access, drain.accesses())
    except (DrainError, ActionError) as exc:
        app.notify(str(exc), severity="error", markup=False, timeout=10)
        return
    title = f"drain Node {plan.node}, context {runner.connection.context or 'in-cluster'}"
    dialog = ConfirmDialog(
        clean_line(title),
        changes=confirm_lines(plan),
        warnings=[
            *(w for w in plan.warnings if not w.startswith("ignoring DaemonSet")),
            *([f"options: {options.describe()}"] if options.describe() else []),
        ],
        detail=pod_lines(plan),
        enter_confirms=False,
        id="drain-confirm",
    )
    if not await app.push_screen_wait(dialog):
        app.notify("drain cancelled: nothing changed", markup=False)
        return
    await app.push_screen(DrainScreen(drain, runner.connection.context))


def confirm_lines(plan: DrainPlan) -> list[str]:
    gpus = sum(p.gpus for p in plan.evict)
    return [
        f"schedulable: {'no (already cordoned)' if plan.cordoned else 'yes'} → no",
        f"pods to evict: {len(plan.evict)} → 0" + (f" ({_gpus(gpus)} freed)" if gpus else ""),
        f"pods that stay: {len(plan.stay)} (DaemonSet and mirror pods)",
    ]


def pod_lines(plan: DrainPlan) -> list[str]:
    lines = [
        f"  evict {p.ref}"
        + (f" ({p.owner})" if p.owner else " (no controller)")
        + (f", {_gpus(p.gpus)}" if p.gpus else "")
        + (f", {p.phase}" if p.phase in FINISHED else "")
        for p in plan.evict[:MOST_LISTED]
    ]
    if len(plan.evict) > MOST_LISTED:
        lines.append(f"  … and {len(plan.evict) - MOST_LISTED} more")
    return lines or ["  nothing to evict: the drain only cordons"]


def _gpus(count: float) -> str:
    return f"{count:g} GPU" + ("" if count == 1 else "s")


@dataclass(frozen=True)
class PodRow:
    """One pod of the drain as a `VirtualTable` row."""

    key: str
    cells: tuple[str, ...]
    hint: str | None = None
    styles: tuple[str | None, ...] | None = None


COLUMNS = [
    TableColumn("pod", "POD", 40, 0, cut="middle", min_width=16),
    TableColumn("owner", "OWNER", 26, 1, priority=2),
    TableColumn("gpus", "GPUS", 4, 2, priority=1, align="right"),
    TableColumn("state", "STATE", 11, 3),
    TableColumn("detail", "DETAIL", 60, 4, min_width=20, soft_width=30, soft_priority=2),
]


def pod_rows(progress: DrainProgress) -> list[PodRow]:
    return [
        PodRow(
            item.pod.ref,
            (
                item.pod.ref,
                item.pod.owner or "(none)",
                f"{item.pod.gpus:g}" if item.pod.gpus else "",
                item.state,
                item.describe(),
            ),
            _HINTS.get(item.state),
        )
        for item in progress.pods
    ]


class DrainScreen(Screen[None]):
    """The progress of one drain: bar, pods, and the summary when it ends."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "cancel", "Cancel drain", tooltip="stop evicting (the node stays cordoned)"),
        Binding(
            "escape", "back", "Back", tooltip="back to the view (cancels a running drain first)"
        ),
    ]

    CSS = """
    DrainScreen #title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    DrainScreen #phase { height: 1; padding: 0 1; }
    DrainScreen ProgressBar { padding: 0 1; height: 1; }
    DrainScreen VirtualTable { height: 1fr; }
    DrainScreen #summary { height: auto; max-height: 12; padding: 0 1; display: none;
        border-top: solid $primary; }
    """

    class Progressed(Message):
        """Posted from the drain's thread with each snapshot."""

        def __init__(self, progress: DrainProgress) -> None:
            super().__init__()
            self.progress = progress

    def __init__(self, drain: Drain, context: str = "") -> None:
        super().__init__()
        self.drain = drain
        self.context = context
        self.progress: DrainProgress | None = None

    def compose(self) -> ComposeResult:
        plan = self.drain.plan
        flags = self.drain.options.describe()
        title = f"Drain {plan.node} · context {self.context or 'in-cluster'}" + (
            f" · {flags}" if flags else ""
        )
        yield Static(Text(clean_line(title)), id="title")
        yield ProgressBar(total=max(1, len(plan.evict)), show_eta=False, id="bar")
        yield Static(Text("starting…"), id="phase")
        yield VirtualTable(COLUMNS)
        yield Static(id="summary", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(VirtualTable).focus()
        self._run()

    @work(thread=True, exit_on_error=False, group="drain")
    def _run(self) -> None:
        self.drain.run(lambda progress: self.post_message(self.Progressed(progress)))

    def on_drain_screen_progressed(self, message: Progressed) -> None:
        progress = self.progress = message.progress
        total = len(progress.pods)
        bar = self.query_one(ProgressBar)
        bar.update(
            total=max(1, total),
            progress=progress.settled if total else (1 if progress.finished else 0),
        )
        self.query_one(VirtualTable).set_rows(pod_rows(progress))
        self.query_one("#phase", Static).update(Text(phase_line(progress)))
        if progress.finished:
            summary = self.query_one("#summary", Static)
            summary.update(Text("\n".join(progress.summary())))
            summary.display = True
            self.refresh_bindings()
            severity = (
                "information"
                if progress.phase == "done" and progress.settled == progress.evicted
                else "warning"
            )
            self.app.notify(progress.summary()[0], severity=severity, markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.progress is None or not self.progress.finished
        return True

    def action_cancel(self) -> None:
        if not self.drain.cancelled:
            self.drain.cancel()
            self.query_one("#phase", Static).update(Text("cancelling…"))

    def action_back(self) -> None:
        if self.progress is not None and self.progress.finished:
            self.app.pop_screen()
        else:
            self.action_cancel()

    def on_unmount(self) -> None:
        self.drain.cancel()  # leaving (or quitting) never leaves a drain running unseen


def phase_line(progress: DrainProgress) -> str:
    blocked = sum(p.state == BLOCKED for p in progress.pods)
    failed = sum(p.state == FAILED for p in progress.pods)
    parts = [progress.phase, f"{progress.evicted} of {len(progress.pods)} evicted"]
    if blocked:
        parts.append(f"{blocked} blocked by disruption budgets")
    if failed:
        parts.append(f"{failed} failed")
    parts.append(f"{progress.elapsed:.0f}s")
    if progress.message:
        parts.append(progress.message)
    keys = "Esc: back" if progress.finished else "x: cancel"
    return " · ".join(parts) + f"    ({keys})"
