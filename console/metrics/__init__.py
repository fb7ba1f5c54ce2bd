"""GPU telemetry: Prometheus and direct DCGM exporter sources, history buffers. No Textual.

The UI's entry points:

- `TelemetryPoller(settings, connection, cache).start()`; `.subscribe(cb)`, `.focus(nodes)`,
  `.pause()`/`.resume()`, `.status()` → `TelemetryStatus`, `.stop()`.
- `poller.store` (`TelemetryStore`): `.header()` → `HeaderTelemetry`, `.nodes()` →
  {node: `NodeTelemetry`}, `.gpu_rows(node)` → [`GpuRow`], `.map_values()` → {cell key:
  util}, `.failed()` → {node: reason}.
- `workload_telemetry(store, cache)` → {(kind, ns, name): `WorkloadTelemetry`} for the jobs
  and servers views; `workload_detail(store, cache, key)` with history; `gpu_map(store,
  cache)` → (`MapGroup`, ...) the GPU map layout.
"""

from console.metrics.join import gpu_map, pods_telemetry, workload_detail, workload_telemetry
from console.metrics.model import (
    IDLE_UTIL,
    GpuReading,
    GpuRow,
    HeaderTelemetry,
    MapGroup,
    MapRow,
    NodeTelemetry,
    TelemetryStatus,
    WorkloadTelemetry,
)
from console.metrics.poller import TelemetryPoller
from console.metrics.source import SourceError
from console.metrics.store import TelemetryStore

__all__ = [
    "IDLE_UTIL",
    "GpuReading",
    "GpuRow",
    "HeaderTelemetry",
    "MapGroup",
    "MapRow",
    "NodeTelemetry",
    "SourceError",
    "TelemetryPoller",
    "TelemetryStatus",
    "TelemetryStore",
    "WorkloadTelemetry",
    "gpu_map",
    "pods_telemetry",
    "workload_detail",
    "workload_telemetry",
]
