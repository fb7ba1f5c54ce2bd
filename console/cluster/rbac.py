"""May the user do this? SelfSubjectAccessReview per (verb, group, resource, subresource,
namespace), cached briefly.

    checker = AccessChecker(connection)            # one per connection (context)
    decision = checker.check(Access("patch", "nodes"))
    decision.allowed, decision.reason              # reason: one cleaned line for the UI

A review is a POST that changes nothing, so it is allowed on a read-only connection.
When the review itself fails (unreachable, an API server without the authorization
group) the decision is `known=False, allowed=True`: the server still decides, and a 403
is then shown plainly. Blocking: call it off the UI thread. Thread-safe.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from console.cluster.connection import ClusterError, Connection
from console.text import clean_line

REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Access:
    """One permission a write needs, as RBAC names it (`namespace` "": cluster scope)."""

    verb: str
    resource: str
    group: str = ""
    subresource: str = ""
    namespace: str = ""

    def describe(self) -> str:
        """`patch nodes`, `update pytorchjobs.kubeflow.org/scale in namespace ml`."""
        what = f"{self.resource}.{self.group}" if self.group else self.resource
        if self.subresource:
            what += f"/{self.subresource}"
        scope = f" in namespace {self.namespace}" if self.namespace else ""
        return clean_line(f"{self.verb} {what}{scope}")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    """Why, as the server says it (may be empty), cleaned."""
    known: bool = True
    """False when the review could not be made (the server decides at write time)."""

    def denial(self, access: Access) -> str:
        """The one-line message for a denied access."""
        because = f" ({self.reason})" if self.reason else ""
        return f"not allowed by RBAC: you may not {access.describe()}{because}"


class AccessChecker:
    """SelfSubjectAccessReviews of one connection, each answer kept `ttl` seconds."""

    def __init__(
        self,
        connection: Connection,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = connection
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[Access, tuple[float, Decision]] = {}

    def check(self, access: Access) -> Decision:
        """The (cached) decision for `access`; never raises."""
        now = self._clock()
        with self._lock:
            hit = self._cache.get(access)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        decision = self._review(access)
        if decision.known:
            with self._lock:
                self._cache[access] = (now, decision)
        return decision

    def cached(self, access: Access) -> Decision | None:
        """The cached decision, without asking the server (None: not known yet, or stale).
        For the UI thread, which must not block."""
        with self._lock:
            hit = self._cache.get(access)
        if hit is None or self._clock() - hit[0] >= self.ttl:
            return None
        return hit[1]

    def forget(self) -> None:
        """Drop every cached answer (after a role change, or a 403 that contradicts one)."""
        with self._lock:
            self._cache.clear()

    def _review(self, access: Access) -> Decision:
        attributes = {
            "verb": access.verb,
            "group": access.group,
            "resource": access.resource,
            "subresource": access.subresource,
        }
        if access.namespace:
            attributes["namespace"] = access.namespace
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        try:
            raw = self.connection.request(
                "POST", REVIEW_PATH, body=body, headers={"Content-Type": "application/json"}
            )
            status = json.loads(raw).get("status") or {}
        except (ClusterError, ValueError, AttributeError) as exc:
            return Decision(True, clean_line(f"access review failed: {exc}"), known=False)
        if not isinstance(status, dict):
            return Decision(True, "access review answered without a status", known=False)
        reason = clean_line(status.get("reason") or status.get("evaluationError") or "")
        return Decision(status.get("allowed") is True, reason[:200])
