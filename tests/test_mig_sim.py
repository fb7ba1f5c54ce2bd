"""The simulator's GPU shapes of issue 9: a MIG node's exporter text in dcgm-exporter's
shape (instances with the parent's gpu/UUID, GPU_I_PROFILE/GPU_I_ID, only framebuffer and
profiling fields; no GPU_UTIL), and the demo's MIG node, renamed time-sliced node with an
old exporter (`Hostname` = its pod's name) and GKE node without GFD, read end to end."""

from __future__ import annotations

import json
import re

from console.cluster.connection import connect
from console.metrics.model import GR_METRIC
from console.metrics.parse import parse_fast, parse_reference
from console.sim.cluster import SimCluster
from console.sim.gpu_exposition import render_exposition
from console.sim.gpus import Assignment, MigGpuState, MigInstance, node_gpus
from tests.conftest import wait_for


def test_mig_exposition_in_the_exporters_shape() -> None:
    parent, whole = node_gpus(3, "n1", "A100-SXM4-80GB", 2)
    pod = Assignment("lora-0", "ml", "pytorch", "training")
    mig = MigGpuState(parent, (MigInstance("3g.40gb", 2, (pod,)), MigInstance("1g.10gb", 9)))
    text = render_exposition([mig, whole], t=500.0)
    util = [line for line in text.splitlines() if line.startswith("DCGM_FI_DEV_GPU_UTIL{")]
    assert len(util) == 1 and 'gpu="1"' in util[0]  # the MIG GPU reports no GPU_UTIL
    fb = [line for line in text.splitlines() if line.startswith('DCGM_FI_DEV_FB_USED{gpu="0"')]
    assert len(fb) == 2 and all("GPU_I_ID" in line for line in fb)
    labels = re.findall(r"(\w+)=", fb[0])
    assert labels[:9] == [
        "gpu", "UUID", "pci_bus_id", "device", "modelName", "GPU_I_PROFILE", "GPU_I_ID",
        "Hostname", "DCGM_FI_DRIVER_VERSION",
    ]  # fmt: skip
    assert labels[9:] == ["container", "namespace", "pod"]
    temp = [line for line in text.splitlines() if line.startswith('DCGM_FI_DEV_GPU_TEMP{gpu="0"')]
    assert len(temp) == 1 and "GPU_I_ID" not in temp[0]  # device-level: the parent's own
    readings = parse_fast(text)
    assert readings == parse_reference(text)
    gpu0 = readings[0]
    assert [(i.mig_id, i.profile, i.pods) for i in gpu0.instances] == [
        (2, "3g.40gb", (("ml", "lora-0"),)),
        (9, "1g.10gb", ()),
    ]
    assert gpu0.instances[0].util > 50 and gpu0.util_metric == GR_METRIC
    assert gpu0.instances[0].fb_used + gpu0.instances[0].fb_free == 40 * 1024 - 512


def test_the_demo_has_the_shapes() -> None:
    sim = SimCluster(preset="demo", seed=1).start()
    try:
        sim.advance(30)
        admin = connect(str(sim.kubeconfig_path), "kmc-sim")
        nodes = {n["metadata"]["name"]: n for n in json.loads(admin.get("/api/v1/nodes"))["items"]}
        by_pool = {n["metadata"]["labels"].get("cloud.google.com/gke-nodepool"): n for n in nodes.values()}  # fmt: skip
        mig, shared, gke = (
            by_pool["a100-mig-pool"],
            by_pool["t4-shared-pool"],
            by_pool["l4-gke-pool"],
        )
        assert "nvidia.com/gpu" not in mig["status"]["allocatable"]
        assert mig["status"]["allocatable"]["nvidia.com/mig-1g.10gb"] == "8"
        assert shared["status"]["allocatable"]["nvidia.com/gpu.shared"] == "16"
        assert "nvidia.com/gpu" not in shared["status"]["allocatable"]
        assert not any(k.startswith("nvidia.com/") for k in gke["metadata"]["labels"])
        assert (
            gke["metadata"]["labels"]["cloud.google.com/gke-gpu-sharing-strategy"] == "time-sharing"
        )
        mig_name, shared_name = mig["metadata"]["name"], shared["metadata"]["name"]

        def exporter(node: str) -> str:
            pods = json.loads(
                admin.get("/api/v1/pods", {"labelSelector": "app=nvidia-dcgm-exporter"})
            )
            return next((p["metadata"]["name"] for p in pods["items"] if p["spec"].get("nodeName") == node), "")  # fmt: skip

        wait_for(lambda: exporter(shared_name) and "whisper" in (sim.telemetry.node_metrics(shared_name) or ""))  # fmt: skip
        # the old exporter: Hostname is its pod's name
        assert f'Hostname="{exporter(shared_name)}"' in sim.telemetry.node_metrics(shared_name)
        wait_for(lambda: "llama-lora-mig" in (sim.telemetry.node_metrics(mig_name) or ""))
        readings = parse_fast(sim.telemetry.node_metrics(mig_name), node=mig_name)
        assert len(readings) == 4 and all(len(r.instances) == 4 for r in readings)
        held = {p for r in readings for i in r.instances for _ns, p in i.pods}
        assert sum(p.startswith("llama-lora-mig") for p in held) == 2
        assert sum(p.startswith("triton-bert-mig") for p in held) == 3
    finally:
        sim.stop()
