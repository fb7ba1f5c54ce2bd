"""What the simulated containers print: per-kind startup lines, steady lines and last words.

Pure functions of a ``Ctx`` (constants hashed from the container's identity), a line's
slot number and its timestamp. ``console.sim.logs`` decides *when* lines happen and
serves pods/log requests; this module only decides *what* they say. Every line is
printable ASCII: no tabs, escapes or other control characters.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from .hashing import GOLDEN, M64, mix, pick, unit

Line = tuple[str | None, str]
"""(level, body). ``level`` feeds the kind's prefix (timestamp, severity); ``None`` = raw line."""

Timed = tuple[int, str | None, str]
"""(offset in ns, level, body)."""


# ---------------------------------------------------------------------------------------------
# per-container constants

_REPLICA_RE = re.compile(
    r"^(?P<job>.+)-(?P<type>master|worker|launcher|chief|ps|evaluator)-(?P<i>\d+)$"
)
_MODELS = ("llama-3-8b", "llama-3-70b", "mistral-7b", "gpt-neox-20b", "bert-large", "vit-h-14")
_SERVED = ("llama-3-8b-instruct", "mistral-7b-instruct", "qwen2-7b-instruct", "phi-3-mini")
_DATASETS = ("s3://ml-datasets/redpajama-v2", "gs://corpora/the-pile-dedup", "/data/imagenet-21k")


@dataclass(frozen=True, slots=True)
class Ctx:
    """Constants of one container instance, all derived from ``key`` and its names."""

    key: int
    pod: str
    container: str
    namespace: str
    restart_count: int
    job: str
    rank: int
    world_size: int
    model: str
    pid: int
    ip: str
    # training
    total_steps: int
    resume_step: int
    log_every: int
    ckpt_every: int
    peak_lr: float
    loss0: float
    loss_floor: float
    tau: float
    tokens_per_s: float
    gpu_mem_gib: float
    failure: str  # "oom" | "nccl"


def make_ctx(
    key: int,
    pod: str,
    container: str,
    namespace: str,
    restart_count: int,
    world_size: int | None = None,
    rank: int | None = None,
) -> Ctx:
    m = _REPLICA_RE.match(pod)
    job = m.group("job") if m else pod.rsplit("-", 2)[0] if pod.count("-") >= 2 else pod
    if rank is None:
        rank = 0 if not m or m.group("type") in ("master", "launcher", "chief") else int(m["i"]) + 1
    if world_size is None:
        world_size = max(rank + 1, int(pick(key, 1, (2, 4, 8, 16))))
    # a job's constants come from the job name, so every replica agrees (model, steps, lr)
    jk = mix(hash_text(job))
    total = int(pick(jk, 2, (20000, 50000, 100000)))
    log_every = int(pick(jk, 3, (10, 10, 20, 50)))
    ckpt_every = log_every * int(pick(jk, 4, (50, 100, 250)))
    # a restarted run resumes from a later checkpoint each time, never past 60 % of the run
    resume = ckpt_every * int(0.6 * (1.0 - 0.75**restart_count) * total / ckpt_every)
    return Ctx(
        key=key,
        pod=pod,
        container=container,
        namespace=namespace,
        restart_count=restart_count,
        job=job,
        rank=rank,
        world_size=world_size,
        model=str(pick(jk, 6, _MODELS)),
        pid=int(40 + 200 * unit(key, 7)),
        ip=f"10.{int(4 * unit(key, 8))}.{int(256 * unit(key, 9))}.{2 + int(250 * unit(key, 10))}",
        total_steps=total,
        resume_step=max(0, resume),
        log_every=log_every,
        ckpt_every=ckpt_every,
        peak_lr=float(pick(jk, 11, (3e-4, 1e-4, 2e-5, 6e-4))),
        loss0=10.4 + 0.8 * unit(jk, 12),
        loss_floor=1.5 + 0.9 * unit(jk, 13),
        tau=0.08 * total * (0.6 + 0.8 * unit(jk, 14)),
        tokens_per_s=6000 + 20000 * unit(jk, 15),
        gpu_mem_gib=38.0 + 36.0 * unit(jk, 16),
        failure="oom" if unit(key, 17) < 0.5 else "nccl",
    )


def hash_text(text: str) -> int:
    """A stable 64-bit hash of a string (FNV-1a; Python's ``hash`` is salted per process)."""
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


# ---------------------------------------------------------------------------------------------
# timestamps inside lines


def _utc(ts_ns: int) -> tuple[time.struct_time, int]:
    sec, ns = divmod(ts_ns, 1_000_000_000)
    return time.gmtime(sec), ns


def prefix(kind: str, ts_ns: int, level: str | None) -> str:
    """The kind's own line prefix (its logger's timestamp and severity)."""
    if level is None:
        return ""
    tm, ns = _utc(ts_ns)
    if kind in ("training", "training-failed"):
        return (
            f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d} "
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d},{ns // 1_000_000:03d} - {level} - "
        )
    if kind == "serving":  # vLLM's logger
        return (
            f"{level} {tm.tm_mon:02d}-{tm.tm_mday:02d} "
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} "
        )
    if kind == "dcgm-exporter":  # logrus text formatter
        return (
            f'time="{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T'
            f'{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}Z" level={level} '
        )
    if kind == "device-plugin":  # klog
        return (
            f"{level}{tm.tm_mon:02d}{tm.tm_mday:02d} "
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}.{ns // 1000:06d}       1 "
        )
    return (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T"
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}.{ns // 1_000_000:03d}Z {level:<5} "
    )


# ---------------------------------------------------------------------------------------------
# startup


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


# ---------------------------------------------------------------------------------------------
# steady state

STEADY_INTERVAL_S: dict[str, tuple[float, float] | None] = {
    # (min, max) mean seconds between lines, picked per container; None = silent once started
    "training": (1.5, 3.0),
    "training-failed": (1.5, 3.0),
    "serving": (0.15, 0.5),
    "generic": (5.0, 15.0),
    "dcgm-exporter": None,
    "device-plugin": None,
}


def training_step(ctx: Ctx, slot: int) -> int:
    return ctx.resume_step + (slot + 1) * ctx.log_every


def training_slots(ctx: Ctx) -> int:
    """How many steady lines a training run prints before it has done all its steps."""
    return max(1, (ctx.total_steps - ctx.resume_step) // ctx.log_every)


def loss_at(ctx: Ctx, step: int) -> float:
    base = ctx.loss_floor + (ctx.loss0 - ctx.loss_floor) * math.exp(-step / ctx.tau)
    return base * (1.0 + 0.05 * (unit(ctx.key, 1000 + step) - 0.5))


def _lr_at(ctx: Ctx, step: int) -> float:
    warmup = max(1, ctx.total_steps // 25)
    if step < warmup:
        return ctx.peak_lr * step / warmup
    progress = (step - warmup) / max(1, ctx.total_steps - warmup)
    return ctx.peak_lr * (0.1 + 0.45 * (1.0 + math.cos(math.pi * min(1.0, progress))))


_TRAIN_WARNINGS = (
    "UserWarning: torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly.",
    "[W reducer.cpp:1389] Warning: find_unused_parameters=True was specified in DDP constructor, "
    "but did not find any unused parameters in the forward pass.",
    "Gradient overflow detected, skipping step and reducing loss scale to 32768.0",
    "Dataloader worker 3 is slow: batch wait 4.81s (consider increasing num_workers)",
)


def steady(kind: str, ctx: Ctx, slot: int) -> Line:
    """Steady-state line number ``slot`` (0-based, after startup)."""
    if kind in ("training", "training-failed"):
        step = training_step(ctx, slot)
        if step % ctx.ckpt_every == 0:
            return (
                "INFO",
                f"Saving checkpoint to /checkpoints/{ctx.job}/step-{step:07d} (rank {ctx.rank})",
            )
        r = mix(ctx.key ^ (slot * GOLDEN & M64))
        if r % 211 == 7:
            return "WARNING", str(pick(r, 1, _TRAIN_WARNINGS))
        loss = loss_at(ctx, step)
        grad = 0.35 + 1.6 * math.exp(-step / (0.5 * ctx.tau)) + 0.15 * unit(r, 2)
        tps = int(ctx.tokens_per_s * (0.97 + 0.06 * unit(r, 3)))
        mem = ctx.gpu_mem_gib + 0.4 * unit(r, 4)
        return (
            "INFO",
            f"step {step}/{ctx.total_steps} loss={loss:.4f} lr={_lr_at(ctx, step):.1e} "
            f"grad_norm={grad:.2f} tokens/s={tps} gpu_mem={mem:.1f}GiB",
        )
    if kind == "serving":
        return _serving_line(ctx, slot)
    r = mix(ctx.key ^ (slot * GOLDEN & M64))
    choice = r % 10
    if choice < 5:
        return "INFO", f'"GET /healthz" 200 {0.2 + 2 * unit(r, 1):.1f}ms'
    if choice < 8:
        return "INFO", f"processed {1 + r % 500} events in {3 + (r >> 9) % 200}ms"
    if choice < 9:
        return "INFO", f"cache refresh ok entries={1000 + (r >> 17) % 9000}"
    return "WARN", f"slow query took {800 + (r >> 5) % 3000}ms: SELECT * FROM jobs WHERE state = $1"


def _serving_line(ctx: Ctx, slot: int) -> Line:
    r = mix(ctx.key ^ (slot * GOLDEN & M64))
    if slot % 50 == 49:
        running = r % 24
        return (
            "INFO",
            f"metrics.py:341] Avg prompt throughput: {200 + 1800 * unit(r, 1):.1f} tokens/s, "
            f"Avg generation throughput: {400 + 2400 * unit(r, 2):.1f} tokens/s, "
            f"Running: {running} reqs, Swapped: 0 reqs, Pending: {r % 3 if running > 20 else 0} reqs, "
            f"GPU KV cache usage: {3 + 90 * unit(r, 3):.1f}%, CPU KV cache usage: 0.0%.",
        )
    client = f"10.{r % 4}.{(r >> 8) % 256}.{2 + (r >> 16) % 250}:{30000 + (r >> 24) % 30000}"
    choice = (r >> 40) % 20
    if choice < 2:
        path = "/health" if choice == 0 else "/metrics"
        return None, f'INFO:     {client} - "GET {path} HTTP/1.1" 200 OK'
    if choice < 8:
        prompt = 20 + (r >> 4) % 2000
        completion = 1 + (r >> 12) % 512
        latency = 0.05 + completion * (0.008 + 0.01 * unit(r, 4))
        return (
            "INFO",
            f"async_llm_engine.py:140] Finished request cmpl-{r & 0xFFFFFFFFFFFF:012x}: "
            f"prompt_tokens={prompt} completion_tokens={completion} latency={latency:.3f}s",
        )
    path = "/v1/chat/completions" if choice < 15 else "/v1/completions"
    status = "200 OK"
    if choice == 19 and (r >> 50) % 4 == 0:
        status = "400 Bad Request"
    return None, f'INFO:     {client} - "POST {path} HTTP/1.1" {status}'


# ---------------------------------------------------------------------------------------------
# last words


def epilogue(kind: str, ctx: Ctx, mode: str, last_step: int) -> list[Line]:
    """The last lines of a container: ``mode`` is ``crashed``, ``completed`` or ``terminated``."""
    training = kind in ("training", "training-failed")
    if mode == "completed":
        if training:
            return [
                (
                    "INFO",
                    f"Training complete: {ctx.total_steps} steps, final loss={loss_at(ctx, ctx.total_steps):.4f}",
                ),
                ("INFO", f"Saved final model to /checkpoints/{ctx.job}/final"),
            ]
        return [("INFO", "shutting down: work complete")]
    if mode == "terminated":
        if training:
            return [
                ("WARNING", "Received SIGTERM: saving emergency checkpoint and exiting"),
                (
                    "INFO",
                    f"Saving checkpoint to /checkpoints/{ctx.job}/step-{last_step:07d} (rank {ctx.rank})",
                ),
            ]
        if kind == "serving":
            return [
                (None, "INFO:     Shutting down"),
                (None, "INFO:     Waiting for application shutdown."),
                (None, "INFO:     Application shutdown complete."),
                (None, "INFO:     Finished server process [1]"),
            ]
        if kind == "dcgm-exporter":
            return [("info", 'msg="Received signal terminated, shutting down"')]
        if kind == "device-plugin":
            return [("I", 'main.go:266] Received signal "terminated", shutting down.')]
        return [("INFO", "received SIGTERM, shutting down")]
    # crashed
    if training:
        return _training_traceback(ctx, last_step)
    if kind == "serving":
        return _traceback(
            [
                (
                    "/usr/local/lib/python3.10/dist-packages/vllm/entrypoints/openai/api_server.py",
                    317,
                    "run_server",
                    "engine = AsyncLLMEngine.from_engine_args(",
                ),
                (
                    "/usr/local/lib/python3.10/dist-packages/vllm/engine/async_llm_engine.py",
                    471,
                    "from_engine_args",
                    "engine = cls(",
                ),
                (
                    "/usr/local/lib/python3.10/dist-packages/vllm/engine/llm_engine.py",
                    265,
                    "__init__",
                    "self._initialize_kv_caches()",
                ),
                (
                    "/usr/local/lib/python3.10/dist-packages/vllm/engine/llm_engine.py",
                    377,
                    "_initialize_kv_caches",
                    "self.model_executor.initialize_cache(num_gpu_blocks, num_cpu_blocks)",
                ),
                (
                    "/usr/local/lib/python3.10/dist-packages/vllm/worker/worker.py",
                    223,
                    "initialize_cache",
                    "raise_if_cache_size_invalid(num_gpu_blocks,",
                ),
            ],
            "ValueError: The model's max seq len (32768) is larger than the maximum number of "
            "tokens that can be stored in KV cache (27053). Try increasing `gpu_memory_utilization` "
            "or decreasing `max_model_len` when initializing the engine.",
        )
    if kind == "dcgm-exporter":
        return [
            (
                "fatal",
                'msg="Error connecting to nv-hostengine: Host engine connection invalid/disconnected"',
            ),
        ]
    if kind == "device-plugin":
        return [
            (
                "E",
                "main.go:132] error starting plugins: failed to construct NVML resource managers: error initializing NVML: ERROR_UNKNOWN",
            ),
            ("F", "main.go:78] error starting plugins: unable to start plugins"),
        ]
    return _traceback(
        [
            ("/app/server.py", 88, "<module>", "main()"),
            ("/app/server.py", 61, "main", "db = connect(settings.database_url)"),
            (
                "/usr/local/lib/python3.11/site-packages/psycopg/connection.py",
                748,
                "connect",
                "raise last_ex.with_traceback(None)",
            ),
        ],
        f'psycopg.OperationalError: connection failed: connection to server at "db.{ctx.namespace}.svc" '
        "(10.96.0.41), port 5432 failed: Connection refused",
    )


def _traceback(frames: list[tuple[str, int, str, str]], error: str) -> list[Line]:
    lines: list[Line] = [(None, "Traceback (most recent call last):")]
    for path, lineno, func, code in frames:
        lines.append((None, f'  File "{path}", line {lineno}, in {func}'))
        lines.append((None, f"    {code}"))
    for part in error.split("\n"):
        lines.append((None, part.replace("\t", "    ")))
    return lines


_TORCH = "/usr/local/lib/python3.10/dist-packages/torch"


def _training_traceback(ctx: Ctx, step: int) -> list[Line]:
    frames = [
        ("/workspace/train.py", 412, "<module>", "main()"),
        ("/workspace/train.py", 398, "main", "trainer.train()"),
        ("/workspace/trainer.py", 221, "train", "loss = self.training_step(batch)"),
    ]
    if ctx.failure == "oom":
        frames += [
            ("/workspace/trainer.py", 174, "training_step", "outputs = self.model(**batch)"),
            (
                f"{_TORCH}/nn/modules/module.py",
                1532,
                "_wrapped_call_impl",
                "return self._call_impl(*args, **kwargs)",
            ),
            (
                f"{_TORCH}/nn/modules/module.py",
                1541,
                "_call_impl",
                "return forward_call(*args, **kwargs)",
            ),
            (
                "/workspace/model.py",
                96,
                "forward",
                "attn = torch.matmul(q, k.transpose(-2, -1)) * self.scale",
            ),
        ]
        total = 79.15
        free = 0.2 + 1.5 * unit(ctx.key, 50)
        alloc = 2.0 * (1 + ctx.key % 4)
        return [
            ("ERROR", f"Out of memory at step {step} (rank {ctx.rank})"),
            *_traceback(
                frames,
                f"torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate {alloc:.2f} GiB. "
                f"GPU 0 has a total capacity of {total:.2f} GiB of which {free:.2f} GiB is free. "
                f"Process {ctx.pid} has {total - free:.2f} GiB memory in use. Of the allocated memory "
                f"{total - free - 2.31:.2f} GiB is allocated by PyTorch, and 2.31 GiB is reserved by "
                "PyTorch but unallocated. If reserved but unallocated memory is large try setting "
                "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  See "
                "documentation for Memory Management  "
                "(https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)",
            ),
        ]
    seq = 40000 + step * 3
    r = ctx.rank
    frames += [
        ("/workspace/trainer.py", 188, "training_step", "self.accelerator.backward(loss)"),
        (f"{_TORCH}/_tensor.py", 525, "backward", "torch.autograd.backward("),
        (f"{_TORCH}/autograd/__init__.py", 267, "backward", "_engine_run_backward("),
        (
            f"{_TORCH}/autograd/graph.py",
            744,
            "_engine_run_backward",
            "return Variable._execution_engine.run_backward(",
        ),
    ]
    return [
        (
            None,
            f"[rank{r}]:[E ProcessGroupNCCL.cpp:563] [Rank {r}] Watchdog caught collective operation "
            f"timeout: WorkNCCL(SeqNum={seq}, OpType=ALLREDUCE, NumelIn=262144, NumelOut=262144, "
            "Timeout(ms)=600000) ran for 600127 milliseconds before timing out.",
        ),
        (
            None,
            f"[rank{r}]:[E ProcessGroupNCCL.cpp:1537] [PG 0 Rank {r}] Timeout at NCCL work: {seq}, "
            f"last enqueued NCCL work: {seq}, last completed NCCL work: {seq - 1}.",
        ),
        (
            None,
            f"[rank{r}]:[E ProcessGroupNCCL.cpp:577] [Rank {r}] Some NCCL operations have failed or "
            "timed out. Due to the asynchronous nature of CUDA kernels, subsequent GPU operations "
            "might run on corrupted/incomplete data.",
        ),
        *_traceback(
            frames,
            f"RuntimeError: NCCL communicator was aborted on rank {r}.  Original reason for failure "
            f"was: [Rank {r}] Watchdog caught collective operation timeout: WorkNCCL(SeqNum={seq}, "
            "OpType=ALLREDUCE, NumelIn=262144, NumelOut=262144, Timeout(ms)=600000) ran for 600127 "
            "milliseconds before timing out.",
        ),
    ]
