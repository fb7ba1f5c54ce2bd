"""Server-side Tables (`Accept: application/json;as=Table;…`), so `kubectl get` prints the columns
the real server would: the built-in printers for core kinds, additionalPrinterColumns for CRDs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .clock import parse_rfc3339
from .kinds import ResourceType
from .pod_table import PodCells, pod_cells

Column = tuple[str, str, int, Callable[[dict[str, Any], float], Any]]  # name, type, priority, cell


def human_duration(seconds: float) -> str:
    """kubectl's HumanDuration (k8s.io/apimachinery/pkg/util/duration)."""
    if seconds < -1:
        return "<invalid>"
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _age(obj: dict[str, Any], now: float) -> str:
    created = obj.get("metadata", {}).get("creationTimestamp")
    return human_duration(now - parse_rfc3339(created)) if created else "<unknown>"


def _name(obj: dict[str, Any], _now: float) -> str:
    return obj.get("metadata", {}).get("name", "")


_last_pod: list[Any] = [None, None]  # (pod, its cells): READY, STATUS, RESTARTS read it in turn


def _cells(obj: dict[str, Any]) -> PodCells:
    if _last_pod[0] is not obj:
        _last_pod[:] = [obj, pod_cells(obj)]
    return _last_pod[1]


def _pod_ready(obj: dict[str, Any], _now: float) -> str:
    return _cells(obj).ready


def _pod_status(obj: dict[str, Any], _now: float) -> str:
    return _cells(obj).status


def _pod_restarts(obj: dict[str, Any], now: float) -> str:
    """kubectl's `3 (5m ago)`: the count, and how long ago the latest counted restart was."""
    cells = _cells(obj)
    if cells.restarts and cells.last_restart:
        return f"{cells.restarts} ({human_duration(now - cells.last_restart)} ago)"
    return str(cells.restarts)


def _node_status(obj: dict[str, Any], _now: float) -> str:
    ready = next(
        (c for c in obj.get("status", {}).get("conditions") or [] if c.get("type") == "Ready"), None
    )
    text = "Ready" if ready and ready.get("status") == "True" else "NotReady"
    if obj.get("spec", {}).get("unschedulable"):
        text += ",SchedulingDisabled"
    return text


def _node_roles(obj: dict[str, Any], _now: float) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = [
        k[len(prefix) :] for k in obj.get("metadata", {}).get("labels", {}) if k.startswith(prefix)
    ]
    return ",".join(sorted(roles)) or "<none>"


def _path(*keys: str, default: Any = "<none>") -> Callable[[dict[str, Any], float], Any]:
    def cell(obj: dict[str, Any], _now: float) -> Any:
        cur: Any = obj
        for key in keys:
            if isinstance(cur, list):
                cur = cur[int(key)] if cur else None
            elif isinstance(cur, dict):
                cur = cur.get(key)
            else:
                cur = None
            if cur is None:
                return default
        return cur

    return cell


def _last_condition_type(obj: dict[str, Any], _now: float) -> str:
    conditions = obj.get("status", {}).get("conditions") or []
    return conditions[-1].get("type", "") if conditions else ""


def _condition(kind: str) -> Callable[[dict[str, Any], float], str]:
    def cell(obj: dict[str, Any], _now: float) -> str:
        for cond in obj.get("status", {}).get("conditions") or []:
            if cond.get("type") == kind:
                return cond.get("status", "")
        return ""

    return cell


def _job_status(obj: dict[str, Any], _now: float) -> str:
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "Failed", "Suspended"):
            return cond["type"]
    return "Running"


def _job_completions(obj: dict[str, Any], _now: float) -> str:
    return (
        f"{obj.get('status', {}).get('succeeded', 0)}/{obj.get('spec', {}).get('completions', 1)}"
    )


def _job_duration(obj: dict[str, Any], now: float) -> str:
    status = obj.get("status", {})
    if not status.get("startTime"):
        return ""
    end = parse_rfc3339(status["completionTime"]) if status.get("completionTime") else now
    return human_duration(end - parse_rfc3339(status["startTime"]))


def _ready_of(ready_key: str, total_key: str) -> Callable[[dict[str, Any], float], str]:
    def cell(obj: dict[str, Any], _now: float) -> str:
        status, spec = obj.get("status", {}), obj.get("spec", {})
        return f"{status.get(ready_key, 0)}/{spec.get(total_key, status.get(total_key, 0))}"

    return cell


def _taints(obj: dict[str, Any], _now: float) -> str:
    return str(len(obj.get("spec", {}).get("taints") or []))


NAME: Column = ("Name", "string", 0, _name)
AGE: Column = ("Age", "string", 0, _age)

COLUMNS: dict[str, list[Column]] = {
    "pods": [
        NAME,
        ("Ready", "string", 0, _pod_ready),
        ("Status", "string", 0, _pod_status),
        ("Restarts", "string", 0, _pod_restarts),
        AGE,
        ("IP", "string", 1, _path("status", "podIP")),
        ("Node", "string", 1, _path("spec", "nodeName")),
        ("Nominated Node", "string", 1, _path("status", "nominatedNodeName")),
        ("Readiness Gates", "string", 1, lambda _o, _n: "<none>"),
    ],
    "nodes": [
        NAME,
        ("Status", "string", 0, _node_status),
        ("Roles", "string", 0, _node_roles),
        AGE,
        ("Version", "string", 0, _path("status", "nodeInfo", "kubeletVersion")),
        ("Internal-IP", "string", 1, _path("status", "addresses", "0", "address")),
        ("External-IP", "string", 1, lambda _o, _n: "<none>"),
        ("OS-Image", "string", 1, _path("status", "nodeInfo", "osImage")),
        ("Kernel-Version", "string", 1, _path("status", "nodeInfo", "kernelVersion")),
        ("Container-Runtime", "string", 1, _path("status", "nodeInfo", "containerRuntimeVersion")),
    ],
    "deployments": [
        NAME,
        ("Ready", "string", 0, _ready_of("readyReplicas", "replicas")),
        ("Up-to-date", "integer", 0, _path("status", "updatedReplicas", default=0)),
        ("Available", "integer", 0, _path("status", "availableReplicas", default=0)),
        AGE,
    ],
    "statefulsets": [NAME, ("Ready", "string", 0, _ready_of("readyReplicas", "replicas")), AGE],
    "replicasets": [
        NAME,
        ("Desired", "integer", 0, _path("spec", "replicas", default=0)),
        ("Current", "integer", 0, _path("status", "replicas", default=0)),
        ("Ready", "integer", 0, _path("status", "readyReplicas", default=0)),
        AGE,
    ],
    "daemonsets": [
        NAME,
        ("Desired", "integer", 0, _path("status", "desiredNumberScheduled", default=0)),
        ("Current", "integer", 0, _path("status", "currentNumberScheduled", default=0)),
        ("Ready", "integer", 0, _path("status", "numberReady", default=0)),
        AGE,
    ],
    "jobs": [
        NAME,
        ("Status", "string", 0, _job_status),
        ("Completions", "string", 0, _job_completions),
        ("Duration", "string", 0, _job_duration),
        AGE,
    ],
    "pytorchjobs": [NAME, ("State", "string", 0, _last_condition_type), AGE],
    "tfjobs": [NAME, ("State", "string", 0, _last_condition_type), AGE],
    "mpijobs": [NAME, ("State", "string", 0, _last_condition_type), AGE],
    "inferenceservices": [
        NAME,
        ("URL", "string", 0, _path("status", "url", default="")),
        ("Ready", "string", 0, _condition("Ready")),
        ("Prev", "integer", 0, lambda _o, _n: ""),
        ("Latest", "integer", 0, lambda _o, _n: ""),
        (
            "LatestReadyRevision",
            "string",
            0,
            _path("status", "components", "predictor", "latestReadyRevision", default=""),
        ),
        AGE,
    ],
    "events": [
        (
            "Last Seen",
            "string",
            0,
            lambda o, n: (
                human_duration(n - parse_rfc3339(o["lastTimestamp"]))
                if o.get("lastTimestamp")
                else ""
            ),
        ),
        ("Type", "string", 0, _path("type", default="")),
        ("Reason", "string", 0, _path("reason", default="")),
        (
            "Object",
            "string",
            0,
            lambda o, _n: (
                f"{o.get('involvedObject', {}).get('kind', '').lower()}/{o.get('involvedObject', {}).get('name', '')}"
            ),
        ),
        ("Message", "string", 0, _path("message", default="")),
    ],
    "services": [
        NAME,
        ("Type", "string", 0, _path("spec", "type", default="ClusterIP")),
        ("Cluster-IP", "string", 0, _path("spec", "clusterIP")),
        ("External-IP", "string", 0, lambda _o, _n: "<none>"),
        (
            "Port(s)",
            "string",
            0,
            lambda o, _n: (
                ",".join(
                    f"{p.get('port')}/{p.get('protocol', 'TCP')}"
                    for p in o.get("spec", {}).get("ports") or []
                )
                or "<none>"
            ),
        ),
        AGE,
    ],
    "namespaces": [NAME, ("Status", "string", 0, _path("status", "phase", default="Active")), AGE],
    "poddisruptionbudgets": [
        NAME,
        ("Min Available", "string", 0, _path("spec", "minAvailable", default="N/A")),
        ("Max Unavailable", "string", 0, _path("spec", "maxUnavailable", default="N/A")),
        ("Allowed Disruptions", "integer", 0, _path("status", "disruptionsAllowed", default=0)),
        AGE,
    ],
    "configmaps": [NAME, ("Data", "integer", 0, lambda o, _n: len(o.get("data") or {})), AGE],
}


def table_for(
    rt: ResourceType, objects: list[dict[str, Any]], now: float, include_object: str = "Metadata"
) -> dict[str, Any]:
    columns = COLUMNS.get(rt.plural, [NAME, AGE])
    rows = []
    for obj in objects:
        cells = []
        for _, _, _, cell in columns:
            try:
                cells.append(cell(obj, now))
            except (KeyError, ValueError, TypeError, IndexError):
                cells.append("<unknown>")
        if include_object == "Object":
            embedded = obj
        elif include_object == "None":
            embedded = None
        else:
            embedded = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata", {}),
            }
        row: dict[str, Any] = {"cells": cells}
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    definitions = [
        {
            "name": name,
            "type": kind,
            "format": "name" if name == "Name" else "",
            "description": name,
            "priority": prio,
        }
        for name, kind, prio, _ in columns
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": definitions,
        "rows": rows,
    }
