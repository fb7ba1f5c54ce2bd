"""DCGM exporter text → `GpuReading`s, with two interchangeable parsers.

`parse_reference` uses the maintained parser, `prometheus_client.parser.
text_string_to_metric_families`, and is the definition of correct. `parse_fast` reads
only the metric families the console shows: it jumps to each family's block, splits
its lines, and parses each distinct label set once (a GPU's labels repeat in every
family). The test suite checks both agree on every label variant; the benchmark
(`benchmarks/telemetry.py`) measures both at 80,000 GPUs. `parse_fast` is the default
because the reference parser builds a Sample object for every line of every family.

Both assemble samples the same way (`Assembler`): a GPU is (node, `gpu` label), a MIG
instance (node, `gpu`, `GPU_I_ID`) with its `GPU_I_PROFILE` — every instance carries its
parent's `gpu` and `UUID` — and the parent aggregates its instances (`attach_instances`).
The node is the exporter pod's node when known (direct scrape), else resolved from the
labels (`NodeResolver`: the host label when it names a node, else the target's `node`
label or `instance` address); the pod holding it comes from the pod/namespace labels
(one line per pod on a time-shared GPU; `exported_pod` first, never the exporter's own
pod). 1.x-compatibility family names (`dcgm_gpu_utilization`, ...) are read too. Every string is cleaned with `console.text.clean_line`. A tenant or a broken exporter
cannot fail the parse with one bad sample: non-finite values (`+Inf`, `NaN`), values that
are not numbers and `gpu` labels that are not indexes (`gpu="²"`) are dropped and counted
(`Assembler.dropped`, returned by `parse_counted`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from console.metrics.labels import NodeResolver
from console.metrics.mig import MIG_ID, MIG_PROFILE, attach_instances
from console.metrics.model import (
    LABEL_MODES,
    GpuReading,
    LabelNames,
    PodKey,
    SlotKey,
    pick,
)
from console.text import clean_line

# metric family → GpuReading attribute
FIELDS: dict[str, str] = {
    "DCGM_FI_DEV_GPU_UTIL": "util",
    "DCGM_FI_DEV_FB_USED": "fb_used",
    "DCGM_FI_DEV_FB_FREE": "fb_free",
    "DCGM_FI_DEV_GPU_TEMP": "temp",
    "DCGM_FI_DEV_POWER_USAGE": "power",
    "DCGM_FI_DEV_SM_CLOCK": "sm_clock",
    "DCGM_FI_DEV_XID_ERRORS": "xid",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": "gr_active",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": "tensor_active",
    "DCGM_FI_DEV_ROW_REMAP_FAILURE": "row_remap_failure",
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS": "remapped_rows",
    "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS": "throttle",
    "DCGM_FI_DEV_CLOCKS_EVENT_REASONS": "throttle",  # its name since DCGM 3.3
}
# dcgm-exporter's 1.x-compatibility names (its etc/1.x-compatibility-metrics.csv)
COMPAT_FIELDS: dict[str, str] = {
    "dcgm_gpu_utilization": "util",
    "dcgm_fb_used": "fb_used",
    "dcgm_fb_free": "fb_free",
    "dcgm_gpu_temp": "temp",
    "dcgm_power_usage": "power",
    "dcgm_sm_clock": "sm_clock",
    "dcgm_xid_errors": "xid",
    "dcgm_fi_prof_gr_engine_active": "gr_active",
    "dcgm_fi_prof_pipe_tensor_active": "tensor_active",
}
ALL_FIELDS: dict[str, str] = {**FIELDS, **COMPAT_FIELDS}
"""Every family name read, current and 1.x-compatible."""

_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_UNESCAPE = re.compile(r"\\(.)")


class ParseError(ValueError):
    """The text is not DCGM exporter output (one line, safe to show)."""


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _UNESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def gpu_index(label: str) -> int | None:
    """A `gpu` label as a GPU index, or None when it is not one (`²`, `٣`, 5,000 digits,
    empty): only ASCII digits, and few of them, reach `int()`."""
    if 0 < len(label) <= 6 and label.isascii() and label.isdigit():
        return int(label)
    return None


def whole(value: float) -> int:
    """A figure as an int (an XID), 0 when it is not finite or beyond 2**31: no
    `int(inf)` / `int(nan)` on a value a tenant's exporter controls."""
    return int(value) if math.isfinite(value) and abs(value) < 2**31 else 0


class Assembler:
    """Collects samples into one `GpuReading` per GPU and per MIG instance.

    Samples that cannot be a GPU's figure are dropped and counted in `dropped`: a value that
    is not finite (`+Inf`, `NaN`) or not a number, or a `gpu` (or `GPU_I_ID`) label that is
    not an index (`gpu="²"`). A sample without a `gpu` label is not per-GPU and is skipped
    silently, as is one whose node cannot be told."""

    def __init__(
        self,
        names: LabelNames = LABEL_MODES["auto"],
        node: str | None = None,
        resolver: NodeResolver | None = None,
    ) -> None:
        self.names = names
        self.node = clean_line(node) if node else None
        self.resolver = resolver or NodeResolver(names)
        self.gpus: dict[SlotKey, GpuReading] = {}
        self.dropped = 0

    def reading(self, labels: Mapping[str, str]) -> GpuReading | None:
        """The reading the sample with `labels` belongs to (None: not a per-GPU sample, or
        a malformed one, counted in `dropped`)."""
        gpu = labels.get("gpu", "")
        if not gpu:
            return None
        index = gpu_index(gpu)
        if index is None:
            self.dropped += 1
            return None
        instance: int | None = None
        if MIG_ID in labels:
            instance = gpu_index(labels[MIG_ID])
            if instance is None:
                self.dropped += 1
                return None
        host = self.node or clean_line(self.resolver.node(labels))
        if not host:
            return None
        key: SlotKey = (host, index) if instance is None else (host, index, instance)
        reading = self.gpus.get(key)
        if reading is None:
            reading = GpuReading(
                host,
                index,
                uuid=clean_line(pick(labels, self.names.uuid)),
                model=clean_line(labels.get("modelName", "")),
                mig_id=instance,
                profile=clean_line(labels.get(MIG_PROFILE, "")) if instance is not None else "",
            )
            self.gpus[key] = reading
        pod_key = self.holder(labels)
        if pod_key is not None and pod_key not in reading.pods:
            reading.pods = (*reading.pods, pod_key)
        return reading

    def holder(self, labels: Mapping[str, str]) -> PodKey | None:
        """The pod holding the GPU: `exported_pod`/`exported_namespace` when present (the
        workload's labels under Prometheus' `honor_labels: false`), else `pod`/`namespace`
        unless that names the exporter itself (a target label on an unallocated GPU)."""
        for pod_name, ns_name in zip(self.names.pod, self.names.namespace, strict=False):
            pod = labels.get(pod_name)
            if not pod:
                continue
            ns = clean_line(labels.get(ns_name) or pick(labels, self.names.namespace))
            pod = clean_line(pod)
            # a direct scrape (`node` given) has no target labels: its `pod` is the workload
            target = not self.node and not pod_name.startswith("exported_")
            if target and self.resolver.is_exporter(ns, pod):
                return None
            return (ns, pod)
        return None

    def add(self, labels: Mapping[str, str], attr: str, value: float) -> None:
        reading = self.reading(labels)
        if reading is None:
            return
        if math.isfinite(value):
            setattr(reading, attr, value)
            if attr == "xid":
                xid_labels(reading, labels)
        else:
            self.dropped += 1

    def result(self) -> list[GpuReading]:
        """The GPUs, by (node, index), each with its MIG instances attached."""
        return attach_instances(self.gpus)


def xid_labels(reading: GpuReading, labels: Mapping[str, str]) -> None:
    """`err_code`/`err_msg` of an XID series (dcgm-exporter ≥ 3.3.6) into the reading."""
    if "err_code" in labels or "err_msg" in labels:
        reading.xid_code = clean_line(labels.get("err_code", ""))[:16]
        reading.xid_msg = clean_line(labels.get("err_msg", ""))[:200]


def parse_reference(
    text: str,
    names: LabelNames = LABEL_MODES["auto"],
    node: str | None = None,
    dropped: list[int] | None = None,
) -> list[GpuReading]:
    """Parse with `prometheus_client`'s maintained text parser (samples dropped appended to
    `dropped` when given)."""
    from prometheus_client.parser import text_string_to_metric_families

    out = Assembler(names, node)
    try:
        for family in text_string_to_metric_families(text):
            # the parser names a counter's samples `<family>_total` (the remapped-row counters)
            total = family.name + "_total"
            for sample in family.samples:
                name = family.name if sample.name == total else sample.name
                attr = ALL_FIELDS.get(name)
                if attr:
                    out.add(sample.labels, attr, _float(sample.value))
    except (ValueError, TypeError, IndexError) as exc:
        raise ParseError(f"unparsable exporter output: {clean_line(exc)[:120]}") from None
    return _checked(out, text, dropped)


def _float(value: object) -> float:
    """A sample's value as a float; an integer beyond a float (the maintained parser keeps
    `99…9` as an int) is infinite, so it is dropped like `float("99…9")` is in `parse_fast`."""
    try:
        return float(value)  # type: ignore[arg-type]
    except OverflowError:
        return math.inf


def parse_fast(
    text: str,
    names: LabelNames = LABEL_MODES["auto"],
    node: str | None = None,
    dropped: list[int] | None = None,
) -> list[GpuReading]:
    """Parse only the families in `FIELDS`; same result as `parse_reference` on valid text
    (samples dropped appended to `dropped` when given)."""
    out = Assembler(names, node)
    readings: dict[str, GpuReading | None] = {}  # label text → its GPU (None: not a GPU)
    missing = GpuReading("", -1)
    malformed: set[str] = set()  # label texts whose `gpu` label is not an index
    isfinite = math.isfinite
    # one scan tells whether any 1.x-compatibility family can be there (most exporters: no)
    families = ALL_FIELDS if "dcgm_" in text else FIELDS
    for name, attr in families.items():
        skip = len(name) + 1
        for line in _family_lines(text, name):
            close = line.rfind("}")
            if close < skip:
                continue
            label_text = line[skip:close]
            reading = readings.get(label_text, missing)
            if reading is missing:
                labels = _labels(label_text)
                before = out.dropped
                reading = out.reading(labels) if labels else None
                readings[label_text] = reading
                if out.dropped != before:
                    malformed.add(label_text)
            elif label_text in malformed:
                out.dropped += 1  # each sample of a malformed label set counts
            if reading is None:
                continue
            try:
                value = float(line[close + 1 :].split(None, 1)[0])
            except (ValueError, IndexError):
                out.dropped += 1
                continue
            if isfinite(value):
                setattr(reading, attr, value)
                if attr == "xid" and "err_" in label_text:
                    xid_labels(reading, _labels(label_text) or {})
            else:
                out.dropped += 1
    return _checked(out, text, dropped)


def _family_lines(text: str, name: str) -> Iterable[str]:
    """The sample lines of family `name` (contiguous, as the exposition format requires)."""
    head = name + "{"
    if text.startswith(head):
        start = 0
    else:
        start = text.find("\n" + head) + 1
        if not start:
            return ()
    end = text.find("\n#", start)
    block = text[start : end if end >= 0 else len(text)]
    return (line for line in block.split("\n") if line.startswith(head))


def _labels(text: str) -> dict[str, str] | None:
    labels = {k: _unescape(v) for k, v in _LABEL.findall(text)}
    return labels or None


def _checked(out: Assembler, text: str, dropped: list[int] | None) -> list[GpuReading]:
    if dropped is not None:
        dropped.append(out.dropped)
    result = out.result()
    if not result:
        if not text.strip():
            raise ParseError("empty exporter response")
        raise ParseError("no DCGM GPU metrics in the exporter response")
    return result


PARSERS = {"fast": parse_fast, "reference": parse_reference}


def parse_counted(
    parser: str, text: str, names: LabelNames = LABEL_MODES["auto"], node: str | None = None
) -> tuple[list[GpuReading], int]:
    """(readings, samples dropped) with the parser named `parser` ("fast" | "reference")."""
    dropped: list[int] = []
    readings = PARSERS[parser](text, names, node, dropped)
    return readings, dropped[0] if dropped else 0
