"""Carrying out a drain plan: cordon, then evict through the Eviction API until every pod
is gone, the timeout passes or the user cancels; progress as plain data.

    drain = Drain(connection, plan, options)
    final = drain.run(report)       # blocking; report(DrainProgress) after each change
    drain.cancel()                  # from any thread: stops at the next step

A PodDisruptionBudget's 429 is retried with backoff (1, 2, 4, then every 5 s, or the
server's Retry-After) and shown with the budget that blocks it; an accepted eviction is
followed until the pod is gone (404, or a new pod under the same name). A 404 on eviction
means the pod is already gone. No Textual here: the screen posts what `report` receives.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from console.cluster.actions import ActionError, ActionRunner, Change, Plan
from console.cluster.actions_node import node_ref
from console.cluster.connection import ClusterError, Connection, ReadOnlyError, UnreachableError
from console.cluster.drain import DrainOptions, DrainPlan, DrainPod, classify
from console.cluster.drain_progress import (
    BLOCKED,
    EVICTED,
    FAILED,
    LEFT,
    TERMINATING,
    DrainProgress,
    PodProgress,
)
from console.cluster.kinds import quote_segment
from console.cluster.rbac import Access
from console.cluster.selectors import matches_selector
from console.text import clean_line

BACKOFF = (1.0, 2.0, 4.0, 5.0)
POLL = 1.0
PDB_CACHE_SECONDS = 5.0
TRANSIENT = (500, 502, 503, 504)


class Drain:
    """One drain of one node, run once on a worker thread."""

    def __init__(
        self,
        connection: Connection,
        plan: DrainPlan,
        options: DrainOptions,
        *,
        clock: Callable[[], float] = time.monotonic,
        poll: float = POLL,
        runner: ActionRunner | None = None,
    ) -> None:
        self.connection = connection
        self.runner = runner
        """Read-only and RBAC refusals before the cordon, and the audit log (None: neither,
        for callers that already checked; the connection still refuses in read-only)."""
        self.plan = plan
        self.options = options
        self._clock = clock
        self._poll = poll
        self._cancel = threading.Event()
        self._started = 0.0
        self._pods: dict[str, PodProgress] = {}
        self._due: dict[str, float] = {}
        self._budgets: dict[str, tuple[float, list[dict]]] = {}
        self._cordoned = plan.cordoned
        self._unrecorded = ""

    def cancel(self) -> None:
        """Stop at the next step (any thread): pods not yet gone are reported as left."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _elapsed(self) -> float:
        return self._clock() - self._started

    def _snapshot(self, phase: str, message: str = "") -> DrainProgress:
        return DrainProgress(
            self.plan.node,
            phase,
            tuple(self._pods.values()),
            self._elapsed(),
            self._cordoned,
            clean_line(message),
            self.plan.stay,
        )

    def run(self, report: Callable[[DrainProgress], None]) -> DrainProgress:
        """Cordon, evict, wait; the last snapshot is also returned. Never raises for a
        cluster error: it ends the drain with phase `failed` and the reason."""
        self._started = self._clock()
        self._pods = {p.ref: _start(p) for p in self.plan.evict}
        report(self._snapshot("cordoning"))
        try:
            self._admit()
        except ActionError as exc:
            final = self._snapshot("failed", str(exc))
            report(final)
            return final
        final = self._run(report)
        self._record(final)
        if self._unrecorded:
            note = f"not recorded in the audit log: {self._unrecorded}"
            final = replace(final, message="; ".join(m for m in (final.message, note) if m))
        report(final)
        return final

    def audit_plan(self) -> Plan:
        """The drain as the audit log records it (before → after)."""
        plan = self.plan
        return Plan(
            "drain",
            node_ref(plan.node),
            (
                Change("schedulable", "no" if plan.cordoned else "yes", "no"),
                Change("pods to evict", str(len(plan.evict)), "0"),
            ),
            notes=(self.options.describe(),) if self.options.describe() else (),
        )

    def accesses(self) -> list[Access]:
        """What the drain needs: patch the node, create evictions where its pods are."""
        namespaces = sorted({p.namespace for p in self.plan.evict})
        return [
            node_ref(self.plan.node).access("patch"),
            *(Access("create", "pods", "", "eviction", ns) for ns in namespaces),
        ]

    def _admit(self) -> None:
        """Read-only, RBAC and the audit record of the intent, before anything is sent."""
        if self.runner is None:
            return
        self.runner.refuse_read_only("drain", node_ref(self.plan.node))
        self.runner.check_access(self.accesses())
        self.runner.audit(self.audit_plan(), "started", options=self.options.describe())

    def _record(self, final: DrainProgress) -> None:
        if self.runner is None:
            return
        evicted = [p.pod.ref for p in final.pods if p.state == EVICTED]
        left = [
            f"{p.pod.ref}: {p.state} {p.describe()}".strip()
            for p in final.pods
            if p.state != EVICTED
        ]
        result = "ok" if final.phase == "done" and not left else final.phase
        try:
            self.runner.audit(self.audit_plan(), result, final.message, evicted=evicted, left=left)
        except ActionError as exc:  # what was done is done: the summary says it went unrecorded
            self._unrecorded = str(exc)

    def _run(self, report: Callable[[DrainProgress], None]) -> DrainProgress:
        node = self.plan.node
        path = f"/api/v1/nodes/{quote_segment(node)}"
        if not self._cordoned:
            try:
                self.connection.request(
                    "PATCH",
                    path,
                    body={"spec": {"unschedulable": True}},
                    headers={"Content-Type": "application/strategic-merge-patch+json"},
                )
            except ClusterError as exc:
                return self._snapshot("failed", f"cordon refused: {_message(exc)}")
            self._cordoned = True
        try:
            self._relist()
        except ClusterError as exc:
            return self._snapshot("failed", f"listing the node's pods: {exc}")
        report(self._snapshot("evicting"))
        now = self._clock()
        self._due = {ref: now for ref in self._pods}
        while True:
            if self._cancel.is_set():
                return self._stop("cancelled", "cancelled by the user")
            if self.options.timeout and self._elapsed() >= self.options.timeout:
                return self._stop("timed out", f"timeout {self.options.timeout:g}s reached")
            changed = False
            for ref in [r for r, at in self._due.items() if at <= self._clock()]:
                if self._cancel.is_set():
                    break
                changed |= self._step(ref)
            if all(p.done for p in self._pods.values()):
                failed = sum(p.state == FAILED for p in self._pods.values())
                return self._snapshot("done", f"{failed} pod(s) failed" if failed else "")
            if changed:
                report(self._snapshot("evicting"))
            wait = min(self._due.values(), default=self._clock()) - self._clock()
            if self.options.timeout:
                wait = min(wait, self.options.timeout - self._elapsed())
            self._cancel.wait(max(0.02, min(wait, self._poll)))

    def _relist(self) -> None:
        """The node's pods again, after the cordon: pods that came meanwhile are added, pods
        already gone count as evicted, and a new pod that would refuse the drain fails."""
        raw = json.loads(
            self.connection.get(
                "/api/v1/pods", {"fieldSelector": f"spec.nodeName={self.plan.node}"}
            )
        )
        items = raw.get("items") if isinstance(raw, dict) else None
        fresh = classify(
            self.plan.node, True, items if isinstance(items, list) else [], self.options
        )
        listed = {p.ref for p in (*fresh.evict, *fresh.stay, *fresh.refused_pods)}
        for ref, item in list(self._pods.items()):
            if ref not in listed:
                self._pods[ref] = replace(item, state=EVICTED, detail="gone before eviction")
        for pod in fresh.evict:
            self._pods.setdefault(pod.ref, _start(pod))
        for pod in fresh.refused_pods:
            if pod.ref not in self._pods:
                why = next((r for r in fresh.refusals if pod.ref in r), "refused")
                self._pods[pod.ref] = PodProgress(pod, FAILED, why.split(":")[0])

    def _stop(self, phase: str, message: str) -> DrainProgress:
        for ref, item in self._pods.items():
            if not item.done:
                detail = item.detail if item.state == BLOCKED else item.state
                self._pods[ref] = replace(item, state=LEFT, detail=detail, retry_in=0.0)
        return self._snapshot(phase, message)

    def _set(
        self,
        ref: str,
        state: str,
        detail: str,
        due: float | None,
        tried: bool = False,
        retry_in: float = 0.0,
    ) -> bool:
        item = self._pods[ref]
        new = replace(
            item,
            state=state,
            detail=clean_line(detail),
            attempts=item.attempts + tried,
            retry_in=retry_in,
        )
        if due is None:
            self._due.pop(ref, None)
        else:
            self._due[ref] = due
        self._pods[ref] = new
        return new != item

    def _step(self, ref: str) -> bool:
        item = self._pods[ref]
        if item.state == TERMINATING:
            return self._check_gone(ref, item)
        return self._evict(ref, item)

    def _evict(self, ref: str, item: PodProgress) -> bool:
        pod = item.pod
        body: dict = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": pod.name, "namespace": pod.namespace},
        }
        if self.options.grace_period is not None:
            body["deleteOptions"] = {"gracePeriodSeconds": self.options.grace_period}
        path = f"/api/v1/namespaces/{quote_segment(pod.namespace)}/pods/{quote_segment(pod.name)}/eviction"
        now = self._clock()
        try:
            self.connection.request(
                "POST", path, body=body, headers={"Content-Type": "application/json"}
            )
        except ReadOnlyError as exc:
            return self._set(ref, FAILED, str(exc), None, True)
        except ClusterError as exc:
            if exc.status == 404:
                return self._set(ref, EVICTED, "already gone", None, True)
            if exc.status == 429:
                # The connection reads a 429 without Retry-After as 1 s: backoff beyond that.
                delay = max(exc.retry_after, BACKOFF[min(item.attempts, len(BACKOFF) - 1)])
                why = self._blocked_by(pod) or _message(exc)
                return self._set(ref, BLOCKED, why, now + delay, True, retry_in=delay)
            if isinstance(exc, UnreachableError) or exc.status in TRANSIENT:
                delay = BACKOFF[min(item.attempts, len(BACKOFF) - 1)]
                return self._set(ref, item.state, f"{_message(exc)} (retrying)", now + delay, True)
            return self._set(ref, FAILED, _message(exc), None, True)
        return self._set(ref, TERMINATING, "eviction accepted", now + min(self._poll, 0.25), True)

    def _check_gone(self, ref: str, item: PodProgress) -> bool:
        pod = item.pod
        path = f"/api/v1/namespaces/{quote_segment(pod.namespace)}/pods/{quote_segment(pod.name)}"
        try:
            raw = json.loads(self.connection.get(path))
        except ClusterError as exc:
            if exc.status == 404:
                return self._set(ref, EVICTED, "", None)
            return self._set(
                ref, TERMINATING, f"checking: {_message(exc)}", self._clock() + self._poll
            )
        except ValueError:
            raw = {}
        uid = ((raw.get("metadata") or {}) if isinstance(raw, dict) else {}).get("uid")
        if uid and uid != pod.uid:
            return self._set(ref, EVICTED, "", None)  # its controller already made a new one
        return self._set(ref, TERMINATING, "terminating", self._clock() + self._poll)

    def _blocked_by(self, pod: DrainPod) -> str:
        """The budget that blocks `pod`, with its numbers, as one line ('' if none found)."""
        now = self._clock()
        cached = self._budgets.get(pod.namespace)
        if cached is None or now - cached[0] > PDB_CACHE_SECONDS:
            try:
                raw = json.loads(
                    self.connection.get(
                        f"/apis/policy/v1/namespaces/{quote_segment(pod.namespace)}/poddisruptionbudgets"
                    )
                )
                items = [i for i in raw.get("items") or () if isinstance(i, dict)]
            except (ClusterError, ValueError, AttributeError):
                items = []
            cached = (now, items)
            self._budgets[pod.namespace] = cached
        for pdb in cached[1]:
            if matches_selector((pdb.get("spec") or {}).get("selector"), pod.labels):
                name = clean_line((pdb.get("metadata") or {}).get("name", ""))
                status = pdb.get("status") or {}
                return (
                    f"PDB {name}: {_int(status.get('currentHealthy'))} healthy,"
                    f" {_int(status.get('desiredHealthy'))} needed"
                )
        return ""


def _start(pod: DrainPod) -> PodProgress:
    """A pod already being deleted is only waited for (its eviction would change nothing)."""
    return (
        PodProgress(pod, TERMINATING, "already terminating")
        if pod.terminating
        else PodProgress(pod)
    )


def _int(value: object) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"


def _message(exc: ClusterError) -> str:
    """The server's words without the `POST /path:` prefix the connection adds."""
    text = str(exc)
    head, sep, rest = text.partition(": ")
    return (
        rest if sep and head.split(" ", 1)[0] in ("GET", "POST", "PATCH", "PUT", "DELETE") else text
    )
