"""TrainJob (Kubeflow Trainer v2, `trainer.kubeflow.org/v1alpha1`), reconciled like the
trainer's controller: a TrainJob runs as a JobSet of the same name built from its runtime.

The runtime (`spec.runtimeRef`: a ClusterTrainingRuntime by default, or a TrainingRuntime in
the TrainJob's namespace) gives the JobSet template; the trainer's replicated job (`node`)
gets `replicas: 1` and `parallelism = completions = numNodes` (the TrainJob's, else the
runtime's `mlPolicy.numNodes`), and the TrainJob's `trainer.image` and `resourcesPerNode`
when set. `spec.suspend` is passed to the JobSet (Kueue admits by unsuspending).

Status as the trainer writes it: `Suspended` True (reason `Suspended`) while suspended, then
False (reason `Resumed`) — a running TrainJob often has only that condition — `Complete` /
`Failed` copied from the JobSet's terminal condition, and `jobsStatus` = the JobSet's
`replicatedJobsStatus`.
"""

from __future__ import annotations

import copy
from typing import Any

from ..kinds import by_kind
from ..podspec import owner_reference
from ..runtime import SimContext
from .jobset import name_uid
from .owned import Controller, find_condition, set_condition

TRAINER_JOB = "node"
ANCESTOR = "trainer.kubeflow.org/trainjob-ancestor-step"


def start(ctx: SimContext) -> None:
    """Start the TrainJob controller."""
    TrainJobController(ctx)


class TrainJobController(Controller):
    kind = "TrainJob"
    child_kinds = ("JobSet",)
    component = "trainer-controller-manager"

    def reconcile(self, job: dict[str, Any]) -> None:
        meta, spec = job["metadata"], job.get("spec") or {}
        status = copy.deepcopy(job.get("status") or {})
        conditions = status.setdefault("conditions", [])
        iso = self.ctx.clock.iso()
        suspend = bool(spec.get("suspend"))
        jobset = self.store.get(by_kind("JobSet"), meta["namespace"], meta["name"])
        if jobset is None:
            runtime = self._runtime(job)
            if runtime is None:
                ref = spec.get("runtimeRef") or {}
                self.event(
                    job, "RuntimeNotFound", f"runtime {ref.get('name', '')!r} not found", "Warning"
                )
                return
            self.create_child("JobSet", self._jobset(job, runtime, suspend))
        elif bool((jobset.get("spec") or {}).get("suspend")) != suspend:
            self._set_suspend(meta["namespace"], meta["name"], suspend)
        self._suspension(job, conditions, suspend, iso)
        js_status = (jobset or {}).get("status") or {}
        for cond in js_status.get("conditions") or []:
            if cond.get("status") != "True" or cond.get("type") not in ("Completed", "Failed"):
                continue
            type_ = "Complete" if cond["type"] == "Completed" else "Failed"
            if find_condition(conditions, type_) is None:
                set_condition(
                    conditions, type_, "True", cond.get("reason", ""), cond.get("message", ""),
                    iso, update_time=False,
                )  # fmt: skip
                self.event(
                    job,
                    type_,
                    cond.get("message", ""),
                    "Normal" if type_ == "Complete" else "Warning",
                )
        if js_status.get("replicatedJobsStatus"):
            status["jobsStatus"] = copy.deepcopy(js_status["replicatedJobsStatus"])
        if not conditions:
            del status["conditions"]
        self.write_status(job, status)

    def _suspension(
        self, job: dict[str, Any], conditions: list[dict[str, Any]], suspend: bool, iso: str
    ) -> None:
        cond = find_condition(conditions, "Suspended")
        if suspend:
            set_condition(
                conditions, "Suspended", "True", "Suspended", "TrainJob is suspended", iso,
                update_time=False,
            )  # fmt: skip
        elif cond is not None and cond.get("status") == "True":
            set_condition(
                conditions, "Suspended", "False", "Resumed", "TrainJob is resumed", iso,
                update_time=False,
            )  # fmt: skip

    def _set_suspend(self, namespace: str, name: str, suspend: bool) -> None:
        def change(obj: dict[str, Any]) -> None:
            obj.setdefault("spec", {})["suspend"] = suspend

        self.store.mutate(by_kind("JobSet"), namespace, name, change)

    def _runtime(self, job: dict[str, Any]) -> dict[str, Any] | None:
        ref = (job.get("spec") or {}).get("runtimeRef") or {}
        kind = ref.get("kind") or "ClusterTrainingRuntime"
        namespace = job["metadata"]["namespace"] if kind == "TrainingRuntime" else ""
        if kind not in ("ClusterTrainingRuntime", "TrainingRuntime"):
            return None
        return self.store.get(by_kind(kind), namespace, ref.get("name", ""))

    def _jobset(
        self, job: dict[str, Any], runtime: dict[str, Any], suspend: bool
    ) -> dict[str, Any]:
        meta, trainer = job["metadata"], (job.get("spec") or {}).get("trainer") or {}
        rspec = runtime.get("spec") or {}
        template = copy.deepcopy((rspec.get("template") or {}).get("spec") or {})
        nodes = trainer.get("numNodes") or (rspec.get("mlPolicy") or {}).get("numNodes") or 1
        for rj in template.get("replicatedJobs") or []:
            if rj.get("name") != TRAINER_JOB:
                continue
            rj["replicas"] = 1
            job_spec = rj.setdefault("template", {}).setdefault("spec", {})
            job_spec["parallelism"] = job_spec["completions"] = nodes
            pod = job_spec.setdefault("template", {})
            pod.setdefault("metadata", {}).setdefault("labels", {})[ANCESTOR] = "trainer"
            for container in (pod.setdefault("spec", {}).get("containers") or [])[:1]:
                if trainer.get("image"):
                    container["image"] = trainer["image"]
                if trainer.get("resourcesPerNode"):
                    container["resources"] = copy.deepcopy(trainer["resourcesPerNode"])
                if trainer.get("command"):
                    container["command"] = list(trainer["command"])
        template["suspend"] = suspend
        annotations = {
            k: v for k, v in (meta.get("annotations") or {}).items() if k.startswith("sim.kmc.dev/")
        }
        return {
            "apiVersion": "jobset.x-k8s.io/v1alpha2",
            "kind": "JobSet",
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": name_uid(meta["namespace"], meta["name"], meta["uid"], "jobset"),
                "labels": dict(meta.get("labels") or {}),
                "annotations": annotations,
                "ownerReferences": [owner_reference(job)],
            },
            "spec": template,
        }
