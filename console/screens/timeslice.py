"""GPU time-slicing as the user reaches it: `:timeslice CONFIG|off` on the selected GPU
node, or `:timeslice` / `t` for the picker.

`start_timeslice(host, arg)` reads off the UI thread; without an argument it shows
`TimeslicePicker` (each config of the device plugin's ConfigMap with its sharing and the
allocatable it would give this node, the node's current one marked, `off` to remove the
label). The chosen config goes through the actions runner: a config the ConfigMap does
not define is one line and nothing is sent; otherwise the `ConfirmDialog` shows before →
after (config, sharing, allocatable) and the warnings (GPU pods running). After `y` the
label is patched and the transition is followed until the node's allocatable and GFD
labels match, or flagged when they do not within `CONVERGE_SECONDS`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from console.cluster.actions import ActionError, ActionRunner
from console.cluster.timeslicing import (
    OFF,
    Expected,
    NodeChoices,
    SetTimeslice,
    follow,
    node_choices,
)
from console.host import Host
from console.screens.drain import selected_node
from console.text import clean_line
from widgets.confirm import ConfirmDialog
from widgets.virtual_table import TableColumn, VirtualTable

NAMES_TTL = 60.0
"""Seconds the config names offered for completion are kept."""


@dataclass(frozen=True)
class ConfigRow:
    key: str
    cells: tuple[str, ...]
    hint: str | None = None
    styles: tuple[str | None, ...] | None = None


COLUMNS = [
    TableColumn("config", "CONFIG", 18, 0, cut="middle", min_width=8),
    TableColumn("sharing", "SHARING", 26, 1, priority=2),
    TableColumn("alloc", "ALLOCATABLE", 28, 2, priority=1),
    TableColumn("note", "", 10, 3, priority=3),
]


def config_rows(choices: NodeChoices) -> list[ConfigRow]:
    """`off` first, then every config by name; the node's current one marked."""
    configs = choices.configs
    default = configs.for_label(None)
    current = choices.now.label
    rows = [
        ConfigRow(
            OFF,
            (
                f"{OFF} (no label)",
                f"default{' ' + configs.default if configs.default else ''}:"
                f" {default.describe(short=True)}",
                choices.preview(default),
                "● current" if current is None else "",
            ),
            "ok" if current is None else None,
        )
    ]
    for name in sorted(configs.configs):
        config = configs.configs[name]
        note = "● current" if name == current else ("default" if name == configs.default else "")
        rows.append(
            ConfigRow(
                name,
                (
                    name,
                    config.describe(short=True),
                    "" if config.error else choices.preview(config),
                    note,
                ),
                "dim" if config.error else ("ok" if name == current else None),
            )
        )
    return rows


class TimeslicePicker(ModalScreen[str | None]):
    """Choose a device-plugin config for one node; Enter picks, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="close without changing anything"),
    ]

    DEFAULT_CSS = """
    TimeslicePicker { align: center middle; background: $background 60%; }
    TimeslicePicker > #dialog { width: 96; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary; background: $panel; padding: 0 1; }
    TimeslicePicker #heading { text-style: bold; }
    TimeslicePicker #warning { color: $text-warning; }
    TimeslicePicker #keys { color: $text-muted; }
    TimeslicePicker VirtualTable { height: auto; max-height: 16; }
    """

    def __init__(self, choices: NodeChoices, context: str = "") -> None:
        super().__init__()
        self.choices = choices
        self.context = context

    def compose(self) -> ComposeResult:
        now = self.choices.now
        label = now.label if now.label is not None else "none"
        allocatable = ", ".join(f"{r} {n}" for r, n in now.allocatable.items()) or "none"
        heading = [
            f"GPU time-slicing · Node {now.node} · context {self.context or 'in-cluster'}",
            f"{now.product or 'GPU'} · {now.physical} physical GPUs · now {now.describe()}"
            f" (config label: {label}) · allocatable {allocatable}",
            f"configs from {self.choices.configs.where}",
        ]
        pods = self.choices.gpu_pods
        warning = (
            f"! {len(pods)} GPU pods run on this node ({', '.join(pods[:3])}"
            + (" …" if len(pods) > 3 else "")
            + "): they keep running while the device plugin restarts"
            if pods
            else ""
        )
        with Vertical(id="dialog"):
            yield Static(Text("\n".join(clean_line(line) for line in heading)), id="heading")
            yield Static(Text(clean_line(warning)), id="warning")
            yield VirtualTable(COLUMNS)
            yield Static(Text("Enter: choose (then confirm)    Esc: cancel"), id="keys")

    def on_mount(self) -> None:
        table = self.query_one(VirtualTable)
        table.set_rows(config_rows(self.choices))
        table.focus()

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        row = self.query_one(VirtualTable).current_row
        if row is None:
            return
        config = self.choices.configs.configs.get(row.key)
        if config is not None and config.error:
            self.app.notify(f"config {row.key}: {config.error}", severity="error", markup=False)
            return
        self.dismiss(row.key)

    def action_cancel(self) -> None:
        self.dismiss(None)


def start_timeslice(host: Host, arg: str = "") -> None:
    """`:timeslice [CONFIG|off]` on the selected GPU node."""
    app: Any = host
    node = selected_node(host)
    if not node:
        app.notify(
            "timeslice: select a GPU node in the nodes view", severity="warning", markup=False
        )
        return
    runner = host.write_runner()
    if runner is None:
        app.notify("timeslice: not connected", severity="error", markup=False)
        return
    setting = getattr(host.settings, "device_plugin_config", None)
    app.run_worker(switch(app, runner, node, arg.strip(), setting), group="action", exclusive=True)


async def switch(
    app: Any, runner: ActionRunner, node: str, config: str, setting: str | None
) -> None:
    """Pick (when no config was named), confirm, patch the label, follow the transition."""
    context = runner.connection.context
    if not config:
        try:
            probe = SetTimeslice(node, OFF)
            runner.refuse_read_only(probe.verb, probe.target)
            await asyncio.to_thread(runner.check_access, probe.needs())
            choices = await asyncio.to_thread(node_choices, runner.connection, node, setting)
        except ActionError as exc:
            app.notify(str(exc), severity="error", markup=False, timeout=10)
            return
        remember_names(runner, choices.configs.names())
        config = await app.push_screen_wait(TimeslicePicker(choices, context)) or ""
        if not config:
            return
    action = SetTimeslice(node, config, setting)
    try:
        plan = await asyncio.to_thread(runner.prepare, action)
    except ActionError as exc:
        app.notify(str(exc), severity="error", markup=False, timeout=10)
        return
    if action.configs is not None:
        remember_names(runner, action.configs.names())
    if plan.unchanged:
        app.notify(plan.unchanged, markup=False)
        return
    dialog = ConfirmDialog(
        plan.title(context),
        changes=plan.lines(),
        warnings=plan.notes,
        enter_confirms=False,
        id="timeslice-confirm",
    )
    if not await app.push_screen_wait(dialog):
        app.notify("timeslice cancelled: nothing changed", markup=False)
        return
    try:
        outcome = await asyncio.to_thread(runner.execute, action)
    except ActionError as exc:
        app.notify(str(exc), severity="error", markup=False, timeout=10)
        return
    expected = action.expected
    if expected is None or outcome.plan.unchanged:
        app.notify(outcome.message, markup=False)
        return
    app.notify(f"{outcome.message}: the device plugin restarts…", markup=False, timeout=10)
    # Its own worker: another action started meanwhile (group "action") must not end it.
    app.run_worker(follow_transition(app, runner, expected), group="timeslice-follow")


async def follow_transition(app: Any, runner: ActionRunner, expected: Expected) -> None:
    """Wait (in a thread) until the node runs the new config; say so, or that it did not."""
    stop = threading.Event()
    try:
        final = await asyncio.to_thread(follow, runner.connection, expected, cancel=stop)
    finally:
        stop.set()  # the worker was cancelled (the app exits): the thread stops too
    node = expected.node
    if final.converged:
        app.notify(
            f"Node {node}: {expected.config.describe()}, allocatable {expected.config.resource}"
            f" {expected.amount} (converged in {final.elapsed:.1f}s)",
            markup=False,
        )
    else:
        app.notify(f"Node {node}: {final.message}", severity="error", markup=False, timeout=30)


_NAMES: dict[int, tuple[float, list[str]]] = {}


def remember_names(runner: ActionRunner, names: list[str]) -> None:
    """Keep the config names for completion (per connection)."""
    _NAMES[id(runner.connection)] = (time.monotonic(), [clean_line(n) for n in names])


def config_names(host: Host) -> list[str]:
    """The config names last read for the host's connection (never blocks); a read is
    started in a thread when none is fresh."""
    session = host.session
    if session is None:
        return []
    key = id(session.connection)
    cached = _NAMES.get(key)
    if cached is None or time.monotonic() - cached[0] > NAMES_TTL:
        _NAMES[key] = (time.monotonic(), cached[1] if cached else [])
        setting = getattr(host.settings, "device_plugin_config", None)
        threading.Thread(
            target=_load_names, args=(session.connection, setting), daemon=True
        ).start()
    return list(_NAMES[key][1])


def _load_names(connection: Any, setting: str | None) -> None:
    from console.cluster.device_plugin import load_configs

    try:
        names = load_configs(connection, setting).names()
    except ActionError:
        return
    _NAMES[id(connection)] = (time.monotonic(), [clean_line(n) for n in names])
