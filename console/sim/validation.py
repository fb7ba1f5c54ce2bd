"""What the API server checks before it stores an update (PATCH or PUT): the subset our kinds
meet. A write that fails here stores nothing: same object, same resourceVersion.

- metadata is an object; name, namespace and uid are immutable;
- labels and annotations are maps of strings (else 400, as the decoder says), label keys
  have the syntax the API server enforces (else 422 Invalid). Label values are not
  checked: the hostile-data tests put markup and escapes in them, as a non-conforming or
  compromised API server could, and the console must survive that;
- spec and status are objects;
- replicas (of every kind with a scale subresource) are whole numbers ≥ 0;
- a pod's spec may change only where the API server allows it (images, the active
  deadline, added tolerations);
- a node's taints have a key and a known effect.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .errors import ApiError, bad_request, invalid
from .kinds import ResourceType

_NAME = re.compile(r"^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# Pod spec fields an update may change (apiserver ValidatePodUpdate); tolerations: additions.
_POD_MUTABLE = (
    "activeDeadlineSeconds",
    "tolerations",
    "terminationGracePeriodSeconds",
    "schedulingGates",  # removals only (checked below): how Kueue admits a gated pod
)


def validate_update(rt: ResourceType, current: dict[str, Any], updated: Any) -> None:
    """Raise ApiError (400/422) when `updated` may not replace `current`."""
    name = str((current.get("metadata") or {}).get("name", ""))

    def fail(field: str, message: str) -> ApiError:
        return invalid(rt.kind, name, field, message, rt.group)

    if not isinstance(updated, dict):
        raise bad_request("the patch produced something that is not an object")
    meta = updated.get("metadata")
    if not isinstance(meta, dict):
        raise bad_request(f"json: cannot unmarshal {_json_type(meta)} into Go struct field "
                          f"{rt.kind}.metadata of type v1.ObjectMeta")  # fmt: skip
    old_meta = current.get("metadata") or {}
    for field in ("name", "namespace", "uid"):
        if field in meta and field in old_meta and meta[field] != old_meta[field]:
            raise fail(
                f"metadata.{field}", f"Invalid value: {_show(meta[field])}: field is immutable"
            )
    for field in ("labels", "annotations"):
        _string_map(rt, meta.get(field), f"metadata.{field}")
    for key in meta.get("labels") or {}:
        problem = _label_key(key)
        if problem:
            raise fail("metadata.labels", f"Invalid value: {_show(key)}: {problem}")
    for field in ("spec", "status"):
        if updated.get(field) is not None and not isinstance(updated[field], dict):
            raise bad_request(f"json: cannot unmarshal {_json_type(updated[field])} into Go "
                              f"struct field {rt.kind}.{field} of type object")  # fmt: skip
    if rt.scale is not None:
        replicas = _at(updated, rt.scale.spec_replicas)
        if replicas is not None and not _whole(replicas):
            raise fail(
                rt.scale.spec_replicas, f"Invalid value: {_show(replicas)}: must be a whole number"
            )
        if replicas is not None and replicas < 0:
            raise fail(
                rt.scale.spec_replicas,
                f"Invalid value: {replicas}: must be greater than or equal to 0",
            )
    if rt.plural == "pods" and "spec" in current:
        _pod_spec(current.get("spec") or {}, updated.get("spec") or {}, fail)
    if rt.plural == "nodes":
        _taints((updated.get("spec") or {}).get("taints"), fail)


def _label_key(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        return "a label key's prefix must be a DNS subdomain (lowercase, 253 characters at most)"
    if not _NAME.match(name):
        return (
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character (63 characters at most)"
        )
    return None


def _string_map(rt: ResourceType, value: Any, field: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        bad = (
            next((v for v in value.values() if not isinstance(v, str)), value)
            if isinstance(value, dict)
            else value
        )
        raise bad_request(f"json: cannot unmarshal {_json_type(bad)} into Go struct field "
                          f"{rt.kind}.{field} of type string")  # fmt: skip


def _pod_spec(old: dict[str, Any], new: dict[str, Any], fail: Any) -> None:
    def comparable(spec: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in spec.items() if k not in _POD_MUTABLE}
        for field in ("containers", "initContainers"):
            if isinstance(out.get(field), list):
                out[field] = [
                    {k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c
                    for c in out[field]
                ]
        return out

    if comparable(old) != comparable(new):
        raise fail(
            "spec",
            "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
            "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
            "`spec.tolerations` (only additions to existing tolerations),"
            "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
            "negative)",
        )
    old_gates, new_gates = old.get("schedulingGates") or [], new.get("schedulingGates") or []
    added = [g for g in new_gates if g not in old_gates] if isinstance(new_gates, list) else [{}]
    if added:
        name = added[0].get("name", "") if isinstance(added[0], dict) else ""
        raise fail(
            "spec.schedulingGates",
            f"Forbidden: only deletion is allowed, but found new scheduling gate '{name}'",
        )
    old_tolerations = old.get("tolerations") or []
    new_tolerations = new.get("tolerations") or []
    if not isinstance(new_tolerations, list) or any(
        t not in new_tolerations for t in old_tolerations
    ):
        raise fail(
            "spec.tolerations",
            "Forbidden: existing toleration can not be modified except its tolerationSeconds",
        )


def _taints(taints: Any, fail: Any) -> None:
    if taints is None:
        return
    if not isinstance(taints, list):
        raise fail("spec.taints", "Invalid value: must be a list")
    for i, taint in enumerate(taints):
        if not isinstance(taint, dict) or not taint.get("key"):
            raise fail(f"spec.taints[{i}].key", "Required value")
        if taint.get("effect") not in TAINT_EFFECTS:
            raise fail(
                f"spec.taints[{i}].effect",
                f"Unsupported value: {_show(taint.get('effect'))}: supported values: "
                + ", ".join(f'"{e}"' for e in TAINT_EFFECTS),
            )


def _at(obj: dict[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _whole(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "object"
