"""GPU shapes real clusters have and the first demo lacked (issue 9): appended to the demo
after its own objects, with names of their own (no draw from the preset's shared RNG), so
everything else keeps its name, placement and numbers.

- a MIG node (A100-80GB ×4, strategy mixed, `all-balanced`: 3g.40gb + 2g.20gb + 2×1g.10gb
  per GPU) whose exporter emits instances, with pods on 3g, 2g and 1g slices;
- a time-sliced T4 node with `renameByDefault` (`nvidia.com/gpu.shared`, 4 GPUs ×4) running
  an old exporter whose `Hostname` is its own pod's name;
- a GKE L4 node without GFD (GKE's device plugin), time-sharing ×2 by GKE's labels.
"""

from __future__ import annotations

from typing import Any

from ..hashing import stable_hash
from ..kinds import by_kind
from ..nodes import GPU_TAINT, apply_mig, apply_sharing, make_node, without_gfd
from ..podspec import PROFILE, RUN_SECONDS
from ..runtime import SimContext
from ..telemetry import EXPORTER_HOSTNAME
from .manifests import PYTORCH, TOLERATE_GPU, container, deployment

MIG_CONFIG = "all-balanced"
SHARED_CONFIG = "t4-x4"  # the device plugin's renameByDefault config (manifests.SHARING_CONFIGS)
GKE_SHARING = {"cloud.google.com/gke-gpu-sharing-strategy": "time-sharing"}


def _name(pool: str) -> str:
    h = stable_hash(f"kmc-demo/{pool}")
    return f"gke-kmc-demo-{pool}-{h & 0xFFFFFFFF:08x}-{(h >> 32) & 0xFFFF:04x}"


def _node(
    pool: str, model: str, gpus: int, cpu: int, mem: int, index: int, created: str
) -> dict[str, Any]:
    return make_node(_name(pool), pool, model, gpus, cpu, mem, "gke", index=index, gpu_taint=True, created=created)  # fmt: skip


def slice_deployment(
    name: str,
    ns: str,
    replicas: int,
    resource: str,
    selector: dict[str, str],
    profile: str,
    image: str = PYTORCH,
    run_seconds: str | None = None,
) -> dict[str, Any]:
    """A Deployment whose pods each hold one `resource` (a MIG slice, a shared replica, ...)."""
    c = container(
        name.split("-")[0], image, 0, cpu="2", memory="16Gi", command=["python", "serve.py"]
    )
    c["resources"]["limits"][resource] = "1"
    c["resources"]["requests"][resource] = "1"
    annotations = {PROFILE: profile}
    if run_seconds:
        annotations[RUN_SECONDS] = run_seconds
    spec = {"containers": [c], "tolerations": [dict(TOLERATE_GPU)], "nodeSelector": selector}
    tmpl = {"metadata": {"annotations": annotations}, "spec": spec}
    return deployment(name, ns, replicas, {"app": name}, tmpl)


def write(ctx: SimContext, index: int, created: str) -> None:
    """Add the shapes a moment after the controllers made and placed the demo's own pods (the
    seeded RNG names pods: drawing first would rename the demo's); node IPs from `index` on."""
    ctx.after(0.5, lambda: write_now(ctx, index, created))


def write_now(ctx: SimContext, index: int, created: str) -> None:
    """Create the nodes and their workloads now."""
    store = ctx.store
    mig = _node("a100-mig-pool", "A100-SXM4-80GB", 4, 96, 1360, index, created)
    apply_mig(mig, MIG_CONFIG)
    shared = _node("t4-shared-pool", "Tesla-T4", 4, 48, 192, index + 1, created)
    shared["metadata"]["labels"]["nvidia.com/device-plugin.config"] = SHARED_CONFIG
    apply_sharing(shared, 4, rename=True)
    shared["metadata"]["annotations"][EXPORTER_HOSTNAME] = "pod"
    gke = _node("l4-gke-pool", "L4", 2, 24, 96, index + 2, created)
    without_gfd(gke, clients=2)
    gke["spec"]["taints"] = [dict(GPU_TAINT)]
    for node in (mig, shared, gke):
        store.create(by_kind("Node"), node)
    on_mig = {"nvidia.com/mig.config": MIG_CONFIG}
    for obj in (
        slice_deployment(
            "llama-lora-mig", "ml-research", 2, "nvidia.com/mig-3g.40gb", on_mig, "training"
        ),
        slice_deployment(
            "triton-bert-mig", "serving", 3, "nvidia.com/mig-2g.20gb", on_mig, "serving"
        ),
        slice_deployment(
            "jupyter-dana-mig", "ml-research", 1, "nvidia.com/mig-1g.10gb", on_mig, "idle"
        ),
        slice_deployment(
            "whisper-shared",
            "serving",
            5,
            "nvidia.com/gpu.shared",
            {"nvidia.com/gpu.sharing-strategy": "time-slicing"},
            "serving",
        ),
        slice_deployment(
            "embed-gke-timeshare", "ml-platform", 3, "nvidia.com/gpu", GKE_SHARING, "serving"
        ),
    ):
        store.create(by_kind("Deployment"), obj)
