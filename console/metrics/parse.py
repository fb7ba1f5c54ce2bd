"""DCGM exporter text → `GpuReading`s, with two interchangeable parsers.

`parse_reference` uses the maintained parser, `prometheus_client.parser.
text_string_to_metric_families`, and is the definition of correct. `parse_fast` reads
only the metric families the console shows: it jumps to each family's block, splits
its lines, and parses each distinct label set once (a GPU's labels repeat in every
family). The test suite checks both agree on every label variant; the benchmark
(`benchmarks/telemetry.py`) measures both at 80,000 GPUs. `parse_fast` is the default
because the reference parser builds a Sample object for every line of every family.

Both assemble samples the same way (`Assembler`): a GPU is (node, `gpu` label); the
node is the exporter pod's node when known (direct scrape), else the host label; the
pod holding it comes from the pod/namespace labels (one line per pod on a time-shared
GPU). Every string is cleaned with `console.text.clean_line`. A tenant or a broken exporter
cannot fail the parse with one bad sample: non-finite values (`+Inf`, `NaN`), values that
are not numbers and `gpu` labels that are not indexes (`gpu="²"`) are dropped and counted
(`Assembler.dropped`, returned by `parse_counted`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from console.metrics.model import LABEL_MODES, GpuReading, LabelNames, PodKey, pick
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
}

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
    """Collects samples into one `GpuReading` per GPU.

    Samples that cannot be a GPU's figure are dropped and counted in `dropped`: a value that
    is not finite (`+Inf`, `NaN`) or not a number, or a `gpu` label that is not an index
    (`gpu="²"`). A sample without a `gpu` label is not per-GPU and is skipped silently."""

    def __init__(self, names: LabelNames = LABEL_MODES["auto"], node: str | None = None) -> None:
        self.names = names
        self.node = clean_line(node) if node else None
        self.gpus: dict[tuple[str, int], GpuReading] = {}
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
        host = self.node or clean_line(pick(labels, self.names.host))
        if not host:
            return None
        key = (host, index)
        reading = self.gpus.get(key)
        if reading is None:
            reading = GpuReading(
                host,
                key[1],
                uuid=clean_line(pick(labels, self.names.uuid)),
                model=clean_line(labels.get("modelName", "")),
            )
            self.gpus[key] = reading
        pod = pick(labels, self.names.pod)
        if pod:
            ns = pick(labels, self.names.namespace)
            pod_key: PodKey = (clean_line(ns), clean_line(pod))
            if pod_key not in reading.pods:
                reading.pods = (*reading.pods, pod_key)
        return reading

    def add(self, labels: Mapping[str, str], attr: str, value: float) -> None:
        reading = self.reading(labels)
        if reading is None:
            return
        if math.isfinite(value):
            setattr(reading, attr, value)
        else:
            self.dropped += 1

    def result(self) -> list[GpuReading]:
        return [self.gpus[k] for k in sorted(self.gpus)]


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
            for sample in family.samples:
                attr = FIELDS.get(sample.name)
                if attr:
                    out.add(sample.labels, attr, float(sample.value))
    except (ValueError, TypeError, IndexError) as exc:
        raise ParseError(f"unparsable exporter output: {clean_line(exc)[:120]}") from None
    return _checked(out, text, dropped)


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
    for name, attr in FIELDS.items():
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
