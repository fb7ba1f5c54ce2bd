"""Actions on one object that read it and answer with one write (suspend / resume, delete
a job, restart a pod, scale): the prelude they share — which objects they take, the access
they need, the read — and the one-request plan they return."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from console.cluster.actions import (
    Action,
    ActionError,
    Change,
    ObjectRef,
    Plan,
    WriteRequest,
    read_object,
)
from console.cluster.connection import Connection
from console.cluster.rbac import Access


class SingleWrite(Action):
    """An `Action` whose plan sends one request, with the access of `needs()[0]`."""

    access_verb: str = "patch"
    """The RBAC verb the write needs on the target itself (override `needs` otherwise)."""

    def take(self, ref: ObjectRef, resources: Collection[str], refusal: str) -> None:
        """Aim at `ref`; `ActionError` "<label><refusal>" when its resource is not one of
        `resources`."""
        if ref.resource not in resources:
            raise ActionError(f"{ref.label()}{refusal}")
        self.target = ref

    def needs(self) -> tuple[Access, ...]:
        return (self.target.access(self.access_verb),)

    def read(self, connection: Connection) -> dict[str, Any]:
        """The target as it is now (`read_object`: gone → `ActionError`)."""
        return read_object(connection, self.target)

    def unchanged(self, why: str) -> Plan:
        """Nothing to do (`why`: "… is already suspended"): nothing is sent."""
        return Plan(self.verb, self.target, unchanged=why)

    def single_write(
        self,
        method: str,
        body: Any = None,
        *,
        changes: Iterable[Change],
        notes: Iterable[str] = (),
        done: str,
        subresource: str = "",
        content_type: str = "application/json",
    ) -> Plan:
        """The plan: `changes` and `notes` for the confirmation, one `method` request to the
        target (or its `subresource`), `done` its success message."""
        request = WriteRequest(
            method, self.target.path(subresource), self.needs()[0], body, content_type
        )
        return Plan(self.verb, self.target, tuple(changes), (request,), tuple(notes), done=done)
