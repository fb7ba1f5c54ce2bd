"""pods/log: the container logs of a simulated pod, plain or followed, from `logs.py`.

Which log a container writes comes from the pod annotation `sim.kmc.dev/log-kind`, else from
what the pod is (training operator labels, a KServe predictor, the DCGM exporter, ...).
Its timing comes from the container status the kubelet controller keeps; its pace from
`sim.kmc.dev/log-rate` when set (lines per second: `"2000"` for every container, or
`"main=2000,sidecar=0.2"` per container), else the kind's own. The `drop_log_streams` fault
(`Faults.log_stream_drops`) cuts every open follow stream mid-chunk, as a restarting
kube-apiserver or a flaky load balancer does.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from .clock import parse_rfc3339
from .errors import ApiError, bad_request
from .faults import Faults
from .log_source import LogRequestError, LogSource
from .logs import follow_log, read_log
from .runtime import SimContext

FOLLOW_POLL_SECONDS = 0.5
LOG_RATE = "sim.kmc.dev/log-rate"
HUNG_AFTER_S = 120.0
"""A `sim.kmc.dev/profile: hung` training container's collective hangs this long after it
started: its steps stop, and the NCCL watchdog's timeout traceback follows 10 minutes later
(while its GPUs sit at 0 %)."""
MAX_LOG_RATE = 1_000_000.0


def log_rate(pod: dict[str, Any], container: str) -> float | None:
    """Lines per second from `sim.kmc.dev/log-rate` for `container`, or None (kind's pace)."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    value = str(annotations.get(LOG_RATE) or "").strip()
    if not value:
        return None
    chosen = None
    for part in value.split(","):
        name, sep, number = part.strip().rpartition("=")
        if not sep or name.strip() == container:
            chosen = number
    try:
        rate = float(chosen) if chosen is not None else None
    except ValueError:
        return None
    return min(rate, MAX_LOG_RATE) if rate and rate > 0 else None


def _profile(pod: dict[str, Any]) -> str:
    return str(
        ((pod.get("metadata") or {}).get("annotations") or {}).get("sim.kmc.dev/profile", "")
    )


def log_kind(pod: dict[str, Any], container: str) -> str:
    meta = pod.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    if annotations.get("sim.kmc.dev/log-kind"):
        return annotations["sim.kmc.dev/log-kind"]
    labels = meta.get("labels") or {}
    if "training.kubeflow.org/job-name" in labels or "batch.kubernetes.io/job-name" in labels:
        return "training"
    if (
        "serving.kserve.io/inferenceservice" in labels
        or labels.get("app.kubernetes.io/name") == "vllm"
    ):
        return "serving"
    app = labels.get("app", "")
    if "dcgm-exporter" in app or container == "nvidia-dcgm-exporter":
        return "dcgm-exporter"
    if "device-plugin" in app:
        return "device-plugin"
    return "generic"


def _time(value: str | None) -> float | None:
    return parse_rfc3339(value) if value else None


class PodLogs:
    def __init__(self, ctx: SimContext, faults: Faults | None = None) -> None:
        self.ctx = ctx
        self.faults = faults

    def source(self, pod: dict[str, Any], container: str, previous: bool) -> LogSource:
        meta = pod["metadata"]
        name = meta["name"]
        statuses = {
            cs.get("name"): cs for cs in (pod.get("status") or {}).get("containerStatuses") or []
        }
        status = statuses.get(container)
        state = (status or {}).get("state") or {}
        if status is None or ("waiting" in state and not status.get("restartCount")):
            reason = ((state.get("waiting") or {}).get("reason")) or "ContainerCreating"
            raise bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: {reason}'
            )
        running, terminated = state.get("running") or {}, state.get("terminated") or {}
        started = _time(running.get("startedAt") or terminated.get("startedAt"))
        last = (status.get("lastState") or {}).get("terminated") or {}
        if started is None:  # waiting after a crash: the current instance has not started yet
            started = _time(last.get("finishedAt")) or self.ctx.clock.now()
        source = LogSource(
            self.ctx.seed,
            name,
            container,
            log_kind(pod, container),
            started,
            int(status.get("restartCount") or 0),
            namespace=meta.get("namespace", "default"),
            finished_at=_time(terminated.get("finishedAt")),
            crashed=True if terminated and terminated.get("exitCode") not in (None, 0) else None,
            rate=log_rate(pod, container),
            hung_at=started + HUNG_AFTER_S if _profile(pod) == "hung" else None,
        )
        # In CrashLoopBackOff the newest instance is the one that died: the kubelet serves its log.
        if previous or (not running and not terminated):
            source = source.previous(_time(last.get("startedAt")), _time(last.get("finishedAt")))
        return source

    async def handle(self, request: web.Request, pod: dict[str, Any]) -> web.StreamResponse:
        q = request.query
        containers = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
        container = q.get("container")
        name = pod["metadata"]["name"]
        if not container:
            if len(containers) != 1:
                choices = " ".join(containers)
                raise bad_request(
                    f"a container name must be specified for pod {name}, choose one of: [{choices}]"
                )
            container = containers[0]
        elif container not in containers:
            raise bad_request(f"container {container} is not valid for pod {name}")
        try:
            source = self.source(pod, container, _flag(q.get("previous")))
            now = self.ctx.clock.now()
            chunk = read_log(
                source,
                now,
                tail_lines=_opt_int(q.get("tailLines")),
                since_seconds=_opt_int(q.get("sinceSeconds")),
                since_time=q.get("sinceTime"),
                timestamps=_flag(q.get("timestamps")),
                limit_bytes=_opt_int(q.get("limitBytes")),
            )
        except LogRequestError as err:
            raise ApiError(err.code, str(err), err.reason) from err
        if not _flag(q.get("follow")) or _flag(q.get("previous")):
            return web.Response(text=chunk.text, content_type="text/plain")
        return await self._follow(request, source, chunk.text, chunk.next_seq, chunk.truncated)

    async def _follow(
        self, request: web.Request, source: LogSource, first: str, next_seq: int, truncated: bool
    ) -> web.StreamResponse:
        q = request.query
        timestamps = _flag(q.get("timestamps"))
        budget = _opt_int(q.get("limitBytes"))
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        drops = self.faults.log_stream_drops if self.faults else 0
        with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
            await response.write(first.encode())
            if budget is not None:
                budget -= len(first.encode())
            while not truncated and (budget is None or budget > 0):
                now = self.ctx.clock.now()
                chunk = follow_log(source, next_seq, now, timestamps=timestamps, limit_bytes=budget)
                if chunk.text:
                    data = chunk.text.encode()
                    await response.write(data)
                    if budget is not None:
                        budget -= len(data)
                next_seq, truncated = chunk.next_seq, chunk.truncated
                if not chunk.text and source.is_finished(now):
                    break
                await asyncio.sleep(FOLLOW_POLL_SECONDS)
                if self.faults and self.faults.log_stream_drops != drops:
                    if request.transport is not None:  # cut mid-stream: no final chunk
                        request.transport.close()
                    return response
            await response.write_eof()
        return response


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


def _opt_int(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise bad_request(f"invalid integer {value!r}") from exc
