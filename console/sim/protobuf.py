"""Request bodies in Kubernetes' protobuf encoding, decoded generically from the upstream schema.

kubectl ≥ 1.30 posts typed objects as `application/vnd.kubernetes.protobuf` (`create deployment|
job|pdb|service|namespace|configmap`, `run`, `auth can-i`, `drain`'s Eviction, DeleteOptions):
the magic `k8s\\0`, then a `runtime.Unknown` envelope {typeMeta{apiVersion, kind}, raw}. This
turns `raw` into the JSON object the API server would see, walking the field tables in
`k8s_proto_schema.json` (made by `tools/gen_k8s_proto_schema.py` from the generated.proto
descriptors compiled into kubectl; loaded on the first protobuf request, then cached).

Go (gogo-protobuf) always encodes non-pointer fields, even empty, and pointer fields only when
set; the schema records which fields are Go pointers (`(gogoproto.nullable) = false` marks the
others). So, as `omitempty` would in JSON, an empty string, zero number, false or empty
message in a non-pointer field is dropped, while a set pointer field is kept even when zero
(`replicas: 0`, `suspend: false`, `securityContext: {}`). List items and map values are always
kept. Types with their own JSON form: meta/v1 Time → RFC 3339 seconds, MicroTime → RFC 3339 with
microseconds, Duration → Go duration string, resource.Quantity → its string,
intstr.IntOrString → int or string, runtime.RawExtension and FieldsV1 → the JSON they hold,
bytes → base64. Fields the schema does not know (from a kubectl newer than the schema) are
skipped. Kinds outside the schema's roots answer 415.
"""

from __future__ import annotations

import base64
import json
import struct
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from .errors import ApiError, bad_request

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
SCHEMA_FILE = "k8s_proto_schema.json"

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
TIME = f"{META}.Time"
MICRO_TIME = f"{META}.MicroTime"
DURATION = f"{META}.Duration"
FIELDS_V1 = f"{META}.FieldsV1"
QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
RAW_EXTENSION = "k8s.io.apimachinery.pkg.runtime.RawExtension"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# A schema row: [json name, kind, type, repeated, pointer].
Row = list[Any]
Wire = tuple[int, int, int | bytes]  # field number, wire type, value


class _Schema:
    def __init__(self, data: dict[str, Any]) -> None:
        self.roots: dict[str, str] = data["roots"]
        self.envelope: str = data["envelope"]
        self.messages: dict[str, dict[int, Row]] = {
            name: {int(number): row for number, row in rows.items()}
            for name, rows in data["messages"].items()
        }

    def root(self, api_version: str, kind: str) -> str | None:
        return self.roots.get(f"{api_version}/{kind}") or self.roots.get(f"*/{kind}")


@cache
def schema() -> _Schema:
    """The field tables, read from the package on first use."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return _Schema(json.loads(text))


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
        if shift > 70:
            raise ValueError("varint too long")


def _wire(buf: bytes) -> list[Wire]:
    out: list[Wire] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("truncated field")
            value, pos = buf[pos : pos + length], pos + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > len(buf):
                raise ValueError("truncated field")
            value, pos = buf[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _signed(value: int, bits: int) -> int:
    value &= (1 << 64) - 1
    if value >= 1 << 63:
        value -= 1 << 64
    if bits == 32:
        value = ((value + (1 << 31)) % (1 << 32)) - (1 << 31)
    return value


def _scalar(kind: str, wire: int, value: int | bytes) -> Any:
    if isinstance(value, int):
        if kind in ("int64", "int32"):
            return _signed(value, 64 if kind == "int64" else 32)
        if kind == "bool":
            return value != 0
        if kind in ("uint64", "uint32"):
            return value
        if kind in ("sint32", "sint64"):
            return (value >> 1) ^ -(value & 1)
        raise ValueError(f"a varint for a {kind} field")
    if kind == "string":
        return value.decode()
    if kind == "bytes":
        return base64.b64encode(value).decode()
    fmt = {"double": "<d", "float": "<f", "fixed64": "<Q", "fixed32": "<I"}
    fmt |= {"sfixed64": "<q", "sfixed32": "<i"}
    if kind in fmt and len(value) == struct.calcsize(fmt[kind]):
        return struct.unpack(fmt[kind], value)[0]
    raise ValueError(f"wire type {wire} for a {kind} field")


def _packed(kind: str, buf: bytes) -> list[Any]:
    """A packed repeated scalar field (proto2 k8s does not pack, but a decoder must accept it)."""
    out: list[Any] = []
    pos = 0
    size = {"double": 8, "fixed64": 8, "sfixed64": 8, "float": 4, "fixed32": 4, "sfixed32": 4}
    while pos < len(buf):
        if kind in size:
            out.append(_scalar(kind, 1, buf[pos : pos + size[kind]]))
            pos += size[kind]
        else:
            value, pos = _varint(buf, pos)
            out.append(_scalar(kind, 0, value))
    return out


# The (wire type, value) a map entry without a value field stands for: the type's zero.
_DEFAULT: dict[str, tuple[int, int | bytes]] = {
    **dict.fromkeys(("int32", "int64", "uint32", "uint64", "sint32", "sint64", "bool"), (0, 0)),
    **dict.fromkeys(("double", "fixed64", "sfixed64"), (1, bytes(8))),
    **dict.fromkeys(("float", "fixed32", "sfixed32"), (5, bytes(4))),
}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == 0 or value is False or value == {}


def _special(name: str, buf: bytes) -> tuple[Any, bool]:
    """(JSON form, is Go's zero value) of the types that marshal to JSON their own way."""
    if name in (RAW_EXTENSION, FIELDS_V1):  # the bytes are the JSON document itself
        raw = next((v for n, _, v in _wire(buf) if n == 1 and isinstance(v, bytes)), b"")
        if not raw:
            return None, True
        return (decode(raw) if raw.startswith(MAGIC) else json.loads(raw)), False
    obj = _message(buf, name, keep_zero=True)
    if name in (TIME, MICRO_TIME):
        seconds, nanos = obj.get("seconds", 0), obj.get("nanos", 0)
        m = EPOCH + timedelta(seconds=seconds)
        text = f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
        text += "Z" if name == TIME else f".{nanos // 1000:06d}Z"
        return text, not buf  # Go's zero Time marshals to nothing; the epoch has seconds: 0
    if name == DURATION:
        nanos = obj.get("duration", 0)
        return go_duration(nanos), nanos == 0
    if name == QUANTITY:
        text = obj.get("string", "")
        return text or "0", text in ("", "0")  # the zero Quantity marshals as "0"
    if name == INT_OR_STRING:
        if obj.get("type", 0) == 1:
            return obj.get("strVal", ""), False
        return obj.get("intVal", 0), obj.get("intVal", 0) == 0 and not obj.get("strVal")
    raise ValueError(f"no JSON form for {name}")


SPECIAL = {TIME, MICRO_TIME, DURATION, QUANTITY, INT_OR_STRING, RAW_EXTENSION, FIELDS_V1}


def _value(kind: str, type_name: str | None, wire: int, value: int | bytes) -> tuple[Any, bool]:
    """A singular field's (JSON value, is zero)."""
    if kind in ("message", "inline"):
        if not isinstance(value, bytes) or type_name is None:
            raise ValueError(f"wire type {wire} for a {type_name} message")
        if type_name in SPECIAL:
            return _special(type_name, value)
        obj = _message(value, type_name)
        return obj, not obj
    result = _scalar(kind, wire, value)
    return result, _empty(result)


def _message(buf: bytes, name: str, keep_zero: bool = False) -> dict[str, Any]:
    rows = schema().messages[name]
    obj: dict[str, Any] = {}
    zero: dict[str, bool] = {}
    for number, wire, value in _wire(buf):
        row = rows.get(number)
        if row is None:
            continue  # a field newer than the schema
        json_name, kind, type_name, repeated, pointer = row
        if kind == "map":
            if not isinstance(value, bytes):
                raise ValueError(f"wire type {wire} for map field {json_name}")
            value_kind = "message" if type_name in schema().messages else type_name
            key, item = "", _value(value_kind, type_name, *_DEFAULT.get(value_kind, (2, b"")))[0]
            for entry_number, entry_wire, entry_value in _wire(value):
                if entry_number == 1:
                    key = _scalar("string", entry_wire, entry_value)
                elif entry_number == 2:
                    item = _value(value_kind, type_name, entry_wire, entry_value)[0]
            obj.setdefault(json_name, {})[key] = item
        elif repeated:
            items = obj.setdefault(json_name, [])
            if (
                isinstance(value, bytes)
                and wire == 2
                and kind not in ("message", "string", "bytes")
            ):
                items.extend(_packed(kind, value))
            else:
                items.append(_value(kind, type_name, wire, value)[0])
        elif kind == "inline":
            inner, _ = _value(kind, type_name, wire, value)
            obj.update(inner)
            zero.update(dict.fromkeys(inner, False))
        else:
            obj[json_name], is_zero = _value(kind, type_name, wire, value)
            zero[json_name] = is_zero and not pointer
    if keep_zero:
        return obj
    return {key: value for key, value in obj.items() if not zero.get(key, False)}


def go_duration(nanos: int) -> str:
    """Go's `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    n = abs(nanos)
    if n < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if n >= size:
                return sign + _fraction(n, size) + unit
    hours, rest = divmod(n, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = _fraction(rest, 1_000_000_000) + "s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return sign + text


def _fraction(n: int, size: int) -> str:
    whole, frac = divmod(n, size)
    if not frac:
        return str(whole)
    digits = f"{frac:0{len(str(size)) - 1}d}".rstrip("0")
    return f"{whole}.{digits}"


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded request body as the JSON object it stands for."""
    if not body.startswith(MAGIC):
        raise bad_request("the protobuf body lacks the k8s magic prefix")
    tables = schema()
    try:
        envelope = _message(body[len(MAGIC) :], tables.envelope, keep_zero=True)
        api_version = envelope.get("apiVersion", "")
        kind = envelope.get("kind", "")
        if envelope.get("contentEncoding"):
            raise ApiError(
                415,
                f"the simulated cluster does not decode {envelope['contentEncoding']} bodies",
                "UnsupportedMediaType",
            )
        root = tables.root(api_version, kind)
        if root is None:
            raise ApiError(
                415,
                f"the simulated cluster does not decode protobuf {kind or 'objects'} "
                f"({api_version or 'no apiVersion'}): send JSON "
                "(kubectl apply/create -f, or the Python client)",
                "UnsupportedMediaType",
            )
        raw = base64.b64decode(envelope.get("raw", ""))
        obj = _message(raw, root)
    except (ValueError, UnicodeDecodeError, struct.error, OverflowError, OSError) as exc:
        raise bad_request(f"the protobuf body could not be decoded: {exc}") from exc
    return {"apiVersion": api_version, "kind": kind, **obj}
