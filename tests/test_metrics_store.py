"""The telemetry store: history ring buffers, idle detection, node/workload/header figures."""

from __future__ import annotations

from console.metrics.model import Frame, GpuReading, NodeTelemetry
from console.metrics.store import TelemetryStore


def _frame(utils: dict[tuple[str, int], float | None], pods=None, **kw) -> Frame:
    readings: dict[str, list[GpuReading]] = {}
    for (node, index), util in utils.items():
        held = (pods or {}).get((node, index), ())
        readings.setdefault(node, []).append(
            GpuReading(
                node,
                index,
                f"GPU-{node}-{index}",
                "L4",
                util,
                1000,
                3000,
                50,
                70,
                1500,
                0,
                pods=held,
            )
        )
    return Frame(readings=readings, **kw)


def test_history_is_a_ring_oldest_first() -> None:
    store = TelemetryStore(history=4, idle_samples=2)
    for value in (10, 20, 30, 40, 50, 60):
        store.apply(_frame({("n", 0): value}))
    util, mem = store.history_of(("n", 0))
    assert util == (30.0, 40.0, 50.0, 60.0)
    assert mem == (25.0,) * 4
    store.apply(_frame({}))  # the GPU did not report: a gap, and no current value
    assert store.history_of(("n", 0))[0] == (40.0, 50.0, 60.0, None)
    assert store.util(("n", 0)) is None and store.nodes() == {}


def test_idle_needs_an_allocation_and_the_whole_window() -> None:
    store = TelemetryStore(history=10, idle_samples=3)
    pods = {("n", 0): (("ml", "p0"),), ("n", 1): (("ml", "p1"),)}
    for i in range(3):
        store.apply(_frame({("n", 0): 0, ("n", 1): 0 if i != 1 else 50, ("n", 2): 0}, pods))
    rows = store.gpu_rows("n")
    assert [r.idle for r in rows] == [True, False, False]  # GPU 2 idle but unallocated
    assert store.header().allocated_idle == 1
    assert store.node("n").idle_gpus == 1  # type: ignore[union-attr]
    assert store.header().busy == 0 and store.header().gpus == 3


def test_node_figures_from_full_readings() -> None:
    store = TelemetryStore()
    frame = _frame({("n", 0): 10, ("n", 1): 90})
    frame.readings["n"][1].xid = 79
    frame.readings["n"][1].temp = 88
    store.apply(frame)
    node = store.node("n")
    assert node == NodeTelemetry(
        node="n",
        gpus=2,
        mean_util=50.0,
        max_util=90.0,
        mem_pct=25.0,
        hottest=88,
        power=140,
        xid_gpus=(1,),
        last_xid=79,
        idle_gpus=0,
    )


def test_partial_frame_takes_node_figures_from_the_source() -> None:
    store = TelemetryStore(history=5)
    given = NodeTelemetry("n", 0, None, None, 40.0, 71.0, 300.0)
    frame = _frame({("n", 0): 10, ("n", 1): 30}, full=False, nodes={"n": given})
    frame.xid = {("n", 1): 48}
    frame.idle = {("n", 0)}
    frame.history = {("n", 0): ([1, 2, 3, 4, 99], [5, 6, 7, 8, 99])}
    store.apply(frame)
    node = store.node("n")
    assert node is not None
    assert (node.mean_util, node.mem_pct, node.hottest, node.power) == (20.0, 40.0, 71.0, 300.0)
    assert (node.xid_gpus, node.last_xid, node.idle_gpus) == ((1,), 48, 0)  # idle but no pod
    util, mem = store.history_of(("n", 0))
    assert util == (1.0, 2.0, 3.0, 4.0, 10.0)  # seeded past, live present
    assert mem[:4] == (5.0, 6.0, 7.0, 8.0) and mem[4] is None  # no detail for n


def test_workloads_and_map_values() -> None:
    store = TelemetryStore()
    pods = {("a", 0): (("ml", "j-0"),), ("a", 1): (("ml", "j-1"),), ("b", 0): (("ml", "s-0"),)}
    store.apply(_frame({("a", 0): 80, ("a", 1): 60, ("b", 0): 2, ("b", 1): None}, pods))
    owners = {("ml", "j-0"): ("PyTorchJob", "ml", "j"), ("ml", "j-1"): ("PyTorchJob", "ml", "j")}
    figures = store.workloads(lambda pod: owners.get(pod, ("Deployment", "ml", "s")))
    assert figures[("PyTorchJob", "ml", "j")].mean_util == 70.0
    assert figures[("PyTorchJob", "ml", "j")].gpus == 2
    assert figures[("Deployment", "ml", "s")].mean_util == 2.0
    detail = store.workload(("PyTorchJob", "ml", "j"), [("ml", "j-0"), ("ml", "j-1")], True)
    assert detail.history[-1] == 70.0
    assert store.map_values() == {"a/0": 80.0, "a/1": 60.0, "b/0": 2.0, "b/1": None}
    assert store.header().mean_util == (80 + 60 + 2) / 3
