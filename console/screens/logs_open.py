"""What a log screen reads: one pod, or every pod of a training job or a model server.

`request_for_row` turns the selected row of a view into a `LogRequest` (`l` / `p` keys);
`request_for_spec` resolves the argument of `:logs` (`pod`, `ns/pod`, `job/NAME`,
`server/NAME`, `-p` for the previous container). `open_logs` pushes the screen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from console.cluster.logs import LogTarget
from console.cluster.records import JobRecord, PodRecord
from console.cluster.session import PLURAL_OF_KIND, SERVER_KINDS
from console.host import Host
from console.render.base import Scope


@dataclass(frozen=True)
class LogRequest:
    """A pod (`pod` set) or the pods of a job / workload (`scope` set)."""

    title: str
    namespace: str
    pod: str = ""
    scope: Scope | None = None
    previous: bool = False

    @property
    def merged(self) -> bool:
        return self.scope is not None


def request_for_row(view: Any, record: Any, previous: bool = False) -> LogRequest | None:
    """The log request for a record of a view (`None` for nodes and unknown rows)."""
    if isinstance(record, PodRecord):
        return LogRequest(
            f"pod {record.namespace}/{record.name}", record.namespace, record.name, None, previous
        )
    if view.name not in ("jobs", "servers"):
        return None
    target = view.drill(record)
    if target is None:
        return None
    _view, scope = target
    kind = getattr(record, "kind", "") or ("InferenceService" if view.name == "servers" else "")
    title = f"{kind or view.name} {record.namespace}/{record.name}"
    return LogRequest(title, record.namespace, "", scope, previous)


def scope_pods(session: Any, scope: Scope) -> list[PodRecord]:
    if scope.job is not None:
        return session.pods_of_job(*scope.job)
    if scope.workload is not None:
        return session.pods_of(*scope.workload)
    return []


def targets_of(session: Any, scope: Scope) -> Callable[[], list[LogTarget]]:
    """The current pods of a job / workload as log targets (called once a second)."""

    def targets() -> list[LogTarget]:
        pods = sorted(scope_pods(session, scope), key=lambda p: p.name)
        return [LogTarget(p.namespace, p.name) for p in pods if not p.deleting]

    return targets


_KIND_WORDS = {
    "pod": "pod", "pods": "pod", "po": "pod", "job": "job", "jobs": "job",
    "server": "server", "servers": "server",
}  # fmt: skip


def request_for_spec(host: Host, spec: str) -> LogRequest | str:
    """Resolve `:logs` arguments; a one-line error message when it names nothing."""
    words = spec.split()
    previous = any(w in ("-p", "--previous") for w in words)
    words = [w for w in words if w not in ("-p", "--previous")]
    session = host.session
    if not words:
        screen = getattr(host, "screen", None)
        row = getattr(screen, "_selected", lambda: None)()
        view = getattr(screen, "view", None)
        if row is None or view is None:
            return "logs: select a pod, a training job or a model server (or :logs NAME)"
        return request_for_row(view, row.record, previous) or (
            "logs: select a pod, a training job or a model server"
        )
    if session is None:
        return "logs: not connected"
    kind, rest = "", words[0]
    head, sep, tail = rest.partition("/")
    if sep and head in _KIND_WORDS:
        kind, rest = _KIND_WORDS[head], tail
    namespace, _, name = rest.rpartition("/")
    namespaces = [namespace] if namespace else [host.namespace] if host.namespace else None

    def found(records: list[Any]) -> list[Any]:
        return [
            r for r in records
            if r.name == name and (namespaces is None or r.namespace in namespaces)
        ]  # fmt: skip

    if kind in ("", "pod"):
        pods = found(session.items("pods"))
        if pods:
            p = pods[0]
            return LogRequest(f"pod {p.namespace}/{p.name}", p.namespace, p.name, None, previous)
    if kind in ("", "job"):
        for plural in {PLURAL_OF_KIND[k] for k in ("PyTorchJob", "TFJob", "MPIJob", "Job")}:
            jobs: list[JobRecord] = found(session.items(plural))
            if jobs:
                j = jobs[0]
                scope = Scope(f"pods of {j.kind}", job=(j.namespace, j.name))
                return LogRequest(
                    f"{j.kind} {j.namespace}/{j.name}", j.namespace, "", scope, previous
                )
    if kind in ("", "server"):
        for plural in SERVER_KINDS:
            servers = found(session.items(plural))
            if servers:
                s = servers[0]
                wkind = getattr(s, "kind", "") or "InferenceService"
                scope = Scope(f"pods of {wkind}", workload=(s.namespace, wkind, s.name))
                return LogRequest(
                    f"{wkind} {s.namespace}/{s.name}", s.namespace, "", scope, previous
                )
    return f"logs: no pod, training job or model server named {rest!r}"


def open_logs(host: Host, request: LogRequest | str) -> None:
    """Push the log screen for `request`, or say in one line why not."""
    app: Any = host
    if isinstance(request, str):
        app.notify(request, severity="warning", markup=False)
        return
    from console.screens.logs import LogScreen

    app.push_screen(LogScreen(request))
