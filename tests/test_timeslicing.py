"""GPU time-slicing, TUI-free: the device plugin's configs (untrusted YAML), the switch
through the actions runner against the simulated cluster — exclusive → time-slicing ×4 →
exclusive with allocatable 8 → 32 → 8 as kubectl sees it — bad config names refused with
nothing sent, read-only and the viewer refused, and a change that does not converge
flagged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from console.cluster.actions import ActionError, ActionRunner
from console.cluster.audit import AuditLog
from console.cluster.connection import Connection, connect
from console.cluster.device_plugin import SharingConfig, load_configs, parse_config
from console.cluster.timeslicing import SetTimeslice, Transition, follow
from console.sim.auth import ADMIN_CONTEXT, VIEWER_CONTEXT
from tests.conftest import require_binary
from tests.kube import kubectl

TIMESLICED = """
version: v1
sharing:
  timeSlicing:
    failRequestsGreaterThanOne: true
    resources:
    - name: nvidia.com/gpu
      replicas: 4
"""


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (TIMESLICED, SharingConfig("c", 4, "time-slicing", False, True)),
        (
            "sharing: {mps: {renameByDefault: true, resources: [{name: nvidia.com/gpu, replicas: 2}]}}",
            SharingConfig("c", 2, "mps", True),
        ),
        ("version: v1\nflags: {migStrategy: none}\n", SharingConfig("c")),
        (
            "sharing: {timeSlicing: {resources: [{name: nvidia.com/gpu, replicas: 1}]}}",
            SharingConfig("c"),
        ),
        ("sharing: [", SharingConfig("c", error="not valid YAML")),
        ("- a list", SharingConfig("c", error="not a YAML mapping")),
        (
            "sharing: {timeSlicing: {resources: [{name: nvidia.com/gpu, replicas: '4'}]}}",
            SharingConfig("c", error="replicas must be 1…1024"),
        ),
        (
            "sharing: {timeSlicing: {resources: [{name: nvidia.com/gpu, replicas: 99999999}]}}",
            SharingConfig("c", error="replicas must be 1…1024"),
        ),
        (None, SharingConfig("c", error="not a YAML mapping")),
    ],
)
def test_config_documents(document: Any, expected: SharingConfig) -> None:
    assert parse_config("c", document) == expected


def test_describe() -> None:
    assert SharingConfig("a", 4, "time-slicing").describe() == "time-slicing ×4"
    assert SharingConfig("a", 2, "mps", True).describe() == "mps ×2 as nvidia.com/gpu.shared"
    assert SharingConfig("a").describe() == "exclusive"


# ----- against the simulated cluster ---------------------------------------------------------


def _admin(sim: Any, **kw: Any) -> Connection:
    return connect(str(sim.kubeconfig_path), ADMIN_CONTEXT, **kw)


def _node(conn: Connection, pool: str) -> str:
    names = [n["metadata"]["name"] for n in json.loads(conn.get("/api/v1/nodes"))["items"]]
    return next(n for n in names if pool in n)


def _runner(conn: Connection, tmp_path: Path) -> ActionRunner:
    return ActionRunner(conn, AuditLog(tmp_path / "audit.jsonl"), user="test")


def test_configs_come_from_the_cluster_policy(tiny_sim) -> None:
    configs = load_configs(_admin(tiny_sim))
    assert configs.where == "gpu-operator/time-slicing-config"
    assert configs.names() == ["a100-x2", "any", "no-sharing", "t4-x4"]
    assert configs.for_label("any").replicas == 4
    assert configs.for_label(None).describe() == "exclusive"  # no default key
    same = load_configs(_admin(tiny_sim), "gpu-operator/time-slicing-config")
    assert same.configs == configs.configs
    with pytest.raises(ActionError, match="ConfigMap gpu-operator/nope does not exist"):
        load_configs(_admin(tiny_sim), "nope")


def _allocatable(sim: Any, node: str) -> tuple[str, str]:
    kc = require_binary("kubectl")
    path = "jsonpath={.metadata.labels.nvidia\\.com/device-plugin\\.config}|{.status.allocatable.nvidia\\.com/gpu}"
    label, _, gpus = kubectl(
        kc, sim.kubeconfig_path, "get", "node", node, "-o", path
    ).stdout.partition("|")
    return label, gpus


def test_round_trip_exclusive_timesliced_exclusive(fresh_sim, tmp_path: Path) -> None:
    conn = _admin(fresh_sim)
    node = _node(conn, "a100")
    runner = _runner(conn, tmp_path)
    assert _allocatable(fresh_sim, node) == ("", "8")
    action = SetTimeslice(node, "any")
    plan = runner.prepare(action)
    assert plan.lines() == [
        "device-plugin config: none (default: exclusive) → any",
        "sharing: exclusive → time-slicing ×4",
        "allocatable nvidia.com/gpu: 8 → 32 (8 GPUs × 4)",
    ]
    assert plan.notes[0].startswith(
        "2 GPU pods run on the node (ml/llama-ft-master-0, ml/llama-ft-worker-0), holding 4 GPUs"
    )
    runner.execute(action)
    seen: list[Transition] = []
    final = follow(conn, action.expected, seen.append, timeout=30, poll=0.2)
    assert seen[-1] == final  # every reading is reported, the last one converged
    assert final.converged and not final.pending()
    assert _allocatable(fresh_sim, node) == ("any", "32")
    back = SetTimeslice(node, "off")
    assert runner.prepare(back).lines()[-1] == "allocatable nvidia.com/gpu: 32 → 8 (8 GPUs × 1)"
    runner.execute(back)
    assert follow(conn, back.expected, timeout=30, poll=0.2).converged
    assert _allocatable(fresh_sim, node) == ("", "8")
    assert runner.execute(SetTimeslice(node, "off")).message.endswith(
        "already runs exclusive (nvidia.com/device-plugin.config: none (default: exclusive))"
    )
    results = [(e["verb"], e["result"]) for e in runner.audit_log.entries()]
    assert results == [("timeslice", "started"), ("timeslice", "ok")] * 2


def test_renamed_config_moves_the_count_to_the_shared_resource(fresh_sim, tmp_path: Path) -> None:
    conn = _admin(fresh_sim)
    node = _node(conn, "l4")
    runner = _runner(conn, tmp_path)
    action = SetTimeslice(node, "t4-x4")
    plan = runner.prepare(action)
    assert plan.lines()[1:] == [
        "sharing: exclusive → time-slicing ×4 as nvidia.com/gpu.shared",
        "allocatable nvidia.com/gpu.shared: 0 → 16 (4 GPUs × 4)",
        "allocatable nvidia.com/gpu: 4 → 0",
    ]
    assert "pods must then request nvidia.com/gpu.shared (renameByDefault)" in plan.notes
    runner.execute(action)
    assert follow(conn, action.expected, timeout=30, poll=0.2).converged
    allocatable = json.loads(conn.get(f"/api/v1/nodes/{node}"))["status"]["allocatable"]
    assert allocatable.get("nvidia.com/gpu.shared") == "16" and "nvidia.com/gpu" not in allocatable


@pytest.mark.parametrize("name", ["nope", "x; rm -rf /", ""])
def test_unknown_config_is_refused_with_nothing_sent(tiny_sim, tmp_path: Path, name: str) -> None:
    conn = _admin(tiny_sim)
    node = _node(conn, "a100")
    mark = tiny_sim.requests.mark()
    with pytest.raises(ActionError) as info:
        _runner(conn, tmp_path).execute(SetTimeslice(node, name))
    message = str(info.value)
    assert "\n" not in message
    if name:
        assert message == (
            f"config {name!r} not defined in gpu-operator/time-slicing-config"
            " (defined: a100-x2, any, no-sharing, t4-x4): nothing sent"
        )
    writes = [
        p for m, p in tiny_sim.requests.since(mark, writes_only=True) if "accessreview" not in p
    ]
    assert writes == []


def test_read_only_and_viewer_are_refused(tiny_sim, tmp_path: Path) -> None:
    conn = _admin(tiny_sim, read_only=True)
    node = _node(conn, "a100")
    mark = tiny_sim.requests.mark()
    with pytest.raises(ActionError, match=r"^read-only: timeslice Node"):
        _runner(conn, tmp_path).execute(SetTimeslice(node, "any"))
    assert tiny_sim.requests.since(mark) == []
    viewer = connect(str(tiny_sim.kubeconfig_path), VIEWER_CONTEXT)
    with pytest.raises(ActionError, match=r"^not allowed by RBAC: you may not patch nodes"):
        _runner(viewer, tmp_path).execute(SetTimeslice(node, "any"))


def test_a_config_the_plugin_does_not_know_is_flagged_as_not_converging(
    fresh_sim, tmp_path
) -> None:
    """The console reads another ConfigMap than the device plugin (a wrong setting): the
    label is set, the plugin ignores the unknown key, nothing changes — and `follow` says so."""
    conn = _admin(fresh_sim)
    node = _node(conn, "a100")
    conn.request(
        "POST",
        "/api/v1/namespaces/gpu-operator/configmaps",
        body={
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "other"},
            "data": {"x8": TIMESLICED},
        },
    )
    action = SetTimeslice(node, "x8", setting="gpu-operator/other")
    _runner(conn, tmp_path).execute(action)
    final = follow(conn, action.expected, timeout=3.0, poll=0.2)
    assert final.timed_out and not final.converged
    assert final.message.startswith(
        "not converged after 3s: allocatable nvidia.com/gpu is 8, want 32"
    )
    assert final.message.endswith("is the device plugin's config manager running?")


def test_the_configmap_setting(tmp_path: Path) -> None:
    from console.config import load_settings

    env = {"KMC_DEVICE_PLUGIN_CONFIG": "nvidia-gpu-operator/sharing"}
    settings = load_settings(environ=env, path=tmp_path / "none.toml")
    assert settings.device_plugin_config == "nvidia-gpu-operator/sharing"
    (tmp_path / "c.toml").write_text('[contexts."prod"]\ndevice_plugin_config = "ops/ts"\n')
    chosen = load_settings(environ={}, path=tmp_path / "c.toml", switch_to="prod")
    assert chosen.device_plugin_config == "ops/ts"


@pytest.mark.parametrize(
    ("document", "refused"),
    [
        ("sharing: {timeSlicing: {resources: [{name: nvidia.com/gpu, replicas: abc}]}}", True),
        ("sharing: {timeSlicing: {resources: [{name: nvidia.com/gpu, replicas: 0}]}}", True),
        ("sharing: {timeSlicing: {resources: [7, {name: nvidia.com/gpu, replicas: true}]}}", True),
        ("sharing: [1, 2]", True),
        ("- not a mapping", True),
        ("sharing: {timeSlicing: {resources: 5}}", False),  # shares nothing: exclusive
    ],
)
def test_the_simulated_device_plugin_ignores_a_broken_config(document: str, refused: bool) -> None:
    """A config the real plugin would refuse leaves the node as it is in the simulator
    (None: unknown) instead of breaking its controller."""
    from console.sim.controllers.nodes import EXCLUSIVE, parse_sharing

    assert parse_sharing(document) == (None if refused else EXCLUSIVE)
