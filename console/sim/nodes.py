"""Node factory: Node objects shaped like the ones GKE, EKS, AKS and Karpenter nodes really have.

`make_node` builds one Node dict (labels per cloud, GPU Feature Discovery labels, taints, capacity
and allocatable, kubelet conditions, addresses, nodeInfo). `apply_sharing` rewrites a node's GPU
labels and resources for a device-plugin sharing config; the device-plugin controller and the
presets share it. GPU facts come from `gpu_models` (the catalogue).
"""

from __future__ import annotations

import hashlib
from typing import Any

from .gpu_models import GpuModel, get_model, gfd_labels, mig_gfd_labels

GPU = "nvidia.com/gpu"
GPU_SHARED = "nvidia.com/gpu.shared"
GPU_TAINT = {"key": GPU, "value": "present", "effect": "NoSchedule"}
DRIVER_VERSION = "550.54.15"
CUDA_VERSION = "12.4"

CLOUDS: dict[str, dict[str, str]] = {
    "gke": {
        "region": "us-central1",
        "zones": "us-central1-a,us-central1-b,us-central1-c",
        "pool_label": "cloud.google.com/gke-nodepool",
        "kubelet": "v1.30.5-gke.1014001",
        "os_image": "Container-Optimized OS from Google",
        "kernel": "6.1.100+",
        "runtime": "containerd://1.7.22",
    },
    "eks": {
        "region": "us-east-1",
        "zones": "us-east-1a,us-east-1b,us-east-1c",
        "pool_label": "eks.amazonaws.com/nodegroup",
        "kubelet": "v1.30.4-eks-a737599",
        "os_image": "Amazon Linux 2",
        "kernel": "5.10.225-213.878.amzn2.x86_64",
        "runtime": "containerd://1.7.22",
    },
    "aks": {
        "region": "eastus",
        "zones": "eastus-1,eastus-2,eastus-3",
        "pool_label": "kubernetes.azure.com/agentpool",
        "kubelet": "v1.30.3",
        "os_image": "Ubuntu 22.04.4 LTS",
        "kernel": "5.15.0-1071-azure",
        "runtime": "containerd://1.7.20-1",
    },
    "karpenter": {
        "region": "us-west-2",
        "zones": "us-west-2a,us-west-2b,us-west-2c",
        "pool_label": "karpenter.sh/nodepool",
        "kubelet": "v1.30.2-eks-1552ad0",
        "os_image": "Bottlerocket OS 1.22.0 (aws-k8s-1.30)",
        "kernel": "6.1.106",
        "runtime": "containerd://1.7.20+bottlerocket",
    },
}

# (cloud family, GPU model key, GPUs per node) → instance type; Karpenter nodes are AWS instances.
_INSTANCE_TYPES: dict[tuple[str, str, int], str] = {
    ("gke", "A100-SXM4-80GB", 8): "a2-ultragpu-8g",
    ("gke", "A100-SXM4-40GB", 8): "a2-highgpu-8g",
    ("gke", "H100-80GB-HBM3", 8): "a3-highgpu-8g",
    ("gke", "L4", 1): "g2-standard-8",
    ("gke", "L4", 4): "g2-standard-48",
    ("gke", "L4", 8): "g2-standard-96",
    ("gke", "Tesla-T4", 4): "n1-standard-32",
    ("aws", "A100-SXM4-80GB", 8): "p4de.24xlarge",
    ("aws", "A100-SXM4-40GB", 8): "p4d.24xlarge",
    ("aws", "H100-80GB-HBM3", 8): "p5.48xlarge",
    ("aws", "L4", 1): "g6.xlarge",
    ("aws", "L4", 8): "g6.48xlarge",
    ("aws", "Tesla-T4", 4): "g4dn.12xlarge",
    ("aws", "A10G", 1): "g5.xlarge",
    ("aws", "A10G", 4): "g5.12xlarge",
    ("aks", "A100-SXM4-80GB", 8): "Standard_ND96amsr_A100_v4",
    ("aks", "A100-SXM4-40GB", 8): "Standard_ND96asr_v4",
    ("aks", "H100-80GB-HBM3", 8): "Standard_ND96isr_H100_v5",
    ("aks", "Tesla-T4", 4): "Standard_NC64as_T4_v3",
}

_GKE_ACCELERATORS = {
    "A100-SXM4-80GB": "nvidia-a100-80gb",
    "A100-SXM4-40GB": "nvidia-tesla-a100",
    "H100-80GB-HBM3": "nvidia-h100-80gb",
    "L4": "nvidia-l4",
    "Tesla-T4": "nvidia-tesla-t4",
}

_DEPLOY_OPERANDS = (
    "container-toolkit",
    "dcgm",
    "dcgm-exporter",
    "device-plugin",
    "driver",
    "gpu-feature-discovery",
    "mig-manager",
    "node-status-exporter",
    "operator-validator",
)


def _family(cloud: str) -> str:
    return "aws" if cloud in ("eks", "karpenter") else cloud


def instance_type(cloud: str, gpu_model: str | None, gpu_count: int, cpu: int) -> str:
    """A plausible instance type for the shape (a known GPU machine, else a general-purpose one)."""
    fam = _family(cloud)
    if gpu_model and gpu_count:
        known = _INSTANCE_TYPES.get((fam, get_model(gpu_model).key, gpu_count))
        if known:
            return known
    if fam == "gke":
        return f"n2-standard-{cpu}"
    if fam == "aks":
        return f"Standard_D{cpu}s_v5"
    sizes = {2: "large", 4: "xlarge", 8: "2xlarge", 16: "4xlarge", 32: "8xlarge", 48: "12xlarge"}
    return f"m6i.{sizes.get(cpu, '16xlarge')}"


def node_ip(index: int) -> str:
    """The InternalIP of the `index`-th node of a cluster (10.0.0.0/14, deterministic)."""
    return f"10.{index // 64516}.{(index // 254) % 254 + 1}.{index % 254 + 1}"


def _hex(name: str, salt: str, n: int = 32) -> str:
    return hashlib.blake2b(f"{salt}/{name}".encode(), digest_size=16).hexdigest()[:n]


def _reserved_cpu_m(cpu: int) -> int:
    """GKE's kube-reserved CPU: 6 % of the first core, 1 % of the next, 0.5 % of the next 2,
    0.25 % of the rest."""
    return 60 + (10 if cpu > 1 else 0) + 5 * min(max(cpu - 2, 0), 2) + int(2.5 * max(cpu - 4, 0))


def _reserved_mem_ki(memory_gi: int) -> int:
    """GKE's kube-reserved memory plus the 100Mi eviction threshold."""
    gi, left, reserved = 1024 * 1024, memory_gi, 0.0
    for span, share in ((4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (10**9, 0.02)):
        part = min(left, span)
        reserved += part * share
        left -= part
        if left <= 0:
            break
    return int(reserved * gi) + 100 * 1024


def _gfd(model: GpuModel, count: int) -> dict[str, str]:
    labels = gfd_labels(model, count, driver_version=DRIVER_VERSION, cuda_version=CUDA_VERSION)
    drv = DRIVER_VERSION.split(".")
    labels.update(
        {
            "nvidia.com/cuda.driver.major": drv[0],
            "nvidia.com/cuda.driver.minor": drv[1],
            "nvidia.com/cuda.driver.rev": drv[2],
            "nvidia.com/cuda.runtime.major": CUDA_VERSION.split(".")[0],
            "nvidia.com/cuda.runtime.minor": CUDA_VERSION.split(".")[1],
            "nvidia.com/gpu.mode": "compute",
            "nvidia.com/mps.capable": "false",
            "nvidia.com/vgpu.present": "false",
            "nvidia.com/mig.strategy": labels.get("nvidia.com/mig.strategy", "none"),
        }
    )
    for operand in _DEPLOY_OPERANDS:
        labels[f"nvidia.com/gpu.deploy.{operand}"] = "true"
    return labels


def make_node(
    name: str,
    pool: str,
    gpu_model: str | None,
    gpu_count: int,
    cpu: int,
    memory_gi: int,
    cloud: str = "gke",
    zone: str | None = None,
    extra_labels: dict[str, str] | None = None,
    *,
    index: int = 0,
    gpu_taint: bool = False,
    taints: list[dict[str, Any]] | None = None,
    created: str = "2024-01-01T00:00:00Z",
    instance: str | None = None,
) -> dict[str, Any]:
    """One Node object. `gpu_model` is a catalogue key or alias (None/0 GPUs: a CPU node).

    `index` picks the node's IP and pod CIDR (keep it unique per cluster); `created` is its
    creationTimestamp and the conditions' transition time.
    """
    facts = CLOUDS[cloud]
    zones = facts["zones"].split(",")
    zone = zone or zones[index % len(zones)]
    itype = instance or instance_type(cloud, gpu_model, gpu_count, cpu)
    ip = node_ip(index)
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": itype,
        "beta.kubernetes.io/os": "linux",
        "failure-domain.beta.kubernetes.io/region": facts["region"],
        "failure-domain.beta.kubernetes.io/zone": zone,
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": itype,
        "topology.kubernetes.io/region": facts["region"],
        "topology.kubernetes.io/zone": zone,
        facts["pool_label"]: pool,
    }
    if cloud == "karpenter":
        labels["karpenter.sh/capacity-type"] = "on-demand"
        labels["karpenter.k8s.aws/instance-family"] = itype.split(".")[0]
    elif cloud == "eks":
        labels["eks.amazonaws.com/capacityType"] = "ON_DEMAND"
    elif cloud == "aks":
        labels["kubernetes.azure.com/mode"] = "user" if gpu_count else "system"
    if cloud == "gke":
        labels["cloud.google.com/machine-family"] = itype.split("-")[0]
    capacity = {
        "cpu": str(cpu),
        "ephemeral-storage": "202287120Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": f"{memory_gi * 1024 * 1024}Ki",
        "pods": "110",
    }
    allocatable = {
        "cpu": f"{cpu * 1000 - _reserved_cpu_m(cpu)}m",
        "ephemeral-storage": "186438316569",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": f"{memory_gi * 1024 * 1024 - _reserved_mem_ki(memory_gi)}Ki",
        "pods": "110",
    }
    node_taints = list(taints or [])
    if gpu_model and gpu_count:
        model = get_model(gpu_model)
        labels.update(_gfd(model, gpu_count))
        if cloud == "gke":
            labels["cloud.google.com/gke-accelerator"] = _GKE_ACCELERATORS.get(
                model.key, model.model_name.lower().replace(" ", "-")
            )
            labels["cloud.google.com/gke-gpu"] = "true"
        capacity[GPU] = allocatable[GPU] = str(gpu_count)
        if gpu_taint:
            node_taints.append(dict(GPU_TAINT))
    if extra_labels:
        labels.update(extra_labels)
    conditions = [
        _cond("NetworkUnavailable", "False", "RouteCreated", "RouteController created a route", created),
        _cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", created),
        _cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", created),
        _cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", created),
        _cond("Ready", "True", "KubeletReady", "kubelet is posting ready status", created),
    ]  # fmt: skip
    uid_hex = _hex(name, "system")
    spec: dict[str, Any] = {
        "podCIDR": f"10.{64 + index // 256}.{index % 256}.0/24",
        "podCIDRs": [f"10.{64 + index // 256}.{index % 256}.0/24"],
        "providerID": _provider_id(cloud, name, zone),
    }
    if node_taints:
        spec["taints"] = node_taints
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "creationTimestamp": created,
        },
        "spec": spec,
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": conditions,
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": _uuid(_hex(name, "boot")),
                "containerRuntimeVersion": facts["runtime"],
                "kernelVersion": facts["kernel"],
                "kubeProxyVersion": facts["kubelet"],
                "kubeletVersion": facts["kubelet"],
                "machineID": _hex(name, "machine"),
                "operatingSystem": "linux",
                "osImage": facts["os_image"],
                "systemUUID": _uuid(uid_hex),
            },
            "images": [],
        },
    }


def _cond(type_: str, status: str, reason: str, message: str, at: str) -> dict[str, str]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastHeartbeatTime": at,
        "lastTransitionTime": at,
    }


def _uuid(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _provider_id(cloud: str, name: str, zone: str) -> str:
    if cloud == "gke":
        return f"gce://kmc-sim-project/{zone}/{name}"
    if cloud == "aks":
        return f"azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/mc_kmc/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"
    return f"aws:///{zone}/i-0{_hex(name, 'instance', 16)}"


def apply_sharing(
    node: dict[str, Any], replicas: int, strategy: str = "time-slicing", rename: bool = False
) -> bool:
    """Rewrite `node`'s GPU resources and GFD labels for a device-plugin sharing config, in place.

    replicas ≤ 1 or strategy "none" restores exclusive GPUs. Returns whether anything changed.
    The physical count comes from `nvidia.com/gpu.count`; a node without it is left alone.
    """
    labels = node["metadata"].setdefault("labels", {})
    physical = labels.get("nvidia.com/gpu.count")
    if physical is None:
        return False
    count = int(physical)
    shared = replicas > 1 and strategy != "none"
    base = labels.get("nvidia.com/gpu.product", "").removesuffix("-SHARED")
    want_labels = {
        "nvidia.com/gpu.replicas": str(replicas if shared else 1),
        "nvidia.com/gpu.sharing-strategy": strategy if shared else "none",
        "nvidia.com/gpu.product": base + ("-SHARED" if shared and not rename else ""),
    }
    resource = GPU_SHARED if shared and rename else GPU
    amount = str(count * replicas if shared else count)
    status = node.setdefault("status", {})
    before = (dict(labels), dict(status.get("capacity", {})), dict(status.get("allocatable", {})))
    labels.update(want_labels)
    for key in ("capacity", "allocatable"):
        res = status.setdefault(key, {})
        res.pop(GPU, None)
        res.pop(GPU_SHARED, None)
        res[resource] = amount
    after = (labels, status["capacity"], status["allocatable"])
    return before != after


def apply_mig(node: dict[str, Any], config: str) -> None:
    """Put `node`'s GPUs in MIG mode, strategy mixed, layout `config` (in place): GFD's MIG
    labels, one `nvidia.com/mig-<profile>` resource per profile and no `nvidia.com/gpu`
    (what the device plugin advertises once the MIG manager applied the config)."""
    labels = node["metadata"].setdefault("labels", {})
    model = get_model(labels["nvidia.com/gpu.product"])
    mig_labels, resources = mig_gfd_labels(model, int(labels["nvidia.com/gpu.count"]), config)
    labels.update(mig_labels)
    for key in ("capacity", "allocatable"):
        res = node["status"][key]
        res.pop(GPU, None)
        res.update(resources)


def without_gfd(node: dict[str, Any], clients: int = 1, partition: str = "") -> None:
    """A GKE GPU node whose GPUs GKE's own device plugin serves (no GPU operator, no GFD), in
    place: the `nvidia.com/*` labels go; GPU time-sharing (`clients` > 1) or MIG partitions
    (`partition`, e.g. `1g.10gb`) are set with GKE's labels, `nvidia.com/gpu` multiplied."""
    labels = node["metadata"]["labels"]
    count = int(labels.get("nvidia.com/gpu.count", "0"))
    for key in [k for k in labels if k.startswith("nvidia.com/")]:
        del labels[key]
    amount = count
    if clients > 1:
        labels["cloud.google.com/gke-gpu-sharing-strategy"] = "time-sharing"
        labels["cloud.google.com/gke-max-shared-clients-per-gpu"] = str(clients)
        amount = count * clients
    elif partition:
        labels["cloud.google.com/gke-gpu-partition-size"] = partition
        amount = count * max(1, 7 // int(partition.partition("g")[0]))
    for key in ("capacity", "allocatable"):
        node["status"][key][GPU] = str(amount)
