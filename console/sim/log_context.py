"""Per-container constants of the simulated logs, and each log kind's line prefix.

``Ctx`` holds what one container instance's lines are made of — job, rank, world size,
model, pid, training schedule, how it fails — all hashed from the container's identity
(``make_ctx``), so every line is a pure function of (``Ctx``, slot, timestamp). ``prefix``
is the kind's own logger framing (timestamp and severity). What the lines say lives in
``log_startup``, ``log_steady`` and ``log_epilogue``; ``console.sim.log_source`` decides
*when* they happen. Every line is printable ASCII: no tabs, escapes or other control
characters.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from .hashing import M64, mix, pick, unit

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
