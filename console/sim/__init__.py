"""The simulated GPU cluster: a real Kubernetes REST API over HTTPS on loopback. Imports nothing else of console/."""

PRESETS: dict[str, str] = {
    "tiny": "3 nodes (4×L4, 8×A100, 1 CPU); one PyTorchJob, one InferenceService",
    "demo": "24 nodes, 144 GPUs (A100, H100, L4) + system pool; training jobs in every state, "
    "model servers, a time-sliced and a cordoned node",
    "large": "1,008 nodes, 8,000 GPUs, ~20,000 pods",
    "huge": "10,040 nodes, 80,000 GPUs, ~200,000 pods",
}
"""Preset name → what it is (here, not in `presets`, so the command line can list them
without importing the builders)."""

SCENARIOS: dict[str, str] = {
    "none": "a healthy GPU cluster (H100/A100/L4 + system nodes, training, serving): no incident",
    "xid": "an H100 GPU under a training pod logged XID 79 (fallen off the bus), row remap failed",
    "hot-gpu": "an A100 GPU serving vLLM at ~90 °C, clocks cut by thermal slowdown",
    "node-notready": "a GPU node NotReady (kubelet stopped posting status) with GPU pods on it; "
    "another under MemoryPressure",
    "idle-allocated": "notebooks and a Deployment holding 4 L4 GPUs at 0% for hours",
    "nccl-hang": "a 2-node PyTorchJob Running, GPUs stuck, no MLflow step for ~28 min, "
    "NCCL watchdog timeouts in its logs",
    "crashloop": "a training replica in CrashLoopBackOff (9 restarts); a job Failed 10 min ago",
    "pending-gpus": "GPU pods Pending 30 min: no free H100, untolerated taint, no B200 node, "
    "held by a Kueue queue (suspended job, scheduling gate)",
    "server-down": "an InferenceService with 0 ready (predictor crash-looping); one at maxReplicas",
    "timeslice-stuck": "an L4 node labelled for time-slicing ×4 30 min ago, allocatable unchanged: "
    "its device-plugin pod crash-loops",
    "exporter-down": "the dcgm-exporter on a GPU node crash-loops: no telemetry from that node",
    "all": "every incident above at once, each on its own objects",
}
"""Scenario name → the incident it shows (`kmc demo --scenario`, `kmc sim serve --scenario`):
a small healthy cluster plus that incident, deterministic under the seed (see `scenarios`)."""
