"""Node actions: cordon and uncordon, as kubectl does them.

`Cordon(node)` / `Cordon(node, on=False)`: a strategic-merge patch of `spec.unschedulable`
(`true`, or `null` to uncordon) on `/api/v1/nodes/{name}`; the node lifecycle controller
then adds or removes the `node.kubernetes.io/unschedulable:NoSchedule` taint.
"""

from __future__ import annotations

from console.cluster.actions import (
    STRATEGIC_MERGE_PATCH,
    Action,
    Change,
    ObjectRef,
    Plan,
    WriteRequest,
    dig,
    read_object,
)
from console.cluster.connection import Connection
from console.cluster.rbac import Access


def node_ref(name: str) -> ObjectRef:
    return ObjectRef("Node", "nodes", "", "v1", name)


def _pods_on(connection: Connection, node: str) -> int | None:
    """How many non-terminated pods run on `node` (None when it cannot be listed)."""
    import json

    from console.cluster.connection import ClusterError

    query = {"fieldSelector": f"spec.nodeName={node},status.phase!=Succeeded,status.phase!=Failed"}
    try:
        items = json.loads(connection.get("/api/v1/pods", query)).get("items")
    except (ClusterError, ValueError, AttributeError):
        return None
    return len(items) if isinstance(items, list) else None


class Cordon(Action):
    """Mark a node (un)schedulable. Pods already on it keep running."""

    def __init__(self, node: str, on: bool = True) -> None:
        self.on = on
        self.verb = "cordon" if on else "uncordon"
        self.target = node_ref(node)

    def needs(self) -> tuple[Access, ...]:
        return (self.target.access("patch"),)

    def plan(self, connection: Connection) -> Plan:
        node = read_object(connection, self.target)
        was = dig(node, "spec", "unschedulable") is True
        label = self.target.label()
        if was == self.on:
            state = "cordoned" if was else "schedulable (not cordoned)"
            return Plan(self.verb, self.target, unchanged=f"{label} is already {state}")
        body = {"spec": {"unschedulable": True if self.on else None}}
        changes = [Change("schedulable", "no" if was else "yes", "no" if self.on else "yes")]
        notes: list[str] = []
        if self.on:
            running = _pods_on(connection, self.target.name)
            if running:
                notes.append(f"{running} pods keep running there (drain evicts them)")
        return Plan(
            self.verb,
            self.target,
            tuple(changes),
            (
                WriteRequest(
                    "PATCH", self.target.path(), self.needs()[0], body, STRATEGIC_MERGE_PATCH
                ),
            ),
            tuple(notes),
            done=f"{'cordoned' if self.on else 'uncordoned'} {label}",
        )
