"""The simulated training jobs' MLflow runs: real runs, params and metrics logged through the
official MLflow client into a real tracking store (the demo's SQLite file by default), as the
jobs progress on the sim clock.

A job takes part when one of its pod templates carries `sim.kmc.dev/mlflow: <mode>`. The mode
is how its (simulated) pipeline links the run, one per linking rule the console knows:
`annotation` (the feed sets `mlflow.org/run-id` on the job once the run exists), `env`
(`MLFLOW_RUN_ID` in every container of the pod templates), `tag` (run tag `k8s.job` =
`<namespace>/<job>`, as a training script sets it) and `name` (the run is named after the
job). `sim.kmc.dev/mlflow-stall-after: <seconds>` makes the job stop logging that long after
it started running while its pods keep running — a hung job.

Loss follows the training logs' curve (`log_steady.loss_at`) at a per-job step rate; a job
that started before the feed (the demo's warm-up) is backfilled. Succeeded and failed jobs
end their runs FINISHED and FAILED. The feed runs on its own daemon thread; the simulator's
loop only takes snapshots and patches (`SimCluster.call`). Stands alone: no console imports.
"""

from __future__ import annotations

import copy
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .clock import parse_rfc3339
from .hashing import mix, unit
from .kinds import by_kind
from .log_context import hash_text, make_ctx
from .log_steady import loss_at
from .store import Store

log = logging.getLogger(__name__)

MODE = "sim.kmc.dev/mlflow"
STALL_AFTER = "sim.kmc.dev/mlflow-stall-after"
RUN_ANNOTATION = "mlflow.org/run-id"
RUN_ENV = "MLFLOW_RUN_ID"
JOB_TAG = "k8s.job"
KINDS = {
    "PyTorchJob": "pytorchReplicaSpecs",
    "TFJob": "tfReplicaSpecs",
    "MPIJob": "mpiReplicaSpecs",
}
POINTS_PER_TICK = 300
"""Steps logged per job and tick at most (a backfill spreads over a few ticks)."""


@dataclass(frozen=True, slots=True)
class TrainingState:
    kind: str
    namespace: str
    name: str
    uid: str
    mode: str
    stall_after: float | None
    running_since: float | None
    """Sim epoch seconds the job last turned Running (None: not running yet)."""
    state: str
    """The job's last True condition: Running, Succeeded, Failed, Suspended, Restarting…"""
    world_size: int


def snapshot(store: Store) -> list[TrainingState]:
    """The training jobs that log to MLflow (call it on the simulator's loop)."""
    out = []
    for kind, specs_key in KINDS.items():
        for obj in store.objects(by_kind(kind)):
            specs = (obj.get("spec") or {}).get(specs_key) or {}
            notes: dict[str, str] = {}
            replicas = 0
            for spec in specs.values():
                replicas += int(spec.get("replicas", 1))
                meta = (spec.get("template") or {}).get("metadata") or {}
                notes.update(meta.get("annotations") or {})
            mode = notes.get(MODE)
            if not mode:
                continue
            conditions = (obj.get("status") or {}).get("conditions") or []
            true = [c for c in conditions if c.get("status") == "True"]
            state = true[-1]["type"] if true else "Created"
            running = next((c for c in conditions if c.get("type") == "Running"), None)
            since = parse_rfc3339(running["lastTransitionTime"]) if running else None
            stall = notes.get(STALL_AFTER)
            meta = obj["metadata"]
            out.append(
                TrainingState(
                    kind,
                    meta["namespace"],
                    meta["name"],
                    meta["uid"],
                    mode,
                    float(stall) if stall else None,
                    since,
                    state,
                    max(1, replicas),
                )
            )
    return out


def link_run(store: Store, job: TrainingState, run_id: str) -> None:
    """Write the run id onto the job the way its mode says (call it on the simulator's loop)."""
    rt = by_kind(job.kind)
    obj = store.get(rt, job.namespace, job.name)
    if obj is None:
        return
    obj = copy.deepcopy(obj)
    if job.mode == "annotation":
        obj["metadata"].setdefault("annotations", {})[RUN_ANNOTATION] = run_id
    elif job.mode == "env":
        for spec in (obj.get("spec") or {}).get(KINDS[job.kind], {}).values():
            for c in spec.get("template", {}).get("spec", {}).get("containers", []):
                env = [e for e in c.get("env", []) if e.get("name") != RUN_ENV]
                c["env"] = [*env, {"name": RUN_ENV, "value": run_id}]
    else:
        return
    store.replace(rt, obj)


@dataclass
class _Run:
    run_id: str
    step: int
    ended: bool = False


class MlflowFeed:
    """Logs the simulated jobs' progress to `tracking_uri`; see the module docstring."""

    def __init__(
        self,
        tracking_uri: str,
        jobs: Callable[[], list[TrainingState]],
        link: Callable[[TrainingState, str], None],
        now: Callable[[], float],
        period: float = 3.0,
        backfill_at_once: bool = False,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.jobs, self.link, self.now = jobs, link, now
        self.period = period
        self.backfill_at_once = backfill_at_once
        """The first tick logs every job's whole history (else `POINTS_PER_TICK` at most)."""
        self.ready = threading.Event()
        """Set once the store is initialized (or failed to be)."""
        self.first_tick = threading.Event()
        """Set after the first tick (or when the feed cannot run)."""
        self.error = ""
        self._runs: dict[str, _Run] = {}
        self._experiments: dict[str, str] = {}
        self._stop = threading.Event()
        self._go = threading.Event()
        self._client: Any = None

    def start(self) -> MlflowFeed:
        """Import the client and open the store now; log once `go()` says the jobs exist."""
        threading.Thread(target=self._main, name="sim-mlflow", daemon=True).start()
        return self

    def go(self) -> None:
        self._go.set()

    def stop(self) -> None:
        self._stop.set()
        self._go.set()

    def _main(self) -> None:
        try:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self.tracking_uri)
            self._client.search_experiments(max_results=1)  # creates the SQL store's tables
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            log.warning("MLflow feed disabled: %s", self.error)
            self.first_tick.set()
            self.ready.set()
            return
        self.ready.set()
        self._go.wait()
        while not self._stop.is_set():
            try:
                self.tick(unbounded=self.backfill_at_once and not self.first_tick.is_set())
            except Exception:  # the store or the simulator went away: try again next tick
                log.exception("MLflow feed tick failed")
            self.first_tick.set()
            self._stop.wait(self.period)

    # ------------------------------------------------------------ one tick

    def tick(self, unbounded: bool = False) -> None:
        now = self.now()
        for job in self.jobs():
            run = self._runs.get(job.uid)
            if run is None:
                if job.running_since is None:
                    continue
                run = self._runs[job.uid] = self._create(job)
            if run.ended:
                continue
            self._log(job, run, now, unbounded)
            if job.state in ("Succeeded", "Failed"):
                status = "FINISHED" if job.state == "Succeeded" else "FAILED"
                self._client.set_terminated(run.run_id, status, end_time=int(now * 1000))
                run.ended = True

    def _experiment(self, namespace: str) -> str:
        found = self._experiments.get(namespace)
        if found is None:
            existing = self._client.get_experiment_by_name(namespace)
            found = (
                existing.experiment_id if existing else self._client.create_experiment(namespace)
            )
            self._experiments[namespace] = found
        return found

    def _create(self, job: TrainingState) -> _Run:
        ctx = _ctx(job)
        tags = {JOB_TAG: f"{job.namespace}/{job.name}"} if job.mode == "tag" else {}
        run = self._client.create_run(
            self._experiment(job.namespace),
            start_time=int((job.running_since or self.now()) * 1000),
            tags=tags,
            run_name=job.name if job.mode == "name" else f"{job.name}-{job.uid[:6]}",
        )
        run_id = run.info.run_id
        from mlflow.entities import Param

        params = {
            "model": ctx.model,
            "total_steps": ctx.total_steps,
            "peak_lr": ctx.peak_lr,
            "world_size": job.world_size,
            "log_every": ctx.log_every,
            "kind": job.kind,
        }
        self._client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
        self.link(job, run_id)
        return _Run(run_id, 0)

    def _log(self, job: TrainingState, run: _Run, now: float, unbounded: bool = False) -> None:
        from mlflow.entities import Metric

        if job.running_since is None or job.state not in ("Running", "Succeeded", "Failed"):
            return
        ctx = _ctx(job)
        rate = _steps_per_second(job, ctx.log_every)
        elapsed = now - job.running_since
        if job.stall_after is not None:
            elapsed = min(elapsed, job.stall_after)
        target = min(ctx.total_steps, int(elapsed * rate) // ctx.log_every * ctx.log_every)
        metrics = []
        step = run.step
        cap = 3 * (ctx.total_steps if unbounded else POINTS_PER_TICK)
        while step + ctx.log_every <= target and len(metrics) < cap:
            step += ctx.log_every
            ms = int((job.running_since + step / rate) * 1000)
            loss = loss_at(ctx, step)
            lr = ctx.peak_lr * (0.1 + 0.45 * (1 + math.cos(math.pi * step / ctx.total_steps)))
            tokens = ctx.tokens_per_s * (0.95 + 0.1 * unit(mix(ctx.key + step), 3))
            metrics += [
                Metric("loss", round(loss, 5), ms, step),
                Metric("learning_rate", lr, ms, step),
                Metric("tokens_per_sec", round(tokens, 1), ms, step),
            ]
        for start in range(0, len(metrics), 999):
            self._client.log_batch(run.run_id, metrics=metrics[start : start + 999])
        run.step = step


def _ctx(job: TrainingState) -> Any:
    pod = f"{job.name}-master-0"
    return make_ctx(hash_text(f"{job.namespace}/{pod}"), pod, "pytorch", job.namespace, 0)


def _steps_per_second(job: TrainingState, log_every: int) -> float:
    """One log line every 1.5-3 s, like the job's training log."""
    return log_every / (1.5 + 1.5 * unit(mix(hash_text(job.name)), 21))
