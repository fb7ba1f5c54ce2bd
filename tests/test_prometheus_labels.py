"""Labels as real setups deliver them (fixtures in tests/fixtures): kube-prometheus-stack's
`honorLabels: false` (workload in `exported_*`, the exporter in `pod`/`namespace`/
`instance`), old exporters whose `Hostname` is their pod's name, 1.x-compatibility family
names, and `err_code`/`err_msg` on XID series."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.metrics.labels import NodeResolver
from console.metrics.model import LABEL_MODES
from console.metrics.parse import Assembler, parse_fast, parse_reference

FIXTURES = Path(__file__).parent / "fixtures"
EXPORTER = ("gpu-operator", "nvidia-dcgm-exporter-9fz4k")


def _series() -> list[dict]:
    doc = json.loads((FIXTURES / "prometheus" / "dcgm_honor_labels_false.json").read_text())
    assert doc["status"] == "success"
    return doc["data"]["result"]


def _assemble(resolver: NodeResolver) -> dict:
    out = Assembler(LABEL_MODES["auto"], resolver=resolver)
    for series in _series():
        attr = "util" if series["metric"]["__name__"] == "DCGM_FI_DEV_GPU_UTIL" else "gr_active"
        out.add(series["metric"], attr, float(series["value"][1]))
    return {(r.node, r.index): r for r in out.result()}


def test_honor_labels_false_with_the_cluster_known() -> None:
    # Hostname is the exporter pod's name: the node comes from that pod (or its IP)
    resolver = NodeResolver(
        LABEL_MODES["auto"],
        nodes={"gke-a100-pool-7c2d"},
        exporters={EXPORTER: "gke-a100-pool-7c2d"},
        by_ip={"10.64.3.17": "gke-a100-pool-7c2d"},
    )
    gpus = _assemble(resolver)
    assert set(gpus) == {("gke-a100-pool-7c2d", i) for i in (0, 1, 2)}
    # the workload from exported_*; the unallocated GPU is not "held" by the exporter
    assert gpus[("gke-a100-pool-7c2d", 0)].pods == (("ml", "llm-ft-master-0"),)
    assert gpus[("gke-a100-pool-7c2d", 1)].pods == ()
    mig = gpus[("gke-a100-pool-7c2d", 2)]
    assert [(i.mig_id, i.profile, i.pods) for i in mig.instances] == [
        (1, "3g.40gb", (("ml", "bert-eval-0"),)),
        (9, "1g.10gb", ()),
    ]
    assert mig.instances[0].util == pytest.approx(61.2)


def test_the_instance_address_alone_names_the_node() -> None:
    resolver = NodeResolver(
        LABEL_MODES["auto"],
        nodes={"gke-a100-pool-7c2d"},
        exporters={},
        by_ip={"10.64.3.17": "gke-a100-pool-7c2d"},
    )
    gpus = _assemble(resolver)
    assert {node for node, _ in gpus} == {"gke-a100-pool-7c2d"}


def test_without_a_cluster_cache_the_exporter_is_known_by_its_name() -> None:
    gpus = _assemble(NodeResolver(LABEL_MODES["auto"]))
    # nothing names a node better than the host label here; the exporter still holds nothing
    assert {node for node, _ in gpus} == {"nvidia-dcgm-exporter-9fz4k"}
    assert gpus[("nvidia-dcgm-exporter-9fz4k", 1)].pods == ()


def test_a_node_label_wins_over_a_hostname_that_is_no_node() -> None:
    labels = {"gpu": "0", "Hostname": "dcgm-exporter-abcde", "node": "gpu-node-1"}
    resolver = NodeResolver(LABEL_MODES["auto"], nodes={"gpu-node-1"})
    assert resolver.node(labels) == "gpu-node-1"
    assert resolver.node({**labels, "node": "not-a-node"}) == ""


@pytest.mark.parametrize("parse", [parse_fast, parse_reference])
def test_old_exporter_hostname_is_its_pod(parse) -> None:
    text = (FIXTURES / "dcgm" / "old_hostname.txt").read_text()
    # a direct scrape knows the exporter's node: the Hostname label does not matter
    gpus = parse(text, node="ip-10-0-7-21.ec2.internal")
    assert [(g.node, g.index, g.pods) for g in gpus] == [
        ("ip-10-0-7-21.ec2.internal", 0, (("serving", "triton-resnet-6b9c7d-q8wz4"),)),
        ("ip-10-0-7-21.ec2.internal", 1, ()),
    ]


@pytest.mark.parametrize("parse", [parse_fast, parse_reference])
def test_1x_compatibility_names_are_read(parse) -> None:
    (gpu,) = parse((FIXTURES / "dcgm" / "compat_1x.txt").read_text())
    assert (gpu.node, gpu.util, gpu.temp, gpu.power) == ("gke-t4-pool-1a2b", 64.0, 51.0, 38.214)
    assert (gpu.fb_used, gpu.fb_free, gpu.xid) == (4893.0, 10212.0, 0.0)
    assert gpu.pods == (("ml", "t4-infer-0"),)


@pytest.mark.parametrize("parse", [parse_fast, parse_reference])
def test_xid_error_code_and_message_are_kept(parse) -> None:
    ok, fallen = parse((FIXTURES / "dcgm" / "xid_err.txt").read_text())
    assert (ok.xid, ok.xid_code, ok.xid_msg) == (0.0, "", "")
    assert (fallen.xid, fallen.xid_code, fallen.xid_msg) == (
        79.0,
        "79",
        "GPU has fallen off the bus",
    )


@pytest.mark.parametrize("parse", [parse_fast, parse_reference])
def test_an_integer_beyond_a_float_is_dropped(parse) -> None:
    # found by the fuzz: the maintained parser keeps a 400-digit value as an int
    text = 'DCGM_FI_DEV_GPU_UTIL{gpu="0",Hostname="n1"} 7\nDCGM_FI_DEV_GPU_TEMP{gpu="0",Hostname="n1"} ' + "9" * 400 + "\n"  # fmt: skip
    dropped: list[int] = []
    (gpu,) = parse(text, dropped=dropped)
    assert (gpu.util, gpu.temp, dropped) == (7.0, None, [1])


def test_a_direct_scrapes_pod_label_is_always_the_workload() -> None:
    # straight from the exporter there are no target labels: even a pod named like the
    # exporter is the GPU's holder; through Prometheus (no cluster cache) it is the exporter
    line = 'DCGM_FI_DEV_GPU_UTIL{gpu="0",Hostname="n1",namespace="ml",pod="dcgm-exporter-x"} 5\n'
    (direct,) = parse_fast(line, node="n1")
    assert direct.pods == (("ml", "dcgm-exporter-x"),)
    (via_target,) = parse_fast(line)
    assert via_target.pods == ()
