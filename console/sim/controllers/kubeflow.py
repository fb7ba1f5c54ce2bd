"""Kubeflow Training Operator v1: PyTorchJob, TFJob, XGBoostJob, JAXJob, PaddleJob, and the
mpi-operator's MPIJob (`v2beta1`), on one engine.

Pods `<job>-<type lowercase>-<index>` (MPI launcher: `<job>-launcher`) with the operator's
`training.kubeflow.org/*` labels. Conditions are appended in order like the operator's
`UpdateJobConditions`: setting a type removes the old entry of that type and appends the new
one (Running and Restarting replace each other; Succeeded/Failed turn Running False), so the
last condition is the job's state — what `kubectl get pytorchjobs` shows.

Simplifications: Running once every replica pod is Running and Ready; Restarting while a pod
crash-loops or after its containers restarted (OnFailure/Always), or when a failed pod is
recreated (ExitCode with a retryable code ≥ 128); no per-pod Services.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import orjson

from ..clock import parse_rfc3339
from ..podspec import pod_from_template
from ..runtime import SimContext
from .owned import Controller, PodInfo, selector_string

PREFIX = "training.kubeflow.org/"
OPERATOR, JOB_NAME = PREFIX + "operator-name", PREFIX + "job-name"
REPLICA_TYPE, REPLICA_INDEX, JOB_ROLE = (
    PREFIX + "replica-type",
    PREFIX + "replica-index",
    PREFIX + "job-role",
)


@dataclass(frozen=True)
class Flavor:
    kind: str
    specs_key: str
    container: str
    operator: str
    masters: tuple[str, ...]  # replica types whose success ends the job
    default_restart: str
    default_clean: str


FLAVORS = (
    Flavor(
        "PyTorchJob",
        "pytorchReplicaSpecs",
        "pytorch",
        "pytorchjob-controller",
        ("Master",),
        "OnFailure",
        "None",
    ),
    Flavor(
        "TFJob",
        "tfReplicaSpecs",
        "tensorflow",
        "tfjob-controller",
        ("Chief", "Master"),
        "Never",
        "Running",
    ),
    # MPIJob is the mpi-operator's `kubeflow.org/v2beta1` (the only version it serves).
    Flavor("MPIJob", "mpiReplicaSpecs", "mpi", "mpijob-controller", ("Launcher",), "Never", "None"),
    # training-operator v1.8+: no master type means every Worker must succeed (JAXJob).
    Flavor(
        "XGBoostJob",
        "xgbReplicaSpecs",
        "xgboost",
        "xgboostjob-controller",
        ("Master",),
        "Never",
        "None",
    ),
    Flavor("JAXJob", "jaxReplicaSpecs", "jax", "jaxjob-controller", (), "OnFailure", "None"),
    Flavor(
        "PaddleJob",
        "paddleReplicaSpecs",
        "paddle",
        "paddlejob-controller",
        ("Master",),
        "OnFailure",
        "None",
    ),
)
TYPE_ORDER = ("Launcher", "Chief", "Master", "PS", "Worker", "Evaluator")


def start(ctx: SimContext) -> None:
    """Start the PyTorchJob, TFJob, MPIJob, XGBoostJob, JAXJob and PaddleJob controllers."""
    for flavor in FLAVORS:
        TrainingJobController(ctx, flavor)


def update_condition(
    conditions: list[dict[str, Any]], type_: str, status: str, reason: str, message: str, now: str
) -> bool:
    """The training operator's setCondition: returns False when nothing changed."""
    old = next((c for c in conditions if c["type"] == type_), None)
    if old and (old["status"], old.get("reason"), old.get("message")) == (status, reason, message):
        return False
    transition = old["lastTransitionTime"] if old and old["status"] == status else now
    kept = []
    for cond in conditions:
        if cond["type"] == type_ or {cond["type"], type_} == {"Running", "Restarting"}:
            continue
        if type_ in ("Succeeded", "Failed") and cond["type"] == "Running":
            cond = {**cond, "status": "False"}
        kept.append(cond)
    kept.append(
        {
            "type": type_,
            "status": status,
            "reason": reason,
            "message": message,
            "lastUpdateTime": now,
            "lastTransitionTime": transition,
        }
    )
    conditions[:] = kept
    return True


def _is(conditions: list[dict[str, Any]], type_: str) -> bool:
    return any(c["type"] == type_ and c["status"] == "True" for c in conditions)


class TrainingJobController(Controller):
    component = "training-operator"

    def __init__(self, ctx: SimContext, flavor: Flavor) -> None:
        self.kind = flavor.kind
        self.flavor = flavor
        self.restarts_seen: dict[str, dict[str, int]] = {}  # job uid → pod uid → restarts
        super().__init__(ctx)

    # ----- shapes ---------------------------------------------------------------------------
    def replica_specs(self, job: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        specs = (job.get("spec") or {}).get(self.flavor.specs_key) or {}
        order = {t: i for i, t in enumerate(TYPE_ORDER)}
        return sorted(specs.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))

    def master_type(self, job: dict[str, Any]) -> str | None:
        specs = dict(self.replica_specs(job))
        return next((t for t in self.flavor.masters if t in specs), None)

    def pod_name(self, job: dict[str, Any], rtype: str, index: int) -> str:
        if self.flavor.kind == "MPIJob" and rtype == "Launcher":
            return f"{job['metadata']['name']}-launcher"
        return f"{job['metadata']['name']}-{rtype.lower()}-{index}"

    def selector(self, job: dict[str, Any], rtype: str) -> dict[str, str]:
        return {
            JOB_NAME: job["metadata"]["name"],
            OPERATOR: self.flavor.operator,
            REPLICA_TYPE: rtype.lower(),
        }

    # ----- reconcile ------------------------------------------------------------------------
    def reconcile(self, job: dict[str, Any]) -> None:
        meta, spec = job["metadata"], job.get("spec") or {}
        kind, name = self.flavor.kind, meta["name"]
        run = spec.get("runPolicy") or {}
        status = copy.deepcopy(job.get("status") or {})
        conditions: list[dict[str, Any]] = status.setdefault("conditions", [])
        iso, now = self.ctx.clock.iso(), self.ctx.clock.now()
        update_condition(
            conditions, "Created", "True", f"{kind}Created", f"{kind} {name} is created.", iso
        )
        pods = self.children(job)
        if _is(conditions, "Succeeded") or _is(conditions, "Failed"):
            self._finish(job, status, pods, now)
        elif run.get("suspend"):
            for pod in list(pods.values()):
                self._delete(job, pod.name)
            message = f"{kind} {name} is suspended."
            if _is(conditions, "Running"):
                update_condition(conditions, "Running", "False", f"{kind}Suspended", message, iso)
            if not _is(conditions, "Suspended"):
                self.event(job, f"{kind}Suspended", message)
            update_condition(conditions, "Suspended", "True", f"{kind}Suspended", message, iso)
            status.pop("startTime", None)
        else:
            if _is(conditions, "Suspended"):
                message = f"{kind} {name} is resumed."
                update_condition(conditions, "Suspended", "False", f"{kind}Resumed", message, iso)
                self.event(job, f"{kind}Resumed", message)
                status["startTime"] = iso
            status.setdefault("startTime", iso)
            self._run(job, status, conditions, pods, now, iso)
        status["replicaStatuses"] = self._replica_statuses(job)
        self.write_status(job, status)

    def _run(
        self,
        job: dict[str, Any],
        status: dict[str, Any],
        conditions: list[dict[str, Any]],
        pods: dict[str, PodInfo],
        now: float,
        iso: str,
    ) -> None:
        meta, spec = job["metadata"], job.get("spec") or {}
        kind, name = self.flavor.kind, meta["name"]
        run = spec.get("runPolicy") or {}
        seen = self.restarts_seen.setdefault(meta["uid"], {})
        restarted: dict[str, int] = {}
        failed: dict[str, int] = {}
        total_restarts = 0
        expected = 0
        healthy = 0
        by_type: dict[str, dict[str, Any]] = {}
        for rtype, rspec in self.replica_specs(job):
            policy = rspec.get("restartPolicy") or self.flavor.default_restart
            replicas = int(rspec.get("replicas", 1))
            expected += replicas
            existing: dict[int, PodInfo] = {}
            for pod in pods.values():
                if pod.labels.get(REPLICA_TYPE) == rtype.lower():
                    existing[int(pod.labels.get(REPLICA_INDEX, "0"))] = pod
            succeeded = 0
            for index, pod in sorted(list(existing.items())):
                if index >= replicas:  # scaled down
                    self._delete(job, pod.name)
                    continue
                if policy in ("OnFailure", "Always"):
                    total_restarts += pod.restarts
                    if pod.restarts > seen.get(pod.uid, pod.restarts) or (
                        pod.waiting == "CrashLoopBackOff"
                    ):
                        restarted[rtype] = restarted.get(rtype, 0) + 1
                seen[pod.uid] = pod.restarts
                if pod.phase == "Failed":
                    retry = policy in ("OnFailure", "Always") or (
                        policy == "ExitCode" and (pod.exit_code or 0) >= 128
                    )
                    if retry:
                        self._delete(job, pod.name)
                        del existing[index]
                        restarted[rtype] = restarted.get(rtype, 0) + 1
                    else:
                        failed[rtype] = failed.get(rtype, 0) + 1
                elif pod.phase == "Succeeded":
                    succeeded += 1
                elif pod.running and pod.ready:
                    healthy += 1
            for index in range(replicas):
                if index not in existing:
                    self._create(job, rtype, rspec, index)
            by_type[rtype] = {"replicas": replicas, "succeeded": succeeded}
        live = {p.uid for p in self.children(job).values()}
        self.restarts_seen[meta["uid"]] = {u: n for u, n in seen.items() if u in live}
        backoff = run.get("backoffLimit")
        deadline = run.get("activeDeadlineSeconds")
        master = self.master_type(job)
        if backoff is not None and total_restarts > int(backoff):
            self._fail(
                job,
                status,
                conditions,
                f"{kind} {name} has failed because it has reached the specified backoff limit",
                iso,
            )
        elif deadline is not None and now - parse_rfc3339(status["startTime"]) >= int(deadline):
            self._fail(
                job,
                status,
                conditions,
                f"{kind} {name} has failed because it was active longer than specified deadline",
                iso,
            )
        elif failed:
            rtype, count = next(iter(failed.items()))
            self._fail(
                job,
                status,
                conditions,
                f"{kind} {name} is failed because {count} {rtype} replica(s) failed.",
                iso,
            )
        elif self._succeeded(job, master, by_type):
            message = f"{kind} {name} is successfully completed."
            update_condition(conditions, "Succeeded", "True", f"{kind}Succeeded", message, iso)
            status["completionTime"] = iso
            self.event(job, f"{kind}Succeeded", message)
            self._finish(job, status, self.children(job), now)
        elif restarted:
            rtype, count = next(iter(restarted.items()))
            message = f"{kind} {name} is restarting because {count} {rtype} replica(s) failed."
            if update_condition(
                conditions, "Restarting", "True", f"{kind}Restarting", message, iso
            ):
                self.event(job, f"{kind}Restarting", message, "Warning")
            self.mark_later((meta["namespace"], name), 1.0)  # look again once it runs
        elif expected and healthy + sum(t["succeeded"] for t in by_type.values()) >= expected:
            message = f"{kind} {name} is running."
            if update_condition(conditions, "Running", "True", f"{kind}Running", message, iso):
                self.event(job, f"{kind}Running", message)
        if deadline is not None and not (_is(conditions, "Succeeded") or _is(conditions, "Failed")):
            remaining = int(deadline) - (now - parse_rfc3339(status["startTime"]))
            self.mark_later((meta["namespace"], name), remaining)

    def _succeeded(self, job: dict[str, Any], master: str | None, by_type: dict[str, Any]) -> bool:
        if master is not None:
            stats = by_type[master]
            return stats["succeeded"] >= stats["replicas"]
        workers = by_type.get("Worker")
        if not workers:
            return False
        policy = (job.get("spec") or {}).get("successPolicy") or ""
        if self.flavor.kind == "TFJob" and policy != "AllWorkers":
            pods = self.children(job)
            return any(
                p.phase == "Succeeded"
                and p.labels.get(REPLICA_TYPE) == "worker"
                and p.labels.get(REPLICA_INDEX) == "0"
                for p in pods.values()
            )
        return workers["succeeded"] >= workers["replicas"]

    def _fail(
        self,
        job: dict[str, Any],
        status: dict[str, Any],
        conditions: list[dict[str, Any]],
        message: str,
        iso: str,
    ) -> None:
        kind = self.flavor.kind
        update_condition(conditions, "Failed", "True", f"{kind}Failed", message, iso)
        status["completionTime"] = iso
        self.event(job, f"{kind}Failed", message)
        for pod in list(self.children(job).values()):
            if pod.active:
                self._delete(job, pod.name)
        self._finish(job, status, self.children(job), self.ctx.clock.now())

    def _finish(
        self, job: dict[str, Any], status: dict[str, Any], pods: dict[str, PodInfo], now: float
    ) -> None:
        run = (job.get("spec") or {}).get("runPolicy") or {}
        policy = run.get("cleanPodPolicy") or self.flavor.default_clean
        for pod in list(pods.values()):
            if policy == "All" or (policy == "Running" and pod.active):
                self._delete(job, pod.name)
        ttl = run.get("ttlSecondsAfterFinished")
        if ttl is not None:
            meta = job["metadata"]
            due = parse_rfc3339(status.get("completionTime") or self.ctx.clock.iso()) + int(ttl)
            if now >= due:
                self.delete_quietly(self.kind, meta["namespace"], meta["name"])
            else:
                self.mark_later((meta["namespace"], meta["name"]), due - now)

    def _replica_statuses(self, job: dict[str, Any]) -> dict[str, Any]:
        pods = self.children(job)
        result: dict[str, Any] = {}
        for rtype, _ in self.replica_specs(job):
            mine = [p for p in pods.values() if p.labels.get(REPLICA_TYPE) == rtype.lower()]
            match = self.selector(job, rtype)
            entry: dict[str, Any] = {}
            for key, value in (
                ("active", sum(p.running for p in mine)),
                ("succeeded", sum(p.phase == "Succeeded" for p in mine)),
                ("failed", sum(p.phase == "Failed" for p in mine)),
            ):
                if value:
                    entry[key] = value
            entry["labelSelector"] = {"matchLabels": match}
            entry["selector"] = selector_string(match)
            result[rtype] = entry
        return result

    # ----- pods -----------------------------------------------------------------------------
    def _create(self, job: dict[str, Any], rtype: str, rspec: dict[str, Any], index: int) -> None:
        meta = job["metadata"]
        name = self.pod_name(job, rtype, index)
        master = self.master_type(job)
        labels = {**self.selector(job, rtype), REPLICA_INDEX: str(index)}
        if rtype == master or (master is None and rtype == "Worker" and index == 0):
            labels[JOB_ROLE] = "master"
        template = rspec.get("template") or {}
        pod = pod_from_template(
            self.ctx,
            template,
            name,
            meta["namespace"],
            job,
            labels,
            {},
            default_profile="training",
            default_log_kind="training",
        )
        policy = rspec.get("restartPolicy") or self.flavor.default_restart
        pod["spec"]["restartPolicy"] = "Never" if policy == "ExitCode" else policy
        self._env(job, pod, rtype, index)
        if self.create_child("Pod", pod):
            self.event(job, "SuccessfulCreatePod", f"Created pod: {name}")

    def _env(self, job: dict[str, Any], pod: dict[str, Any], rtype: str, index: int) -> None:
        specs = self.replica_specs(job)
        container = next(
            (c for c in pod["spec"]["containers"] if c.get("name") == self.flavor.container), None
        )
        if container is None:
            return
        env = container.setdefault("env", [])
        names = {e.get("name") for e in env}
        extra: list[tuple[str, str]] = []
        name = job["metadata"]["name"]
        if self.flavor.kind == "PyTorchJob":
            master = self.master_type(job)
            world = sum(int(s.get("replicas", 1)) for _, s in specs)
            rank = index if master is None or rtype == master else index + 1
            extra = [
                ("MASTER_PORT", "23456"),
                ("MASTER_ADDR", f"{name}-master-0" if master else f"{name}-worker-0"),
                ("WORLD_SIZE", str(world)),
                ("RANK", str(rank)),
                ("PYTHONUNBUFFERED", "1"),
            ]
        elif self.flavor.kind == "TFJob":
            cluster = {
                t.lower(): [
                    f"{name}-{t.lower()}-{i}.{job['metadata']['namespace']}.svc:2222"
                    for i in range(int(s.get("replicas", 1)))
                ]
                for t, s in specs
            }
            tf_config = {
                "cluster": cluster,
                "task": {"type": rtype.lower(), "index": index},
                "environment": "cloud",
            }
            extra = [("TF_CONFIG", orjson.dumps(tf_config).decode())]
        for key, value in extra:
            if key not in names:
                env.append({"name": key, "value": value})

    def _delete(self, job: dict[str, Any], pod_name: str) -> None:
        if self.delete_quietly("Pod", job["metadata"]["namespace"], pod_name):
            self.event(job, "SuccessfulDeletePod", f"Deleted pod: {pod_name}")
