"""GPU facts derived from wire objects: quantities, effective requests, pools, sharing.

The rules follow reference/k8s-gpu-facts.md: §1 (device plugin / GFD labels, MIG
resources), §7 (a pod's effective request is max(largest init container, sum of app
containers incl. sidecars) + overhead), §8 (cloud node labels without GFD).

Honest units: a node's physical GPUs (`physical_gpus`: GFD `gpu.count`, else the cloud's
labels, else the resource count divided by its sharing) are told apart from what the
scheduler hands out (`resource_kinds`): whole GPUs (`gpu`), MIG slices (`mig`: mixed
strategy `nvidia.com/mig-*`, single strategy or a GKE partition on `nvidia.com/gpu`) and
time-slice/MPS replicas (`shared`: `nvidia.com/gpu` on a shared node, `gpu.shared`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from console.cluster import wire

GPU = "nvidia.com/gpu"
GPU_SHARED = "nvidia.com/gpu.shared"
MIG_PREFIX = "nvidia.com/mig-"
# Accelerator resources we account for (others, like cpu, are not our business here).
_GPU_RESOURCE = re.compile(r"^(nvidia\.com/(gpu(\.shared)?|mig-.+)|amd\.com/gpu|habana\.ai/gaudi)$")

_SUFFIX = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "P": 1e15, "E": 1e18,
}  # fmt: skip
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")

# Node pool labels by provider, most specific first; the configured label wins over all.
POOL_LABELS = (
    "cloud.google.com/gke-nodepool",
    "eks.amazonaws.com/nodegroup",
    "alpha.eksctl.io/nodegroup-name",
    "kubernetes.azure.com/agentpool",
    "agentpool",
    "karpenter.sh/nodepool",
    "karpenter.sh/provisioner-name",
)


_KNOWN: dict[str, bool] = {}  # resource name → is_gpu_resource; names are few


def is_gpu_resource(name: str) -> bool:
    """True for accelerator resources: nvidia.com/gpu, gpu.shared, mig-*, amd.com/gpu, gaudi."""
    known = _KNOWN.get(name)
    if known is None:
        known = _GPU_RESOURCE.match(name) is not None
        if len(_KNOWN) < 1024:
            _KNOWN[name] = known
    return known


MAX_QUANTITY = 1_000_000.0
"""More of one accelerator resource than any node or pod can hold: a larger value is a typo
or a tenant's garbage (`99999999999Ei`), shown as invalid rather than summed."""


def parse_quantity(value: str | float) -> float:
    """A Kubernetes quantity ("8", "500m", "16Gi", "1e3") as a finite number; ValueError if
    malformed, not finite (`1e999`, `NaN`) or beyond a float (a 400-digit integer)."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        else:
            text = str(value).strip()
            if text.isascii() and text.isdigit():
                number = float(text)
            else:
                match = _QUANTITY.match(text)
                if match is None:
                    raise ValueError(f"bad quantity {text[:40]!r}")
                number = float(match.group(1)) * _SUFFIX[match.group(2) or ""]
    except OverflowError:
        raise ValueError("quantity out of range") from None
    if not math.isfinite(number):
        raise ValueError("quantity not finite")
    return number


def gpu_quantities(
    quantities: Mapping[str, str | int | float], invalid: list[str] | None = None
) -> dict[str, float]:
    """The accelerator entries of a resource map, parsed. A malformed, non-finite, negative
    or absurd (> `MAX_QUANTITY`) value counts as 0 and its resource name is appended to
    `invalid` (when given), so the row can say so."""
    out: dict[str, float] = {}
    for name, value in quantities.items():
        if is_gpu_resource(name):
            try:
                number = parse_quantity(value)
            except ValueError:
                number = -1.0
            if 0.0 <= number <= MAX_QUANTITY:
                out[name] = number
            else:
                out[name] = 0.0
                if invalid is not None:
                    invalid.append(name)
    return out


def _container_request(
    container: wire.Container, invalid: list[str] | None = None
) -> dict[str, float]:
    # A GPU limit without a request implies request == limit (extended resources must match).
    out = gpu_quantities(container.resources.limits, invalid)
    out.update(gpu_quantities(container.resources.requests, invalid))
    return out


def effective_request(spec: wire.PodSpec, invalid: list[str] | None = None) -> dict[str, float]:
    """The scheduler's view of the pod's accelerator request, per resource name (§7); the
    names of invalid quantities are appended to `invalid` (see `gpu_quantities`)."""
    app: dict[str, float] = {}
    init_max: dict[str, float] = {}
    sidecars: dict[str, float] = {}
    for container in spec.containers:
        for name, value in _container_request(container, invalid).items():
            app[name] = app.get(name, 0.0) + value
    for container in spec.init_containers:
        request = _container_request(container, invalid)
        if container.restart_policy == "Always":
            # A sidecar runs alongside later init containers and the app containers.
            for name, value in request.items():
                sidecars[name] = sidecars.get(name, 0.0) + value
            continue
        for name, value in request.items():
            # A regular init container runs with the sidecars started before it.
            init_max[name] = max(init_max.get(name, 0.0), value + sidecars.get(name, 0.0))
    for name, value in sidecars.items():
        app[name] = app.get(name, 0.0) + value
    result = {name: max(app.get(name, 0.0), init_max.get(name, 0.0)) for name in app | init_max}
    for name, value in gpu_quantities(spec.overhead, invalid).items():
        result[name] = result.get(name, 0.0) + value
    # an invalid request stays (as 0) so the pod still shows among the GPU pods
    return {
        name: value for name, value in result.items() if value > 0 or (invalid and name in invalid)
    }


def template_request(template: wire.Template, invalid: list[str] | None = None) -> dict[str, float]:
    """Effective accelerator request of one pod made from `template` (invalid quantities'
    names appended to `invalid`)."""
    return effective_request(template.spec, invalid)


def total(requests: Iterable[Mapping[str, float]]) -> float:
    """Sum of all accelerator resources over several request maps (a rough 'GPUs' figure)."""
    return sum(sum(r.values()) for r in requests)


def node_pool(labels: Mapping[str, str], configured_label: str | None = None) -> str:
    """The node's pool from the configured label, else the GKE/EKS/AKS/Karpenter labels."""
    if configured_label and labels.get(configured_label):
        return labels[configured_label]
    for key in POOL_LABELS:
        if labels.get(key):
            return labels[key]
    return ""


PRODUCT_LABELS = (
    "cloud.google.com/gke-accelerator",  # GKE: nvidia-l4, nvidia-tesla-a100, ...
    "karpenter.k8s.aws/instance-gpu-name",  # Karpenter on EKS: a10g, h100, ...
    "k8s.amazonaws.com/accelerator",  # EKS node groups (cluster-autoscaler): nvidia-tesla-t4
    "kubernetes.azure.com/accelerator",  # AKS: nvidia
)
"""Cloud labels naming the accelerator, the product's fallbacks when GFD is absent."""

GKE_SHARING = "cloud.google.com/gke-gpu-sharing-strategy"  # time-sharing | mps
GKE_CLIENTS = "cloud.google.com/gke-max-shared-clients-per-gpu"
GKE_PARTITION = "cloud.google.com/gke-gpu-partition-size"  # a MIG profile: 1g.5gb, ...
GPU_COUNT_LABELS = ("nvidia.com/gpu.count", "karpenter.k8s.aws/instance-gpu-count")
WHOLE, MIG, SHARED = "gpu", "mig", "shared"
"""Kinds of schedulable unit (`resource_kinds`)."""


def gpu_product(labels: Mapping[str, str]) -> str:
    """GFD's product name without the -SHARED suffix (e.g. NVIDIA-A100-SXM4-80GB), else the
    cloud's accelerator label (`nvidia-l4` on GKE, `a10g` from Karpenter, ...)."""
    product = labels.get("nvidia.com/gpu.product", "")
    if product:
        return product.removesuffix("-SHARED")
    for key in PRODUCT_LABELS:
        if labels.get(key):
            return labels[key]
    return ""


def gpu_replicas(labels: Mapping[str, str]) -> int:
    """Replicas per physical GPU: GFD's `gpu.replicas`, else GKE's max shared clients (only
    with a sharing strategy), else 1."""
    if "nvidia.com/gpu.replicas" in labels:
        return max(1, label_int(labels["nvidia.com/gpu.replicas"], 1))
    if labels.get(GKE_SHARING):
        return max(1, label_int(labels.get(GKE_CLIENTS, ""), 1))
    return 1


def _mig_single(labels: Mapping[str, str]) -> str:
    """The MIG profile `nvidia.com/gpu` stands for (single strategy, GKE partition), or ""."""
    if labels.get(GKE_PARTITION):
        return labels[GKE_PARTITION]
    product = labels.get("nvidia.com/gpu.product", "")
    if labels.get("nvidia.com/mig.strategy") == "single" and "-MIG-" in product:
        return product.rsplit("-MIG-", 1)[1]
    return ""


def resource_kinds(labels: Mapping[str, str], resources: Iterable[str]) -> dict[str, str]:
    """Each accelerator resource of a node → `WHOLE`, `MIG` or `SHARED`."""
    kinds = {}
    for name in resources:
        if name.startswith(MIG_PREFIX):
            kinds[name] = MIG
        elif name == GPU_SHARED:
            kinds[name] = SHARED
        elif name == GPU and _mig_single(labels):
            kinds[name] = MIG
        elif name == GPU and gpu_replicas(labels) > 1:
            kinds[name] = SHARED
        else:
            kinds[name] = WHOLE
    return kinds


def default_kind(name: str) -> str:
    """A resource's kind when its node is unknown (by its name alone)."""
    return MIG if name.startswith(MIG_PREFIX) else SHARED if name == GPU_SHARED else WHOLE


def _slices_per_gpu(profile: str) -> int:
    """Instances of a MIG profile one GPU holds (1g → 7, 2g → 3, 3g → 2, 4g/7g → 1); 0 when
    the profile is unreadable (the GPUs behind the partitions are then not counted)."""
    head = profile.partition("g")[0]
    if not (head.isascii() and head.isdigit() and 0 < len(head) <= 2 and int(head)):
        return 0
    return max(1, 7 // int(head))


def physical_gpus(labels: Mapping[str, str], resources: Mapping[str, float]) -> int:
    """Physical GPUs of a node: GFD `gpu.count` (or Karpenter's count), else the whole GPUs
    it advertises, its shared replicas ÷ replicas, its GKE partitions ÷ partitions per GPU."""
    for key in GPU_COUNT_LABELS:
        count = label_int(labels.get(key, ""))
        if count:
            return count
    kinds = resource_kinds(labels, resources)
    total = 0.0
    for name, amount in resources.items():
        kind = kinds[name]
        if kind == WHOLE:
            total += amount
        elif kind == SHARED:
            total += amount / gpu_replicas(labels)
        elif name == GPU:  # single strategy / GKE partitions: never a count of GPUs as such
            per_gpu = _slices_per_gpu(_mig_single(labels))
            total += amount / per_gpu if per_gpu else 0.0
    return int(total + 0.5) if 0 <= total < MAX_QUANTITY else 0


def units_text(physical: int, units: Mapping[str, float], shared_by: int) -> str:
    """`8 GPUs`, `8 GPUs · 56 MIG slices`, `4 GPUs ×4 shared` (what a node or cluster has)."""
    parts = [f"{physical} GPU{'s' if physical != 1 else ''}"] if physical else []
    if units.get(SHARED):
        if shared_by > 1 and parts:
            parts[0] += f" ×{shared_by} shared"
        else:
            parts.append(f"{units[SHARED]:g} shared")
    if units.get(MIG):
        parts.append(f"{units[MIG]:g} MIG slices")
    return " · ".join(parts)


def label_int(text: str, default: int = 0, limit: int = 1_000_000) -> int:
    """A small non-negative integer from a label value (`gpu.count`, `gpu.replicas`), else
    `default`: no `int()` of a tenant's 5,000-digit or `²` value."""
    if text.isascii() and text.isdigit() and len(text) <= 7:
        number = int(text)
        return number if number <= limit else default
    return default


def sharing_mode(labels: Mapping[str, str], resources: Iterable[str]) -> str:
    """'exclusive', 'time-slicing ×4', 'mps ×2', or 'MIG 1g.10gb,3g.40gb' (mixed) / 'MIG' (single);
    GKE's own labels without GFD: 'time-sharing ×4', 'mps ×2', 'MIG 1g.5gb' (partitions)."""
    mig = sorted(name.removeprefix(MIG_PREFIX) for name in resources if name.startswith(MIG_PREFIX))
    if mig:
        return "MIG " + ",".join(mig)
    single = _mig_single(labels)
    if single:
        return "MIG " + single
    if "nvidia.com/gpu.sharing-strategy" not in labels and labels.get(GKE_SHARING):
        clients = gpu_replicas(labels)
        return f"{labels[GKE_SHARING]} ×{clients}" if clients > 1 else labels[GKE_SHARING]
    strategy = labels.get("nvidia.com/gpu.sharing-strategy", "none")
    replicas = label_int(labels.get("nvidia.com/gpu.replicas", ""), 1)
    if strategy in ("time-slicing", "mps") and replicas > 1:
        return f"{strategy} ×{replicas}"
    if replicas > 1:
        return f"time-slicing ×{replicas}"
    return "exclusive"
