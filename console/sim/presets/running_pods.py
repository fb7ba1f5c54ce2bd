"""Pods written straight into the store, bound and Running with complete statuses: what the
scale presets use instead of a scheduling pass over 200,000 pods."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from ..kinds import by_kind
from ..nodes import make_node, node_ip
from ..podspec import DEFAULT_TOLERATIONS, SAFE_ALPHABET, owner_reference
from ..runtime import SimContext


def short_hash(text: str) -> str:
    """Ten safe characters derived from `text` (revision hashes, job name suffixes)."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return "".join(SAFE_ALPHABET[b % len(SAFE_ALPHABET)] for b in digest)[:10]


class NodeSlot:
    """A written node and what the pods placed on it have used so far."""

    __slots__ = ("free_gpus", "host_ip", "name", "next_ip", "pod_ip_prefix", "pods", "product")

    def __init__(self, name: str, host_ip: str, pod_ip_prefix: str, gpus: int, product: str | None):
        self.name, self.host_ip, self.pod_ip_prefix = name, host_ip, pod_ip_prefix
        self.next_ip = 2
        self.pods = 0
        self.free_gpus = gpus
        self.product = product


class PodGroup:
    """What all pods of one owner share (dicts shared between pods: never mutated after)."""

    __slots__ = ("annotations", "conds", "created", "cs", "labels", "ns", "owners", "qos", "spec")

    def __init__(
        self,
        ns: str,
        owner: dict[str, Any],
        containers: list[dict[str, Any]],
        labels: dict[str, str],
        extra_spec: dict[str, Any],
        annotations: dict[str, str],
        started: str,
    ) -> None:
        self.ns, self.labels, self.annotations, self.created = ns, labels, annotations, started
        self.owners = [owner_reference(owner)]
        for c in containers:
            c.setdefault("imagePullPolicy", "IfNotPresent")
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
        self.spec = {
            "containers": containers,
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
            "serviceAccountName": "default",
            "serviceAccount": "default",
            "securityContext": {},
            "enableServiceLinks": True,
            "priority": 0,
            "preemptionPolicy": "PreemptLowerPriority",
            "tolerations": DEFAULT_TOLERATIONS,
            **extra_spec,
        }
        self.conds = [
            {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": started}
            for t in (
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled",
            )
        ]
        self.cs = [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": c["image"].rsplit(":", 1)[0]
                + "@sha256:"
                + hashlib.sha256(c["image"].encode()).hexdigest(),
                "ready": True,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": started}},
                "lastState": {},
            }
            for c in containers
        ]
        limits = [c.get("resources", {}).get("limits", {}) for c in containers]
        self.qos = (
            "Guaranteed" if all("cpu" in lim and "memory" in lim for lim in limits) else "Burstable"
        )

    @property
    def owner_name(self) -> str:
        return self.owners[0]["name"]


class PodWriter:
    """Writes nodes, then Running pods placed on them, keeping count of what each node holds."""

    def __init__(self, ctx: SimContext, rng: random.Random) -> None:
        self.ctx, self.store, self.rng = ctx, ctx.store, rng
        self.pod_rt = by_kind("Pod")
        self.nodes: list[NodeSlot] = []
        self.pods = self.serial = 0

    def node(
        self,
        index: int,
        pool: str,
        model: str | None,
        gpus: int,
        cpu: int,
        mem: int,
        created: str,
        product: str | None,
    ) -> None:
        ip = node_ip(index)
        name = f"ip-{ip.replace('.', '-')}.ec2.internal"
        node = make_node(name, pool, model, gpus, cpu, mem, "eks", index=index, created=created)
        self.store.create(by_kind("Node"), node)
        prefix = node["spec"]["podCIDR"].rsplit(".", 1)[0] + "."
        self.nodes.append(NodeSlot(name, ip, prefix, gpus, product))

    def pod(
        self,
        group: PodGroup,
        name: str,
        node: NodeSlot,
        gpus: int = 0,
        labels: dict[str, str] | None = None,
    ) -> None:
        ip = node.pod_ip_prefix + str(node.next_ip)
        node.next_ip += 1
        node.pods += 1
        node.free_gpus -= gpus
        self.pods += 1
        getbits = self.rng.getrandbits
        self.store.create(
            self.pod_rt,
            {
                "metadata": {
                    "name": name,
                    "namespace": group.ns,
                    "labels": labels or group.labels,
                    "annotations": group.annotations,
                    "ownerReferences": group.owners,
                    "creationTimestamp": group.created,
                },
                "spec": {**group.spec, "nodeName": node.name},
                "status": {
                    "phase": "Running",
                    "conditions": group.conds,
                    "hostIP": node.host_ip,
                    "hostIPs": [{"ip": node.host_ip}],
                    "podIP": ip,
                    "podIPs": [{"ip": ip}],
                    "startTime": group.created,
                    "containerStatuses": [
                        {**cs, "containerID": f"containerd://{getbits(256):064x}"}
                        for cs in group.cs
                    ],
                    "qosClass": group.qos,
                },
            },
        )

    def suffix(self) -> str:
        """A unique 5-letter pod name suffix: a scrambled counter (a bijection mod 27⁵)."""
        self.serial += 1
        value, out = (self.serial * 7368787 + self.ctx.seed) % 27**5, []
        for _ in range(5):
            value, digit = divmod(value, 27)
            out.append(SAFE_ALPHABET[digit])
        return "".join(out)
