"""The steady lines of a simulated container once started: line ``slot`` of each log kind.

Training step lines (loss curve, learning-rate schedule, checkpoints, the odd warning),
vLLM request and throughput lines, a generic app's chatter; and each kind's line rate
(``STEADY_INTERVAL_S``). Pure functions of a ``Ctx`` and the slot number.
"""

from __future__ import annotations

import math

from .hashing import GOLDEN, M64, mix, pick, unit
from .log_context import Ctx, Line

STEADY_INTERVAL_S: dict[str, tuple[float, float] | None] = {
    # (min, max) mean seconds between lines, picked per container; None = silent once started
    "training": (1.5, 3.0),
    "training-failed": (1.5, 3.0),
    "serving": (0.15, 0.5),
    "generic": (5.0, 15.0),
    "json": (0.5, 2.0),
    "hostile": (0.3, 0.8),
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
    if kind == "json":
        return _json_line(ctx, slot)
    if kind == "hostile":
        return None, HOSTILE_LINES[slot % len(HOSTILE_LINES)]
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


def _json_line(ctx: Ctx, slot: int) -> Line:
    r = mix(ctx.key ^ (slot * GOLDEN & M64))
    choice = r % 20
    level, msg = "info", "request served"
    extra = f'"path":"/v1/embed","status":200,"ms":{1 + (r >> 8) % 90}'
    if choice == 0:
        level, msg = "error", "upstream failed"
        extra = f'"error":"connection reset by peer","retry":{(r >> 8) % 5}'
    elif choice < 3:
        level, msg = "warn", "slow batch"
        extra = f'"batch":{(r >> 8) % 512},"ms":{800 + (r >> 16) % 4000}'
    elif choice < 6:
        level, msg = "debug", "cache lookup"
        extra = f'"key":"emb:{(r >> 4) & 0xFFFFFF:06x}","hit":{"true" if r & 1 else "false"}'
    return None, (f'{{"level":"{level}","msg":"{msg}","pod":"{ctx.pod}","slot":{slot},{extra}}}')


HOSTILE_LINES: tuple[str, ...] = (
    "\x1b[2J\x1b[H screen cleared by a tenant",
    "\x1b]0;pwned title\x07 title change",
    "\x1b]52;c;cm0gLXJmIC8K\x07 clipboard write",
    "[bold red]markup[/bold red] should show literally",
    "[@click=app.quit]click me[/] to quit",
    "[/x] a closing tag with no opening",
    "tab\tand bell\x07 and C1 \x9b31m control",
    '{"level":"error","msg":"\x1b[31mred\x1b[0m json [b]x[/b]"}',
    "Traceback (most recent call last): \x1b[5mblink\x1b[0m",
    "long line " + "x" * 200_000,
)
"""The ``hostile`` kind's lines, in turn: what a tenant can print to attack a log viewer."""
