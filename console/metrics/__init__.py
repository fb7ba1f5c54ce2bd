"""GPU telemetry: Prometheus and direct DCGM exporter sources, history buffers. No Textual."""
