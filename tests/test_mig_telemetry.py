"""MIG telemetry from dcgm-exporter text: one reading per instance, keyed (node, gpu,
GPU_I_ID), with its profile, its pod and utilization from DCGM_FI_PROF_GR_ENGINE_ACTIVE;
the parent aggregates its instances; the store measures a pod on its slice, counts physical
GPUs in the header and lists instances after their GPU (fixture: tests/fixtures/dcgm)."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.metrics.model import GR_METRIC, UTIL_METRIC, Frame
from console.metrics.parse import parse_fast, parse_reference
from console.metrics.store import TelemetryStore
from console.render.gpus import gpu_rows, summary_source

FIXTURES = Path(__file__).parent / "fixtures" / "dcgm"
MIG = (FIXTURES / "mig_mixed.txt").read_text()


@pytest.mark.parametrize("parse", [parse_fast, parse_reference])
def test_every_instance_is_its_own_reading(parse) -> None:
    gpus = parse(MIG)
    assert [(g.node, g.index) for g in gpus] == [("gpu-a100-mig-0", 0), ("gpu-a100-mig-0", 1)]
    first = gpus[0]
    assert [(i.key, i.profile) for i in first.instances] == [
        (("gpu-a100-mig-0", 0, 2), "3g.40gb"),
        (("gpu-a100-mig-0", 0, 3), "2g.20gb"),
        (("gpu-a100-mig-0", 0, 9), "1g.10gb"),
        (("gpu-a100-mig-0", 0, 10), "1g.10gb"),
    ]
    big, small, notebook, free = first.instances
    # utilization from the profiling field, said so; FB per instance; each its own pod
    assert big.util == pytest.approx(81.2345) and big.util_metric == GR_METRIC
    assert (big.fb_used, big.fb_free) == (38920.0, 1640.0)
    assert big.pods == (("ml", "llm-ft-master-0"),)
    assert small.pods == (("serving", "vllm-small-7d9f8-xk2lp"),)
    assert notebook.util == 0.0 and free.pods == ()
    # the parent: its own device figures, utilization weighted by compute slices
    assert first.temp == 47.0 and first.power == pytest.approx(212.517)
    assert first.util == pytest.approx((81.2345 * 3 + 22.1 * 2) / 7)
    assert first.util_metric == GR_METRIC
    assert first.fb_used == 38920 + 15104 + 4210 + 13
    assert set(first.pods) == {p for i in first.instances for p in i.pods}
    assert gpus[1].util == pytest.approx(55.0 * 3 / 6)


def test_both_parsers_agree_on_mig() -> None:
    assert parse_fast(MIG) == parse_reference(MIG)


def test_a_whole_gpu_says_its_utilization_is_gpu_util() -> None:
    (gpu, *_rest) = parse_fast((FIXTURES / "xid_err.txt").read_text())
    assert gpu.util == 97.0 and gpu.util_metric == UTIL_METRIC and gpu.instances == ()


def _store(*frames: Frame) -> TelemetryStore:
    store = TelemetryStore(history=10, idle_samples=2)
    for frame in frames:
        store.apply(frame)
    return store


def test_the_store_measures_a_pod_on_its_slice() -> None:
    store = _store(*(Frame({"gpu-a100-mig-0": parse_fast(MIG)}) for _ in range(3)))
    # the header counts the 2 physical GPUs; allocated-idle counts the idle notebook slice
    header = store.header()
    assert header.gpus == 2 and header.allocated_idle == 1
    node = store.node("gpu-a100-mig-0")
    assert node is not None and node.gpus == 2 and node.idle_gpus == 1
    # a pod's figures are its instance's, not the whole GPU's
    llm = store.workload(("PyTorchJob", "ml", "llm"), [("ml", "llm-ft-master-0")])
    assert llm.gpus == 1 and llm.mean_util == pytest.approx(81.2345, abs=1e-3)
    assert store.map_values().keys() == {"gpu-a100-mig-0/0", "gpu-a100-mig-0/1"}
    assert store.node_gpus("gpu-a100-mig-0") == [0, 1]


def test_the_gpus_tab_lists_instances_after_their_gpu() -> None:
    store = _store(Frame({"gpu-a100-mig-0": parse_fast(MIG)}))
    rows = store.gpu_rows("gpu-a100-mig-0")
    assert [r.key for r in rows] == ["0", "0/2", "0/3", "0/9", "0/10", "1", "1/1", "1/2"]
    assert rows[0].instances == 4 and rows[1].profile == "3g.40gb"
    assert rows[1].pods == ("ml/llm-ft-master-0",) and rows[1].util == pytest.approx(81.2345)
    assert rows[3].idle  # the notebook's slice: held, 0 %
    table = gpu_rows(rows, width=120)
    assert [r.cells[:2] for r in table[:2]] == [("0", "MIG ×4"), ("0/2", "3g.40gb")]
    assert table[1].cells[4].strip() == "81%"
    assert summary_source(rows) == f"util: {GR_METRIC} (MIG: 2 GPUs, 6 instances)"
