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
