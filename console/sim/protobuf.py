"""Request bodies in Kubernetes' protobuf encoding, for the kinds kubectl sends that way.

kubectl ≥ 1.30 posts typed objects (`auth can-i`'s SelfSubjectAccessReview, `drain`'s
Eviction, `create configmap|namespace`) as `application/vnd.kubernetes.protobuf`: the magic
`k8s\\0`, then a `runtime.Unknown` envelope {typeMeta, raw}. This decodes those into the JSON
shape the rest of the server works with, from field numbers in the upstream generated.proto.
Go encodes non-pointer fields even when empty, so empty strings, zero numbers and false are
dropped, as `omitempty` would in JSON. Other kinds answer 415 with what to use instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .errors import ApiError, bad_request

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"

# message name → field number → (json name, kind, sub-message for msg kinds)
Field = tuple[str, str, str | None]
SCHEMAS: dict[str, dict[int, Field]] = {
    "Unknown": {1: ("typeMeta", "msg", "TypeMeta"), 2: ("raw", "bytes", None)},
    "TypeMeta": {1: ("apiVersion", "string", None), 2: ("kind", "string", None)},
    "Time": {1: ("seconds", "int", None), 2: ("nanos", "int", None)},
    "ObjectMeta": {
        1: ("name", "string", None),
        2: ("generateName", "string", None),
        3: ("namespace", "string", None),
        5: ("uid", "string", None),
        6: ("resourceVersion", "string", None),
        7: ("generation", "int", None),
        8: ("creationTimestamp", "time", None),
        11: ("labels", "map", None),
        12: ("annotations", "map", None),
        14: ("finalizers", "strings", None),
    },
    "SelfSubjectAccessReview": {
        1: ("metadata", "msg", "ObjectMeta"),
        2: ("spec", "msg", "SSARSpec"),
    },
    "SSARSpec": {
        1: ("resourceAttributes", "msg", "ResourceAttributes"),
        2: ("nonResourceAttributes", "msg", "NonResourceAttributes"),
    },
    "ResourceAttributes": {
        1: ("namespace", "string", None),
        2: ("verb", "string", None),
        3: ("group", "string", None),
        4: ("version", "string", None),
        5: ("resource", "string", None),
        6: ("subresource", "string", None),
        7: ("name", "string", None),
    },
    "NonResourceAttributes": {1: ("path", "string", None), 2: ("verb", "string", None)},
    "Eviction": {
        1: ("metadata", "msg", "ObjectMeta"),
        2: ("deleteOptions", "msg", "DeleteOptions"),
    },
    "DeleteOptions": {
        1: ("gracePeriodSeconds", "int", None),
        2: ("preconditions", "msg", "Preconditions"),
        3: ("orphanDependents", "bool", None),
        4: ("propagationPolicy", "string", None),
        5: ("dryRun", "strings", None),
    },
    "Preconditions": {1: ("uid", "string", None), 2: ("resourceVersion", "string", None)},
    "ConfigMap": {
        1: ("metadata", "msg", "ObjectMeta"),
        2: ("data", "map", None),
        3: ("binaryData", "map", None),
        4: ("immutable", "bool", None),
    },
    "Namespace": {1: ("metadata", "msg", "ObjectMeta"), 2: ("spec", "msg", "NamespaceSpec")},
    "NamespaceSpec": {1: ("finalizers", "strings", None)},
}

ROOT_KINDS = {"SelfSubjectAccessReview", "Eviction", "DeleteOptions", "ConfigMap", "Namespace"}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = _varint(buf, pos)
            out.append((number, buf[pos : pos + length]))
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


def _message(buf: bytes, schema_name: str) -> dict[str, Any]:
    schema = SCHEMAS[schema_name]
    obj: dict[str, Any] = {}
    for number, value in _fields(buf):
        spec = schema.get(number)
        if spec is None:
            continue
        name, kind, sub = spec
        if kind == "string" and isinstance(value, bytes):
            if value:
                obj[name] = value.decode()
        elif kind == "bytes":
            obj[name] = value
        elif kind == "int" and isinstance(value, int):
            if value:
                obj[name] = value - (1 << 64) if value >= 1 << 63 else value
        elif kind == "bool" and isinstance(value, int):
            if value:
                obj[name] = True
        elif kind == "strings" and isinstance(value, bytes):
            obj.setdefault(name, []).append(value.decode())
        elif kind == "map" and isinstance(value, bytes):
            entry = dict(_fields(value))
            key, val = entry.get(1, b""), entry.get(2, b"")
            if isinstance(key, bytes) and isinstance(val, bytes):
                obj.setdefault(name, {})[key.decode()] = val.decode()
        elif kind == "time" and isinstance(value, bytes):
            seconds = _message(value, "Time").get("seconds", 0)
            if seconds:
                obj[name] = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        elif kind == "msg" and isinstance(value, bytes) and sub:
            obj[name] = _message(value, sub)
    return obj


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded request body as the JSON object it stands for."""
    if not body.startswith(MAGIC):
        raise bad_request("the protobuf body lacks the k8s magic prefix")
    try:
        envelope = _message(body[len(MAGIC) :], "Unknown")
        type_meta = envelope.get("typeMeta", {})
        kind = type_meta.get("kind", "")
        if kind not in ROOT_KINDS:
            raise ApiError(
                415,
                f"the simulated cluster does not decode protobuf {kind or 'objects'}: send JSON "
                "(kubectl apply/create -f, or the Python client)",
                "UnsupportedMediaType",
            )
        obj = _message(envelope.get("raw", b""), kind)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"the protobuf body could not be decoded: {exc}") from exc
    return {"apiVersion": type_meta.get("apiVersion", ""), "kind": kind, **obj}
