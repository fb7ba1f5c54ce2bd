"""`KmcHeader`: the cluster header plus the GPU telemetry state at the end of its GPU line.

`widgets.header.HeaderData` carries allocatable / requested / busy / idle / mean util;
`TelemetryHeaderData` adds the telemetry label ("dcgm live", "telemetry unavailable:
<reason>") and its hint, which `KmcHeader` appends in the matching colour.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from widgets.header import ClusterHeader, HeaderData


@dataclass(frozen=True)
class TelemetryHeaderData(HeaderData):
    telemetry: str = ""
    telemetry_hint: str | None = None
    """"ok", "warn", "error", "muted" or None."""


class KmcHeader(ClusterHeader):
    """`ClusterHeader` that also shows the telemetry label."""

    def _gpu_line(self, d: HeaderData) -> Text:
        line = super()._gpu_line(d)
        label = getattr(d, "telemetry", "")
        if label:
            hint = getattr(d, "telemetry_hint", None)
            style = self._style(hint if hint in ("ok", "warn", "error") else "muted")
            line.append("  ")
            line.append(label, style)
        return line
