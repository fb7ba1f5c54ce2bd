"""The batch/v1 Job controller: parallelism, completions (NonIndexed and Indexed), backoffLimit
with the real exponential pod-recreation delay, activeDeadlineSeconds, suspend/resume and
ttlSecondsAfterFinished; conditions and events as kube-controller-manager 1.31 writes them
(`SuccessCriteriaMet` + `Complete`, `FailureTarget` + `Failed`, `Suspended`).
"""

from __future__ import annotations

from typing import Any

from ..clock import parse_rfc3339
from ..hashing import stable_hash
from ..podspec import pod_from_template
from .jobset import JOBSET_NAME, name_uid
from .owned import Controller, PodInfo, find_condition, set_condition

JOB_NAME = "batch.kubernetes.io/job-name"
CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
INDEX = "batch.kubernetes.io/job-completion-index"
BACKOFF_BASE, BACKOFF_MAX = 10.0, 360.0
SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def job_labels(job: dict[str, Any]) -> dict[str, str]:
    meta = job["metadata"]
    return {
        CONTROLLER_UID: meta["uid"],
        JOB_NAME: meta["name"],
        "controller-uid": meta["uid"],
        "job-name": meta["name"],
    }


def compress_indexes(indexes: set[int]) -> str:
    """`0-2,5` — the completedIndexes format."""
    parts: list[str] = []
    ordered = sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


class JobController(Controller):
    kind = "Job"
    component = "job-controller"

    def __init__(self, ctx: Any) -> None:
        self.failures_seen: dict[str, tuple[int, float]] = {}  # job uid → (failures, when)
        super().__init__(ctx)

    def reconcile(self, job: dict[str, Any]) -> None:
        spec = job.get("spec") or {}
        if not spec.get("selector") and not spec.get("manualSelector"):
            self._default_selector(job)
            return  # the write marks the job again
        status = dict(job.get("status") or {})
        conditions = [dict(c) for c in status.get("conditions") or []]
        now, iso = self.ctx.clock.now(), self.ctx.clock.iso()
        pods = list(self.children(job).values())
        active = [p for p in pods if p.active]
        succeeded = [p for p in pods if p.phase == "Succeeded"]
        failed = [p for p in pods if p.phase == "Failed"]
        done = _finished(conditions)
        if done:
            for pod in active:
                self._delete(job, pod)
            self._ttl(job, status, now)
        elif spec.get("suspend"):
            for pod in active:
                self._delete(job, pod)
            if set_condition(
                conditions,
                "Suspended",
                "True",
                "JobSuspended",
                "Job suspended",
                iso,
                update_time=False,
            ):
                _probe(conditions, "Suspended", iso)
                self.event(job, "Suspended", "Job suspended")
            status.pop("startTime", None)
        else:
            cond = find_condition(conditions, "Suspended")
            if cond and cond["status"] == "True":
                set_condition(
                    conditions,
                    "Suspended",
                    "False",
                    "JobResumed",
                    "Job resumed",
                    iso,
                    update_time=False,
                )
                _probe(conditions, "Suspended", iso)
                self.event(job, "Resumed", "Job resumed")
                status["startTime"] = iso
            status.setdefault("startTime", iso)
            self._run(job, status, conditions, active, succeeded, failed, now, iso)
        pods = list(self.children(job).values())
        active = [p for p in pods if p.active]
        status["conditions"] = conditions
        if not conditions:
            del status["conditions"]
        for key, value in (
            ("active", len(active)),
            ("succeeded", sum(p.phase == "Succeeded" for p in pods)),
            ("failed", sum(p.phase == "Failed" for p in pods)),
        ):
            if value:
                status[key] = value
            else:
                status.pop(key, None)
        status["ready"] = sum(p.ready for p in active)
        status["terminating"] = 0
        status["uncountedTerminatedPods"] = {}
        if spec.get("completionMode") == "Indexed":
            done_indexes = {_index(p) for p in pods if p.phase == "Succeeded"} - {None}
            status["completedIndexes"] = compress_indexes(done_indexes)  # type: ignore[arg-type]
        self.write_status(job, status)

    def _run(
        self,
        job: dict[str, Any],
        status: dict[str, Any],
        conditions: list[dict[str, Any]],
        active: list[PodInfo],
        succeeded: list[PodInfo],
        failed: list[PodInfo],
        now: float,
        iso: str,
    ) -> None:
        meta, spec = job["metadata"], job.get("spec") or {}
        key = (meta["namespace"], meta["name"])
        template = spec.get("template") or {}
        on_failure = (template.get("spec") or {}).get("restartPolicy") == "OnFailure"
        failures = len(failed) + (sum(p.restarts for p in active) if on_failure else 0)
        if failures > int(spec.get("backoffLimit", 6)):
            self._fail(
                job,
                conditions,
                active,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
                iso,
            )
            return
        deadline = spec.get("activeDeadlineSeconds")
        if deadline is not None:
            elapsed = now - parse_rfc3339(status["startTime"])
            if elapsed >= int(deadline):
                self._fail(
                    job,
                    conditions,
                    active,
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                    iso,
                )
                return
            self.mark_later(key, int(deadline) - elapsed)
        indexed = spec.get("completionMode") == "Indexed"
        completions = spec.get("completions")
        parallelism = int(spec.get("parallelism", 1))
        done_indexes = {_index(p) for p in succeeded}
        if completions is None:
            complete = bool(succeeded) and not active
            wanted = 0 if succeeded else parallelism
        else:
            count = len(done_indexes - {None}) if indexed else len(succeeded)
            complete = count >= int(completions)
            wanted = min(parallelism, int(completions) - count)
        if complete:
            for pod in active:
                self._delete(job, pod)
            for type_ in ("SuccessCriteriaMet", "Complete"):
                set_condition(
                    conditions,
                    type_,
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    iso,
                    update_time=False,
                )
                _probe(conditions, type_, iso)
            status["completionTime"] = iso
            self.event(job, "Completed", "Job completed")
            self._ttl(job, status, now)
            return
        # exponential back-off before replacing failed pods
        uid = meta["uid"]
        seen, since = self.failures_seen.get(uid, (0, now))
        if failures > seen:
            self.failures_seen[uid] = (failures, now)
            seen, since = failures, now
        if seen:
            delay = min(BACKOFF_BASE * 2 ** (seen - 1), BACKOFF_MAX)
            if now < since + delay:
                self.mark_later(key, since + delay - now)
                wanted = min(wanted, len(active))
        if len(active) > wanted:
            for pod in sorted(active, key=lambda p: (p.ready, p.created), reverse=True)[
                : len(active) - wanted
            ]:
                self._delete(job, pod)
        elif len(active) < wanted:
            busy = {_index(p) for p in active} | done_indexes
            free = (i for i in range(int(completions or 0)) if i not in busy)
            for _ in range(wanted - len(active)):
                self._create(job, next(free, None) if indexed else None)

    def _create(self, job: dict[str, Any], index: int | None) -> None:
        meta, spec = job["metadata"], job.get("spec") or {}
        labels = job_labels(job)
        annotations: dict[str, str] = {}
        stem = meta["name"] if index is None else f"{meta['name']}-{index}"
        jobset = JOBSET_NAME in (meta.get("labels") or {})
        # A JobSet's Jobs name their pods from their own names (see controllers.jobset), so
        # that a JobSet in a preset leaves the store's random sequence to the other objects.
        seq = str(len(self.children(job))) if jobset else ""
        suffix = _suffix(f"{meta['uid']}/{stem}/{seq}") if jobset else self.store.random_suffix()
        name = f"{stem}-{suffix}"
        if index is not None:
            labels[INDEX] = annotations[INDEX] = str(index)
        pod = pod_from_template(
            self.ctx,
            spec.get("template") or {},
            name,
            meta["namespace"],
            job,
            labels,
            annotations,
            default_profile="training",
            default_log_kind="training",
        )
        if index is not None:
            pod["spec"]["hostname"] = stem
        if jobset:
            pod["metadata"]["uid"] = name_uid(meta["namespace"], name, meta["uid"])
        if self.create_child("Pod", pod):
            self.event(job, "SuccessfulCreate", f"Created pod: {name}")

    def _delete(self, job: dict[str, Any], pod: PodInfo) -> None:
        if self.delete_quietly("Pod", job["metadata"]["namespace"], pod.name):
            self.event(job, "SuccessfulDelete", f"Deleted pod: {pod.name}")

    def _fail(
        self,
        job: dict[str, Any],
        conditions: list[dict[str, Any]],
        active: list[PodInfo],
        reason: str,
        message: str,
        iso: str,
    ) -> None:
        for pod in active:
            self._delete(job, pod)
        for type_ in ("FailureTarget", "Failed"):
            set_condition(conditions, type_, "True", reason, message, iso, update_time=False)
            _probe(conditions, type_, iso)
        self.event(job, reason, message, "Warning")

    def _ttl(self, job: dict[str, Any], status: dict[str, Any], now: float) -> None:
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        finished = (
            next(
                (
                    c.get("lastTransitionTime")
                    for c in status.get("conditions") or []
                    if c["type"] in ("Complete", "Failed") and c["status"] == "True"
                ),
                None,
            )
            or status.get("completionTime")
            or self.ctx.clock.iso()
        )
        due = parse_rfc3339(finished) + int(ttl)
        meta = job["metadata"]
        if now >= due:
            self.delete_quietly("Job", meta["namespace"], meta["name"])
        else:
            self.mark_later((meta["namespace"], meta["name"]), due - now)

    def _default_selector(self, job: dict[str, Any]) -> None:
        """What the API server does on create: selector and labels from the job's uid."""
        labels = job_labels(job)

        def change(obj: dict[str, Any]) -> None:
            spec = obj.setdefault("spec", {})
            spec["selector"] = {"matchLabels": {CONTROLLER_UID: obj["metadata"]["uid"]}}
            tmeta = spec.setdefault("template", {}).setdefault("metadata", {})
            tmeta["labels"] = {**(tmeta.get("labels") or {}), **labels}
            meta = obj["metadata"]
            meta["labels"] = {
                **(meta.get("labels") or {}),
                JOB_NAME: meta["name"],
                "controller-uid": meta["uid"],
                "job-name": meta["name"],
                CONTROLLER_UID: meta["uid"],
            }

        meta = job["metadata"]
        self.store.mutate(self.rt, meta["namespace"], meta["name"], change)


def _finished(conditions: list[dict[str, Any]]) -> bool:
    return any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in conditions)


def _probe(conditions: list[dict[str, Any]], type_: str, iso: str) -> None:
    cond = find_condition(conditions, type_)
    if cond is not None:
        cond["lastProbeTime"] = iso


def _suffix(seed: str, n: int = 5) -> str:
    """A pod name suffix from the alphabet of the store's, drawn from `seed` alone."""
    h = stable_hash(seed)
    return "".join(SUFFIX_ALPHABET[(h >> (6 * i)) % len(SUFFIX_ALPHABET)] for i in range(n))


def _index(pod: PodInfo) -> int | None:
    value = pod.labels.get(INDEX)
    return int(value) if value and value.isdigit() else None
