"""What a simulated container prints while starting, per log kind, with offsets from its start.

Training (process group, NCCL bootstrap, dataset, model, resume), vLLM serving, the DCGM
exporter, the NVIDIA device plugin and a generic app; pure functions of a ``Ctx``.
"""

from __future__ import annotations

from .hashing import mix, pick, unit
from .log_context import Ctx, Timed, hash_text

_SERVED = ("llama-3-8b-instruct", "mistral-7b-instruct", "qwen2-7b-instruct", "phi-3-mini")
_DATASETS = ("s3://ml-datasets/redpajama-v2", "gs://corpora/the-pile-dedup", "/data/imagenet-21k")


def _timed(ctx: Ctx, steps: list[tuple[float, str | None, str]]) -> list[Timed]:
    """Turn (seconds after the previous line, level, body) into offsets from container start."""
    out: list[Timed] = []
    off = 0
    for i, (gap, level, body) in enumerate(steps):
        off += int(gap * 1e9 * (0.7 + 0.6 * unit(ctx.key, 100 + i))) + 1000 + (ctx.key >> i) % 997
        out.append((off, level, body))
    return out


def _nccl(ctx: Ctx, tid: int, text: str) -> tuple[float, None, str]:
    return (0.004, None, f"{ctx.pod}:{ctx.pid}:{tid} [0] NCCL INFO {text}")


def startup(kind: str, ctx: Ctx) -> list[Timed]:
    """The lines a container of ``kind`` prints while starting, with offsets from its start."""
    if kind in ("training", "training-failed"):
        return _timed(ctx, _training_startup(ctx))
    if kind == "serving":
        return _timed(ctx, _serving_startup(ctx))
    if kind == "dcgm-exporter":
        return _timed(ctx, _dcgm_startup(ctx))
    if kind == "device-plugin":
        return _timed(ctx, _device_plugin_startup(ctx))
    return _timed(
        ctx,
        [
            (0.8, "INFO", f"starting {ctx.container} version=1.{ctx.key % 9}.{ctx.key % 23}"),
            (0.2, "INFO", "loaded configuration from /etc/app/config.yaml"),
            (0.3, "INFO", f"connected to database postgres://db.{ctx.namespace}.svc:5432/app"),
            (0.1, "INFO", "listening on :8080"),
        ],
    )


def _training_startup(ctx: Ctx) -> list[tuple[float, str | None, str]]:
    tid = ctx.pid + 55
    ranks = " ".join(str(r) for r in range(min(ctx.world_size, 8)))
    master = f"{ctx.job}-master-0"
    steps: list[tuple[float, str | None, str]] = [
        (1.5, "INFO", f"Starting training job {ctx.job} (model={ctx.model}) on host {ctx.pod}"),
        (
            0.3,
            "INFO",
            f"Initializing process group: backend=nccl world_size={ctx.world_size} "
            f"rank={ctx.rank} local_rank=0 master_addr={master} master_port=23456",
        ),
        (
            6.0,
            None,
            f"{ctx.pod}:{ctx.pid}:{ctx.pid} [0] NCCL INFO Bootstrap : Using eth0:{ctx.ip}<0>",
        ),
        (
            0.01,
            None,
            f"{ctx.pod}:{ctx.pid}:{ctx.pid} [0] NCCL INFO NET/Plugin: No plugin found "
            "(libnccl-net.so), using internal implementation",
        ),
        (0.01, None, f"{ctx.pod}:{ctx.pid}:{ctx.pid} [0] NCCL INFO cudaDriverVersion 12040"),
    ]
    if ctx.rank == 0:
        steps.append((0.01, None, "NCCL version 2.20.5+cuda12.4"))
    comm = f"0x{(ctx.key >> 8) & 0xFFFFFFFFFF:x}"
    comm_id = f"0x{mix(hash_text(ctx.job)) & 0xFFFFFFFFFFFFFFF:x}"
    steps += [
        (0.4, None, f"{ctx.pod}:{ctx.pid}:{tid} [0] NCCL INFO NET/IB : No device found."),
        _nccl(ctx, tid, f"NET/Socket : Using [0]eth0:{ctx.ip}<0>"),
        _nccl(ctx, tid, "Using network Socket"),
        _nccl(
            ctx,
            tid,
            f"comm {comm} rank {ctx.rank} nranks {ctx.world_size} cudaDev 0 nvmlDev 0 "
            f"busId 7000 commId {comm_id} - Init START",
        ),
        _nccl(ctx, tid, f"Channel 00/02 :    {ranks}"),
        _nccl(ctx, tid, f"Channel 01/02 :    {ranks}"),
        _nccl(
            ctx,
            tid,
            f"Trees [0] {(ctx.rank + 1) % ctx.world_size}/-1/-1->{ctx.rank}->"
            f"{(ctx.rank - 1) % ctx.world_size if ctx.rank else -1} "
            f"[1] {(ctx.rank + 1) % ctx.world_size}/-1/-1->{ctx.rank}->"
            f"{(ctx.rank - 1) % ctx.world_size if ctx.rank else -1}",
        ),
        _nccl(ctx, tid, "Connected all rings"),
        _nccl(ctx, tid, "Connected all trees"),
        _nccl(
            ctx,
            tid,
            f"comm {comm} rank {ctx.rank} nranks {ctx.world_size} cudaDev 0 nvmlDev 0 "
            f"busId 7000 commId {comm_id} - Init COMPLETE",
        ),
        (
            1.2,
            "INFO",
            f"Loading dataset {pick(ctx.key, 20, _DATASETS)} (shard {ctx.rank}/{ctx.world_size})",
        ),
        (
            9.0,
            "INFO",
            f"Dataset ready: {1_000_000 + int(9_000_000 * unit(hash_text(ctx.job), 21)):,} samples, "
            f"seq_len=4096, global_batch={16 * ctx.world_size}",
        ),
        (
            3.0,
            "INFO",
            f"Model {ctx.model}: {1.1 + 60 * unit(hash_text(ctx.job), 22):.2f}B parameters, dtype=bfloat16, FSDP",
        ),
    ]
    if ctx.resume_step:
        steps.append(
            (
                6.0,
                "INFO",
                f"Resuming from checkpoint /checkpoints/{ctx.job}/step-{ctx.resume_step:07d} "
                f"(restart {ctx.restart_count})",
            )
        )
    steps.append((2.0, "INFO", f"Starting training at step {ctx.resume_step}/{ctx.total_steps}"))
    return steps


def _serving_startup(ctx: Ctx) -> list[tuple[float, str | None, str]]:
    served = pick(ctx.key, 30, _SERVED)
    blocks = 8000 + int(30000 * unit(ctx.key, 31))
    return [
        (1.0, "INFO", "api_server.py:219] vLLM API server version 0.5.4"),
        (
            0.01,
            "INFO",
            f"api_server.py:220] args: Namespace(host=None, port=8080, model='/mnt/models', "
            f"served_model_name=['{served}'], tensor_parallel_size=1, dtype='auto', "
            "max_model_len=8192, gpu_memory_utilization=0.9)",
        ),
        (
            3.5,
            "INFO",
            "llm_engine.py:174] Initializing an LLM engine (v0.5.4) with config: model='/mnt/models', "
            "dtype=torch.bfloat16, max_seq_len=8192, tensor_parallel_size=1, seed=0",
        ),
        (2.0, "INFO", "model_runner.py:720] Starting to load model /mnt/models..."),
        (
            25.0,
            "INFO",
            f"model_runner.py:732] Loading model weights took {4 + 12 * unit(ctx.key, 32):.4f} GB",
        ),
        (2.5, "INFO", f"gpu_executor.py:102] # GPU blocks: {blocks}, # CPU blocks: 2048"),
        (
            3.0,
            "INFO",
            "model_runner.py:1024] Capturing the model for CUDA graphs. This may lead to unexpected "
            "consequences if the model is not static.",
        ),
        (
            14.0,
            "INFO",
            f"model_runner.py:1225] Graph capturing finished in {12 + ctx.key % 9} secs.",
        ),
        (0.2, "INFO", "api_server.py:292] Available routes are:"),
        (0.01, "INFO", "launcher.py:28] Route: /v1/completions, Methods: POST"),
        (0.01, "INFO", "launcher.py:28] Route: /v1/chat/completions, Methods: POST"),
        (0.01, "INFO", "launcher.py:28] Route: /health, Methods: GET"),
        (0.01, "INFO", "launcher.py:28] Route: /metrics, Methods: GET"),
        (0.1, None, "INFO:     Started server process [1]"),
        (0.01, None, "INFO:     Waiting for application startup."),
        (0.01, None, "INFO:     Application startup complete."),
        (0.01, None, "INFO:     Uvicorn running on http://0.0.0.0:8080 (Press CTRL+C to quit)"),
    ]


def _dcgm_startup(ctx: Ctx) -> list[tuple[float, str | None, str]]:
    return [
        (0.5, "info", 'msg="Starting dcgm-exporter" Version=3.3.5-3.4.1'),
        (0.6, "info", 'msg="DCGM successfully initialized!"'),
        (0.1, "info", 'msg="Collecting DCP Metrics"'),
        (
            0.01,
            "info",
            "msg=\"Falling back to metric file '/etc/dcgm-exporter/dcp-metrics-included.csv'\"",
        ),
        (0.01, "info", 'msg="Initializing system entities of type: GPU"'),
        (
            0.2,
            "info",
            'msg="Not collecting NvSwitch metrics; no fields to watch for device type: 3"',
        ),
        (
            0.01,
            "info",
            'msg="Not collecting NvLink metrics; no fields to watch for device type: 6"',
        ),
        (0.01, "info", 'msg="Not collecting CPU metrics; no fields to watch for device type: 7"'),
        (
            0.01,
            "info",
            'msg="Not collecting CPU Core metrics; no fields to watch for device type: 8"',
        ),
        (0.3, "info", 'msg="Kubernetes metrics collection enabled!"'),
        (0.01, "info", 'msg="Pipeline starting"'),
        (0.01, "info", 'msg="Starting webserver"'),
        (0.01, "info", 'msg="Listening on" address="[::]:9400"'),
        (0.01, "info", 'msg="TLS is disabled." address="[::]:9400" http2=false'),
    ]


def _device_plugin_startup(ctx: Ctx) -> list[tuple[float, str | None, str]]:
    sock = "/var/lib/kubelet/device-plugins/nvidia-gpu.sock"
    return [
        (0.3, "I", "main.go:199] Starting FS watcher."),
        (0.001, "I", "main.go:206] Starting OS watcher."),
        (0.001, "I", "main.go:221] Starting Plugins."),
        (0.001, "I", "main.go:278] Loading configuration."),
        (0.01, "I", "main.go:303] Updating config with default resource matching patterns."),
        (0.01, "I", "main.go:317] Retrieving plugins."),
        (0.05, "I", "factory.go:107] Detected NVML platform: found NVML library"),
        (
            0.001,
            "I",
            "factory.go:107] Detected non-Tegra platform: /sys/devices/soc0/family file not found",
        ),
        (0.2, "I", "server.go:165] Starting GRPC server for 'nvidia.com/gpu'"),
        (0.01, "I", f"server.go:117] Starting to serve 'nvidia.com/gpu' on {sock}"),
        (0.02, "I", "server.go:125] Registered device plugin for 'nvidia.com/gpu' with Kubelet"),
    ]
