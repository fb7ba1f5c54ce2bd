"""Protobuf request bodies: the generic decoder against bodies captured from kubectl 1.32, a
gogo-style encoder written from the same schema (special types, pointer and non-pointer zeros),
the schema generator, and real kubectl creating objects whose stored form must match what
`kubectl create --dry-run=client -o json` says it sends."""

from __future__ import annotations

import base64
import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from console.sim import protobuf
from console.sim.errors import ApiError
from tests.conftest import IN_CI, require_binary
from tests.kube import kubectl

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "tools" / "gen_k8s_proto_schema.py"
SCHEMA_JSON = ROOT / "console" / "sim" / "k8s_proto_schema.json"

# Bodies kubectl v1.32.4 sent to the simulated cluster (captured by wrapping protobuf.decode),
# with the JSON objects they stand for.
CAPTURED: list[tuple[str, dict[str, Any]]] = [
    (
        # kubectl create namespace pbt
        "6b3873000a0f0a02763112094e616d657370616365121b0a130a0370627412001a0022002a00320038004200"
        "12001a020a001a002200",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pbt"}},
    ),
    (
        # kubectl create deployment web --image=nginx --replicas=0 -n pbt
        "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412ae010a220a0377656212001a03706274"
        "22002a003200380042005a0a0a036170701203776562127a0800120c0a0a0a0361707012037765621a600a1c"
        "0a0012001a0022002a003200380042005a0a0a036170701203776562124012220a056e67696e7812056e6769"
        "6e782a0042006a007200800100880100900100a201001a00320042004a005200580060006800820100"
        "8a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "pbt", "labels": {"app": "web"}},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
                },
            },
        },
    ),
    (
        # kubectl create pdb p --selector=app=web --min-available=1 -n pbt
        "6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e427564676574123a0a140a01"
        "7012001a0370627422002a0032003800420012160a06080010011a00120c0a0a0a0361707012037765621a0a"
        "080018002000280030001a002200",
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "p", "namespace": "pbt"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        },
    ),
    (
        # kubectl create job j --image=busybox -n pbt -- echo hi
        "6b3873000a0f0a0862617463682f763112034a6f621285010a140a016a12001a0370627422002a0032003800"
        "4200126332610a100a0012001a0022002a00320038004200124d122a0a016a120762757379626f781a046563"
        "686f1a0268692a0042006a007200800100880100900100a201001a054e65766572320042004a005200580060"
        "0068008201008a01009a0100c201001a082000280030003a001a002200",
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "j", "namespace": "pbt"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "j", "image": "busybox", "command": ["echo", "hi"]}
                        ],
                        "restartPolicy": "Never",
                    }
                }
            },
        },
    ),
    (
        # kubectl create service clusterip s --tcp=80:8080 -n pbt
        "6b3873000a0d0a02763112075365727669636512660a1e0a017312001a0370627422002a0032003800420"
        "05a080a0361707012017312400a1b0a0738302d38303830120354435018502207080010903f1a00280012080a"
        "036170701201731a002209436c757374657249503a00420052005a00600068001a020a001a002200",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s", "namespace": "pbt", "labels": {"app": "s"}},
            "spec": {
                "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                "selector": {"app": "s"},
                "type": "ClusterIP",
            },
        },
    ),
    (
        # kubectl create configmap cm --from-literal=a=b -n pbt
        "6b3873000a0f0a0276311209436f6e6669674d6170121f0a150a02636d12001a0370627422002a0032003800"
        "420012060a01611201621a002200",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cm", "namespace": "pbt"},
            "data": {"a": "b"},
        },
    ),
    (
        # kubectl auth can-i list pods
        "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a656374"
        "416363657373526576696577123d0a100a0012001a0022002a00320038004200121f0a1d0a0764656661756c"
        "7412046c6973741a0022002a04706f647332003a001a08080012001a0020001a002200",
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {"namespace": "default", "verb": "list", "resource": "pods"}
            },
        },
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), CAPTURED, ids=lambda v: v.get("kind", "") if isinstance(v, dict) else ""
)
def test_captured_kubectl_bodies(body: str, expected: dict[str, Any]) -> None:
    assert protobuf.decode(bytes.fromhex(body)) == expected


# --- a gogo-style encoder from the same schema ----------------------------------------------------


def _uvarint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _tag(number: int, wire: int) -> bytes:
    return _uvarint(number << 3 | wire)


def _lengthed(number: int, payload: bytes) -> bytes:
    return _tag(number, 2) + _uvarint(len(payload)) + payload


def _names(type_name: str) -> set[str]:
    names: set[str] = set()
    for json_name, kind, sub, _, _ in protobuf.schema().messages[type_name].values():
        names |= _names(sub) if kind == "inline" else {json_name}
    return names


def _special(type_name: str, value: Any) -> bytes:
    if type_name in (protobuf.TIME, protobuf.MICRO_TIME):
        if value is None:
            return b""
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        seconds = int(moment.timestamp())
        return _tag(1, 0) + _uvarint(seconds) + _tag(2, 0) + _uvarint(moment.microsecond * 1000)
    if type_name == protobuf.QUANTITY:
        return _lengthed(1, str(value or "0").encode())
    if type_name == protobuf.INT_OR_STRING:
        if isinstance(value, str):
            return (
                _tag(1, 0) + _uvarint(1) + _tag(2, 0) + _uvarint(0) + _lengthed(3, value.encode())
            )
        return _tag(1, 0) + _uvarint(0) + _tag(2, 0) + _uvarint(value or 0) + _lengthed(3, b"")
    if type_name == protobuf.DURATION:
        return _tag(1, 0) + _uvarint(value or 0)
    return b"" if value is None else _lengthed(1, json.dumps(value).encode())


def _scalar(number: int, kind: str, value: Any) -> bytes:
    if kind == "string":
        return _lengthed(number, value.encode())
    if kind == "bytes":
        return _lengthed(number, base64.b64decode(value))
    return _tag(number, 0) + _uvarint(int(value))


def encode(obj: dict[str, Any], type_name: str) -> bytes:
    """Like gogo: non-pointer fields always (zero when absent), pointer fields only when set."""
    if type_name in protobuf.SPECIAL:
        return _special(type_name, obj)
    out = b""
    rows = protobuf.schema().messages[type_name]
    for number, (json_name, kind, sub, repeated, pointer) in sorted(rows.items()):
        if kind == "inline":
            out += _lengthed(
                number, encode({k: v for k, v in obj.items() if k in _names(sub)}, sub)
            )
            continue
        if json_name not in obj and (pointer or repeated or kind == "map"):
            continue
        value = obj.get(json_name)
        if kind == "map":
            for key, item in value.items():
                entry = _lengthed(1, key.encode())
                if sub in protobuf.schema().messages:
                    entry += _lengthed(
                        2, _special(sub, item) if sub in protobuf.SPECIAL else encode(item, sub)
                    )
                else:
                    entry += _scalar(2, sub, item)
                out += _lengthed(number, entry)
        elif kind == "message":
            for item in value if repeated else [value]:
                payload = (
                    _special(sub, item) if sub in protobuf.SPECIAL else encode(item or {}, sub)
                )
                out += _lengthed(number, payload)
        else:
            zero = {"string": "", "bool": False, "bytes": ""}.get(kind, 0)
            for item in value if repeated else [zero if value is None else value]:
                out += _scalar(number, kind, item)
    return out


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _lengthed(1, api_version.encode()) + _lengthed(2, kind.encode())
    return (
        protobuf.MAGIC
        + _lengthed(1, type_meta)
        + _lengthed(2, raw)
        + _lengthed(3, b"")
        + _lengthed(4, b"")
    )


def roundtrip(obj: dict[str, Any]) -> dict[str, Any]:
    root = protobuf.schema().root(obj["apiVersion"], obj["kind"])
    assert root is not None
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    return protobuf.decode(envelope(obj["apiVersion"], obj["kind"], encode(body, root)))


def test_encoder_reproduces_a_captured_body() -> None:
    body, expected = CAPTURED[2]  # the PDB
    assert envelope("policy/v1", "PodDisruptionBudget", b"") != bytes.fromhex(body)
    raw = encode(
        {k: v for k, v in expected.items() if k not in ("apiVersion", "kind")},
        "k8s.io.api.policy.v1.PodDisruptionBudget",
    )
    assert protobuf.decode(envelope("policy/v1", "PodDisruptionBudget", raw)) == expected


def test_pointer_zeros_survive_and_value_zeros_drop() -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {
            "suspend": False,
            "backoffLimit": 0,
            "parallelism": 0,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "busybox",
                            "securityContext": {"runAsNonRoot": False},
                            "stdin": False,
                        }
                    ],
                    "priority": -5,
                    "restartPolicy": "Never",
                    "volumes": [{"name": "scratch", "emptyDir": {}}],
                }
            },
        },
    }
    decoded = roundtrip(job)
    expected = json.loads(json.dumps(job))
    del expected["spec"]["template"]["spec"]["containers"][0]["stdin"]  # bool, not *bool
    assert decoded == expected


def test_special_types() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p",
            "creationTimestamp": "2024-05-01T10:20:30Z",
            "deletionTimestamp": "1970-01-01T00:00:00Z",
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:x": {}}}}],
        },
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "resources": {"limits": {"cpu": "500m", "nvidia.com/gpu": "1"}},
                    "readinessProbe": {
                        "httpGet": {"path": "/ready", "port": "http"},
                        "periodSeconds": 5,
                    },
                    "env": [
                        {
                            "name": "LIMIT",
                            "valueFrom": {
                                "resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}
                            },
                        },
                        {
                            "name": "CM",
                            "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}},
                        },
                    ],
                }
            ],
            "volumes": [{"name": "cfg", "configMap": {"name": "cm", "defaultMode": 420}}],
        },
    }
    assert roundtrip(pod) == pod

    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "p"},
        "eventTime": "2024-05-01T10:20:30.123456Z",
        "lastTimestamp": "2024-05-01T10:20:31Z",
        "count": 3,
    }
    assert roundtrip(event) == event

    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "replicas": 3,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            },
            "template": {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}},
        },
    }
    assert roundtrip(deployment) == deployment

    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "binaryData": {"blob": base64.b64encode(b"\x00\xffbin").decode()},
        "data": {"empty": ""},
        "immutable": False,
    }
    assert roundtrip(config) == config


def test_roots_eviction_delete_options_scale_node() -> None:
    eviction = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": "p", "namespace": "default"},
        "deleteOptions": {"gracePeriodSeconds": 0, "dryRun": ["All"]},
    }
    assert roundtrip(eviction) == eviction
    options = {
        "apiVersion": "meta.k8s.io/v1",
        "kind": "DeleteOptions",
        "propagationPolicy": "Background",
    }
    assert roundtrip(options) == options
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "d"}, "spec": {}}
    assert roundtrip({**scale, "spec": {"replicas": 0}}) == {
        k: v for k, v in scale.items() if k != "spec"
    }
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n"},
        "spec": {
            "unschedulable": True,
            "taints": [{"key": "k", "effect": "NoSchedule", "timeAdded": "2024-01-01T00:00:00Z"}],
        },
        "status": {"capacity": {"nvidia.com/gpu": "8"}},
    }
    assert roundtrip(node) == node


def test_time_forms() -> None:
    zero_time = _tag(1, 0) + _uvarint(-62135596800)  # Go's time.Time{} as a *Time
    assert protobuf._special(protobuf.TIME, zero_time) == ("0001-01-01T00:00:00Z", False)
    micro = _tag(1, 0) + _uvarint(1714558830) + _tag(2, 0) + _uvarint(123456789)
    assert protobuf._special(protobuf.MICRO_TIME, micro) == ("2024-05-01T10:20:30.123456Z", False)
    assert protobuf._special(protobuf.TIME, micro) == ("2024-05-01T10:20:30Z", False)
    assert protobuf._special(protobuf.TIME, b"")[1]  # a non-pointer Time left zero is dropped


def test_go_duration() -> None:
    assert protobuf.go_duration(0) == "0s"
    assert protobuf.go_duration(1_500_000_000) == "1.5s"
    assert protobuf.go_duration(3_723_000_000_000) == "1h2m3s"
    assert protobuf.go_duration(60_000_000_000) == "1m0s"
    assert protobuf.go_duration(1_500_000) == "1.5ms"
    assert protobuf.go_duration(-2_000) == "-2µs"


def test_unknown_fields_are_skipped() -> None:
    raw = encode({"data": {"a": "b"}}, "k8s.io.api.core.v1.ConfigMap") + _lengthed(99, b"future")
    assert protobuf.decode(envelope("v1", "ConfigMap", raw))["data"] == {"a": "b"}


def test_errors() -> None:
    with pytest.raises(ApiError) as err:
        protobuf.decode(envelope("v1", "Secret", b""))
    assert err.value.code == 415
    with pytest.raises(ApiError) as err:
        protobuf.decode(b"{}")
    assert err.value.code == 400
    with pytest.raises(ApiError) as err:
        protobuf.decode(bytes.fromhex(CAPTURED[1][0])[:-40])
    assert err.value.code == 400
    with pytest.raises(ApiError) as err:  # a varint where a message belongs
        protobuf.decode(envelope("v1", "ConfigMap", _tag(1, 0) + _uvarint(5)))
    assert err.value.code == 400


def test_schema_loads_lazily() -> None:
    code = (
        "import console.sim.server, console.sim.protobuf as p\n"
        "print(p.schema.cache_info().currsize)\n"
        f"p.decode(bytes.fromhex({CAPTURED[0][0]!r}))\n"
        "print(p.schema.cache_info().currsize)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.split() == ["0", "1"]


# --- the generator ------------------------------------------------------------------------------


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_k8s_proto_schema", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# Upstream text (kubernetes/kubernetes staging/src/k8s.io/api/apps/v1/generated.proto @ 0122c43a,
# newer than kubectl 1.32: it has podReplacementPolicy), trimmed, plus ConfigMap's maps.
UPSTREAM_TEXT = """
syntax = "proto2";

package k8s.io.api.apps.v1;

import "k8s.io/api/core/v1/generated.proto";
import "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto";

// Package-wide variables from generator "generated".
option go_package = "k8s.io/api/apps/v1";

/* DeploymentSpec is the specification of the desired behavior of the Deployment. */
message DeploymentSpec {
  // Number of desired pods. This is a pointer to distinguish between explicit
  // zero and not specified. Defaults to 1.
  // +optional
  optional int32 replicas = 1;

  optional .k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector selector = 2;

  optional .k8s.io.api.core.v1.PodTemplateSpec template = 3;

  // +optional
  // +patchStrategy=retainKeys
  optional DeploymentStrategy strategy = 4;

  optional int32 minReadySeconds = 5;

  optional int32 revisionHistoryLimit = 6;

  optional bool paused = 7;

  optional int32 progressDeadlineSeconds = 9;

  optional string podReplacementPolicy = 10;
}

message DeploymentStrategy {
  optional string type = 1;

  optional RollingUpdateDeployment rollingUpdate = 2;
}
"""

CONFIGMAP_TEXT = """
package k8s.io.api.core.v1;
message ConfigMap {
  optional .k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  map<string, string> data = 2;
  map<string, bytes> binaryData = 3;
  optional bool immutable = 4;
}
"""


def test_generator_parses_upstream_text_like_the_schema() -> None:
    gen = _generator()
    found: dict[str, Any] = {}
    gen.parse_proto_text(UPSTREAM_TEXT, found)
    gen.parse_proto_text(CONFIGMAP_TEXT, found)
    committed = json.loads(SCHEMA_JSON.read_text())["messages"]
    for name in (
        "k8s.io.api.apps.v1.DeploymentSpec",
        "k8s.io.api.apps.v1.DeploymentStrategy",
        "k8s.io.api.core.v1.ConfigMap",
    ):
        rows = committed[name]
        for fld in found[name].fields:
            assert fld.nullable is None  # the committed texts carry no gogo options
            if fld.name == "podReplacementPolicy":
                assert str(fld.number) not in rows  # newer than kubectl 1.32
                continue
            json_name, kind, type_name, repeated, _ = rows[str(fld.number)]
            assert (fld.name, fld.kind, fld.type, fld.repeated) == (
                json_name,
                kind,
                type_name,
                repeated,
            )


def test_generator_needs_pointer_information(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = _generator()
    monkeypatch.setattr(gen, "ROOTS", {"v1/ConfigMap": "k8s.io.api.core.v1.ConfigMap"})
    monkeypatch.setattr(gen, "ENVELOPE", "k8s.io.api.core.v1.ConfigMap")
    (tmp_path / "generated.proto").write_text(CONFIGMAP_TEXT)
    with pytest.raises(SystemExit, match="pointer-ness"):
        gen.main([str(tmp_path), "-o", str(tmp_path / "out.json")])


def _kubectl_1_32() -> str:
    """A kubectl of the 1.32 line (the schema was generated from v1.32.4; every 1.32 patch
    release carries the same k8s.io/api types): `kubectl` itself, else `kubectl.1.32` beside
    it or on PATH. Missing: skipped here, a failure under CI=true (the machine has one)."""
    kubectl = require_binary("kubectl")
    candidates = [kubectl, str(Path(kubectl).resolve().parent / "kubectl.1.32")]
    candidates.append(shutil.which("kubectl.1.32") or "")
    versions = []
    for binary in dict.fromkeys(c for c in candidates if c and Path(c).is_file()):
        out = subprocess.run([binary, "version", "--client"], capture_output=True, text=True)
        versions.append(out.stdout.strip().splitlines()[0] if out.stdout.strip() else binary)
        if "v1.32." in out.stdout:
            return binary
    message = f"no kubectl 1.32 to generate the schema from (found: {'; '.join(versions)})"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def test_generator_reproduces_the_committed_schema(tmp_path: Path) -> None:
    binary = _kubectl_1_32()
    out = tmp_path / "schema.json"
    assert _generator().main([binary, "-o", str(out)]) == 0
    assert out.read_text() == SCHEMA_JSON.read_text()


# --- real kubectl --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kc() -> str:
    return require_binary("kubectl")


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    from console.sim.cluster import SimCluster

    cluster = SimCluster(preset="tiny", seed=23).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every object the server decoded from protobuf during the test."""
    seen: list[dict[str, Any]] = []
    original = protobuf.decode

    def spy(body: bytes) -> dict[str, Any]:
        obj = original(body)
        seen.append(json.loads(json.dumps(obj)))
        return obj

    monkeypatch.setattr(protobuf, "decode", spy)
    return seen


def _prune(value: Any) -> Any:
    """Drop what JSON carries only because Go has no omitempty for structs: nulls and {}."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v is not None and v != {}}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _assert_contains(stored: Any, expected: Any, path: str = "") -> None:
    if isinstance(expected, dict):
        assert isinstance(stored, dict), f"{path}: {stored!r} is not an object"
        for key, value in expected.items():
            assert key in stored, f"{path}.{key} is missing from {sorted(stored)}"
            _assert_contains(stored[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(stored, list) and len(stored) == len(expected), f"{path}: {stored!r}"
        for i, (a, b) in enumerate(zip(stored, expected, strict=True)):
            _assert_contains(a, b, f"{path}[{i}]")
    else:
        assert stored == expected, f"{path}: {stored!r} != {expected!r}"


CREATES: list[tuple[list[str], str, str, bool]] = [
    # kubectl args, resource, name, sent as protobuf
    (["create", "deployment", "web", "--image=nginx", "--replicas=0"], "deployment", "web", True),
    (
        ["create", "deployment", "web2", "--image=nginx", "--replicas=2", "--port=8080"],
        "deployment",
        "web2",
        True,
    ),
    (["create", "pdb", "p", "--selector=app=web", "--min-available=1"], "pdb", "p", True),
    (["create", "job", "j", "--image=busybox", "--", "echo", "hi"], "job", "j", True),
    (["create", "service", "clusterip", "s", "--tcp=80:8080"], "service", "s", True),
    (
        ["create", "configmap", "cm", "--from-literal=a=b", "--from-literal=empty="],
        "configmap",
        "cm",
        True,
    ),
    (["run", "pod1", "--image=nginx", "--labels=a=b"], "pod", "pod1", False),
]


@pytest.mark.kubectl
def test_kubectl_creates_match_dry_run(kc: str, sim: Any, decoded: list[dict[str, Any]]) -> None:
    ns = "pb-create"
    kubectl(kc, sim.kubeconfig_path, "create", "namespace", ns)
    assert decoded[-1] == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    stored_ns = json.loads(
        kubectl(kc, sim.kubeconfig_path, "get", "namespace", ns, "-o", "json").stdout
    )
    assert stored_ns["metadata"]["name"] == ns

    for args, resource, name, via_protobuf in CREATES:
        cmd = _with_flags(args, "-n", ns, "--dry-run=client", "-o", "json")
        dry = json.loads(kubectl(kc, sim.kubeconfig_path, *cmd).stdout)
        before = len(decoded)
        kubectl(kc, sim.kubeconfig_path, *_with_flags(args, "-n", ns))
        sent = decoded[before:]
        if via_protobuf:
            assert [o["kind"] for o in sent] == [dry["kind"]], f"{args}: {sent}"
            expected = _prune({k: v for k, v in dry.items() if k != "status"})
            assert _prune(sent[0]) == sent[0]  # nothing empty survives decoding ...
            _assert_contains(sent[0], expected, dry["kind"])  # ... and nothing sent is lost
            _assert_contains(expected, sent[0], dry["kind"])
        stored = json.loads(
            kubectl(kc, sim.kubeconfig_path, "get", resource, name, "-n", ns, "-o", "json").stdout
        )
        _assert_contains(
            stored, _prune({k: v for k, v in dry.items() if k != "status"}), f"{resource}/{name}"
        )

    web = json.loads(
        kubectl(kc, sim.kubeconfig_path, "get", "deployment", "web", "-n", ns, "-o", "json").stdout
    )
    assert web["spec"]["replicas"] == 0
    cm = json.loads(
        kubectl(kc, sim.kubeconfig_path, "get", "configmap", "cm", "-n", ns, "-o", "json").stdout
    )
    assert cm["data"] == {"a": "b", "empty": ""}


def _with_flags(args: list[str], *flags: str) -> list[str]:
    """`args` with `flags` put before a `--` command, if any."""
    if "--" in args:
        cut = args.index("--")
        return [*args[:cut], *flags, *args[cut:]]
    return [*args, *flags]


@pytest.mark.kubectl
def test_kubectl_auth_can_i_decodes(kc: str, sim: Any, decoded: list[dict[str, Any]]) -> None:
    assert (
        kubectl(
            kc, sim.kubeconfig_path, "auth", "can-i", "create", "deployments.apps", "-n", "default"
        ).stdout.strip()
        == "yes"
    )
    assert decoded[-1]["spec"]["resourceAttributes"] == {
        "namespace": "default",
        "verb": "create",
        "group": "apps",
        "resource": "deployments",
    }


def test_schema_has_every_root() -> None:
    roots = json.loads(SCHEMA_JSON.read_text())["roots"]
    kinds = "ConfigMap Namespace Pod Service ServiceAccount Event Node Deployment StatefulSet "
    kinds += "DaemonSet ReplicaSet Job PodDisruptionBudget Eviction SelfSubjectAccessReview Scale"
    for kind in [*kinds.split(), "DeleteOptions"]:
        assert any(key.endswith(f"/{kind}") for key in roots), kind
