"""Triage rule `idle-allocated`: GPUs held by a pod and idle for the idle time. No Textual.

A unit (a whole GPU or a MIG instance) counts when telemetry attributes it to pods, its
utilization is below `idle_util`, and it has been so for `idle_minutes` — the duration from
Prometheus history or from what this console has seen (`console.triage.idle`), clamped to
the pod's start (a GPU idle before the pod got it is not the pod's waste). One finding per
holding workload (job, model server, Deployment / StatefulSet / notebook, else the pod);
a unit shared by several pods (time-slicing) counts for each as its share. Severity warning.

- Undated: an allocation idle during everything this console has seen, when that is less
  than the idle time and there is no Prometheus history (a one-shot `kmc triage` on a direct
  scrape), is an *info* finding saying the duration is not known yet — once its pod has run
  for the idle time (a pod just started may well be loading data).
- Attribution: when a node's telemetry names no pod at all (an exporter without the
  kubelet's pod-resources mapping), the cluster's pods on it hold its GPUs; only when every
  GPU of the node is idle can their GPUs be said idle (data `attribution`: `cluster`).
- Pods starting, crash-looping or terminating are left to other rules (crashloop), as are
  jobs the stalled-job rule reports: their idle GPUs are that finding's evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from console.metrics.model import SlotKey
from console.triage.engine import Rule, Thresholds, TriageInputs
from console.triage.idle import FAILED, PROMETHEUS, Held, IdleUnit, idle_units
from console.triage.model import INFO, WARNING, Finding, ObjectRef
from console.triage.owners import duration, gpus_text, names, owner_of, what_of

RULE = "idle-allocated"
RUNNING = ("Running", "NotReady")
"""kubectl STATUS of the pods whose idle GPUs count: not starting, crashing or leaving."""
MIN_LOOKBACK = 6 * 3600.0
"""Prometheus history read back at least this far (or 4 × the idle time)."""


def unit_label(key: SlotKey) -> str:
    if len(key) == 3:
        return f"{key[0]} GPU {key[1]} MIG {key[2]}"
    return f"{key[0]} GPU {key[1]}"


def _action(ref: ObjectRef, what: str, pods: list[Any]) -> tuple[str, str]:
    kubeflow = next((p.labels["notebook-name"] for p in pods if "notebook-name" in p.labels), "")
    if kubeflow:  # the Notebook controller would scale its StatefulSet back up
        return (
            f"stop the notebook: kubectl annotate notebook {kubeflow} -n {ref.namespace} "
            "kubeflow-resource-stopped=true (its controller would undo a scale)",
            "",
        )
    if ref.kind in ("deployments", "statefulsets", "inferenceservices"):
        return f"scale the {what} to 0 (s) to free its GPUs, or delete it", "s"
    if ref.kind == "llminferenceservices":
        return "scale it down (spec.replicas) to free its GPUs, or delete it", ""
    if ref.view == "jobs":
        return "delete the job (ctrl+d) or suspend it (:suspend) to free its GPUs", "ctrl+d"
    return "delete the pod (kubectl delete pod) to free its GPUs", ""


def idle_allocated(inputs: TriageInputs, t: Thresholds) -> Iterator[Finding]:
    store = inputs.store
    if store is None or not hasattr(store, "held_units") or inputs.telemetry.startswith("none"):
        inputs.notes.append(f"{RULE} skipped: no GPU telemetry")
        return
    threshold = max(0.0, t.idle_minutes * 60.0)
    lookback = max(MIN_LOOKBACK, 4 * threshold)
    ledger = _by_ledger(inputs, store, t.idle_util)
    units, how = idle_units(inputs.state, store, inputs.now, t.idle_util, lookback, ledger)
    inputs.sources["idle_duration"] = how
    if inputs.state.get(FAILED):
        inputs.notes.append(f"{RULE}: Prometheus history could not be read; idle time {how}")
    groups: dict[ObjectRef, list[tuple[IdleUnit, Any, float, float]]] = {}
    undated: dict[ObjectRef, list[tuple[IdleUnit, Any, float, float]]] = {}
    watched = inputs.now - min(
        (u.since for u in units.values() if u.throughout), default=inputs.now
    )
    weights = _mig_weights(store, units)
    for unit in units.values():
        for i, key in enumerate(unit.pods):
            share = unit.shares[i] if i < len(unit.shares) else 1.0 / len(unit.pods)
            share *= weights.get(unit.key, 1.0)
            if inputs.namespace and key[0] != inputs.namespace:
                continue
            pod = inputs.session.get("pods", key)
            if pod is None or not pod.holds_resources or pod.status not in RUNNING:
                continue  # gone or done (telemetry lags), starting, or crashing (crashloop)
            start = max(unit.since, pod.started) if pod.started else unit.since
            entry = (unit, pod, share, start)
            if inputs.now - start >= threshold:
                groups.setdefault(owner_of(inputs.session, pod), []).append(entry)
            elif unit.throughout and start == unit.since and inputs.now - pod.started >= threshold:
                # idle all the time this console has watched, which is too short to tell, and
                # the pod is old enough to have been idle for the idle time: say so (info)
                undated.setdefault(owner_of(inputs.session, pod), []).append(entry)
    for ref, held in groups.items():
        if not _stalled(inputs, t, ref):
            yield _finding(inputs, t, ref, held)
    for ref, held in undated.items():
        if ref not in groups and not _stalled(inputs, t, ref):
            yield _finding(inputs, t, ref, held, watched)


def _mig_weights(store: Any, units: dict[SlotKey, IdleUnit]) -> dict[SlotKey, float]:
    """A MIG instance's part of its GPU (`3g.40gb` on an A100: 3 of 7 compute slices), so a
    slice does not count as a whole GPU."""
    out: dict[SlotKey, float] = {}
    for node in {key[0] for key in units if len(key) == 3}:
        for row in store.gpu_rows(node):
            if row.mig_id is None:
                continue
            head = row.profile.partition("g")[0]
            slices = int(head) if head.isascii() and head.isdigit() and len(head) <= 2 else 1
            total = 4 if "A30" in row.model else 7
            out[(node, row.index, row.mig_id)] = min(1.0, max(1, slices) / total)
    return out


def _by_ledger(inputs: TriageInputs, store: Any, below: float) -> list[Held]:
    """GPUs of nodes whose telemetry names no pod (an exporter without the kubelet's
    pod-resources mapping) while the cluster says GPU pods run there: when every GPU of the
    node is idle, those pods' GPUs are, each pod's share its request over the node's GPUs."""
    attributed = {key[0] for key, _, _ in store.held_units()}
    out: list[Held] = []
    for name, figures in store.nodes().items():
        if name in attributed or figures.max_util is None or figures.max_util >= below:
            continue
        pods = [
            p
            for p in inputs.session.pods_on_node(name)
            if p.gpus > 0 and p.holds_resources and p.status in RUNNING
        ]
        gpus = store.node_gpus(name)
        utils = [store.util((name, i)) for i in gpus]
        if not pods or not gpus or any(u is None or u >= below for u in utils):
            continue
        keys = tuple(p.key for p in pods)
        shares = tuple(min(1.0, p.gpus / len(gpus)) for p in pods)
        out.extend(((name, i), u, keys, shares) for i, u in zip(gpus, utils, strict=True))
    return out


def _stalled(inputs: TriageInputs, t: Thresholds, ref: ObjectRef) -> bool:
    """A job the stalled-job rule reports (its idle GPUs are that finding's evidence)."""
    if ref.view != "jobs" or not inputs.progress:
        return False
    job = inputs.session.get(ref.kind, ref.key)
    if job is None:
        return False
    progress = inputs.progress.get((job.kind, *ref.key)) or inputs.progress.get(ref.key)
    return progress is not None and progress.stalled(job.state, inputs.now, t.stall_minutes * 60)


def _finding(
    inputs: TriageInputs,
    t: Thresholds,
    ref: ObjectRef,
    held: list[tuple[IdleUnit, Any, float, float]],
    watched: float | None = None,
) -> Finding:
    """The warning; with `watched` (seconds the console has watched, too few to tell), the
    info finding of an allocation idle all that time."""
    now = inputs.now
    pods = list({pod.key: pod for _, pod, _, _ in held}.values())
    units = list(dict.fromkeys(unit.key for unit, _, _, _ in held))
    gpus = round(sum(share for _, _, share, _ in held), 3)
    since = min(start for _, _, _, start in held)
    hours = round(sum(share * (now - start) / 3600.0 for _, _, share, start in held), 2)
    utils = [u.util for u, _, _, _ in held if u.util is not None]
    util = max(utils) if utils else 0.0
    at_least = any(u.at_least and start == u.since for u, _, _, start in held)
    sources = {u.source for u, _, _, _ in held}
    seen = sorted(s for s in sources if s != PROMETHEUS)
    source = seen[0] if seen else PROMETHEUS  # the weaker source when they differ
    what = what_of(ref, pods)
    idle_for = ("≥ " if at_least else "") + duration(now - since)
    action, key = _action(ref, what, pods)
    ledger = sorted({u.key[0] for u, _, _, _ in held if u.ledger})
    title = f"{what} holds {gpus_text(gpus)} idle for {idle_for}"
    lasted = f"idle {idle_for} ({source})"
    if watched is not None:
        title = f"{what} holds {gpus_text(gpus)} idle; for how long is not known yet"
        lasted = (
            f"idle throughout the {duration(watched)} this console has watched ({source}), "
            f"short of {t.idle_minutes:g} min; without Prometheus history nothing tells before"
        )
        action = (
            "watch it (the triage screen dates it once it has seen the idle time) or give the "
            f"console Prometheus (--prometheus-url); then {action}"
        )
    return Finding(
        rule=RULE,
        severity=WARNING if watched is None else INFO,
        title=title,
        object=ref,
        evidence=(
            f"GPU utilization {util:.0f}% (below {t.idle_util:g}%) on "
            f"{names([unit_label(k) for k in units])}",
            lasted,
            f"pods: {names([p.name for p in pods])}",
            f"{hours:.1f} GPU-hours held idle so far",
            *(
                [f"telemetry names no pod on {names(ledger)}: held per the cluster, every GPU idle"]
                if ledger
                else []
            ),
        ),
        action=action,
        action_key=key,
        gpus=gpus,
        since=since,
        data={
            "util": round(util, 1),
            "minutes_idle": round((now - since) / 60.0, 1),
            "at_least": at_least or watched is not None,
            "undated": watched is not None,
            "gpus": gpus,
            "gpu_hours_idle": hours,
            "duration_source": source,
            "units": [unit_label(k) for k in units],
            "pods": [p.name for p in pods],
            "attribution": "cluster" if ledger else "telemetry",
        },
    )


RULES: tuple[Rule, ...] = (idle_allocated,)
