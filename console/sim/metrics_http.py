"""The plain-HTTP endpoint a Prometheus server scrapes: each GPU node's DCGM exporter text at
`/nodes/<node>/metrics`, the targets at `/targets` (http_sd format), everything at `/metrics`.
A node whose exporter pod crash-loops answers 503, as a refused scrape."""

from __future__ import annotations

from aiohttp import web

from .server_http import json_response
from .telemetry import Telemetry


def metrics_app(telemetry: Telemetry, host: str, port: int) -> web.Application:
    """The endpoint's aiohttp application, serving `telemetry`; `host:port` is where it listens."""

    async def node_metrics(request: web.Request) -> web.Response:
        node = request.match_info["node"]
        text = telemetry.node_metrics(node)
        if text is None and node in telemetry.exporters_down:
            return web.Response(status=503, text="the node's dcgm-exporter is not running\n")
        if text is None:
            return web.Response(status=404, text="no such GPU node\n")
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    async def targets(_request: web.Request) -> web.Response:
        # Prometheus file_sd / http_sd format: one target group per GPU node.
        groups = [
            {
                "targets": [f"{host}:{port}"],
                "labels": {"__metrics_path__": f"/nodes/{n}/metrics", "node": n},
            }
            for n in telemetry.gpu_nodes()
        ]
        return json_response(groups)

    async def all_metrics(_request: web.Request) -> web.Response:
        text = "".join(telemetry.node_metrics(n) or "" for n in telemetry.gpu_nodes())
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    app = web.Application()
    app.router.add_get("/nodes/{node}/metrics", node_metrics)
    app.router.add_get("/targets", targets)
    app.router.add_get("/metrics", all_metrics)
    return app
