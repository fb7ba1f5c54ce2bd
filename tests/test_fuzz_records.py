"""Property-based fuzz of the cluster side: raw API objects of every kind whose strings and
numbers are arbitrary or hostile (5,000-digit runs, `1e999`, `NaN`, `-1`, `99999999999Ei`,
`12Qi`, `²`, escapes, bidi controls, markup, wrong JSON types) go through the production
decoders (`KINDS[kind].decode_item`, the msgspec wire structs and `decode_*`), into a
session's caches, and through every view's rows, the filter, every column's sort, the
arrangement, column fitting and the JSON export. Nothing raises; no cell holds an escape,
a control, an invisible format character or more than `CELL_MAX` characters."""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_render_support import NOW, FakeTelemetry, deployment, isvc, job, node, pod, session

from console.cluster.kinds import KINDS
from console.metrics import GpuRow, NodeTelemetry, WorkloadTelemetry
from console.render import VIEWS
from console.render.arrange import Arrangement, RowTexts
from console.render.base import CELL_MAX, RowCache, RowContext, Scope, measure, visible_columns
from console.render.export import rows_as_dicts
from console.render.gpus import gpu_rows

FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,  # nothing written into the working tree
    # CI runs the same examples every time (a red CI then reproduces); elsewhere each run
    # explores new ones, which is how this test found its bugs.
    derandomize=os.environ.get("CI") == "true",
    # no shrinking: with 10,000-character strings it takes minutes; a failure is reported
    # as generated (the object and the traceback say enough)
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2028\u2029\u2060-\u2064\u2066-\u206f\ufeff\ud800-\udfff]"
)
"""What `console.text.clean` removes (tabs and newlines stay in multi-line fields)."""

HOSTILE = [
    "", " ", "9" * 5000, "img-" + "7" * 5000 + "-x", "a" * 10_000, "1e999", "-1e999", "NaN",
    "-1", "99999999999Ei", "12Qi", "²", "٣", "0x10", "1.2.3", ".", "+Inf", "True", "null",
    "[/x]", "[@click=app.quit]", "[link=http://e]x[/link]", "\x1b]52;c;QUFB\x07", "\x1b[2J",
    "a\x1b[31mred", "\u202eevil.exe", "\u2066iso\u2069", "zero\u200bwidth", "line\u2028sep",
    "\ufeffbom", "nul\x00byte", "cr\r\nlf", "tab\tx", "\x9bC1", "Running", "Pending",
    "Succeeded", "Failed", "True", "False", "Unknown", "Ready", "PodScheduled", "Always",
    "DaemonSet", "ReplicaSet", "CrashLoopBackOff", "gpu-0", "ml", "名前🙂",
]  # fmt: skip

hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=24),
    st.lists(st.sampled_from(HOSTILE[:40]), min_size=2, max_size=3).map("".join),
)
numbers = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, 1, -1, 2**31, 2**63 - 1, 2**64, 10**30, 10**400]),
    st.floats(allow_nan=False, allow_infinity=False),
)
quantity = st.one_of(hostile_text, numbers, st.sampled_from(["1", "8", "500m", "1Gi", "1e3"]))
stamp = st.one_of(
    st.sampled_from(
        ["2024-05-01T10:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
         "2024-13-45T99:99:99Z", "2024-05-01T10:00:00.123456789+14:00"]
    ),
    hostile_text,
)  # fmt: skip
NODES = ["gpu-0", "gpu-1", "\u202egpu-2", "n" * 300, "[/x]"]
"""Node names pods are bound to (some of them hostile), so rows join across kinds."""
LABEL_KEYS = [
    "nvidia.com/gpu.count", "nvidia.com/gpu.replicas", "nvidia.com/gpu.product",
    "nvidia.com/gpu.sharing-strategy", "nvidia.com/mig.strategy", "cloud.google.com/gke-nodepool",
    "kueue.x-k8s.io/queue-name", "serving.kserve.io/inferenceservice",
    "jobset.sigs.k8s.io/jobset-name", "pod-template-hash", "app", "batch.kubernetes.io/job-name",
]  # fmt: skip
RESOURCES = ["nvidia.com/gpu", "nvidia.com/gpu.shared", "nvidia.com/mig-1g.10gb", "cpu"]


class Leaf:
    """A placeholder in a template: filled by drawing from `strategy`; sometimes (when
    `confuse`) with a value of the wrong JSON type."""

    def __init__(self, strategy: st.SearchStrategy[Any], confuse: bool = True) -> None:
        self.strategy, self.confuse = strategy, confuse


S, I, Q, T = Leaf(hostile_text), Leaf(numbers), Leaf(quantity), Leaf(stamp)  # noqa: E741
B = Leaf(st.booleans())
NODE = Leaf(st.sampled_from(NODES), confuse=False)
WRONG = st.one_of(st.none(), numbers, hostile_text, st.just([]), st.just({}), st.booleans())
LABELS = Leaf(st.dictionaries(st.one_of(st.sampled_from(LABEL_KEYS), hostile_text), hostile_text, max_size=6))  # fmt: skip
QUANTITIES = Leaf(st.dictionaries(st.one_of(st.sampled_from(RESOURCES), hostile_text), quantity, max_size=4))  # fmt: skip


def fill(data: st.DataObject, template: Any) -> Any:
    """The template with every `Leaf` drawn (lists keep one to two items)."""
    if isinstance(template, Leaf):
        if template.confuse and data.draw(st.integers(0, 19)) == 0:
            return data.draw(WRONG)
        return data.draw(template.strategy)
    if isinstance(template, dict):
        return {k: fill(data, v) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(data, template[0]) for _ in range(data.draw(st.integers(0, 2)))]
    return template


META = {
    "name": S, "namespace": S, "uid": S, "labels": LABELS, "annotations": LABELS,
    "ownerReferences": [{"kind": S, "name": S, "uid": S, "controller": B}],
    "creationTimestamp": T, "deletionTimestamp": T,
}  # fmt: skip
COND = {"type": S, "status": S, "reason": S, "message": S, "lastTransitionTime": T}
CONTAINER = {
    "name": S, "image": S, "restartPolicy": S, "env": [{"name": S, "value": S}],
    "resources": {"limits": QUANTITIES, "requests": QUANTITIES},
}  # fmt: skip
POD_SPEC = {"nodeName": NODE, "containers": [CONTAINER], "initContainers": [CONTAINER], "overhead": QUANTITIES}  # fmt: skip
TEMPLATE = {"metadata": META, "spec": POD_SPEC}
JOB_STATUS = {
    "conditions": [COND], "replicaStatuses": {"Master": {"active": I, "succeeded": I, "failed": I}},
    "startTime": T, "completionTime": T, "active": I, "succeeded": I, "failed": I, "ready": I,
}  # fmt: skip
STATE = {"reason": S, "message": S, "exitCode": I}
TEMPLATES: dict[str, Any] = {
    "nodes": {
        "metadata": META,
        "spec": {"unschedulable": B, "taints": [{"key": S, "value": S, "effect": S}]},
        "status": {
            "capacity": QUANTITIES, "allocatable": QUANTITIES, "conditions": [COND],
            "nodeInfo": {"kubeletVersion": S, "osImage": S},
        },
    },
    "pods": {
        "metadata": META,
        "spec": POD_SPEC,
        "status": {
            "phase": S, "reason": S, "message": S, "startTime": T, "podIP": S,
            "conditions": [{**COND, "type": Leaf(st.sampled_from(["PodScheduled", "Ready"]))}],
            "containerStatuses": [{
                "name": S, "ready": B, "restartCount": I,
                "state": {"waiting": STATE, "terminated": STATE, "running": {"startedAt": T}},
                "lastState": {"terminated": STATE},
            }],
        },
    },
    "events": {
        "metadata": META, "involvedObject": {"kind": S, "name": S, "namespace": S, "uid": S},
        "type": S, "reason": S, "message": S, "count": I, "firstTimestamp": T, "lastTimestamp": T,
        "eventTime": T, "series": {"count": I, "lastObservedTime": T}, "source": {"component": S},
    },
    "namespaces": {"metadata": META, "status": {"phase": S}},
    "deployments": {
        "metadata": META,
        "spec": {"replicas": I, "selector": {"matchLabels": LABELS}, "template": TEMPLATE},
        "status": {"replicas": I, "readyReplicas": I, "availableReplicas": I, "conditions": [COND]},
    },
    "jobs": {
        "metadata": META,
        "spec": {"parallelism": I, "completions": I, "suspend": B, "template": TEMPLATE},
        "status": JOB_STATUS,
    },
    "pytorchjobs": {
        "metadata": META,
        "spec": {
            "pytorchReplicaSpecs": {"Master": {"replicas": I, "template": TEMPLATE},
                                    "Worker": {"replicas": I, "template": TEMPLATE}},
            "runPolicy": {"suspend": B, "schedulingPolicy": {"queue": S}},
        },
        "status": JOB_STATUS,
    },
    "jobsets": {
        "metadata": META,
        "spec": {"suspend": B, "replicatedJobs": [{
            "name": S, "replicas": I,
            "template": {"spec": {"parallelism": I, "template": TEMPLATE}},
        }]},
        "status": {"conditions": [COND], "replicatedJobsStatus": [
            {"name": S, "ready": I, "succeeded": I, "failed": I, "active": I, "suspended": I}
        ]},
    },
    "trainjobs": {
        "metadata": META,
        "spec": {"suspend": B, "runtimeRef": {"name": S, "kind": S, "apiGroup": S}, "trainer": {
            "numNodes": I, "image": S, "resourcesPerNode": {"limits": QUANTITIES, "requests": QUANTITIES},
        }},
        "status": {"conditions": [COND], "jobsStatus": [
            {"name": S, "ready": I, "succeeded": I, "failed": I, "active": I, "suspended": I}
        ]},
    },
    "clustertrainingruntimes": {
        "metadata": META,
        "spec": {"mlPolicy": {"numNodes": I}, "template": {"spec": {"replicatedJobs": [{
            "name": S, "replicas": I,
            "template": {"spec": {"parallelism": I, "template": TEMPLATE}},
        }]}}},
    },
    "inferenceservices": {
        "metadata": META,
        "spec": {"predictor": {
            "model": {"modelFormat": {"name": S}, "runtime": S, "storageUri": S,
                      "resources": {"limits": QUANTITIES}},
            "tensorflow": {"storageUri": S, "resources": {"limits": QUANTITIES, "requests": QUANTITIES}},
            "containers": [CONTAINER], "minReplicas": I, "maxReplicas": I,
        }},
        "status": {"url": S, "deploymentMode": S,
                   "conditions": [{**COND, "type": Leaf(st.just("Ready"))},
                                  {**COND, "type": Leaf(st.just("LatestDeploymentReady"))}],
                   "components": {"predictor": {
                       "latestReadyRevision": S, "latestCreatedRevision": S,
                       "traffic": [{"revisionName": S, "percent": I, "latestRevision": B, "tag": S}],
                   }},
                   "modelStatus": {"states": {"activeModelState": S}}},
    },
}  # fmt: skip
TEMPLATES["llminferenceservices"] = {
    "metadata": META,
    "spec": {"model": {"uri": S, "name": S}, "replicas": I,
             "template": {"containers": [CONTAINER]}, "worker": {"containers": [CONTAINER]},
             "prefill": {"replicas": I, "template": {"containers": [CONTAINER]}}},
    "status": {"url": S, "conditions": [{**COND, "type": Leaf(st.just("Ready"))}]},
}  # fmt: skip
TEMPLATES["statefulsets"] = TEMPLATES["deployments"]
TEMPLATES["tfjobs"] = TEMPLATES["mpijobs"] = TEMPLATES["pytorchjobs"]
TEMPLATES["trainingruntimes"] = TEMPLATES["clustertrainingruntimes"]
for _kind, _specs in (
    ("xgboostjobs", "xgbReplicaSpecs"),
    ("jaxjobs", "jaxReplicaSpecs"),
    ("paddlejobs", "paddleReplicaSpecs"),
):
    TEMPLATES[_kind] = {
        **TEMPLATES["pytorchjobs"],
        "spec": {
            _specs: TEMPLATES["pytorchjobs"]["spec"]["pytorchReplicaSpecs"],
            "runPolicy": TEMPLATES["pytorchjobs"]["spec"]["runPolicy"],
        },
    }

finite_or_not = st.one_of(
    st.none(), st.floats(), st.sampled_from([float("inf"), float("-inf"), float("nan"), 1e308])
)


def _strings(value: Any) -> list[str]:
    """Every string inside a record (fields, tuples, mappings), recursively."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, msgspec.Struct):
        return [s for f in value.__struct_fields__ for s in _strings(getattr(value, f))]
    if isinstance(value, dict):
        return [s for kv in value.items() for x in kv for s in _strings(x)]
    if isinstance(value, tuple | list):
        return [s for x in value for s in _strings(x)]
    return []


def _check_rows(view_name: str, rows: list[Any], filters: list[str]) -> None:
    view = VIEWS[view_name]
    for row in rows:
        assert len(row.cells) == len(view.columns)
        for cell in row.cells:
            assert isinstance(cell, str) and len(cell) <= CELL_MAX
            assert not UNSAFE.search(cell) and "\n" not in cell, repr(cell[:80])
    texts = RowTexts()
    arrangement = Arrangement(rows, view.columns, texts)
    for column in view.columns:
        for reverse in (False, True):
            for text in ["", *filters]:
                arranged, _literal = arrangement.arrange((column.key, reverse), text)
                assert len(arranged) <= len(rows)
    exported = rows_as_dicts(view, rows)
    json.dumps(exported)
    widths = measure(view.columns, rows)
    for width in (20, 80, 200):
        assert visible_columns(view.columns, width, widths=widths)


BACKGROUND = [
    ("nodes", node("gpu-0")),
    ("pods", pod("p", node="gpu-0")),
    ("pytorchjobs", job("llm")),
    ("inferenceservices", isvc()),
    ("deployments", deployment("vllm")),
]
"""Well-formed records beside the hostile ones, so that joins (pods on nodes, a job's pods,
a server's replicas) meet them."""


@pytest.mark.parametrize("kind", list(TEMPLATES))
@FUZZ
@given(data=st.data(), filters=st.lists(st.one_of(hostile_text, st.sampled_from(
    ["-l app", "!-l app in (x,y)", "-l nvidia.com/gpu.count!=²", "!gpu", "9999", "(", "-l"]
)), max_size=2))  # fmt: skip
def test_hostile_objects_decode_and_render(kind: str, data: st.DataObject, filters) -> None:
    records = list(BACKGROUND)
    for _ in range(data.draw(st.integers(1, 3))):
        raw = json.dumps(fill(data, TEMPLATES[kind])).encode()  # big ints too (orjson: 64-bit)
        record = KINDS[kind].decode_item(raw)  # a malformed object: None, never a raise
        if record is None:
            continue
        for text in _strings(record):
            assert not UNSAFE.search(text), (kind, text[:80])
        records.append((kind, record))
    node_names = [r.name for k, r in records if k == "nodes"] + NODES
    figures = {
        name: NodeTelemetry(
            name, data.draw(st.integers(0, 10**6)), *[data.draw(finite_or_not) for _ in range(5)],
            xid_gpus=(0, 1), last_xid=data.draw(st.integers(-(2**70), 2**70)), idle_gpus=-3,
        )
        for name in node_names
    }  # fmt: skip
    workloads = {
        key: WorkloadTelemetry(key, 1, data.draw(finite_or_not), -1, ())
        for key in [(r.kind, r.namespace, r.name) for k, r in records if hasattr(r, "roles")]
        + [("Deployment", r.namespace, r.name) for k, r in records if k == "deployments"]
    }
    s = session(*records)
    for telemetry in (None, FakeTelemetry(figures, workloads)):
        for name, view in VIEWS.items():
            for scope in (None, Scope("node", node=NODES[2])):
                ctx = RowContext(NOW, None, True, scope, telemetry)
                rows = view.build(s, ctx, RowCache(view.columns))
                _check_rows(name, rows, filters)


@FUZZ
@given(st.lists(st.builds(
    GpuRow, node=hostile_text, index=st.integers(-(2**70), 2**70), uuid=hostile_text,
    model=hostile_text, util=finite_or_not, util_history=st.lists(finite_or_not, max_size=70).map(tuple),
    mem_pct=finite_or_not, mem_history=st.lists(finite_or_not, max_size=5).map(tuple),
    mem_used_mib=finite_or_not, mem_total_mib=finite_or_not, temp=finite_or_not,
    power=finite_or_not, sm_clock=finite_or_not, xid=st.integers(-(2**70), 2**70),
    gr_active=finite_or_not, tensor_active=finite_or_not,
    pods=st.lists(hostile_text, max_size=3).map(tuple), idle=st.booleans(),
), max_size=4), st.integers(-5, 300))  # fmt: skip
def test_the_node_gpus_tab_rows_never_raise(rows: list[GpuRow], width: int) -> None:
    for row in gpu_rows(rows, width):
        assert all(isinstance(c, str) and len(c) <= CELL_MAX for c in row.cells)


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        (
            "trainjobs",
            {
                "trainer": {
                    "numNodes": 10**400,
                    "resourcesPerNode": {"limits": {"nvidia.com/gpu": "8"}},
                }
            },
        ),
        (
            "jobs",
            {
                "parallelism": 10**400,
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "c", "resources": {"limits": {"nvidia.com/gpu": "1"}}}
                        ]
                    }
                },
            },
        ),
        (
            "pytorchjobs",
            {
                "pytorchReplicaSpecs": {
                    "Worker": {
                        "replicas": 10**400,
                        "template": {
                            "spec": {
                                "containers": [
                                    {"name": "c", "resources": {"limits": {"nvidia.com/gpu": "1"}}}
                                ]
                            }
                        },
                    }
                }
            },
        ),
    ],
)
def test_an_absurd_replica_count_is_clamped_where_it_is_decoded(kind: str, spec: dict) -> None:
    # found by the records fuzz: 10**400 nodes times 8 GPUs overflowed a float sum
    item = {"metadata": {"name": "big", "namespace": "ml"}, "spec": spec}
    record = KINDS[kind].decode_item(json.dumps(item).encode())
    assert record is not None
    assert all(0 <= role.desired <= 2**31 - 1 for role in record.roles)
    assert math.isfinite(record.gpus)
