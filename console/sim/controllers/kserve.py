"""KServe InferenceService (serving.kserve.io/v1beta1).

`RawDeployment`/`Standard` mode becomes a Deployment `<name>-predictor` plus a Service of the
same name; `Serverless`/`Knative` mode (the default) one Deployment per revision, with traffic
split and rollouts as Knative would (`kserve_revisions`).
Pods carry `serving.kserve.io/inferenceservice=<name>`, `component=predictor`,
`app=isvc.<name>-predictor` and the `kserve-container`. Replicas start at `minReplicas`
(default 1; 0 scales to zero) and stay within [minReplicas, maxReplicas] when scaled by hand.
A predictor spec change bumps the revision (`<name>-predictor-00002`) and rolls the Deployment.
The service is Ready only while at least one predictor pod is ready.
"""

from __future__ import annotations

import copy
from typing import Any

from ..podspec import LOG_KIND, PROFILE, gpu_request, owner_reference, sim_annotations
from ..runtime import SimContext
from . import kserve_revisions
from .owned import Controller, PodInfo, child_index, find_condition

ISVC_LABEL = "serving.kserve.io/inferenceservice"
MODE = "serving.kserve.io/deploymentMode"
KSERVE_VERSION = "v0.14.0"
IMAGES = {
    "sklearn": f"kserve/sklearnserver:{KSERVE_VERSION}",
    "xgboost": f"kserve/xgbserver:{KSERVE_VERSION}",
    "lightgbm": f"kserve/lgbserver:{KSERVE_VERSION}",
    "huggingface": f"kserve/huggingfaceserver:{KSERVE_VERSION}",
    "pytorch": "pytorch/torchserve-kfs:0.9.0",
    "tensorflow": "tensorflow/serving:2.6.2",
    "onnx": "nvcr.io/nvidia/tritonserver:23.05-py3",
    "triton": "nvcr.io/nvidia/tritonserver:23.05-py3",
    "tensorrt": "nvcr.io/nvidia/tritonserver:23.05-py3",
    "vllm": "vllm/vllm-openai:v0.6.3",
}
POD_SPEC_KEYS = (
    "nodeSelector",
    "tolerations",
    "affinity",
    "serviceAccountName",
    "schedulerName",
    "priorityClassName",
    "volumes",
    "imagePullSecrets",
    "runtimeClassName",
)


def start(ctx: SimContext) -> None:
    """Start the InferenceService controller."""
    InferenceServiceController(ctx)


def revision_name(name: str, number: int) -> str:
    return f"{name}-predictor-{number:05d}"


class InferenceServiceController(Controller):
    kind = "InferenceService"
    child_kinds = ("Deployment", "Service")
    component = "kserve-controller-manager"

    def pod_template(self, isvc: dict[str, Any]) -> dict[str, Any]:
        meta, spec = isvc["metadata"], isvc.get("spec") or {}
        name = meta["name"]
        predictor = spec.get("predictor") or {}
        labels = {
            ISVC_LABEL: name,
            "component": "predictor",
            "app": f"isvc.{name}-predictor",
            "serving.kserve.io/deploymentMode": self.mode(isvc),
        }
        pod_spec: dict[str, Any] = {
            k: copy.deepcopy(predictor[k]) for k in POD_SPEC_KEYS if k in predictor
        }
        model = predictor.get("model")
        if predictor.get("containers"):
            containers = copy.deepcopy(predictor["containers"])
            containers[0].setdefault("name", "kserve-container")
        else:
            model = model or {}
            fmt = ((model.get("modelFormat") or {}).get("name") or "huggingface").lower()
            runtime = (model.get("runtime") or "").lower()
            image = next((img for key, img in IMAGES.items() if key in runtime), None)
            image = image or IMAGES.get(fmt, IMAGES["huggingface"])
            containers = [
                {
                    "name": "kserve-container",
                    "image": image,
                    "args": [f"--model_name={name}", "--model_dir=/mnt/models", "--http_port=8080"],
                    "ports": [{"name": "http1", "containerPort": 8080, "protocol": "TCP"}],
                    "resources": copy.deepcopy(model.get("resources") or {}),
                }
            ]
            if model.get("env"):
                containers[0]["env"] = copy.deepcopy(model["env"])
        pod_spec["containers"] = containers
        storage = (model or {}).get("storageUri")
        if storage:
            pod_spec["initContainers"] = [
                {
                    "name": "storage-initializer",
                    "image": f"kserve/storage-initializer:{KSERVE_VERSION}",
                    "args": [storage, "/mnt/models"],
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "100Mi"},
                        "limits": {"cpu": "1", "memory": "1Gi"},
                    },
                    "volumeMounts": [
                        {"name": "kserve-provision-location", "mountPath": "/mnt/models"}
                    ],
                }
            ]
            pod_spec.setdefault("volumes", []).append(
                {"name": "kserve-provision-location", "emptyDir": {}}
            )
            containers[0].setdefault("volumeMounts", []).append(
                {"name": "kserve-provision-location", "mountPath": "/mnt/models", "readOnly": True}
            )
        annotations = sim_annotations(isvc)
        annotations.setdefault(PROFILE, "serving")
        annotations.setdefault(LOG_KIND, "serving")
        if not gpu_request(pod_spec) and annotations[PROFILE] == "serving":
            annotations[PROFILE] = "none"
        return {"metadata": {"labels": labels, "annotations": annotations}, "spec": pod_spec}

    def mode(self, isvc: dict[str, Any]) -> str:
        return (isvc["metadata"].get("annotations") or {}).get(MODE) or "Serverless"

    # ----- reconcile ------------------------------------------------------------------------
    def reconcile(self, isvc: dict[str, Any]) -> None:
        meta, spec = isvc["metadata"], isvc.get("spec") or {}
        name, ns = meta["name"], meta["namespace"]
        predictor = spec.get("predictor") or {}
        low = predictor.get("minReplicas")
        low = 1 if low is None else int(low)
        high = max(int(predictor.get("maxReplicas") or 0), low, 1)
        status = copy.deepcopy(isvc.get("status") or {})
        comp = status.setdefault("components", {}).setdefault("predictor", {})
        number = int((comp.get("latestCreatedRevision") or "-0").rsplit("-", 1)[-1] or 0)
        template = self.pod_template(isvc)
        if self.mode(isvc) in kserve_revisions.MODES:
            pods, ok, why = kserve_revisions.reconcile(self, isvc, status, template, low)
            if f"{name}-predictor" not in self.children(isvc, "Service"):
                self.create_child("Service", self._service(isvc))
            self._serverless_status(isvc, status, pods, ok, why)
            return
        dep_name = f"{name}-predictor"
        dep = self.children(isvc, "Deployment").get(dep_name)
        spec_changed = status.get("observedGeneration") != meta.get("generation", 1)
        if dep is None:
            number = max(number, 0) + 1
            dep = self.create_child("Deployment", self._deployment(isvc, template, low))
        else:
            current = int((dep.get("spec") or {}).get("replicas", 1))
            wanted = low if spec_changed and low == 0 else min(max(current, low), high)
            if dep["spec"].get("template") != template or current != wanted:
                if dep["spec"].get("template") != template:
                    number += 1

                def change(
                    obj: dict[str, Any], t: dict[str, Any] = template, n: int = wanted
                ) -> None:
                    obj["spec"]["template"], obj["spec"]["replicas"] = t, n

                dep = self.store.mutate(self.indexes["Deployment"].rt, ns, dep_name, change)
        if f"{name}-predictor" not in self.children(isvc, "Service"):
            self.create_child("Service", self._service(isvc))
        self._status(isvc, status, comp, dep, max(number, 1))

    def _deployment(
        self, isvc: dict[str, Any], template: dict[str, Any], replicas: int
    ) -> dict[str, Any]:
        meta = isvc["metadata"]
        labels = dict(template["metadata"]["labels"])
        return {
            "metadata": {
                "name": f"{meta['name']}-predictor",
                "namespace": meta["namespace"],
                "labels": labels,
                "annotations": {MODE: self.mode(isvc)},
                "ownerReferences": [owner_reference(isvc)],
            },
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": labels["app"]}},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                },
                "template": template,
            },
        }

    def _service(self, isvc: dict[str, Any]) -> dict[str, Any]:
        meta = isvc["metadata"]
        rng = self.store.rng()
        ip = f"10.96.{rng.randrange(1, 255)}.{rng.randrange(2, 255)}"
        return {
            "metadata": {
                "name": f"{meta['name']}-predictor",
                "namespace": meta["namespace"],
                "labels": {ISVC_LABEL: meta["name"], "component": "predictor"},
                "ownerReferences": [owner_reference(isvc)],
            },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": ip,
                "clusterIPs": [ip],
                "selector": {"app": f"isvc.{meta['name']}-predictor"},
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
                "sessionAffinity": "None",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster",
            },
            "status": {"loadBalancer": {}},
        }

    def predictor_pods(self, dep: dict[str, Any] | None) -> list[PodInfo]:
        if dep is None:
            return []
        pods: list[PodInfo] = []
        rs_index, pod_index = child_index(self.ctx, "ReplicaSet"), child_index(self.ctx, "Pod")
        for rs in rs_index.children(dep["metadata"]["uid"]).values():
            pods.extend(
                p
                for p in pod_index.children(rs["metadata"]["uid"]).values()
                if p.active or p.phase == "Failed"
            )
        return pods

    def _status(
        self,
        isvc: dict[str, Any],
        status: dict[str, Any],
        comp: dict[str, Any],
        dep: dict[str, Any] | None,
        number: int,
    ) -> None:
        meta = isvc["metadata"]
        name, ns = meta["name"], meta["namespace"]
        now = self.ctx.clock.iso()
        dstatus = (dep or {}).get("status") or {}
        ready = int(dstatus.get("readyReplicas", 0))
        dgen = (dep or {}).get("metadata", {}).get("generation", 1)
        progressing = find_condition(dstatus.get("conditions") or [], "Progressing") or {}
        rolled = (
            dstatus.get("observedGeneration") == dgen
            and progressing.get("reason") == "NewReplicaSetAvailable"
            and ready > 0
        )
        created = revision_name(name, number)
        comp["latestCreatedRevision"] = created
        if rolled:
            comp["latestReadyRevision"] = created
        if comp.get("latestReadyRevision"):
            comp["traffic"] = [
                {
                    "revisionName": comp["latestReadyRevision"],
                    "percent": 100,
                    "latestRevision": rolled,
                }
            ]
        comp["url"] = f"http://{name}-predictor-{ns}.example.com"
        status["url"] = f"http://{name}-{ns}.example.com"
        status["address"] = {"url": f"http://{name}-predictor.{ns}.svc.cluster.local"}
        conditions = [dict(c) for c in status.get("conditions") or []]
        ingress = f"{name}-predictor" in self.children(isvc, "Service")
        predictor_ready = ready > 0
        why = ("MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        _knative(
            conditions,
            "IngressReady",
            ingress,
            ("IngressNotConfigured", "Ingress has not been configured"),
            now,
        )
        _knative(conditions, "PredictorReady", predictor_ready, why, now)
        _knative(conditions, "Ready", ingress and predictor_ready, why, now)
        conditions.sort(key=lambda c: c["type"])
        status["conditions"] = conditions
        status["modelStatus"] = self._model_status(
            status.get("modelStatus") or {}, self.predictor_pods(dep), predictor_ready
        )
        status["observedGeneration"] = meta.get("generation", 1)
        status["deploymentMode"] = self.mode(isvc)
        self.write_status(isvc, status)

    def _serverless_status(
        self,
        isvc: dict[str, Any],
        status: dict[str, Any],
        pods: list[PodInfo],
        ready: bool,
        why: tuple[str, str] | None,
    ) -> None:
        """Status of a Serverless isvc: its routes serve while a revision with traffic is
        ready; a latest revision that is not ready shows in LatestDeploymentReady."""
        meta = isvc["metadata"]
        name, ns = meta["name"], meta["namespace"]
        now = self.ctx.clock.iso()
        status["components"]["predictor"]["url"] = f"http://{name}-predictor.{ns}.example.com"
        status["url"] = f"http://{name}.{ns}.example.com"
        status["address"] = {"url": f"http://{name}.{ns}.svc.cluster.local"}
        conditions = [dict(c) for c in status.get("conditions") or []]
        unavailable = (
            "RevisionMissing",
            f'Configuration "{name}-predictor" does not have any ready Revision.',
        )
        _knative(conditions, "IngressReady", True, ("", ""), now)
        _knative(conditions, "LatestDeploymentReady", why is None, why or ("", ""), now)
        _knative(conditions, "PredictorConfigurationReady", why is None, why or ("", ""), now)
        _knative(conditions, "PredictorReady", ready, unavailable, now)
        _knative(conditions, "PredictorRouteReady", ready, unavailable, now)
        _knative(conditions, "Ready", ready, unavailable, now)
        conditions.sort(key=lambda c: c["type"])
        status["conditions"] = conditions
        status["modelStatus"] = self._model_status(status.get("modelStatus") or {}, pods, ready)
        status["observedGeneration"] = meta.get("generation", 1)
        status["deploymentMode"] = self.mode(isvc)
        self.write_status(isvc, status)

    def _model_status(
        self, old: dict[str, Any], pods: list[PodInfo], ready: bool
    ) -> dict[str, Any]:
        failed = [
            p for p in pods if p.phase == "Failed" or p.waiting in ("CrashLoopBackOff", "Error")
        ]
        live = [p for p in pods if p.active]
        if ready:
            state = "Loaded"
        elif not live and not failed:
            state = "Pending"
        elif failed and not any(p.ready for p in live):
            state = "FailedToLoad"
        elif any(p.running for p in live):
            state = "Loading"
        else:
            state = "Pending"
        was_loaded = ((old.get("states") or {}).get("activeModelState")) == "Loaded"
        result: dict[str, Any] = {
            "transitionStatus": {
                "Loaded": "UpToDate",
                "FailedToLoad": "BlockedByFailedLoad",
            }.get(state, "InProgress"),
            "states": {
                "activeModelState": "Loaded" if ready or was_loaded else state,
                "targetModelState": state,
            },
            "copies": {"failedCopies": len(failed), "totalCopies": len(live)},
        }
        if state == "FailedToLoad":
            code = next((p.exit_code for p in failed if p.exit_code is not None), 1)
            result["lastFailureInfo"] = {
                "reason": "ModelLoadFailed",
                "message": "Model server container failed to load the model",
                "exitCode": code,
            }
        return result


def _knative(
    conditions: list[dict[str, Any]], type_: str, ok: bool, why: tuple[str, str], now: str
) -> None:
    """Knative-style condition: {type, status, lastTransitionTime[, reason, message, severity]}."""
    status = "True" if ok else "False"
    old = next((c for c in conditions if c["type"] == type_), None)
    cond: dict[str, Any] = {"type": type_, "status": status}
    if not ok:
        cond.update(reason=why[0], message=why[1])
    cond["lastTransitionTime"] = (
        old["lastTransitionTime"] if old and old["status"] == status else now
    )
    if old:
        conditions.remove(old)
    conditions.append(cond)
