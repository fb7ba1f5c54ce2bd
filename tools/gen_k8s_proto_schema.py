"""Generate `console/sim/k8s_proto_schema.json`, the field tables the simulated cluster decodes
Kubernetes protobuf request bodies with.

Usage::

    python tools/gen_k8s_proto_schema.py SOURCE [SOURCE ...] [-o console/sim/k8s_proto_schema.json]

Each SOURCE is either

* a Go binary built against k8s.io/api, such as `kubectl` (`$(which kubectl)`): every
  `generated.pb.go` registers its `generated.proto` as a gzipped `FileDescriptorProto`, and this
  script reads those back out of the binary; or
* a directory of upstream `generated.proto` texts (searched recursively), e.g. a checkout of
  k8s.io/api and k8s.io/apimachinery.

Where the sources came from (the .proto files themselves are not kept in this repository):
the committed schema was generated from kubectl v1.32.4 (gitCommit 4cb5f0764b8d, go1.23.8), the
binary the tests drive, so the tables are exactly the schema that kubectl encodes with. The
upstream texts were read for comparison through the code search tool, from kubernetes/kubernetes
`staging/src/k8s.io/api/apps/v1/generated.proto` and `types.go` at commit 0122c43a0170 (newer
than 1.32: it adds e.g. `DeploymentSpec.podReplacementPolicy = 10`); every field they share has
the same number, name and type.

Pointer-ness, the one thing the committed .proto texts lack: `go-to-protobuf` writes each
`generated.proto` with gogo options (`(gogoproto.nullable) = false` on every field whose Go type
is not a pointer, `(gogoproto.customname)` with the Go field name), compiles it, and only then
strips the options from the text it commits. The descriptor embedded in the binary is the one
compiled *before* stripping, so a singular field is a Go pointer (`*int32`, `*bool`,
`*LabelSelector`) exactly when it lacks `nullable = false` (checked against types.go above:
`StatefulSetSpec.Replicas *int32` and `Selector *metav1.LabelSelector` have no option,
`ServiceName string` and `Template v1.PodTemplateSpec` have it). A text source carries the
options only if it is go-to-protobuf's unstripped output; a message that no source gives
options for is an error, so the schema never guesses.

Embedded structs: a non-pointer field whose Go name (customname) is its message's own name is a
Go embedded struct; apart from `metadata` (ObjectMeta/ListMeta, whose JSON name is `metadata`)
Kubernetes embeds only with `json:",inline"` (Volume.VolumeSource, Probe.ProbeHandler,
EphemeralContainer.EphemeralContainerCommon, PersistentVolumeSpec.PersistentVolumeSource), so
those fields get kind `inline` and their JSON fields are merged into the parent. The descriptor
cannot tell such a field from a named one that happens to share its type's name, so NAMED lists
those, checked against types.go (`PodAffinityTerm PodAffinityTerm` is tagged
`json:"podAffinityTerm"`). The script prints every inline field it decided on for review (for
v1.32: the LocalObjectReference embeds, Volume.volumeSource, Probe.handler,
EphemeralContainer.ephemeralContainerCommon and runtime.Unknown.typeMeta).

The output keeps only the messages reachable from ROOTS, as
`{"roots": {"<apiVersion>/<kind>": message}, "messages": {message: {number: [jsonName, kind,
type, repeated, pointer]}}}` where kind is a protobuf scalar type name (`string`, `int32`,
`bool`, `bytes`, ...), `message`, `inline` or `map` (string keys; type is the value's scalar
type or message name).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

CORE = "k8s.io.api.core.v1"
APPS = "k8s.io.api.apps.v1"
META = "k8s.io.apimachinery.pkg.apis.meta.v1"

# (apiVersion or "*", kind) → message; "*" matches any apiVersion (DeleteOptions is registered
# in every group version).
ROOTS: dict[str, str] = {
    "v1/ConfigMap": f"{CORE}.ConfigMap",
    "v1/Namespace": f"{CORE}.Namespace",
    "v1/Pod": f"{CORE}.Pod",
    "v1/Service": f"{CORE}.Service",
    "v1/ServiceAccount": f"{CORE}.ServiceAccount",
    "v1/Event": f"{CORE}.Event",
    "v1/Node": f"{CORE}.Node",
    "apps/v1/Deployment": f"{APPS}.Deployment",
    "apps/v1/StatefulSet": f"{APPS}.StatefulSet",
    "apps/v1/DaemonSet": f"{APPS}.DaemonSet",
    "apps/v1/ReplicaSet": f"{APPS}.ReplicaSet",
    "batch/v1/Job": "k8s.io.api.batch.v1.Job",
    "policy/v1/PodDisruptionBudget": "k8s.io.api.policy.v1.PodDisruptionBudget",
    "policy/v1/Eviction": "k8s.io.api.policy.v1.Eviction",
    "authorization.k8s.io/v1/SelfSubjectAccessReview": (
        "k8s.io.api.authorization.v1.SelfSubjectAccessReview"
    ),
    "autoscaling/v1/Scale": "k8s.io.api.autoscaling.v1.Scale",
    "*/DeleteOptions": f"{META}.DeleteOptions",
}
# Non-pointer fields whose Go name equals their type's name but which are named, not embedded
# (`json:"podAffinityTerm"`, not `json:",inline"`), from types.go.
NAMED = {"k8s.io.api.core.v1.WeightedPodAffinityTerm.podAffinityTerm"}
# The envelope every protobuf body comes in.
ENVELOPE = "k8s.io.apimachinery.pkg.runtime.Unknown"

# FieldDescriptorProto.Type numbers → names.
SCALARS = {
    1: "double",
    2: "float",
    3: "int64",
    4: "uint64",
    5: "int32",
    6: "fixed64",
    7: "fixed32",
    8: "bool",
    9: "string",
    12: "bytes",
    13: "uint32",
    15: "sfixed32",
    16: "sfixed64",
    17: "sint32",
    18: "sint64",
}
SCALAR_NAMES = set(SCALARS.values())
GOGO_NULLABLE = 65001
GOGO_CUSTOMNAME = 65004


@dataclass
class Field:
    name: str
    number: int
    repeated: bool
    kind: str  # scalar name, "message", or "map"
    type: str | None  # message full name, or the map value's type
    nullable: bool | None  # None: the source had no gogo options
    customname: str | None


@dataclass
class Message:
    name: str
    fields: list[Field] = field(default_factory=list)
    map_entry: bool = False
    has_options: bool = False


# --- Go binaries: embedded FileDescriptorProtos ------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _wire(buf: bytes) -> list[tuple[int, int | bytes]]:
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"wire type {wire}")
        out.append((number, value))
    return out


def descriptors_from_binary(path: Path) -> list[bytes]:
    """The gzipped FileDescriptorProtos of every `*generated.proto` compiled into a Go binary."""
    data = path.read_bytes()
    found: dict[bytes, bytes] = {}
    for match in re.finditer(rb"\x1f\x8b\x08\x00\x00\x00\x00\x00", data):
        try:
            blob = zlib.decompressobj(31).decompress(
                data[match.start() : match.start() + 4_000_000]
            )
        except zlib.error:
            continue
        try:
            fields = _wire(blob)
        except (ValueError, IndexError):
            continue
        name = next((v for n, v in fields if n == 1 and isinstance(v, bytes)), b"")
        if name.endswith(b"generated.proto"):
            found[name] = blob
    return list(found.values())


def _descriptor_message(buf: bytes, scope: str, out: dict[str, Message]) -> None:
    parts = _wire(buf)
    name = next(v.decode() for n, v in parts if n == 1 and isinstance(v, bytes))
    msg = Message(f"{scope}.{name}")
    for number, value in parts:
        if not isinstance(value, bytes):
            continue
        if number == 2:
            msg.fields.append(_descriptor_field(value))
        elif number == 3:
            _descriptor_message(value, msg.name, out)
        elif number == 7:
            msg.map_entry = any(n == 7 and v == 1 for n, v in _wire(value))
    msg.has_options = any(f.nullable is not None or f.customname for f in msg.fields)
    out[msg.name] = msg


def _descriptor_field(buf: bytes) -> Field:
    parts = dict(_wire(buf))
    ftype = parts[5]
    nullable: bool | None = True
    customname = None
    options = parts.get(8)
    if isinstance(options, bytes):
        for n, v in _wire(options):
            if n == GOGO_NULLABLE:
                nullable = bool(v)
            elif n == GOGO_CUSTOMNAME and isinstance(v, bytes):
                customname = v.decode()
    type_name = parts.get(6)
    return Field(
        name=parts[1].decode(),  # type: ignore[union-attr]
        number=int(parts[3]),  # type: ignore[arg-type]
        repeated=parts.get(4) == 3,
        kind="message" if ftype == 11 else SCALARS[ftype],  # type: ignore[index]
        type=type_name.decode().lstrip(".") if isinstance(type_name, bytes) else None,
        nullable=nullable,
        customname=customname,
    )


def parse_descriptor(blob: bytes, out: dict[str, Message]) -> None:
    parts = _wire(blob)
    package = next(v.decode() for n, v in parts if n == 2 and isinstance(v, bytes))
    for number, value in parts:
        if number == 4 and isinstance(value, bytes):
            _descriptor_message(value, package, out)


# --- .proto texts --------------------------------------------------------------------------------

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[A-Za-z_.][\w.]*|\d+|[{}\[\]<>=;,()]')


def parse_proto_text(text: str, out: dict[str, Message]) -> None:
    """Messages of one .proto text: `optional|repeated|required <type> <name> = <n> [opts];`,
    `map<string, T> <name> = <n>;`, nested messages, package-qualified and relative type names,
    and the gogo `nullable`/`customname` options when the text still has them."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    tokens = _TOKEN.findall(text)
    package = ""
    pending: list[tuple[Message, Field]] = []
    stack: list[Message] = []
    i = 0

    def skip_statement(j: int) -> int:
        depth = 0
        while j < len(tokens):
            tok = tokens[j]
            if tok == "{":
                depth += 1
            elif tok == "}":
                depth -= 1
                if depth <= 0:
                    return j + 1
            elif tok == ";" and depth == 0:
                return j + 1
            j += 1
        return j

    while i < len(tokens):
        tok = tokens[i]
        if tok == "package":
            package = tokens[i + 1]
            i += 3
        elif tok == "message":
            scope = stack[-1].name if stack else package
            stack.append(Message(f"{scope}.{tokens[i + 1]}"))
            i += 3  # message Name {
        elif tok == "}" and stack:
            msg = stack.pop()
            msg.has_options = any(f.nullable is not None or f.customname for f in msg.fields)
            out[msg.name] = msg
            i += 1
        elif stack and tok in ("optional", "repeated", "required", "map"):
            if tok == "map":  # map < string , T > name = n
                key, value_type, name, number = (
                    tokens[i + 2],
                    tokens[i + 4],
                    tokens[i + 6],
                    tokens[i + 8],
                )
                if key != "string":
                    raise ValueError(f"{stack[-1].name}.{name}: map key {key} is not string")
                fld = Field(name, int(number), False, "map", value_type, None, None)
                i += 9
            else:
                ftype, name, number = tokens[i + 1], tokens[i + 2], tokens[i + 4]
                scalar = ftype in SCALAR_NAMES
                fld = Field(
                    name,
                    int(number),
                    tok == "repeated",
                    ftype if scalar else "message",
                    None if scalar else ftype,
                    None,
                    None,
                )
                i += 5
            if tokens[i] == "[":
                end = tokens.index("]", i)
                opts = tokens[i + 1 : end]
                for j, opt in enumerate(opts):
                    if opt == "gogoproto.nullable":
                        fld.nullable = opts[j + 3] != "false"
                    elif opt == "gogoproto.customname":
                        fld.customname = opts[j + 3].strip('"')
                i = end + 1
            i += 1  # ;
            stack[-1].fields.append(fld)
            if fld.type and not (fld.kind == "map" and fld.type in SCALAR_NAMES):
                pending.append((stack[-1], fld))
        elif stack and tok in ("reserved", "option", "oneof", "enum", "extensions"):
            i = skip_statement(i)
        else:
            i = skip_statement(i) if not stack and tok not in ("{", "}") else i + 1

    for msg, fld in pending:  # resolve relative type names against the message's scopes
        assert fld.type is not None
        if fld.type.startswith("."):
            fld.type = fld.type[1:]
            continue
        scope = msg.name
        while scope:
            candidate = f"{scope}.{fld.type}"
            if candidate in out:
                fld.type = candidate
                break
            scope = scope.rpartition(".")[0]
        else:
            fld.type = fld.type if fld.type in out else f"{package}.{fld.type}"


# --- merge, trim, write ---------------------------------------------------------------------------


def load(sources: list[Path]) -> dict[str, Message]:
    """Messages from every source; a binary's descriptors (with options) win over texts without."""
    messages: dict[str, Message] = {}
    for source in sources:
        found: dict[str, Message] = {}
        if source.is_dir():
            for path in sorted(source.rglob("*.proto")):
                parse_proto_text(path.read_text(), found)
        else:
            for blob in descriptors_from_binary(source):
                parse_descriptor(blob, found)
        for name, msg in found.items():
            old = messages.get(name)
            if old is None or (msg.has_options and not old.has_options):
                messages[name] = msg
    return messages


def _map_fields(messages: dict[str, Message]) -> None:
    """Descriptors spell `map<string, T>` as a repeated nested `XEntry` message: fold it back."""
    for msg in messages.values():
        for fld in msg.fields:
            entry = messages.get(fld.type or "")
            if fld.kind == "message" and fld.repeated and entry and entry.map_entry:
                key, value = sorted(entry.fields, key=lambda f: f.number)
                if key.kind != "string":
                    raise ValueError(f"{msg.name}.{fld.name}: map key {key.kind} is not string")
                fld.kind, fld.repeated = "map", False
                fld.type = value.type if value.kind == "message" else value.kind


def build(messages: dict[str, Message]) -> tuple[dict[str, object], list[str]]:
    _map_fields(messages)
    table: dict[str, dict[str, list[object]]] = {}
    inline: list[str] = []
    todo = [ENVELOPE, *ROOTS.values()]
    while todo:
        name = todo.pop()
        if name in table:
            continue
        msg = messages.get(name)
        if msg is None:
            raise SystemExit(f"message {name} is in none of the sources")
        rows: dict[str, list[object]] = {}
        for fld in sorted(msg.fields, key=lambda f: f.number):
            if fld.nullable is None and not fld.repeated and fld.kind != "map":
                raise SystemExit(
                    f"{name}.{fld.name}: no gogo options, so its Go pointer-ness is unknown; "
                    "pass a Go binary (kubectl) or go-to-protobuf's unstripped .proto"
                )
            pointer = bool(fld.nullable) and not fld.repeated and fld.kind != "map"
            kind = fld.kind
            simple = (fld.type or "").rpartition(".")[2]
            if kind == "message" and not pointer and not fld.repeated:
                embedded = fld.customname == simple and fld.name != "metadata"
                if embedded and f"{name}.{fld.name}" not in NAMED:
                    kind = "inline"
                    inline.append(f"{name}.{fld.name} ({simple})")
            rows[str(fld.number)] = [fld.name, kind, fld.type, fld.repeated, pointer]
            if fld.type and fld.type not in SCALAR_NAMES:
                todo.append(fld.type)
        table[name] = rows
    schema = {
        "roots": dict(sorted(ROOTS.items())),
        "envelope": ENVELOPE,
        "messages": dict(sorted(table.items())),
    }
    return schema, inline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", type=Path, help="Go binaries or .proto directories")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "console/sim/k8s_proto_schema.json",
    )
    args = parser.parse_args(argv)
    schema, inline = build(load(args.sources))
    args.output.write_text(json.dumps(schema, separators=(",", ":")) + "\n")
    messages = schema["messages"]
    assert isinstance(messages, dict)
    print(f"wrote {args.output}: {len(messages)} messages", file=sys.stderr)
    for line in inline:
        print(f"  inline: {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
