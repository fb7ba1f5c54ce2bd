"""What the markers and compact forms of each view mean, as `(marker, meaning)` rows for
the `?` help and the `m` messages screen (plain text; no Textual)."""

from __future__ import annotations

from console.render.fmt import EMPTY, FULL, HOT_C, MISSING
from console.render.nodes import CORDONED, PRESSURE, PRESSURE_LETTERS

_NAMES = (
    "NAME / NODE",
    "when narrow: the part of the node name that tells it apart (the prefix, suffix and "
    "hashes every node shares dropped); the full name of the cursor's row is in the status "
    "line",
)
_CUT = ("…", "cut to fit: names in the middle, messages at a word boundary; `m` shows them in full")
_NO_DATA = ("-", "no telemetry for this row (the exporter has not reported it)")

_PRESSURE_WORDS = {"MemoryPressure": "memory", "DiskPressure": "disk", "PIDPressure": "process IDs"}
_PRESSURES = ", ".join(
    f"{letter} {_PRESSURE_WORDS.get(name, name)}" for name, letter in PRESSURE_LETTERS.items()
)

_LEGENDS: dict[str, list[tuple[str, str]]] = {
    "nodes": [
        ("Ready/NotReady", "the node's Ready condition (compact STATUS; or Unknown)"),
        (CORDONED, "cordoned: no new pods are scheduled here (SchedulingDisabled)"),
        (f"{PRESSURE}M {PRESSURE}D {PRESSURE}P", f"pressure conditions: {_PRESSURES}"),
        (f"{FULL}{EMPTY}", "GPUs allocated / allocatable"),
        ("XID", "the last XID error a GPU of the node reported (×N: on N GPUs); row in red"),
        ("°C!", f"a GPU at {HOT_C:.0f} °C or more"),
        _NAMES,
        _NO_DATA,
        _CUT,
    ],
    "pods": [
        ("STATUS", "as kubectl get pods says it: Init:1/2, Init:Error, OOMKilled, ExitCode:2, …"),
        ("RESTARTS", "kubectl's: the count and when the last restart was, 3 (5m ago)"),
        ("LAST EXIT", "how the container that restarted last ended: OOMKilled (137), Error (1)"),
        _NAMES,
        _CUT,
    ],
    "jobs": [
        ("UTIL", "mean utilization of the job's GPUs"),
        ("IDLE", "GPUs allocated to the job but idle"),
        ("LOSS STEP", "the MLflow run's primary metric (NaN / Inf in red) and last step"),
        ("LAST", "time since the run last logged a metric; no run / deleted / down (MLflow)"),
        ("Stalled", "Running, but no new metric step for the stall time (a hung job); r: run"),
        _NO_DATA,
        _CUT,
    ],
    "servers": [
        ("READY", "True, or the reason the server is not ready"),
        ("UTIL", "mean utilization of the server's GPUs"),
        ("IDLE", "GPUs allocated to the server but idle"),
        _NO_DATA,
        _CUT,
    ],
    "gpumap": [
        ("colour / glyph", "utilization of the GPU (or the node's mean, one cell per node)"),
        (MISSING, "no telemetry for this GPU"),
    ],
}


def legend(view: str) -> list[tuple[str, str]]:
    """The `(marker, meaning)` rows of a view ("nodes", "pods", "jobs", "servers",
    "gpumap"); none for another name."""
    return list(_LEGENDS.get(view, ()))
