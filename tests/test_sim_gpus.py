"""The simulated DCGM exporter: exposition shape, determinism, workload profiles, speed."""

from __future__ import annotations

import itertools
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from console.sim.gpu_exposition import FAMILIES, render_exposition
from console.sim.gpu_models import GPU_MODELS, get_model, gfd_labels
from console.sim.gpu_sampling import sample_gpu
from console.sim.gpus import (
    Assignment,
    GpuFaults,
    GpuState,
    node_gpus,
    pick_xid,
)

T = 1_795_000_000.0  # a sim time (Unix seconds, late 2026)
BASE_LABELS = [
    "gpu",
    "UUID",
    "pci_bus_id",
    "device",
    "modelName",
    "Hostname",
    "DCGM_FI_DRIVER_VERSION",
]
POD_LABELS = ["container", "namespace", "pod"]
SAMPLE_RE = re.compile(r"^(\w+)\{(.*)\} (\S+)$")
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _node(model: str = "A100-SXM4-80GB", node: str = "gpu-a100-0", seed: int = 7):
    return node_gpus(seed, node, model, 8)


def _mixed_states():
    g = _node()
    return [
        GpuState(g[0], [Assignment("llm-ft-master-0", "ml", "pytorch", "training")]),
        GpuState(g[1], [Assignment("chat-predictor-0", "serving", "kserve-container", "serving")]),
        GpuState(g[2], [Assignment("notebook-0", "research", "notebook", "idle-allocation")]),
        GpuState(g[3], [Assignment("llm-ft-worker-2", "ml", "pytorch", "hung")]),
        GpuState(g[4]),
        GpuState(
            g[5],
            [
                Assignment("tiny-a", "dev", "app", "serving"),
                Assignment("tiny-b", "dev", "app", "training"),
            ],
        ),
        GpuState(g[6], (), GpuFaults(xid=79)),
        GpuState(g[7], [Assignment("hot-0", "ml", "pytorch", "training")], GpuFaults(hot=True)),
    ]


def _label_names(line: str) -> list[str]:
    m = SAMPLE_RE.match(line)
    assert m, line
    return [k for k, _ in LABEL_RE.findall(m.group(2))]


def _samples(text: str) -> dict[tuple[str, str, str | None], float]:
    """(metric, gpu index, pod or None) -> value, via the maintained parser."""
    out: dict[tuple[str, str, str | None], float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, s.labels["gpu"], s.labels.get("pod"))] = s.value
    return out


def test_exposition_parses_with_the_right_families_and_labels() -> None:
    text = render_exposition(_mixed_states(), T)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    # prometheus_client strips _total from counter family names
    expected = {n.removesuffix("_total") for n, *_ in FAMILIES}
    assert set(families) == expected
    for name in (
        "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_DEV_MEM_COPY_UTIL",
        "DCGM_FI_DEV_FB_USED",
        "DCGM_FI_DEV_FB_FREE",
        "DCGM_FI_DEV_GPU_TEMP",
        "DCGM_FI_DEV_POWER_USAGE",
        "DCGM_FI_DEV_SM_CLOCK",
        "DCGM_FI_DEV_MEM_CLOCK",
        "DCGM_FI_DEV_XID_ERRORS",
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
        "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
    ):
        assert name in families
        assert families[name].type == (
            "counter" if name == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" else "gauge"
        )
        # 8 GPUs, GPU 5 shared by two pods
        assert len(families[name].samples) == 9
    # HELP/TYPE once per family, in order, no blank lines, newline-terminated
    lines = text.split("\n")
    assert lines[-1] == ""
    assert "" not in lines[:-1]
    helps = [ln.split()[2] for ln in lines if ln.startswith("# HELP ")]
    assert helps == [n for n, *_ in FAMILIES]
    assert lines[0] == "# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz)."
    assert lines[1] == "# TYPE DCGM_FI_DEV_SM_CLOCK gauge"


def test_label_order_matches_the_exporter() -> None:
    text = render_exposition(_mixed_states(), T)
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        names = _label_names(line)
        assert names[: len(BASE_LABELS)] == BASE_LABELS
        rest = names[len(BASE_LABELS) :]
        if line.startswith("DCGM_FI_DEV_XID_ERRORS{") and not line.endswith(" 0"):
            # dcgm-exporter >= 3.3.6 labels an XID with its code and message
            assert rest[:2] == ["err_code", "err_msg"]
            rest = rest[2:]
        assert rest in ([], POD_LABELS)
    first = next(ln for ln in text.splitlines() if ln.startswith("DCGM_FI_DEV_GPU_UTIL{"))
    assert first.startswith(
        'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-',
    )
    assert (
        ',pci_bus_id="00000000:07:00.0",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",'
        'Hostname="gpu-a100-0",DCGM_FI_DRIVER_VERSION="550.54.15",container="pytorch",'
        'namespace="ml",pod="llm-ft-master-0"} '
    ) in first


def test_label_variants() -> None:
    states = _mixed_states()
    text = render_exposition(
        states, T, hostname_label="hostname", label_mode="old", driver_version="535.161.08"
    )
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        names = _label_names(line)
        assert names[:7] == [
            "gpu",
            "uuid",
            "pci_bus_id",
            "device",
            "modelName",
            "hostname",
            "DCGM_FI_DRIVER_VERSION",
        ]
        rest = names[7:]
        if rest[:2] == ["err_code", "err_msg"]:  # an XID's labels (dcgm-exporter >= 3.3.6)
            assert line.startswith("DCGM_FI_DEV_XID_ERRORS{")
            rest = rest[2:]
        assert rest in ([], ["container_name", "pod_name", "pod_namespace"])
        assert 'DCGM_FI_DRIVER_VERSION="535.161.08"' in line
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    pods = {s.labels.get("pod_name") for s in fams["DCGM_FI_DEV_GPU_UTIL"].samples}
    assert "llm-ft-master-0" in pods
    # an explicit hostname value (the exporter pod's hostname rather than the node)
    text = render_exposition(states[:1], T, hostname="nvidia-dcgm-exporter-x7k2p")
    assert 'Hostname="nvidia-dcgm-exporter-x7k2p"' in text


def test_values_print_like_the_exporter() -> None:
    text = render_exposition(_mixed_states(), T)
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name, _, value = SAMPLE_RE.match(line).groups()  # type: ignore[union-attr]
        if name in ("DCGM_FI_DEV_POWER_USAGE",) or name.startswith("DCGM_FI_PROF_"):
            assert re.fullmatch(r"\d+\.\d{6}", value), line
        else:
            assert re.fullmatch(r"\d+", value), line


def test_label_values_are_escaped() -> None:
    g = node_gpus(1, 'odd"node\\name', "L4", 1)[0]
    state = GpuState(g, [Assignment('p"o\nd', "ns", "c\\x", "training")])
    text = render_exposition([state], T)
    assert text.count("\n") == 3 * len(FAMILIES)  # HELP, TYPE, one sample: no stray breaks
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    s = fams["DCGM_FI_DEV_GPU_UTIL"].samples[0]
    assert s.labels["Hostname"] == 'odd"node\\name'
    assert s.labels["pod"] == 'p"o\nd'
    assert s.labels["container"] == "c\\x"
    for line in text.splitlines():
        assert len(line) > 0


def test_determinism() -> None:
    a = render_exposition(_mixed_states(), T)
    b = render_exposition(_mixed_states(), T)
    assert a == b
    # fresh identities (no caches) from the same seed give the same text
    fresh = [GpuState(*s) for s in _mixed_states()]
    assert render_exposition(fresh, T) == a
    # another seed gives other UUIDs; another instant other values
    other = node_gpus(8, "gpu-a100-0", "A100-SXM4-80GB", 8)
    assert other[0].uuid != _node()[0].uuid
    assert render_exposition(_mixed_states(), T + 30) != a


def test_uuid_and_identity_shape() -> None:
    gpus = node_gpus("seed", "gpu-h100-3", "H100-80GB-HBM3", 8)
    assert [g.device for g in gpus] == [f"nvidia{i}" for i in range(8)]
    assert len({g.uuid for g in gpus}) == 8
    for g in gpus:
        assert re.fullmatch(
            r"GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", g.uuid
        )
        assert re.fullmatch(r"[0-9A-F]{8}:[0-9A-F]{2}:[0-9A-F]{2}\.[0-7]", g.pci_bus_id)
    assert len({g.pci_bus_id for g in gpus}) == 8


def _series(state: GpuState, attr: str, seconds: int = 600, step: int = 5) -> list[float]:
    return [
        getattr(sample_gpu(state.identity, state.assignments, state.faults, T + i), attr)
        for i in range(0, seconds, step)
    ]


def test_profiles_behave() -> None:
    s = _mixed_states()
    model = s[0].identity.model
    usable = model.memory_mib - model.reserved_mib
    training, serving, idle, hung, unallocated = s[0], s[1], s[2], s[3], s[4]

    util = _series(training, "gpu_util")
    assert min(util) > 80 and max(util) <= 99
    assert len(set(util)) > 3  # it moves
    mem = _series(training, "fb_used")
    assert min(mem) > 0.7 * usable and max(mem) - min(mem) < 0.02 * usable
    assert min(_series(training, "tensor_active")) > 0.3
    assert min(_series(training, "gpu_temp")) > 50

    sutil = _series(serving, "gpu_util", seconds=3600, step=30)
    assert 0 < min(sutil) < max(sutil) <= 85
    assert max(sutil) - min(sutil) > 10  # bursty
    smem = _series(serving, "fb_used")
    assert 0.3 * usable < min(smem) and max(smem) < 0.65 * usable

    assert set(_series(idle, "gpu_util")) == {0}
    assert max(_series(idle, "fb_used")) < 2000
    assert set(_series(idle, "tensor_active")) == {0.0}

    assert set(_series(hung, "gpu_util")) == {0}
    assert min(_series(hung, "fb_used")) > 0.7 * usable  # memory stays full
    assert _series(hung, "sm_clock")[0] == model.max_sm_clock_mhz  # spinning in the kernel

    assert set(_series(unallocated, "gpu_util")) == {0}
    assert set(_series(unallocated, "fb_used")) == {0}
    assert set(_series(unallocated, "sm_clock")) == {model.idle_sm_clock_mhz}
    idle_temps = _series(unallocated, "gpu_temp")
    assert max(idle_temps) <= model.idle_temp_c + 2
    assert max(_series(unallocated, "power_usage")) < model.idle_power_w * 1.2

    # the same pod going from training to hung keeps its memory
    pod = training.assignments[0]
    hung_same = GpuState(
        training.identity, [Assignment(pod.pod, pod.namespace, pod.container, "hung")]
    )
    assert sample_gpu(*hung_same, t=T).fb_used == pytest.approx(
        sample_gpu(*training, t=T).fb_used, rel=0.01
    )


def test_pod_labels_only_on_assigned_gpus() -> None:
    samples = _samples(render_exposition(_mixed_states(), T))
    assert samples[("DCGM_FI_DEV_GPU_UTIL", "2", "notebook-0")] == 0  # idle allocation, labelled
    assert ("DCGM_FI_DEV_GPU_UTIL", "4", None) in samples  # unallocated: no pod labels
    assert not any(k[1] == "4" and k[2] is not None for k in samples)
    assert samples[("DCGM_FI_DEV_GPU_UTIL", "0", "llm-ft-master-0")] > 80


def test_time_sliced_gpu_has_one_line_per_pod() -> None:
    g = node_gpus(3, "gpu-t4-0", "Tesla-T4", 4)[0]
    pods = [Assignment(f"svc-{i}", "apps", "server", "serving") for i in range(4)]
    text = render_exposition([GpuState(g, pods)], T)
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    for fam in fams.values():
        assert sorted(s.labels["pod"] for s in fam.samples) == [f"svc-{i}" for i in range(4)]
        assert len({s.value for s in fam.samples}) == 1  # GPU-level value repeated per pod
    util = fams["DCGM_FI_DEV_GPU_UTIL"].samples[0].value
    single = sample_gpu(g, pods[:1], t=T).gpu_util
    assert util >= single  # shares add up


def test_framebuffer_is_consistent() -> None:
    for state in _mixed_states():
        for i in range(0, 3600, 97):
            s = sample_gpu(*state, t=T + i)
            model = state.identity.model
            assert s.fb_used + s.fb_free + s.fb_reserved == model.memory_mib
            assert s.fb_used >= 0 and s.fb_free >= 0
    # many pods on one small GPU never exceed it
    g = node_gpus(3, "gpu-t4-0", "Tesla-T4", 1)[0]
    pods = [Assignment(f"p{i}", "a", "c", "training") for i in range(6)]
    s = sample_gpu(g, pods, t=T)
    assert s.fb_free == 0 and s.gpu_util == 100


def test_energy_counter_is_monotonic_and_matches_power() -> None:
    for state in _mixed_states():
        energy = _series(state, "total_energy", seconds=7200, step=13)
        assert all(b >= a for a, b in itertools.pairwise(energy))
    training = _mixed_states()[0]
    e0 = sample_gpu(*training, t=T).total_energy
    e1 = sample_gpu(*training, t=T + 100).total_energy
    mean_power = sum(_series(training, "power_usage", seconds=100, step=1)) / 100
    assert (e1 - e0) / 1000 / 100 == pytest.approx(mean_power, rel=0.15)
    # a pod arriving does not make the counter jump
    g = training.identity
    pod = Assignment("late", "ml", "pytorch", "training", since=T)
    before = sample_gpu(g, [], t=T).total_energy
    after = sample_gpu(g, [pod], t=T + 0.001).total_energy
    assert 0 <= after - before < 1000


def test_faults() -> None:
    s = _mixed_states()
    xid_gpu, hot_gpu = s[6], s[7]
    assert set(_series(xid_gpu, "xid_errors")) == {79}
    assert set(_series(s[0], "xid_errors")) == {0}
    temps = _series(hot_gpu, "gpu_temp", seconds=3600, step=7)
    assert min(temps) >= 85 and max(temps) <= 92
    assert pick_xid(s[0].identity) in (79, 48, 63, 13, 31, 94)


def test_gpus_differ() -> None:
    g = _node()
    states = [GpuState(x, [Assignment(f"job-worker-{x.index}", "ml", "pytorch")]) for x in g]
    utils = {sample_gpu(*st, t=T).gpu_util for st in states}
    mems = {sample_gpu(*st, t=T).fb_used for st in states}
    assert len(utils) > 2 and len(mems) == 8


def test_models_and_gfd_labels() -> None:
    for key in ("A100-SXM4-80GB", "H100-80GB-HBM3", "L4", "Tesla-T4", "A10G"):
        assert key in GPU_MODELS
    assert GPU_MODELS["A100-SXM4-80GB"].product == "NVIDIA-A100-SXM4-80GB"
    assert GPU_MODELS["H100-80GB-HBM3"].model_name == "NVIDIA H100 80GB HBM3"
    assert get_model("Tesla T4") is get_model("Tesla-T4-SHARED") is GPU_MODELS["Tesla-T4"]
    labels = gfd_labels(GPU_MODELS["Tesla-T4"], 4, replicas=4, sharing="time-slicing")
    assert labels["nvidia.com/gpu.count"] == "4"
    assert labels["nvidia.com/gpu.replicas"] == "4"
    assert labels["nvidia.com/gpu.product"] == "Tesla-T4-SHARED"
    assert labels["nvidia.com/gpu.sharing-strategy"] == "time-slicing"
    assert labels["nvidia.com/gpu.family"] == "turing"
    assert (labels["nvidia.com/gpu.compute.major"], labels["nvidia.com/gpu.compute.minor"]) == (
        "7",
        "5",
    )
    plain = gfd_labels(GPU_MODELS["H100-80GB-HBM3"], 8)
    assert plain["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3"
    assert plain["nvidia.com/gpu.replicas"] == "1"
    assert plain["nvidia.com/gpu.memory"] == "81559"
    assert all(isinstance(v, str) for v in plain.values())
    with pytest.raises(KeyError):
        get_model("Voodoo3")


def test_every_model_renders() -> None:
    for key in GPU_MODELS:
        gpus = node_gpus(5, f"node-{key.lower()}", key, 8)
        states = [GpuState(g, [Assignment(f"p{g.index}", "ns", "c", "training")]) for g in gpus]
        fams = list(text_string_to_metric_families(render_exposition(states, T)))
        assert len(fams) == len(FAMILIES)
        for g in gpus:
            s = sample_gpu(g, [Assignment("p", "ns", "c", "training")], t=T)
            assert 0 < s.power_usage <= g.model.max_power_w * 1.05
            assert s.sm_clock <= g.model.max_sm_clock_mhz


def test_empty_node_renders_nothing() -> None:
    assert render_exposition([], T) == ""
