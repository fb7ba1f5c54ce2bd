"""Writes to the cluster: validated, confirmed, RBAC-checked, audited, refused in read-only.

An `Action` is what the user asked for (cordon node X, scale Y to 8). Its `plan(conn)`
reads the object now and returns a `Plan`: the before → after `Change`s a confirmation
shows, warnings (`notes`), and the `WriteRequest`s to send, each with the RBAC `Access`
it needs. Bad input or state raises `ActionError` (one line) and nothing is sent.

    runner = ActionRunner(connection, AuditLog(default_audit_path()), user="alice")
    plan = runner.prepare(action)      # read-only? may I (RBAC)? read + validate → Plan
    # show plan.title(), plan.lines(), plan.notes; on "y":
    outcome = runner.execute(action, plan)  # audit → dryRun=All → write → audit outcome
    outcome.message                    # "cordoned node gpu-1"

`prepare` and `execute` block (HTTP): call them off the UI thread. Both raise
`ActionError` with a cleaned one-line message: read-only (nothing sent), RBAC denied
(with the reason), the audit log not writable (nothing sent), 403 from the server, 404
("disappeared meanwhile"), a second 409 (a first 409 re-reads, re-plans and retries
once), a rejected write. `execute` re-plans from a fresh read, so what it writes is
computed from the object as it is when the user said yes; `Outcome.plan` is what was
done. A plan whose `unchanged` is set (already cordoned) sends nothing.

Actions built from several writes with their own progress (drain) may use the pieces:
`runner.refuse_read_only`, `runner.check_access`, `runner.send`, `runner.audit`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from console.cluster.audit import AuditError, AuditLog
from console.cluster.connection import ClusterError, Connection, ReadOnlyError
from console.cluster.rbac import Access, AccessChecker
from console.text import clean_line

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class ActionError(Exception):
    """An action refused or failed: a one-line cleaned message; `status` the HTTP code."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(clean_line(message))
        self.status = status


@dataclass(frozen=True)
class ObjectRef:
    """The object an action writes (`namespace` "" for a cluster-scoped one)."""

    kind: str
    """`Node`, `PyTorchJob`."""
    resource: str
    """The REST plural: `nodes`, `pytorchjobs`."""
    group: str
    version: str
    name: str
    namespace: str = ""

    def path(self, subresource: str = "") -> str:
        """REST path of the object (or its subresource), names percent-encoded."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespace:
            base += f"/namespaces/{quote(self.namespace, safe='')}"
        base += f"/{self.resource}/{quote(self.name, safe='')}"
        return f"{base}/{subresource}" if subresource else base

    def label(self) -> str:
        """`Node gpu-1`, `PyTorchJob ml/train-1` (cleaned)."""
        where = f"{self.namespace}/" if self.namespace else ""
        return clean_line(f"{self.kind} {where}{self.name}")

    def access(self, verb: str, subresource: str = "") -> Access:
        return Access(verb, self.resource, self.group, subresource, self.namespace)


@dataclass(frozen=True)
class Change:
    """One line of a confirmation: `what: before → after` (plain strings, cleaned)."""

    what: str
    before: str
    after: str
    derived: bool = False
    """Shown, but not what is written (pods that go with it, GPUs): `execute` compares only
    the written changes with the confirmed plan."""

    def line(self) -> str:
        return clean_line(f"{self.what}: {self.before} → {self.after}")


@dataclass(frozen=True)
class WriteRequest:
    method: str
    path: str
    access: Access
    body: Any = None
    content_type: str = "application/json"
    query: Mapping[str, str] = field(default_factory=dict)
    dry_run: bool = True
    """Send it once with `dryRun=All` first (the API server validates, nothing stored)."""


@dataclass(frozen=True)
class Plan:
    verb: str
    """What the user asked, as a word: `cordon`, `scale`."""
    target: ObjectRef
    changes: tuple[Change, ...] = ()
    requests: tuple[WriteRequest, ...] = ()
    notes: tuple[str, ...] = ()
    """Warnings for the confirmation (an HPA manages it; a non-elastic job restarts)."""
    unchanged: str = ""
    """Set when there is nothing to do ("node gpu-1 is already cordoned"): nothing is sent."""
    done: str = ""
    """The success message (`cordoned Node gpu-1`)."""

    def title(self, context: str) -> str:
        """`scale PyTorchJob train-1 in namespace ml, context prod` (cluster-scoped objects:
        `cordon Node gpu-1, context prod`)."""
        target = self.target
        where = f" in namespace {target.namespace}," if target.namespace else ","
        return clean_line(
            f"{self.verb} {target.kind} {target.name}{where} context {context or 'in-cluster'}"
        )

    def lines(self) -> list[str]:
        return [change.line() for change in self.changes]

    def before(self) -> dict[str, str]:
        return {c.what: c.before for c in self.changes}

    def after(self) -> dict[str, str]:
        return {c.what: c.after for c in self.changes}

    def accesses(self) -> list[Access]:
        return list(dict.fromkeys(r.access for r in self.requests))


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    message: str
    retried: bool = False
    """A 409 made the runner re-read and write again."""


class Action(ABC):
    """A write the user asked for. Subclasses set `verb` and `target`, implement `plan`
    and `needs` (the RBAC accesses, known before any read: reviewed ahead, so the UI can
    say which actions are denied and why)."""

    verb: str = ""
    """What the user asked, as a word (`cordon`); may be set per instance (`uncordon`)."""
    target: ObjectRef

    @abstractmethod
    def needs(self) -> tuple[Access, ...]: ...

    @abstractmethod
    def plan(self, connection: Connection) -> Plan:
        """Read the object, validate, and say what would change. Raises `ActionError`."""


def read_object(connection: Connection, ref: ObjectRef, subresource: str = "") -> dict[str, Any]:
    """GET the object as a dict; 404 → `ActionError` saying it is gone."""
    try:
        raw = connection.get(ref.path(subresource))
    except ClusterError as exc:
        raise _error(ref, exc) from None
    try:
        obj = json.loads(raw)
    except ValueError:
        raise ActionError(
            f"{ref.label()}: the server answered something that is not JSON"
        ) from None
    if not isinstance(obj, dict):
        raise ActionError(f"{ref.label()}: the server answered something that is not an object")
    return obj


def dig(obj: Any, *keys: str) -> Any:
    """`obj[k1][k2]…`, None where any level is missing or not a mapping."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _server_text(exc: ClusterError) -> str:
    """The server's part of a ClusterError message (without `METHOD /path: `)."""
    text = str(exc)
    head, sep, rest = text.partition(": ")
    return rest if sep and " /" in head else text


def _error(ref: ObjectRef, exc: ClusterError) -> ActionError:
    if isinstance(exc, ReadOnlyError):
        return ActionError(str(exc))
    if exc.status == 404:
        return ActionError(f"{ref.label()} is gone (deleted meanwhile?): nothing changed", 404)
    if exc.status == 403:
        return ActionError(_server_text(exc), 403)
    if exc.status in (400, 422):
        return ActionError(f"rejected by the API server: {_server_text(exc)}", exc.status)
    return ActionError(_server_text(exc), exc.status)


def kubeconfig_user(kubeconfig: str | None, context: str) -> str:
    """The kubeconfig user name of `context` (for the audit log); "" when unknown."""
    import os

    from kubernetes import config as k8s_config

    path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    try:
        contexts, _current = k8s_config.list_kube_config_contexts(config_file=path)
    except Exception:  # an unreadable kubeconfig here only loses the audit's user name
        return ""
    for entry in contexts or []:
        if isinstance(entry, dict) and entry.get("name") == context:
            return clean_line((entry.get("context") or {}).get("user") or "")
    return ""


def os_user() -> str:
    """Who runs the console on this machine (for the audit log of a shared bastion)."""
    import getpass

    try:
        return clean_line(getpass.getuser())
    except (KeyError, OSError):
        return ""


def _written(plan: Plan) -> tuple[Change, ...]:
    return tuple(c for c in plan.changes if not c.derived)


class ActionRunner:
    """Runs actions on one connection: the one way the console writes."""

    def __init__(
        self,
        connection: Connection,
        audit: AuditLog,
        user: str = "",
        access: AccessChecker | None = None,
        local_user: str = "",
    ) -> None:
        self.connection = connection
        self.audit_log = audit
        self.user = user
        self.local_user = local_user or os_user()
        self.access = access or AccessChecker(connection)

    # ----- pieces -------------------------------------------------------------------------
    def refuse_read_only(self, verb: str, ref: ObjectRef) -> None:
        """Raise when the connection is read-only (before anything is read or sent)."""
        if self.connection.read_only:
            context = self.connection.context or "in-cluster"
            raise ActionError(
                f"read-only: {verb} {ref.label()} refused (context {context} is read-only;"
                " nothing sent)"
            )

    def check_access(self, accesses: tuple[Access, ...] | list[Access]) -> None:
        """Raise the first RBAC denial among `accesses`."""
        for access in accesses:
            decision = self.access.check(access)
            if not decision.allowed:
                raise ActionError(decision.denial(access), 403)

    def allowed(self, action: Action) -> tuple[bool, str]:
        """Whether the UI may offer `action`: (False, why) in read-only mode or when RBAC
        denies one of its accesses. Blocking (reviews, cached)."""
        try:
            self.refuse_read_only(action.verb, action.target)
            self.check_access(action.needs())
        except ActionError as exc:
            return False, str(exc)
        return True, ""

    def send(self, request: WriteRequest, dry_run: bool = False) -> bytes:
        """One write (with `dryRun=All` when asked). Raises ClusterError."""
        query = dict(request.query)
        if dry_run:
            query["dryRun"] = "All"
        headers = {"Content-Type": request.content_type}
        return self.connection.request(
            request.method, request.path, query or None, request.body, headers
        )

    def audit(self, plan: Plan, result: str, message: str = "", **extra: Any) -> None:
        """Append one record about `plan`; raises ActionError when the log cannot be
        written."""
        record = {
            "context": self.connection.context,
            "server": self.connection.server,
            "user": self.user,
            "local_user": self.local_user,
            "verb": plan.verb,
            "object": plan.target.label(),
            "before": plan.before(),
            "after": plan.after(),
            "result": result,
            "message": message,
            **extra,
        }
        try:
            self.audit_log.append(record)
        except AuditError as exc:
            raise ActionError(f"{exc}: refusing to act unrecorded") from None

    # ----- the whole action ---------------------------------------------------------------
    def prepare(self, action: Action) -> Plan:
        """Refusals first (read-only, RBAC), then the plan from a fresh read."""
        self.refuse_read_only(action.verb, action.target)
        self.check_access(action.needs())
        plan = action.plan(self.connection)
        self.check_access(plan.accesses())
        return plan

    def execute(self, action: Action, confirmed: Plan | None = None) -> Outcome:
        """Plan again from a fresh read, record the intent, validate with a dry run, write,
        record the outcome. On 409, re-read and retry once. With `confirmed` (the plan the
        user said yes to), a fresh plan that would change something else is refused: what
        was confirmed is what is written."""
        retried = False
        while True:
            plan = self.prepare(action)
            if plan.unchanged:
                return Outcome(plan, plan.unchanged, retried)
            if confirmed is not None and _written(plan) != _written(confirmed):
                now = "; ".join(plan.lines()) or "something else"
                raise ActionError(
                    f"{plan.target.label()} changed since you confirmed (now: {now}):"
                    " nothing sent; look again"
                )
            self.audit(plan, "started", retried=retried)
            try:
                for request in plan.requests:
                    if request.dry_run:
                        self.send(request, dry_run=True)
                for request in plan.requests:
                    self.send(request)
            except ClusterError as exc:
                if exc.status == 409 and not retried:
                    self.audit(plan, "conflict", _server_text(exc))
                    retried = True
                    continue
                error = _error(plan.target, exc)
                if exc.status == 409:
                    error = ActionError(
                        f"{plan.target.label()} changed while writing, twice (409 Conflict):"
                        " nothing changed; try again",
                        409,
                    )
                if exc.status == 403:
                    self.access.forget()
                self._audit_after(plan, "failed", str(error))
                raise error from None
            message = plan.done or f"{plan.verb}: {plan.target.label()} done"
            self._audit_after(plan, "ok", message)
            return Outcome(plan, message, retried)

    def _audit_after(self, plan: Plan, result: str, message: str) -> None:
        try:
            self.audit(plan, result, message)
        except ActionError as exc:  # the write happened (or failed): say so, and why unrecorded
            unrecorded = str(exc).replace(": refusing to act unrecorded", "")
            raise ActionError(f"{message} — but not recorded: {unrecorded}") from None
