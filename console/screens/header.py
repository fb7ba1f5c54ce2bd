"""`TelemetryHeaderData`: the name `console.app` still builds its header data under.

`widgets.header.HeaderData` carries the telemetry label and hint itself now, and
`ClusterHeader` renders them; this alias goes once `console.app` uses `HeaderData`.
"""

from __future__ import annotations

from widgets.header import HeaderData

TelemetryHeaderData = HeaderData

__all__ = ["TelemetryHeaderData"]
