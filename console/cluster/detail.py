"""Detail panes: a `describe`-like summary, the object's YAML, its events.

`describe` works from cached records (no I/O); the annotations, which slim records do
not keep, come from the fetched object and are printed like `kubectl describe` does
(long and multi-line values folded under their key). `fetch_object` GETs the one object
raw, cleaning every string (Secrets are never fetched); `object_yaml` dumps it with
`yaml.safe_dump`. `events_for` reads the events cache (index by involved object uid)
or, without one, asks the API with a field selector.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import yaml

from console.cluster import records as r
from console.cluster.cache import ClusterCache
from console.cluster.connection import Connection
from console.cluster.kinds import KINDS, Kind
from console.text import clean

REFUSED_KINDS = frozenset({"secrets", "Secret"})
MAX_ANNOTATION_LEN = 140  # kubectl describe's maxAnnotationLen: longer values are folded
SKIPPED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
LABEL_WIDTH = 16  # the width of "Key:" before the value in describe's lines


def _age(seconds: float) -> str:
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _when(stamp: float, now: float) -> str:
    return f"{_age(now - stamp)} ago" if stamp else "-"


def _lines(pairs: Iterable[tuple[str, object]]) -> list[str]:
    """`Key:     value` lines; a multi-line value continues under the first line's value."""
    indent = "\n" + " " * LABEL_WIDTH
    return [
        f"{k + ':':<{LABEL_WIDTH}}{str(v).replace(chr(10), indent)}"
        for k, v in pairs
        if v not in (None, "", (), {})
    ]


def _conditions(conds: tuple[r.Cond, ...], now: float) -> list[str]:
    out = ["Conditions:"] if conds else []
    width = max((len(c.type) + 2 for c in conds), default=0)  # NetworkUnavailable is 18
    for c in conds:
        text = f"  {c.type:<{max(18, width)}}{c.status:<8}{c.reason}"
        if c.message:
            text += f" — {c.message}"
        out.append(text + f"  ({_when(c.since, now)})")
    return out


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _label_lines(labels: dict[str, str]) -> str:
    """Labels one per line, like `kubectl describe`."""
    return "\n".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


def _gpus(request: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in sorted(request.items()))


def annotation_lines(annotations: Mapping[str, str]) -> list[str]:
    """`Annotations:` as `kubectl describe` prints it: sorted, one `key: value` per line;
    a value that is long or spans lines goes under its key, indented, folded at
    `MAX_ANNOTATION_LEN` (shown in full, never cut). kubectl's last-applied copy is left out."""
    indent = " " * LABEL_WIDTH
    keys = sorted(k for k in annotations if k not in SKIPPED_ANNOTATIONS)
    if not keys:
        return [f"{'Annotations:':<{LABEL_WIDTH}}<none>"]
    out: list[str] = []
    for key in keys:
        value = str(annotations[key]).removesuffix("\n")
        head = f"{'Annotations:' if not out else '':<{LABEL_WIDTH}}"
        if len(key) + len(value) + 2 <= MAX_ANNOTATION_LEN and "\n" not in value:
            out.append(f"{head}{key}: {value}")
            continue
        out.append(f"{head}{key}:")
        for part in value.split("\n"):
            folded = textwrap.wrap(
                part, MAX_ANNOTATION_LEN - 2, drop_whitespace=False, break_on_hyphens=False
            )
            out.extend(f"{indent}  {piece}" for piece in folded or [""])
    return out


def describe(
    record: Any,
    cache: ClusterCache | None = None,
    now: float | None = None,
    annotations: Mapping[str, str] | None = None,
) -> str:
    """A readable multi-line summary of a record (node, pod, job, server, event, namespace).
    With `annotations` (from the fetched object) an `Annotations:` section follows the
    labels (or the summary's first block)."""
    text = _describe(record, cache, now)
    if annotations is None:
        return text
    lines = text.split("\n")
    at = next((i + 1 for i, line in enumerate(lines) if line.startswith("Labels:")), None)
    if at is not None:  # after the last label
        while at < len(lines) and lines[at].startswith(" " * LABEL_WIDTH):
            at += 1
    else:
        at = next(
            (i for i, line in enumerate(lines) if line in ("Conditions:", "Containers:")),
            len(lines),
        )
    return "\n".join(lines[:at] + annotation_lines(annotations) + lines[at:])


def _describe(record: Any, cache: ClusterCache | None, now: float | None) -> str:
    now = time.time() if now is None else now
    if isinstance(record, r.NodeRecord):
        lines = _lines(
            [
                ("Node", record.name),
                ("Pool", record.pool),
                ("GPU", f"{record.gpu_product} ×{record.gpu_count}" if record.gpu_count else ""),
                ("Sharing", record.sharing if record.has_gpus else ""),
                ("Allocatable", _gpus(record.gpu_allocatable)),
                ("Capacity", _gpus(record.gpu_capacity)),
                ("CPU / memory", f"{record.cpu_allocatable} / {record.memory_allocatable}"),
                ("Cordoned", "yes" if record.unschedulable else "no"),
                ("Taints", ", ".join(str(t) for t in record.taints)),
                ("Kubelet", record.kubelet_version),
                ("OS image", record.os_image),
                ("Age", _age(now - record.created) if record.created else ""),
                ("Labels", _label_lines(record.labels)),
            ]
        )
        if cache is not None:
            usage = cache.ledger.node(record.name)
            lines += _lines([("GPUs requested", _gpus(dict(usage.requested)) or "0")])
        return "\n".join(lines + _conditions(record.conditions, now))
    if isinstance(record, r.PodRecord):
        lines = _lines(
            [
                ("Pod", f"{record.namespace}/{record.name}"),
                ("Node", record.node or "(not scheduled)"),
                ("Phase", record.phase),
                ("Status", record.status),
                ("Reason", record.reason if record.reason != record.status else ""),
                ("Owner", f"{record.owner_kind}/{record.owner_name}" if record.owner_kind else ""),
                ("GPU request", _gpus(record.gpu_request)),
                ("IP", record.pod_ip),
                ("Started", _when(record.started, now)),
                ("Terminating", _when(record.deleting, now) if record.deleting else ""),
                ("Pending", f"{record.scheduled_reason}: {record.scheduled_message}"
                 if record.scheduled_reason else ""),
                ("Labels", _label_lines(record.labels)),
            ]
        )  # fmt: skip
        lines.append("Containers:")
        for c in record.containers:
            kind = "sidecar " if c.sidecar else "init " if c.init else ""
            state = f"{c.state} {c.reason}".strip()
            if c.exit_code is not None:
                state += f" (exit {c.exit_code})"
            ready = "ready" if c.ready else "not ready"
            lines.append(f"  {kind}{c.name}: {state}, {ready}, restarts {c.restarts}")
            if c.last_termination:
                signal = c.last_signal
                code = f"signal {signal}" if signal else f"exit code {c.last_exit_code}"
                reason = f"{c.last_reason}, " if c.last_reason else ""
                when = f", {_when(c.last_finished, now)}" if c.last_finished else ""
                lines.append(f"    last state: terminated, {reason}{code}{when}")
            lines.append(f"    image {c.image}")
        return "\n".join(lines)
    if isinstance(record, r.JobRecord):
        roles = ", ".join(
            f"{x.name or 'pods'} {x.active} active/{x.desired} desired"
            + (f", {x.failed} failed" if x.failed else "")
            + (f" ({x.gpus_per_pod:g} GPU each)" if x.gpus_per_pod else "")
            for x in record.roles
        )
        lines = _lines(
            [
                (record.kind, f"{record.namespace}/{record.name}"),
                ("State", f"{record.state} {record.state_reason}".strip()),
                ("Message", record.state_message),
                ("Replicas", roles),
                ("GPUs", f"{record.gpus:g}"),
                ("Queue", record.queue),
                ("Runtime", " ".join(record.runtime).strip()),
                ("Suspended", "yes" if record.suspended else ""),
                ("Started", _when(record.started, now)),
                ("Completed", _when(record.completed, now) if record.completed else ""),
                ("Labels", _label_lines(record.labels)),
            ]
        )
        return "\n".join(lines + _conditions(record.conditions, now))
    if isinstance(record, r.IsvcRecord):
        lines = _lines(
            [
                (record.kind, f"{record.namespace}/{record.name}"),
                ("Ready", f"{record.ready} {record.ready_reason}".strip()),
                ("Message", record.ready_message),
                ("URL", record.url),
                ("Model", f"{record.model_format} ({record.runtime})".replace(" ()", "")),
                ("Storage", record.storage_uri),
                ("Mode", record.deployment_mode),
                ("Replicas", f"min {record.min_replicas} max {record.max_replicas}"
                 if record.replicas is None else f"{record.replicas} wanted"),
                ("GPUs per pod", f"{record.gpus_per_pod:g}"),
                ("Revision", record.latest_ready_revision),
                ("Latest created", record.latest_created_revision
                 if record.latest_created_revision != record.latest_ready_revision else ""),
                ("Rollout", record.rollout_message),
                ("Traffic", ", ".join(f"{t.revision} {t.percent}%" + (f" ({t.tag})" if t.tag else "")
                                      for t in record.traffic)),
                ("Model state", record.model_state),
            ]
        )  # fmt: skip
        return "\n".join(lines + _conditions(record.conditions, now))
    if isinstance(record, r.WorkloadRecord):
        lines = _lines(
            [
                (record.kind, f"{record.namespace}/{record.name}"),
                ("Replicas", f"{record.ready} ready / {record.desired} desired"),
                ("Updated", record.updated),
                ("Selector", _labels(record.selector)),
                ("GPU per pod", _gpus(record.gpu_request)),
                ("Images", ", ".join(record.images)),
                ("Labels", _label_lines(record.labels)),
            ]
        )
        return "\n".join(lines + _conditions(record.conditions, now))
    if isinstance(record, r.EventRecord):
        return "\n".join(
            _lines(
                [
                    ("Event", f"{record.type} {record.reason}"),
                    ("Object", f"{record.object_kind}/{record.object_name}"),
                    ("Message", record.message),
                    ("Count", record.count),
                    ("Last seen", _when(record.last_seen, now)),
                ]
            )
        )
    if isinstance(record, r.NamespaceRecord):
        return "\n".join(_lines([("Namespace", record.name), ("Phase", record.phase)]))
    raise TypeError(f"cannot describe {type(record).__name__}")


def _clean_tree(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(k): _clean_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_tree(v) for v in value]
    return value


def fetch_object(connection: Connection, kind: str | Kind, namespace: str, name: str) -> Any:
    """GET one object, every string cleaned, managedFields dropped. Never Secrets."""
    name_of_kind = kind.name if isinstance(kind, Kind) else kind
    if name_of_kind in REFUSED_KINDS:
        raise PermissionError("kmc never fetches Secrets")
    spec = kind if isinstance(kind, Kind) else KINDS[kind]
    body = orjson.loads(connection.get(spec.path(namespace or None, name)))
    if isinstance(body, dict) and isinstance(body.get("metadata"), dict):
        body["metadata"].pop("managedFields", None)
    return _clean_tree(body)


def as_yaml(body: Any) -> str:
    """A fetched object as YAML, in the API's field order."""
    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=120)


def annotations_of(body: Any) -> dict[str, str]:
    """`metadata.annotations` of a fetched object (empty when absent or malformed)."""
    metadata = body.get("metadata") if isinstance(body, dict) else None
    found = metadata.get("annotations") if isinstance(metadata, dict) else None
    if not isinstance(found, dict):
        return {}
    return {str(k): v if isinstance(v, str) else clean(v) for k, v in found.items()}


def object_yaml(connection: Connection, kind: str | Kind, namespace: str, name: str) -> str:
    """GET one object and return it as YAML (managedFields dropped). Never Secrets."""
    return as_yaml(fetch_object(connection, kind, namespace, name))


def events_for(
    cache: ClusterCache | None,
    uid: str,
    connection: Connection | None = None,
    namespace: str | None = None,
) -> list[r.EventRecord]:
    """Events about the object with `uid`, oldest first: from the events cache if present,
    else one API list with `fieldSelector=involvedObject.uid=<uid>`."""
    if cache is not None and "events" in cache and cache["events"].state.state == "live":
        events = cache["events"].by_index("object", uid)
    elif connection is not None:
        kind = KINDS["events"]
        body = connection.get(kind.path(namespace), {"fieldSelector": f"involvedObject.uid={uid}"})
        events = kind.decode_list(body)[0]
    else:
        events = []
    return sorted(events, key=lambda e: e.last_seen)
