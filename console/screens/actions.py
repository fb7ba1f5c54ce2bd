"""Write actions as the user reaches them: a key or a `:` command on the selected row.

`start_action(host, verb, arg)` resolves the selected row to an object and builds the
action (bad input, such as `:scale -1`, is one line and nothing is sent); `:scale` without
a number asks for it. A worker then plans in a thread (read-only and RBAC refusals, a
fresh read), shows the `ConfirmDialog` (before → after, warnings; `y` confirms, `n` / Esc
cancel, Enter does not confirm), executes in a thread and tells the outcome in a
notification. `ActionKeys` is the mixin that gives a table screen its action keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from console.cluster.actions import Action, ActionError, ActionRunner, ObjectRef, kubeconfig_user
from console.cluster.actions_jobs import JOB_RESOURCES, DeleteJob, RestartPod, Suspend
from console.cluster.actions_node import Cordon
from console.cluster.actions_scale import SCALABLE, Scale
from console.cluster.audit import AuditLog, default_audit_path
from console.cluster.kinds import KINDS
from console.host import Host
from console.screens.bar_keys import BarKeys
from console.text import clean_line
from widgets.confirm import AskDialog, ConfirmDialog


@dataclass(frozen=True)
class Verb:
    """Where an action applies: views and the cache kinds of the rows it acts on."""

    views: tuple[str, ...]
    kinds: tuple[str, ...]
    what: str
    """What to select, for the message when the row does not fit: `a node`."""


JOBS_WHAT = "a training job"
VERBS: dict[str, Verb] = {
    "cordon": Verb(("nodes",), ("nodes",), "a node"),
    "uncordon": Verb(("nodes",), ("nodes",), "a node"),
    "scale": Verb(
        ("jobs", "servers"), SCALABLE, "a PyTorchJob, Deployment, StatefulSet or InferenceService"
    ),
    "suspend": Verb(("jobs",), JOB_RESOURCES, JOBS_WHAT),
    "resume": Verb(("jobs",), JOB_RESOURCES, JOBS_WHAT),
    "restart": Verb(("pods",), ("pods",), "a pod"),
    "delete": Verb(("jobs", "pods"), (*JOB_RESOURCES, "pods"), "a training job or a pod"),
}


def ref_of(kind: str, namespace: str, name: str) -> ObjectRef:
    """The object of a cache record (`kind` is the cache name: `nodes`, `pytorchjobs`)."""
    k = KINDS[kind]
    return ObjectRef(k.kind, k.name, k.group, k.version, name, namespace if k.namespaced else "")


def selected(host: Host) -> tuple[str, Any] | None:
    """(cache kind, record) of the visible table's selected row, or None."""
    screen: Any = getattr(host, "screen", None)
    view = getattr(screen, "view", None)
    row = getattr(screen, "_selected", lambda: None)()
    if view is None or row is None or row.record is None:
        return None
    return view.kind_of(row.record), row.record


def make_action(
    verb: str, kind: str, record: Any, arg: str = "", host: Host | None = None
) -> Action:
    """The action `verb` on `record`; ActionError when it does not apply or `arg` is bad."""
    spec = VERBS[verb]
    ref = ref_of(kind, getattr(record, "namespace", ""), record.name)
    if kind not in spec.kinds:
        raise ActionError(f"{verb}: select {spec.what} ({ref.label()} is not one)")
    if verb in ("cordon", "uncordon"):
        return Cordon(ref.name, on=verb == "cordon")
    if verb == "scale":
        return Scale(ref, arg, capacity(host) if host is not None else None)
    if verb in ("suspend", "resume"):
        return Suspend(ref, on=verb == "suspend")
    if verb == "restart" or (verb == "delete" and kind == "pods"):
        return RestartPod(ref)
    return DeleteJob(ref)


def capacity(host: Host) -> Callable[[dict[str, Any], float], str]:
    """A line about free GPUs where pods of a template could run, from the cache (the
    node selector's matching schedulable nodes, summed per pool), against `more` GPUs."""

    def fit(template: dict[str, Any], more: float) -> str:
        session = host.session
        if session is None:
            return ""
        spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
        selector = spec.get("nodeSelector") if isinstance(spec.get("nodeSelector"), dict) else {}
        free: dict[str, float] = {}
        for node in session.items("nodes"):
            if node.unschedulable or not node.gpu_allocatable:
                continue
            if any(node.labels.get(k) != v for k, v in selector.items()):
                continue
            usage = session.ledger.node(node.name)
            free[node.pool or "(no pool)"] = free.get(node.pool or "(no pool)", 0.0) + max(
                0.0, usage.total_free
            )
        if not free:
            return "no schedulable GPU node matches its node selector" if selector else ""
        pools = ", ".join(f"{pool} has {n:g}" for pool, n in sorted(free.items())[:4])
        if more > sum(free.values()):
            return clean_line(
                f"{more:g} more GPUs asked, node pool {pools} free: some pods will stay Pending"
            )
        return clean_line(f"{more:g} more GPUs asked; node pool {pools} free")

    return fit


def new_runner(host: Host) -> ActionRunner | None:
    """A runner for the current connection: the audit log where the settings say (else
    its XDG place), the kubeconfig user of the context for the audit lines."""
    session = host.session
    if session is None:
        return None
    connection = session.connection
    user = kubeconfig_user(host.settings.kubeconfig, connection.context)
    audit = AuditLog(host.settings.audit_log or default_audit_path())
    return ActionRunner(connection, audit, user=user)


def start_action(host: Host, verb: str, arg: str = "") -> None:
    """Run `verb` on the selected row (from a key or a `:` command)."""
    app: Any = host
    if host.session is None:
        app.notify(f"{verb}: not connected", severity="error", markup=False)
        return
    chosen = selected(host)
    if chosen is None:
        app.notify(f"{verb}: select {VERBS[verb].what} first", severity="warning", markup=False)
        return
    kind, record = chosen
    if verb == "scale" and not arg.strip():
        if kind not in VERBS["scale"].kinds:
            app.notify(f"scale: select {VERBS['scale'].what}", severity="warning", markup=False)
            return
        what = {"inferenceservices": "minReplicas (or MIN..MAX)", "pytorchjobs": "workers"}.get(
            kind, "replicas"
        )
        label = ref_of(kind, getattr(record, "namespace", ""), record.name).label()

        def answered(text: str | None) -> None:
            if text is not None:
                start_action(host, "scale", text)

        app.push_screen(AskDialog(f"scale {label}: how many {what}?"), answered)
        return
    try:
        action = make_action(verb, kind, record, arg, host)
    except ActionError as exc:
        app.notify(str(exc), severity="error", markup=False)
        return
    runner = host.write_runner()
    if runner is None:
        app.notify(f"{verb}: not connected", severity="error", markup=False)
        return
    app.run_worker(_confirm_and_run(app, runner, action), group="action", exclusive=True)


async def _confirm_and_run(app: Any, runner: ActionRunner, action: Action) -> None:
    try:
        plan = await asyncio.to_thread(runner.prepare, action)
    except ActionError as exc:
        app.notify(str(exc), severity="error", markup=False, timeout=8)
        return
    if plan.unchanged:
        app.notify(plan.unchanged, markup=False)
        return
    dialog = ConfirmDialog(
        plan.title(runner.connection.context),
        changes=plan.lines(),
        warnings=plan.notes,
        enter_confirms=False,
        id="action-confirm",
    )
    if not await app.push_screen_wait(dialog):
        app.notify(f"{plan.verb} cancelled: nothing changed", markup=False)
        return
    try:
        outcome = await asyncio.to_thread(runner.execute, action, plan)
    except ActionError as exc:
        app.notify(str(exc), severity="error", markup=False, timeout=10)
        return
    app.notify(outcome.message, markup=False)
    after = getattr(app, "action_done", None)
    if after is not None:
        after(outcome)


def review_row(host: Host, view: str, kind: str, namespace: str) -> bool:
    """Blocking (a thread): ask the server (SelfSubjectAccessReview) about the accesses the
    actions of `view` need on a `kind` row in `namespace` that the cache does not know.
    True when something was asked."""
    runner = host.write_runner()
    if runner is None:
        return False
    asked = False
    stub = SimpleNamespace(name="-", namespace=namespace)
    for verb, spec in VERBS.items():
        if view not in spec.views or kind not in spec.kinds:
            continue
        for access in make_action(verb, kind, stub, "1").needs():
            if runner.access.cached(access) is None:
                runner.access.check(access)
                asked = True
    return asked


class ActionKeys(BarKeys):
    """Mixin for a table screen: the `act(verb)` key action, offered (`act_offered`, for
    `check_action`) only in the views where the verb applies and never in read-only mode.
    A key pressed on a row it does not fit, or that RBAC denies, says why in one line. Keys
    typed in one burst after `:` or `/` go to the bar (`BarKeys`)."""

    def act_offered(self, verb: str) -> bool:
        screen: Any = self
        spec = VERBS.get(verb)
        if spec is None or screen.view.name not in spec.views:
            return False
        connection = getattr(screen.host.session, "connection", None)
        return connection is not None and not getattr(connection, "read_only", False)

    def action_act(self, verb: str) -> None:
        screen: Any = self
        screen.host.perform(verb)

    def on_virtual_table_row_highlighted(self, _event: object) -> None:
        """What the selected row's actions need is reviewed in a thread, so that `?` can
        say which ones RBAC denies, and why (`denied_keys`)."""
        screen: Any = self
        kind, namespace = self._row_kind()
        connection = getattr(screen.host.session, "connection", None)
        if kind is None or connection is None or connection.read_only:
            return
        view = screen.view.name
        if not any(view in spec.views and kind in spec.kinds for spec in VERBS.values()):
            return

        def review() -> None:
            review_row(screen.host, view, kind, namespace)

        screen.run_worker(review, thread=True, group="rbac", exclusive=True, exit_on_error=False)

    def denied_keys(self) -> dict[str, str]:
        """Key help overrides (binding action → text) for the selected row's actions that
        RBAC denied, with the reason (from the reviews' cache; never blocks)."""
        screen: Any = self
        kind, namespace = self._row_kind()
        runner = getattr(screen.host, "_write_runner", None)
        if kind is None or runner is None:
            return {}
        stub = SimpleNamespace(name="-", namespace=namespace)
        denied: dict[str, str] = {}
        for binding in screen.BINDINGS:
            verb = binding.action[5:-2] if binding.action.startswith("act('") else ""
            if verb not in VERBS or kind not in VERBS[verb].kinds:
                continue
            for access in make_action(verb, kind, stub, "1").needs():
                decision = runner.access.cached(access)
                if decision is not None and not decision.allowed:
                    denied[binding.action] = f"{binding.tooltip} — {decision.denial(access)}"
        return denied

    def _row_kind(self) -> tuple[str | None, str]:
        screen: Any = self
        row = screen._selected() if screen.is_mounted else None
        if row is None or row.record is None:
            return None, ""
        return screen.view.kind_of(row.record), getattr(row.record, "namespace", "")

    def open_bar_for(self, key: str) -> bool:
        """`:` opens the command bar, `/` the filter."""
        screen: Any = self
        if key == "colon":
            screen.action_command()
        elif key == "slash":
            screen.action_filter()
        else:
            return False
        return True
