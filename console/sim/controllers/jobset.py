"""JobSet (`jobset.x-k8s.io/v1alpha2`), reconciled like kubernetes-sigs/jobset's controller.

Each replicated job `rj` becomes `rj.replicas` batch Jobs `<jobset>-<rj>-<index>` (Indexed,
the Job controller runs their pods), labelled and annotated with the JobSet's
`jobset.sigs.k8s.io/*` keys, which their pod templates carry too — so a JobSet's pods carry
`jobset.sigs.k8s.io/jobset-name` *and* their Job's `batch.kubernetes.io/job-name`.
`status.replicatedJobsStatus` counts Jobs (ready, active, succeeded, failed, suspended), not
pods. Conditions are metav1.Conditions: `Completed` (AllJobsCompleted), `Failed`
(FailedJobs / ReachedMaxRestarts), `Suspended` (SuspendedJobs, then False ResumeJobs) — a
running JobSet has no Running condition. A failed Job restarts the whole JobSet while
`failurePolicy.maxRestarts` allows (Jobs recreated with the next `restart-attempt`).

Uids and job keys are derived from names, not drawn from the store's shared random sequence,
so adding a JobSet does not change the other objects of a preset.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from typing import Any

from ..hashing import stable_hash
from ..kinds import by_kind
from ..podspec import owner_reference
from ..runtime import SimContext
from .owned import Controller, find_condition, set_condition

PREFIX = "jobset.sigs.k8s.io/"
JOBSET_NAME = PREFIX + "jobset-name"
RJOB_NAME = PREFIX + "replicatedjob-name"
RJOB_REPLICAS = PREFIX + "replicatedjob-replicas"
JOB_INDEX = PREFIX + "job-index"
JOB_GLOBAL_INDEX = PREFIX + "job-global-index"
JOB_KEY = PREFIX + "job-key"
RESTART_ATTEMPT = PREFIX + "restart-attempt"
JOBSET_UID = PREFIX + "jobset-uid"


def start(ctx: SimContext) -> None:
    """Start the JobSet controller."""
    JobSetController(ctx)


def name_uid(*parts: str) -> str:
    """A uid that is a pure function of `parts` (not of the store's random sequence)."""
    return str(
        uuid.UUID(int=stable_hash("/".join(parts)) << 64 | stable_hash(parts[-1]), version=4)
    )


def _job_finished(job: dict[str, Any]) -> str:
    """`Complete` or `Failed` when the Job has that condition True, else empty."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return ""


class JobSetController(Controller):
    kind = "JobSet"
    child_kinds = ("Job",)
    component = "jobset-controller-manager"

    def reconcile(self, jobset: dict[str, Any]) -> None:
        meta, spec = jobset["metadata"], jobset.get("spec") or {}
        status = copy.deepcopy(jobset.get("status") or {})
        conditions = status.setdefault("conditions", [])
        iso = self.ctx.clock.iso()
        attempt = int(status.get("restarts") or 0)
        jobs = dict(self.children(jobset, "Job"))
        terminal = status.get("terminalState") or ""
        suspend = bool(spec.get("suspend"))
        if not terminal:
            stale = [
                n
                for n, j in jobs.items()
                if (j["metadata"].get("labels") or {}).get(RESTART_ATTEMPT) != str(attempt)
            ]
            for name in stale:  # a restart: the previous attempt's Jobs go first
                self.delete_quietly("Job", meta["namespace"], name)
                jobs.pop(name)
            failed = [n for n, j in jobs.items() if _job_finished(j) == "Failed"]
            max_restarts = int((spec.get("failurePolicy") or {}).get("maxRestarts") or 0)
            if failed and attempt < max_restarts:
                status["restarts"] = attempt + 1
                self.event(jobset, "Restarting", f"restarting jobset, attempt {attempt + 1}")
            elif failed:
                reason = "ReachedMaxRestarts" if max_restarts else "FailedJobs"
                message = (
                    "jobset failed due to reaching max number of restarts"
                    if max_restarts
                    else "jobset failed due to one or more job failures"
                )
                set_condition(conditions, "Failed", "True", reason, message, iso, update_time=False)
                status["terminalState"] = "Failed"
                self.event(jobset, reason, message, "Warning")
            elif (
                jobs
                and all(_job_finished(j) == "Complete" for j in jobs.values())
                and len(jobs)
                == sum(int(rj.get("replicas", 1)) for rj in spec.get("replicatedJobs") or [])
            ):
                message = "jobset completed successfully"
                set_condition(
                    conditions,
                    "Completed",
                    "True",
                    "AllJobsCompleted",
                    message,
                    iso,
                    update_time=False,
                )
                status["terminalState"] = "Completed"
                self.event(jobset, "AllJobsCompleted", message)
            else:
                self._suspension(jobset, conditions, suspend, iso)
                self._ensure_jobs(jobset, jobs, attempt, suspend)
        status["replicatedJobsStatus"] = self._counts(jobset)
        if not conditions:
            del status["conditions"]
        status.setdefault("restarts", 0)
        self.write_status(jobset, status)

    def _suspension(
        self, jobset: dict[str, Any], conditions: list[dict[str, Any]], suspend: bool, iso: str
    ) -> None:
        cond = find_condition(conditions, "Suspended")
        if suspend:
            if set_condition(
                conditions, "Suspended", "True", "SuspendedJobs", "jobset is suspended", iso,
                update_time=False,
            ):  # fmt: skip
                self.event(jobset, "SuspendedJobs", "jobset is suspended")
        elif cond is not None and cond.get("status") == "True":
            set_condition(
                conditions, "Suspended", "False", "ResumeJobs", "jobset is resumed", iso,
                update_time=False,
            )  # fmt: skip
            self.event(jobset, "ResumeJobs", "jobset is resumed")

    def _ensure_jobs(
        self, jobset: dict[str, Any], jobs: dict[str, Any], attempt: int, suspend: bool
    ) -> None:
        meta, spec = jobset["metadata"], jobset.get("spec") or {}
        global_index = 0
        for rj in spec.get("replicatedJobs") or []:
            replicas = int(rj.get("replicas", 1))
            for index in range(replicas):
                name = f"{meta['name']}-{rj['name']}-{index}"
                existing = jobs.get(name)
                if existing is None:
                    job = self._job(jobset, rj, index, global_index, attempt, suspend)
                    if self.create_child("Job", job):
                        self.event(jobset, "SuccessfulCreate", f"Created job: {name}")
                elif bool((existing.get("spec") or {}).get("suspend")) != suspend:
                    self._set_suspend(meta["namespace"], name, suspend)
                global_index += 1

    def _set_suspend(self, namespace: str, name: str, suspend: bool) -> None:
        def change(job: dict[str, Any]) -> None:
            job.setdefault("spec", {})["suspend"] = suspend

        self.store.mutate(by_kind("Job"), namespace, name, change)

    def _job(
        self,
        jobset: dict[str, Any],
        rj: dict[str, Any],
        index: int,
        global_index: int,
        attempt: int,
        suspend: bool,
    ) -> dict[str, Any]:
        meta = jobset["metadata"]
        ns, name = meta["namespace"], f"{meta['name']}-{rj['name']}-{index}"
        template = copy.deepcopy(rj.get("template") or {})
        job_spec = template.setdefault("spec", {})
        job_key = hashlib.sha1(f"{ns}/{name}".encode()).hexdigest()
        keys = {
            JOBSET_NAME: meta["name"],
            RJOB_NAME: rj["name"],
            RJOB_REPLICAS: str(rj.get("replicas", 1)),
            JOB_INDEX: str(index),
            JOB_GLOBAL_INDEX: str(global_index),
            JOB_KEY: job_key,
            RESTART_ATTEMPT: str(attempt),
            JOBSET_UID: meta["uid"],
        }
        job_meta = template.setdefault("metadata", {})
        job_meta.update(name=name, namespace=ns, ownerReferences=[owner_reference(jobset)])
        job_meta["uid"] = name_uid(ns, name, meta["uid"], str(attempt))
        job_meta["labels"] = {**(job_meta.get("labels") or {}), **keys}
        annotations = {**(meta.get("annotations") or {}), **(job_meta.get("annotations") or {})}
        job_meta["annotations"] = {
            **{k: v for k, v in annotations.items() if k.startswith("sim.kmc.dev/")},
            **keys,
        }
        pod = job_spec.setdefault("template", {})
        pod_meta = pod.setdefault("metadata", {})
        pod_meta["labels"] = {**(pod_meta.get("labels") or {}), **keys}
        pod_meta["annotations"] = {**(pod_meta.get("annotations") or {}), **keys}
        pod.setdefault("spec", {}).setdefault("subdomain", meta["name"])
        job_spec.setdefault("completionMode", "Indexed")
        parallelism = job_spec.setdefault("parallelism", 1)
        job_spec.setdefault("completions", parallelism)
        job_spec.setdefault("backoffLimit", 0)
        job_spec["suspend"] = suspend
        return {"apiVersion": "batch/v1", "kind": "Job", **template}

    def _counts(self, jobset: dict[str, Any]) -> list[dict[str, Any]]:
        """replicatedJobsStatus: per replicated job, how many *Jobs* are in each state."""
        by_rj: dict[str, dict[str, int]] = {}
        for rj in (jobset.get("spec") or {}).get("replicatedJobs") or []:
            by_rj[rj["name"]] = dict(ready=0, succeeded=0, failed=0, active=0, suspended=0)
        for job in self.children(jobset, "Job").values():
            counts = by_rj.get((job["metadata"].get("labels") or {}).get(RJOB_NAME, ""))
            if counts is None:
                continue
            spec, st = job.get("spec") or {}, job.get("status") or {}
            finished = _job_finished(job)
            if finished == "Complete":
                counts["succeeded"] += 1
            elif finished == "Failed":
                counts["failed"] += 1
            elif spec.get("suspend"):
                counts["suspended"] += 1
            else:
                if st.get("active"):
                    counts["active"] += 1
                if int(st.get("ready") or 0) + int(st.get("succeeded") or 0) >= int(
                    spec.get("parallelism") or 1
                ):
                    counts["ready"] += 1
        return [{"name": name, **counts} for name, counts in by_rj.items()]
