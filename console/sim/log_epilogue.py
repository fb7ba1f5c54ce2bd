"""The last words of a simulated container: a crash traceback, a completion or a shutdown.

Per log kind and end mode (``crashed``, ``completed``, ``terminated``): a training run's
CUDA out-of-memory or NCCL watchdog traceback, vLLM's KV-cache error, the exporters'
fatal lines, SIGTERM handling. Pure functions of a ``Ctx`` and the last step.
"""

from __future__ import annotations

from .hashing import unit
from .log_context import Ctx, Line
from .log_steady import loss_at


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
