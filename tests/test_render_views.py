"""Each view's rows from records alone: cells, hints, sort values, drill-down."""

from __future__ import annotations

from typing import Any

import orjson
from test_render_support import (
    NOW,
    FakeTelemetry,
    deployment,
    isvc,
    job,
    load,
    node,
    pod,
    session,
)

from console.metrics import GpuRow, NodeTelemetry, WorkloadTelemetry
from console.render import JOBS, NODES, PODS, SERVERS, VIEWS
from console.render.base import Row, RowCache, RowContext, Scope, View, narrow_keys, visible_columns
from console.render.export import rows_as_dicts
from console.render.gpus import GPU_COLUMNS, gpu_rows, spark_width


def build(view: View, s: Any, **ctx: Any) -> dict[str, Row]:
    rows = view.build(s, RowContext(NOW, **ctx), RowCache(view.columns))
    for row in rows:
        assert len(row.cells) == len(view.columns)
        assert all(isinstance(c, str) for c in row.cells)
        assert row.styles is None or (len(row.styles) == len(row.cells) and any(row.styles))
    return {r.key: r for r in rows}


def cells(view: View, row: Row) -> dict[str, str]:
    return dict(zip((c.key for c in view.columns), row.cells, strict=True))


def styles(view: View, row: Row) -> dict[str, str]:
    return {c.key: s for c, s in zip(view.columns, row.styles or (), strict=True) if s}


def test_views_are_named() -> None:
    assert list(VIEWS) == ["nodes", "jobs", "servers", "pods"]
    for view in VIEWS.values():
        keys = [c.key for c in view.columns]
        narrow = narrow_keys(view.columns)
        shown = [k for k in keys if k not in narrow]
        assert len(set(keys)) == len(keys) and shown[-1] == "age"
        assert narrow <= set(keys) and keys[len(shown) :] == [k for k in keys if k in narrow]
        assert {c.cut for c in view.columns} <= {"end", "middle"}
        assert {c.sort for c in view.columns} <= {"text", "number", "value"}
        assert {c.align for c in view.columns} <= {"left", "right"}


# ---------------------------------------------------------------- nodes


def test_node_alloc_free_status_and_cpu_nodes() -> None:
    cordon_taint = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
    cordoned = node("gpu-1", spec={"unschedulable": True}, taints=[cordon_taint])
    pressure = node(
        "gpu-2",
        conditions=[
            {"type": "Ready", "status": "True"},
            {"type": "MemoryPressure", "status": "True"},
        ],
    )
    down = node("gpu-3", conditions=[{"type": "Ready", "status": "False"}])
    s = session(
        ("nodes", node("gpu-0")),
        ("nodes", cordoned),
        ("nodes", pressure),
        ("nodes", down),
        ("nodes", node("cpu-0", gpus=0)),
        ("pods", pod("a", gpus=3)),
        ("pods", pod("done", gpus=8, status={"phase": "Succeeded"})),  # holds nothing
    )
    rows = build(NODES, s)
    assert set(rows) == {"gpu-0", "gpu-1", "gpu-2", "gpu-3"}  # CPU nodes hidden
    gpu0 = cells(NODES, rows["gpu-0"])
    assert gpu0["alloc"] == "    3/8 ▇▇▇▁▁▁▁▁" and gpu0["free"] == "5" and gpu0["pods"] == "1"
    assert gpu0["gpu"] == "A100-SXM4-80GB" and gpu0["status"] == "Ready"
    assert gpu0["util"] == "   -" and gpu0["temp"] == "" and gpu0["age"] == "2d"  # no figures
    assert styles(NODES, rows["gpu-0"]) == {"alloc": "bar:38", "util": "none", "max": "none"}
    assert rows["gpu-0"].hint is None and rows["gpu-0"].record.name == "gpu-0"
    assert rows["gpu-0"].labels["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"
    assert cells(NODES, rows["gpu-1"])["status"] == "Ready,SchedulingDisabled"
    assert rows["gpu-1"].hint == "warn"
    assert cells(NODES, rows["gpu-1"])["taints"] == ""  # STATUS says cordoned already
    assert cells(NODES, rows["gpu-1"])["alloc"] == "    0/8 ▁▁▁▁▁▁▁▁"
    assert cells(NODES, rows["gpu-2"])["status"] == "Ready,MemoryPressure"
    assert rows["gpu-2"].hint == "warn"
    assert cells(NODES, rows["gpu-3"])["status"] == "NotReady" and rows["gpu-3"].hint == "bad"
    # the compact STATUS (its narrow form): a marker for cordoned, `!` + a letter per pressure
    states = {name: cells(NODES, row)["state"] for name, row in rows.items()}
    assert states == {
        "gpu-0": "Ready",
        "gpu-1": "Ready ⊘",
        "gpu-2": "Ready !M",
        "gpu-3": "NotReady",
    }
    with_cpu = build(NODES, s, show_cpu_nodes=True)
    cpu = with_cpu["cpu-0"]
    assert cpu.hint == "dim" and cells(NODES, cpu)["alloc"] == "" and cpu.styles is None
    assert rows["gpu-0"].sort_values["age"] == rows["gpu-1"].sort_values["age"]


def test_node_and_pod_rows_carry_the_short_node_names() -> None:
    names = ["gke-prod-a100-pool-1a2b3c4d-x7k2", "gke-prod-a100-pool-1a2b3c4d-q9zz"]
    s = session(*(("nodes", node(n)) for n in names), ("pods", pod("a", node=names[0])))
    cache = RowCache(NODES.columns)
    rows = {r.key: r for r in NODES.build(s, RowContext(NOW), cache)}
    assert [cells(NODES, rows[n])["short"] for n in names] == ["a100-pool-x7k2", "a100-pool-q9zz"]
    assert cells(NODES, rows[names[0]])["name"] == names[0]  # the full name stays in the row
    pods = build(PODS, s)
    assert cells(PODS, pods["ml/a"])["node"] == names[0]
    assert cells(PODS, pods["ml/a"])["node_short"] == "a100-pool-x7k2"
    # a node of another pool joins: the names shown change, the rows are built again
    load(s, ("nodes", node("gke-prod-h100-pool-5e6f7a8b-m3m3")))
    built = cache.built
    rows = {r.key: r for r in NODES.build(s, RowContext(NOW), cache)}
    assert cache.built == built + 1  # only the new node: the others keep their short names
    load(s, ("nodes", node("ip-10-0-1-1.ec2.internal")))
    rows = {r.key: r for r in NODES.build(s, RowContext(NOW), cache)}
    assert cells(NODES, rows[names[0]])["short"] == "gke-prod-a100-pool-x7k2"
    assert cells(NODES, rows["ip-10-0-1-1.ec2.internal"])["short"] == "ip-10-0-1-1.ec2.internal"


def test_at_80_columns_each_view_keeps_what_on_call_needs_first() -> None:
    needed = {
        NODES: {"name", "status", "alloc", "free", "util", "xid", "temp"},
        PODS: {"name", "status", "gpus", "node"},
        JOBS: {"name", "state", "gpus", "util", "idle"},
        SERVERS: {"name", "ready", "replicas", "gpus", "util"},
    }
    for view, keys in needed.items():
        widths = {c.key: max(c.min_width, len(c.label)) for c in view.columns}
        shown = visible_columns(view.columns, 80, widths=widths)
        narrow_of = {c.narrow: c.key for c in view.columns if c.narrow}
        by_place = {narrow_of.get(c.key, c.key) for c in shown}
        assert keys <= by_place, (view.name, sorted(keys - by_place))
        if view is not NODES:  # the namespace comes next
            wider = visible_columns(view.columns, 100, widths=widths)
            assert "namespace" in {c.key for c in wider}


def test_node_alloc_while_pods_sync_and_taints() -> None:
    tainted = node(
        "gpu-0",
        taints=[
            {"key": "nvidia.com/gpu", "effect": "NoSchedule"},
            {"key": "team", "value": "a", "effect": "NoSchedule"},
        ],
    )
    s = session(("nodes", tainted), pods_synced=False)
    row = build(NODES, s)["gpu-0"]
    assert cells(NODES, row)["alloc"].strip() == "…/8 ▁▁▁▁▁▁▁▁"
    assert cells(NODES, row)["taints"] == "team=a:NoSchedule"  # the GPU taint is expected


def test_node_telemetry_cells_and_hints() -> None:
    s = session(("nodes", node("gpu-0")), ("nodes", node("gpu-1")), ("nodes", node("gpu-2")))
    telemetry = FakeTelemetry(
        {
            "gpu-0": NodeTelemetry("gpu-0", 8, 73.4, 99.0, 40.0, 87.0, 2400.0, (1, 3), 79, 2),
            "gpu-1": NodeTelemetry("gpu-1", 8, 12.0, 20.0, None, 86.0, None),
            "gpu-2": NodeTelemetry("gpu-2", 8, None, None, None, None, None),
        }
    )
    rows = build(NODES, s, telemetry=telemetry)
    hot_xid = rows["gpu-0"]
    c = cells(NODES, hot_xid)
    assert (c["util"], c["max"], c["mem"], c["temp"], c["power"], c["xid"]) == (
        " 73%",
        " 99%",
        " 40%",
        "87°C!",
        "2400 W",
        "79×2",
    )
    assert hot_xid.hint == "bad"  # an XID wins over heat
    assert styles(NODES, hot_xid) == {
        "alloc": "bar:0",
        "util": "util:73",
        "max": "util:99",
        "temp": "warn",
        "xid": "bad",
    }
    hot = rows["gpu-1"]
    assert hot.hint == "warn" and cells(NODES, hot)["temp"] == "86°C!"
    assert cells(NODES, hot)["mem"] == "   -" and cells(NODES, hot)["power"] == "-"
    blank = rows["gpu-2"]
    assert cells(NODES, blank)["util"] == "   -" and styles(NODES, blank)["util"] == "none"
    assert blank.hint is None and cells(NODES, blank)["xid"] == ""


def test_node_without_figures_shows_no_data_when_telemetry_is_on() -> None:
    s = session(("nodes", node("gpu-0")))
    row = build(NODES, s, telemetry=FakeTelemetry({}))["gpu-0"]
    assert cells(NODES, row)["util"] == "   -" and styles(NODES, row)["util"] == "none"


def test_node_scope_by_name_shows_cpu_nodes_too() -> None:
    s = session(("nodes", node("gpu-0")), ("nodes", node("cpu-0", gpus=0)))
    rows = build(NODES, s, scope=Scope("node cpu-0", name="cpu-0"))
    assert list(rows) == ["cpu-0"]
    view, scope = NODES.drill(rows["cpu-0"].record)
    assert view == "pods" and scope.node == "cpu-0" and NODES.kind_of(None) == "nodes"


# ---------------------------------------------------------------- pods


def test_pod_cells_status_and_hints() -> None:
    crash = {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": "pytorch",
                "ready": False,
                "restartCount": 7,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            }
        ],
    }
    completed = {
        "name": "pytorch",
        "ready": False,
        "restartCount": 0,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
    }
    s = session(
        ("nodes", node("gpu-0")),
        ("pods", pod("run", gpus=2)),
        ("pods", pod("crash", status=crash)),
        ("pods", pod("wait", node="", status={"phase": "Pending", "containerStatuses": []})),
        ("pods", pod("done", status={"phase": "Succeeded", "containerStatuses": [completed]})),
        ("pods", pod("gone", status={"phase": "Succeeded"})),
        ("pods", pod("bye", metadata={"deletionTimestamp": "2024-05-01T11:00:00Z"})),
        ("pods", pod("cpu", gpus=0)),
    )
    rows = build(PODS, s)
    assert set(rows) == {"ml/run", "ml/crash", "ml/wait", "ml/done", "ml/gone", "ml/bye"}
    run = rows["ml/run"]
    assert cells(PODS, run) == {
        "namespace": "ml",
        "name": "run",
        "ready": "1/1",
        "status": "Running",
        "restarts": "2",
        "last": "",
        "gpus": "2",
        "node": "gpu-0",
        "workload": "",
        "age": "38h",
        "node_short": "gpu-0",  # one short node name: nothing to drop
        "restarts_count": "2",
    }
    assert run.hint is None and run.styles is None and run.labels == {"app": "train"}
    assert run.record.name == "run"
    crashed = rows["ml/crash"]
    assert cells(PODS, crashed)["status"] == "CrashLoopBackOff" and crashed.hint == "bad"
    assert cells(PODS, crashed)["ready"] == "0/1" and cells(PODS, crashed)["restarts"] == "7"
    assert rows["ml/wait"].hint == "warn" and cells(PODS, rows["ml/wait"])["node"] == ""
    assert cells(PODS, rows["ml/done"])["status"] == "Completed"
    assert rows["ml/done"].hint == "dim"
    # kubectl prints the phase when no container says more (a pod whose statuses are gone)
    assert cells(PODS, rows["ml/gone"])["status"] == "Succeeded" and rows["ml/gone"].hint == "dim"
    assert cells(PODS, rows["ml/bye"])["status"] == "Terminating" and rows["ml/bye"].hint == "dim"
    assert PODS.drill(run.record)[1].name == "gpu-0" and PODS.drill(rows["ml/wait"].record) is None


def test_pods_by_namespace_and_scope() -> None:
    other = pod("x", metadata={"namespace": "other"})
    s = session(
        ("nodes", node("gpu-0")),
        ("pods", pod("a")),
        ("pods", other),
        ("pods", pod("cpu", gpus=0)),
    )
    assert set(build(PODS, s, namespace="ml")) == {"ml/a"}
    on_node = build(PODS, s, namespace="ml", scope=Scope("pods on gpu-0", node="gpu-0"))
    assert set(on_node) == {"ml/a", "other/x", "ml/cpu"}  # a node shows all its pods


# ---------------------------------------------------------------- jobs


def _job_pod(name: str, role: str, ready: bool = True, restarts: int = 0) -> Any:
    labels = {
        "training.kubeflow.org/job-name": "llm",
        "training.kubeflow.org/replica-type": role,
    }
    status = {
        "phase": "Running",
        "containerStatuses": [
            {"name": "pytorch", "ready": ready, "restartCount": restarts, "state": {"running": {}}}
        ],
    }
    return pod(name, gpus=8, metadata={"labels": labels}, status=status)


def test_job_cells_replicas_and_telemetry() -> None:
    s = session(
        ("pytorchjobs", job("llm", workers=2)),
        ("pods", _job_pod("llm-master-0", "master")),
        ("pods", _job_pod("llm-worker-0", "worker", restarts=3)),
        ("pods", _job_pod("llm-worker-1", "worker", ready=False)),
    )
    figures = {
        ("PyTorchJob", "ml", "llm"): WorkloadTelemetry(("PyTorchJob", "ml", "llm"), 24, 41.0, 2, ())
    }
    rows = build(JOBS, s, telemetry=FakeTelemetry(workloads=figures))
    row = rows["PyTorchJob/ml/llm"]
    c = cells(JOBS, row)
    assert (c["kind"], c["state"], c["replicas"], c["gpus"]) == (
        "PyTorchJob",
        "Running",
        "Master 1/1 Worker 1/2",
        "24",
    )
    assert (c["util"], c["idle"], c["restarts"], c["queue"]) == (" 41%", "2", "3", "team-a")
    assert c["duration"] == "37h" and c["age"] == "38h"
    assert styles(JOBS, row) == {"util": "util:41", "idle": "warn"}
    assert row.hint == "warn"  # idle GPUs
    assert row.sort_values["duration"] == 38 * 3600 - 10 and "age" in row.sort_values
    assert row.labels["kueue.x-k8s.io/queue-name"] == "team-a"
    view, scope = JOBS.drill(row.record)
    assert view == "pods" and scope.job == ("ml", "llm")
    assert JOBS.kind_of(row.record) == "pytorchjobs"


def test_job_states_give_hints_and_no_telemetry_leaves_gauges_blank() -> None:
    failed = job(
        "bad",
        conditions=[
            {"type": "Running", "status": "False"},
            {"type": "Failed", "status": "True", "reason": "x"},
        ],
    )
    s = session(("pytorchjobs", failed))
    row = build(JOBS, s)["PyTorchJob/ml/bad"]
    assert cells(JOBS, row)["state"] == "Failed" and row.hint == "bad"
    assert cells(JOBS, row)["util"] == "" and row.styles is None
    blank = build(JOBS, s, telemetry=FakeTelemetry(workloads={("x", "y", "z"): None}))
    assert cells(JOBS, blank["PyTorchJob/ml/bad"])["util"] == "   -"


# ---------------------------------------------------------------- servers


def test_server_cells_and_hints() -> None:
    s = session(("inferenceservices", isvc()), ("deployments", deployment()))
    rows = build(SERVERS, s)
    served = rows["InferenceService/serve/llama"]
    c = cells(SERVERS, served)
    assert (c["ready"], c["model"], c["url"], c["kind"]) == (
        "True",
        "huggingface/vllm",
        "http://llama.serve",
        "InferenceService",
    )
    assert served.hint is None
    deploy = rows["Deployment/serve/vllm"]
    d = cells(SERVERS, deploy)
    assert (d["replicas"], d["model"]) == ("1/2", "vllm-openai:v0.5")
    assert deploy.hint == "warn"  # some replicas ready
    view, scope = SERVERS.drill(deploy.record)
    assert scope.workload == ("serve", "Deployment", "vllm") and view == "pods"
    assert SERVERS.kind_of(deploy.record) == "deployments"
    assert SERVERS.kind_of(served.record) == "inferenceservices"


def test_server_not_ready_is_bad_with_its_reason() -> None:
    s = session(("inferenceservices", isvc("False")), ("deployments", deployment("d", 0)))
    rows = build(SERVERS, s)
    served = rows["InferenceService/serve/llama"]
    assert cells(SERVERS, served)["ready"] == "Loading" and served.hint == "bad"
    assert rows["Deployment/serve/d"].hint == "bad"


# ---------------------------------------------------------------- a node's GPUs


def _gpu(index: int, **changes: Any) -> GpuRow:
    base: dict[str, Any] = dict(
        node="gpu-0",
        index=index,
        uuid=f"GPU-5f2c1a9e-0000-{index}",
        model="A100",
        util=61.0,
        util_history=(0.0, 50.0, None, 100.0),
        mem_pct=25.0,
        mem_history=(25.0,),
        mem_used_mib=20480.0,
        mem_total_mib=81920.0,
        temp=60.0,
        power=250.0,
        sm_clock=1410.0,
        xid=0,
        gr_active=None,
        tensor_active=None,
        pods=("ml/a",),
        idle=False,
    )
    base.update(changes)
    return GpuRow(**base)


def test_gpu_rows() -> None:
    rows = gpu_rows(
        [
            _gpu(0),
            _gpu(1, xid=79, temp=90.0),
            _gpu(2, util=None, util_history=(), pods=(), mem_total_mib=None, power=None),
            _gpu(3, idle=True, util=1.0),
        ],
        width=80,
    )
    assert [r.key for r in rows] == ["0", "1", "2", "3"] and spark_width(80) == 10
    first = dict(zip((c.key for c in GPU_COLUMNS), rows[0].cells, strict=True))
    assert first == {
        "gpu": "0",
        "mig": "",
        "uuid": "GPU-5f2c1a9e",
        "util_hist": "      ▁▅·█",
        "util": " 61%",
        "mem_hist": "         ▃",
        "mem": " 25%",
        "fb": "20/80 GiB",
        "temp": "60°C",
        "power": "250 W",
        "sm": "1410 MHz",
        "xid": "",
        "pod": "ml/a",
    }
    assert rows[0].hint is None and rows[0].record.index == 0
    assert rows[0].styles[3:5] == ("util:61", "util:61")
    assert rows[1].hint == "bad" and rows[1].styles[8] == "warn" and rows[1].styles[11] == "bad"
    assert rows[1].cells[8] == "90°C!" and rows[1].cells[11] == "79"
    free = rows[2].cells
    assert free[12] == "(free)" and free[7] == "-" and free[9] == "-" and free[4] == "   -"
    assert rows[2].styles[4] == "none" and rows[3].hint == "warn"  # held and idle
    assert len(gpu_rows([_gpu(0)], width=160)[0].cells[3]) == spark_width(160) == 30
    # a MIG GPU and its instance: keyed 0 and 0/9, the profile in MIG, no UUID repeated
    parent, instance = gpu_rows(
        [_gpu(0, instances=2), _gpu(0, mig_id=9, profile="1g.10gb", pods=("ml/b",))], width=80
    )
    assert (parent.key, parent.cells[:2]) == ("0", ("0", "MIG ×2"))
    assert (instance.key, instance.cells[:3]) == ("0/9", ("0/9", "1g.10gb", ""))
    assert instance.cells[12] == "ml/b"


# ---------------------------------------------------------------- export


def test_rows_as_dicts_serialize() -> None:
    s = session(("nodes", node("gpu-0")), ("pods", pod("a", gpus=3)))
    rows = list(build(NODES, s).values())
    out = rows_as_dicts(NODES, rows)
    assert out[0]["key"] == "gpu-0" and out[0]["alloc"] == "3/8 ▇▇▇▁▁▁▁▁"
    narrow = narrow_keys(NODES.columns)  # the full forms only
    assert list(out[0])[1:] == [c.key for c in NODES.columns if c.key not in narrow]
    assert orjson.loads(orjson.dumps(out)) == out


def test_long_cluster_text_is_capped_in_cells_and_kept_in_the_record() -> None:
    from test_cluster_records import node_json
    from test_render_support import decode

    from console.render.base import CELL_MAX

    pool = "p" * 10_000
    big = decode("nodes", node_json("gpu-long", **{"cloud.google.com/gke-nodepool": pool}))
    rows = build(NODES, session(("nodes", big)))
    cell = cells(NODES, rows["gpu-long"])["pool"]
    assert len(cell) == CELL_MAX and cell.endswith("…")
    assert rows["gpu-long"].record.pool == pool  # the detail view shows it in full


def test_invalid_quantities_show_as_invalid() -> None:
    from test_cluster_records import node_json
    from test_render_support import decode

    data = node_json("gpu-bad")
    data["status"]["allocatable"]["nvidia.com/gpu"] = "1e999"
    bad_node = decode("nodes", data)
    bad_pod = pod("bad", node="gpu-bad", gpus="99999999999Ei")  # type: ignore[arg-type]
    s = session(("nodes", bad_node), ("pods", bad_pod))
    row = build(NODES, s)["gpu-bad"]
    assert cells(NODES, row)["alloc"] == "invalid" and styles(NODES, row)["alloc"] == "bad"
    pod_row = build(PODS, s)["ml/bad"]
    assert cells(PODS, pod_row)["gpus"] == "invalid" and pod_row.hint == "bad"


def test_invalid_template_quantities_show_as_invalid_in_jobs_and_servers() -> None:
    from test_cluster_records import pytorchjob_json
    from test_render_support import decode

    data = pytorchjob_json("bad-job")
    limits = data["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    limits["resources"]["limits"]["nvidia.com/gpu"] = "NaN"
    bad_job = decode("pytorchjobs", data)
    assert bad_job.invalid == ("nvidia.com/gpu",) and bad_job.gpus == 8  # the Master's 8
    good = job("llm")
    assert good.invalid == ()
    rows = build(JOBS, session(("pytorchjobs", bad_job), ("pytorchjobs", good)))
    assert cells(JOBS, rows["PyTorchJob/ml/bad-job"])["gpus"] == "invalid"
    assert cells(JOBS, rows["PyTorchJob/ml/llm"])["gpus"] == "32"
    server = decode(
        "deployments",
        {
            "metadata": {"name": "vllm", "namespace": "serve"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "vllm"}},
                "template": {"spec": {"containers": [
                    {"name": "v", "resources": {"limits": {"nvidia.com/gpu": "-1"}}}
                ]}},
            },
        },
    )  # fmt: skip
    assert server.invalid == ("nvidia.com/gpu",)


def test_pod_gpus_cell_says_the_unit_of_what_the_pod_holds():
    from console.render.pods import gpu_cell

    assert gpu_cell({"nvidia.com/gpu": 8}) == "8"
    assert gpu_cell({"nvidia.com/mig-1g.10gb": 1}) == "1g.10gb"  # a slice, not "1" GPU
    assert gpu_cell({"nvidia.com/mig-1g.10gb": 2, "nvidia.com/mig-3g.40gb": 1}) == (
        "2×1g.10gb,3g.40gb"
    )
    assert gpu_cell({"nvidia.com/gpu.shared": 1}) == "1 shared"
    assert gpu_cell({}) == ""
