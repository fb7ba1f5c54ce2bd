"""The API server's `metadata.managedFields`, for label changes: who last set which labels, when.

A real API server records, on every write, each field manager's fields and the time of its last
change. The simulator records that for labels only — what tells when a node was asked for a new
device-plugin config (`nvidia.com/device-plugin.config`), say. The manager is the request's
`fieldManager` parameter, else the first word of its User-Agent (`kubectl/v1.30 …` → `kubectl`),
as the real server defaults it.
"""

from __future__ import annotations

from typing import Any


def manager_of(field_manager: str | None, user_agent: str | None) -> str:
    """The field manager a write is recorded under."""
    if field_manager:
        return field_manager[:128]
    agent = (user_agent or "").split(" ", 1)[0].split("/", 1)[0]
    return agent[:128] or "unknown"


def record_labels(current: dict[str, Any], updated: dict[str, Any], manager: str, at: str) -> None:
    """If the write changes labels, note them as `manager`'s (operation Update, time `at`) in
    `updated`'s managedFields; a label it removes leaves every manager's set."""
    before = (current.get("metadata") or {}).get("labels") or {}
    meta = updated.setdefault("metadata", {})
    after = meta.get("labels") or {}
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    if not changed:
        return
    entries = [dict(e) for e in meta.get("managedFields") or [] if isinstance(e, dict)]
    for entry in entries:
        labels = ((entry.get("fieldsV1") or {}).get("f:metadata") or {}).get("f:labels")
        if isinstance(labels, dict):
            for key in [k for k in labels if k.removeprefix("f:") not in after]:
                del labels[key]
    mine = next(
        (e for e in entries if e.get("manager") == manager and e.get("operation") == "Update"),
        None,
    )
    if mine is None:
        mine = {"manager": manager, "operation": "Update", "apiVersion": "v1"}
        entries.append(mine)
    fields = mine.setdefault("fieldsV1", {}).setdefault("f:metadata", {})
    labels = fields.setdefault("f:labels", {})
    for key in sorted(changed & set(after)):
        labels[f"f:{key}"] = {}
    mine.update(time=at, fieldsType="FieldsV1")
    meta["managedFields"] = entries
