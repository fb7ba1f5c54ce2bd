"""The scale presets, `large` and `huge`: GPU pools, DaemonSet pods on every node, training
jobs on whole nodes, vLLM Deployments, GPU notebooks, and CPU services filling the pod count —
owners and their bound, Running pods all written directly."""

from __future__ import annotations

import random
from typing import Any

from ..kinds import by_kind
from ..podspec import DEFAULT_TOLERATIONS, PROFILE, owner_reference
from ..runtime import SimContext
from .manifests import (
    A100,
    H100,
    L4,
    TOLERATE_GPU,
    VLLM,
    container,
    daemonset,
    gpu_operator_objects,
    training_job,
    write_namespaces,
)
from .running_pods import NodeSlot, PodGroup, PodWriter, short_hash

_SCALE_POOLS = (  # share of GPU nodes, pool, model, cpu, memory Gi, product label
    (0.4, "p5-h100", "H100-80GB-HBM3", 192, 2048, H100),
    (0.5, "p4de-a100", "A100-SXM4-80GB", 96, 1152, A100),
    (0.1, "g6-l4", "L4", 192, 768, L4),
)


class ScaleBuilder:
    """Writes `large` or `huge` (see the module docstring)."""

    def __init__(self, ctx: SimContext, name: str) -> None:
        self.ctx, self.store = ctx, ctx.store
        self.gpu_nodes, self.system_nodes, self.teams = (
            (1000, 8, 5) if name == "large" else (10000, 40, 50)
        )
        self.rng = random.Random(ctx.seed)
        self.now = ctx.clock.now()
        self.writer = PodWriter(ctx, self.rng)
        self.nodes = self.writer.nodes

    def iso(self, ago: float) -> str:
        return self.ctx.clock.iso(self.now - ago)

    def create(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        return self.store.create(by_kind(kind), obj)

    def build(self) -> None:
        team_names = tuple(f"team-{i:02d}" for i in range(self.teams))
        write_namespaces(self.ctx, team_names)
        self._nodes()
        daemonsets = gpu_operator_objects(self.ctx)
        daemonsets["kube-proxy"] = self.create(
            "DaemonSet",
            daemonset(
                "kube-proxy",
                "kube-system",
                "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/kube-proxy:v1.30.0-minimal-eksbuild.3",
                None,
                None,
            ),
        )
        daemonsets["node-exporter"] = self.create(
            "DaemonSet",
            daemonset(
                "node-exporter", "monitoring", "quay.io/prometheus/node-exporter:v1.8.1", 9100, None
            ),
        )
        for ds in daemonsets.values():
            self._daemon_pods(ds)
        gpu = [n for n in self.nodes if n.free_gpus]
        self.rng.shuffle(gpu)
        train, serve, dev = (
            gpu[: len(gpu) * 6 // 10],
            gpu[len(gpu) * 6 // 10 : len(gpu) * 85 // 100],
            gpu[len(gpu) * 85 // 100 :],
        )
        self._training(train, team_names)
        self._serving(serve, team_names)
        self._notebooks(dev, team_names)
        self._cpu_services(team_names, self.gpu_nodes * 20 - self.writer.pods)

    def _nodes(self) -> None:
        created = self.iso(30 * 86400)
        index = 0
        for share, pool, model, cpu, mem, product in _SCALE_POOLS:
            for _ in range(int(self.gpu_nodes * share)):
                self.writer.node(index, pool, model, 8, cpu, mem, created, product)
                index += 1
        for _ in range(self.system_nodes):
            self.writer.node(index, "system", None, 0, 16, 64, created, None)
            index += 1

    def _daemon_pods(self, ds: dict[str, Any]) -> None:
        tmpl = ds["spec"]["template"]
        gpu_only = "nodeSelector" in tmpl["spec"]
        nodes = [n for n in self.nodes if n.free_gpus or not gpu_only]
        labels = {
            "app": ds["metadata"]["name"],
            "controller-revision-hash": short_hash(ds["metadata"]["name"]),
            "pod-template-generation": "1",
        }
        extra = {k: v for k, v in tmpl["spec"].items() if k != "containers"}
        extra["tolerations"] = [*extra.get("tolerations", []), *DEFAULT_TOLERATIONS]
        app = PodGroup(
            ds["metadata"]["namespace"],
            ds,
            [dict(c) for c in tmpl["spec"]["containers"]],
            labels,
            extra,
            {},
            self.iso(29 * 86400),
        )
        name = ds["metadata"]["name"]
        for node in nodes:
            self.writer.pod(app, f"{name}-{self.writer.suffix()}", node)
        ready = len(nodes)
        ds["status"] = {
            "currentNumberScheduled": ready,
            "desiredNumberScheduled": ready,
            "numberAvailable": ready,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "updatedNumberScheduled": ready,
            "observedGeneration": 1,
        }
        self.store.replace(by_kind("DaemonSet"), ds)

    def _training(self, nodes: list[NodeSlot], teams: tuple[str, ...]) -> None:
        # a job stays within one GPU model
        nodes = sorted(nodes, key=lambda n: (n.product, n.name))
        i = job_no = 0
        while i < len(nodes):
            size = self.rng.choice((1, 2, 2, 4, 4, 8, 16))
            group = [n for n in nodes[i : i + size] if n.product == nodes[i].product]
            i += len(group)
            job_no += 1
            ns, name = (
                teams[job_no % len(teams)],
                f"train-{job_no:05d}-{short_hash(str(job_no))[:5]}",
            )
            replicas = {"Master": (1, 8)} | (
                {"Worker": (len(group) - 1, 8)} if len(group) > 1 else {}
            )
            job = training_job(
                "PyTorchJob", name, ns, replicas, group[0].product, {PROFILE: "training"}
            )
            started = self.iso(self.rng.uniform(600, 5 * 86400))
            job["metadata"]["creationTimestamp"] = started
            job["status"] = {
                "conditions": [
                    {
                        "type": t,
                        "status": "True",
                        "reason": f"PyTorchJob{t}",
                        "message": f"PyTorchJob {name} is {t.lower()}.",
                        "lastUpdateTime": started,
                        "lastTransitionTime": started,
                    }
                    for t in ("Created", "Running")
                ],
                "replicaStatuses": {
                    t: {
                        "active": c,
                        "selector": f"training.kubeflow.org/job-name={name},training.kubeflow.org/operator-name=pytorchjob-controller,training.kubeflow.org/replica-type={t.lower()}",
                    }
                    for t, (c, _) in replicas.items()
                },
                "startTime": started,
            }
            job = self.create("PyTorchJob", job)
            for rtype, (count, _) in replicas.items():
                rs = job["spec"]["pytorchReplicaSpecs"][rtype]
                tspec = rs["template"]["spec"]
                extra = {
                    "restartPolicy": rs["restartPolicy"],
                    "tolerations": [*tspec["tolerations"], *DEFAULT_TOLERATIONS],
                    "nodeSelector": tspec["nodeSelector"],
                }
                app = PodGroup(
                    ns,
                    job,
                    [dict(c) for c in tspec["containers"]],
                    {},
                    extra,
                    rs["template"]["metadata"].get("annotations", {}),
                    started,
                )
                for index in range(count):
                    labels = {
                        "training.kubeflow.org/operator-name": "pytorchjob-controller",
                        "training.kubeflow.org/job-name": name,
                        "training.kubeflow.org/replica-type": rtype.lower(),
                        "training.kubeflow.org/replica-index": str(index),
                    }
                    if rtype == "Master":
                        labels["training.kubeflow.org/job-role"] = "master"
                    node = group.pop()
                    self.writer.pod(app, f"{name}-{rtype.lower()}-{index}", node, 8, labels)

    def _deployment(
        self,
        ns: str,
        name: str,
        replicas: int,
        containers: list[dict[str, Any]],
        extra: dict[str, Any],
        annotations: dict[str, str],
        labels: dict[str, str],
    ) -> PodGroup:
        """A Deployment + its ReplicaSet with statuses for `replicas` Running pods; the pods' PodGroup."""
        tmpl = {
            "metadata": {"labels": dict(labels), "annotations": annotations},
            "spec": {"containers": containers, **extra},
        }
        started = self.iso(self.rng.uniform(3600, 20 * 86400))
        h = short_hash(ns + name)
        ready = {
            "replicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "updatedReplicas": replicas,
            "observedGeneration": 1,
        }
        conds = [
            {
                "type": t,
                "status": "True",
                "reason": r,
                "message": m,
                "lastUpdateTime": started,
                "lastTransitionTime": started,
            }
            for t, r, m in (
                ("Available", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                (
                    "Progressing",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{name}-{h}" has successfully progressed.',
                ),
            )
        ]
        dep = self.create(
            "Deployment",
            {
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": dict(labels),
                    "annotations": {"deployment.kubernetes.io/revision": "1"},
                    "creationTimestamp": started,
                },
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": dict(labels)},
                    "template": tmpl,
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                    },
                    "revisionHistoryLimit": 10,
                    "progressDeadlineSeconds": 600,
                },
                "status": {**ready, "conditions": conds},
            },
        )
        pod_labels = {**labels, "pod-template-hash": h}
        rs_tmpl = {
            "metadata": {"labels": pod_labels, "annotations": annotations},
            "spec": tmpl["spec"],
        }
        rs = self.create(
            "ReplicaSet",
            {
                "metadata": {
                    "name": f"{name}-{h}",
                    "namespace": ns,
                    "labels": pod_labels,
                    "annotations": {
                        "deployment.kubernetes.io/revision": "1",
                        "deployment.kubernetes.io/desired-replicas": str(replicas),
                    },
                    "ownerReferences": [owner_reference(dep)],
                    "creationTimestamp": started,
                },
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": pod_labels},
                    "template": rs_tmpl,
                },
                "status": {**ready, "fullyLabeledReplicas": replicas},
            },
        )
        return PodGroup(
            ns, rs, [dict(c) for c in containers], pod_labels, extra, annotations, started
        )

    def _serving(self, nodes: list[NodeSlot], teams: tuple[str, ...]) -> None:
        nodes = sorted(nodes, key=lambda n: (n.product, n.name))
        i = n = 0
        while i < len(nodes):
            size = self.rng.choice((1, 2, 4, 8))
            group = [x for x in nodes[i : i + size] if x.product == nodes[i].product]
            i += len(group)
            n += 1
            gpus = self.rng.choice((1, 2, 4))
            ns, name = teams[n % len(teams)], f"vllm-{n:04d}"
            c = container(
                "vllm",
                VLLM,
                gpus,
                cpu=str(6 * gpus),
                memory=f"{48 * gpus}Gi",
                command=[
                    "python3",
                    "-m",
                    "vllm.entrypoints.openai.api_server",
                    "--tensor-parallel-size",
                    str(gpus),
                ],
                port=8000,
            )
            extra = {
                "tolerations": [TOLERATE_GPU, *DEFAULT_TOLERATIONS],
                "nodeSelector": {"nvidia.com/gpu.product": group[0].product},
            }
            per_node = 8 // gpus
            app = self._deployment(
                ns,
                name,
                per_node * len(group),
                [c],
                extra,
                {PROFILE: "serving"},
                {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": name},
            )
            rs_name = app.owner_name
            for node in group:
                for _ in range(per_node):
                    self.writer.pod(app, f"{rs_name}-{self.writer.suffix()}", node, gpus)

    def _notebooks(self, nodes: list[NodeSlot], teams: tuple[str, ...]) -> None:
        per_team: dict[str, list[NodeSlot]] = {}
        for k, node in enumerate(nodes):
            for _ in range(self.rng.choice((0, 1, 2, 4))):
                per_team.setdefault(teams[k % len(teams)], []).append(node)
        for ns, placed in per_team.items():
            c = container(
                "notebook",
                "jupyter/pytorch-notebook:cuda12-2024-05-27",
                1,
                cpu="2",
                memory="16Gi",
                port=8888,
            )
            extra = {"tolerations": [TOLERATE_GPU, *DEFAULT_TOLERATIONS]}
            app = self._deployment(
                ns,
                "gpu-notebooks",
                len(placed),
                [c],
                extra,
                {PROFILE: "idle"},
                {"app": "gpu-notebooks"},
            )
            for node in placed:
                self.writer.pod(app, f"{app.owner_name}-{self.writer.suffix()}", node, 1)

    def _cpu_services(self, teams: tuple[str, ...], total: int) -> None:
        kinds = (
            ("feature-store", "redis:7.2"),
            ("data-loader", "python:3.11-slim"),
            ("tokenizer-svc", "ghcr.io/huggingface/text-embeddings-inference:cpu-1.5"),
        )
        apps = [(ns, name, image) for ns in teams for name, image in kinds]
        share, cursor = total // len(apps), 0
        for k, (ns, name, image) in enumerate(apps):
            count = share + (1 if k < total % len(apps) else 0)
            c = container(name, image, cpu="250m", memory="512Mi")
            app = self._deployment(ns, name, count, [c], {}, {}, {"app": name})
            rs_name = app.owner_name
            for _ in range(count):
                node = self.nodes[cursor % len(self.nodes)]
                cursor += 1
                while node.pods >= 100:
                    node = self.nodes[cursor % len(self.nodes)]
                    cursor += 1
                self.writer.pod(app, f"{rs_name}-{self.writer.suffix()}", node)
