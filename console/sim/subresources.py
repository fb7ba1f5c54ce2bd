"""Subresources: status, scale, binding, eviction, pod proxy (the DCGM exporter), and pods/log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .auth import User
from .errors import ApiError, bad_request, invalid
from .kinds import ResourceType
from .podspec import container_down
from .selectors import label_selector

if TYPE_CHECKING:
    from .server import ApiServer
    from .server_http import Target

DCGM_PORT = "9400"
EXPORTER_LABELS = (("app", "nvidia-dcgm-exporter"), ("app.kubernetes.io/name", "dcgm-exporter"))


def _get(obj: dict[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _set(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    cur = obj
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            raise invalid(
                obj.get("kind", ""), obj["metadata"]["name"], path, "no such replica spec"
            )
        cur = nxt
    cur[parts[-1]] = value


def scale_object(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    assert rt.scale is not None
    meta = obj["metadata"]
    selector = _get(obj, rt.scale.selector) if rt.scale.selector else None
    status: dict[str, Any] = {"replicas": _get(obj, rt.scale.status_replicas) or 0}
    if selector:
        status["selector"] = selector if isinstance(selector, str) else ""
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace", ""),
            "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
            "creationTimestamp": meta.get("creationTimestamp"),
        },
        "spec": {"replicas": _get(obj, rt.scale.spec_replicas) or 0},
        "status": status,
    }


class Subresources:
    def __init__(self, server: ApiServer, logs: Any, evict: Any, telemetry: Any) -> None:
        self.server = server
        self.store = server.store
        self.logs = logs  # callable(request, pod) -> StreamResponse
        self.evict = evict  # callable(ctx, ns, name, dry_run, delete_options); raises ApiError
        self.telemetry = telemetry

    async def handle(self, request: web.Request, user: User, target: Target) -> web.StreamResponse:
        sub = target.subresource
        method = request.method
        verb = {
            "GET": "get",
            "PUT": "update",
            "PATCH": "patch",
            "POST": "create",
            "DELETE": "delete",
        }.get(method, "")
        self.server.require(user, verb, target)
        if sub == "status":
            return await self._status(request, target)
        if sub == "scale" and target.rt.scale:
            return await self._scale(request, target)
        if sub == "log" and method == "GET":
            pod = self.store.require(target.rt, target.namespace or "", target.name or "")
            return await self.logs(request, pod)
        if sub == "eviction" and method == "POST":
            return await self._eviction(request, target)
        if sub == "binding" and method == "POST":
            return await self._binding(request, target)
        if sub == "proxy":
            return await self._proxy(request, target)
        raise ApiError(
            405, f"{method} is not supported on {target.rt.plural}/{sub}", "MethodNotAllowed"
        )

    async def _status(self, request: web.Request, target: Target) -> web.Response:
        from .server_http import json_response

        if request.method == "GET":
            return json_response(
                self.store.require(target.rt, target.namespace or "", target.name or "")
            )
        if request.method == "PATCH":
            return await self.server.patch(request, target, only_status=True)
        if request.method == "PUT":
            from .server_http import json_body, truthy_dry_run
            from .validation import validate_update

            body = await json_body(request)
            if not isinstance(body, dict):
                raise bad_request("the body must be an object")
            current = self.store.require(target.rt, target.namespace or "", target.name or "")
            updated = {**current, "status": body.get("status", {})}
            validate_update(target.rt, current, updated)
            meta = body.get("metadata")
            rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
            return json_response(
                self.store.replace(target.rt, updated, rv, truthy_dry_run(request.query))
            )
        raise ApiError(405, "method not allowed", "MethodNotAllowed")

    async def _scale(self, request: web.Request, target: Target) -> web.Response:
        from .patch import apply_patch
        from .server_http import json_body, json_response, truthy_dry_run

        rt = target.rt
        assert rt.scale is not None
        obj = self.store.require(rt, target.namespace or "", target.name or "")
        current = scale_object(rt, obj)
        if request.method == "GET":
            return json_response(current)
        body = await json_body(request)
        if request.method == "PATCH":
            wanted = apply_patch(request.content_type, current, body, custom_resource=False)
        elif request.method == "PUT":
            wanted = body
        else:
            raise ApiError(405, "method not allowed", "MethodNotAllowed")
        replicas = (wanted.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            raise invalid(
                "Scale",
                target.name or "",
                "spec.replicas",
                f"Invalid value: {replicas!r}: must be an integer",
            )
        if replicas < 0:
            raise invalid(
                "Scale",
                target.name or "",
                "spec.replicas",
                f"Invalid value: {replicas}: must be greater than or equal to 0",
            )
        expect = (wanted.get("metadata") or {}).get("resourceVersion")
        if expect == current["metadata"]["resourceVersion"]:
            expect = None
        _set(obj, rt.scale.spec_replicas, replicas)
        stored = self.store.replace(rt, obj, expect, truthy_dry_run(request.query))
        return json_response(scale_object(rt, stored))

    async def _eviction(self, request: web.Request, target: Target) -> web.Response:
        from .server_http import json_body, json_response, truthy_dry_run

        body = await json_body(request)
        if not isinstance(body, dict) or body.get("kind") not in (None, "Eviction"):
            raise bad_request("the body must be an Eviction")
        dry_run = truthy_dry_run(request.query) or "All" in (
            (body.get("deleteOptions") or {}).get("dryRun") or []
        )
        self.evict(
            self.server.ctx,
            target.namespace or "",
            target.name or "",
            dry_run,
            body.get("deleteOptions"),
        )
        return json_response(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "code": 201,
            },
            201,
        )

    async def _binding(self, request: web.Request, target: Target) -> web.Response:
        from .server_http import json_body, json_response

        body = await json_body(request)
        node = (body.get("target") or {}).get("name")
        if not node:
            raise bad_request("binding target name is required")

        def bind(pod: dict[str, Any]) -> bool | None:
            if pod["spec"].get("nodeName"):
                raise ApiError(
                    409,
                    f"pod {target.name} is already assigned to node {pod['spec']['nodeName']}",
                    "Conflict",
                )
            pod["spec"]["nodeName"] = node
            return None

        self.store.require(target.rt, target.namespace or "", target.name or "")
        self.store.mutate(target.rt, target.namespace or "", target.name or "", bind)
        return json_response(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "code": 201,
            },
            201,
        )

    async def _proxy(self, request: web.Request, target: Target) -> web.StreamResponse:
        """Pod and service proxy. Only the DCGM exporter's /metrics and /health are served."""
        name, _, port = (target.name or "").partition(":")
        path = "/".join(target.rest)
        rt = target.rt
        if rt.plural == "pods":
            pod = self.store.require(rt, target.namespace or "", name)
            labels = pod["metadata"].get("labels") or {}
            is_exporter = any(labels.get(k) == v for k, v in EXPORTER_LABELS)
            node = pod["spec"].get("nodeName")
        elif rt.plural == "services":
            service = self.store.require(rt, target.namespace or "", name)
            selector = (service.get("spec") or {}).get("selector") or {}
            is_exporter = any(selector.get(k) == v for k, v in EXPORTER_LABELS)
            node = None
            if is_exporter:
                match = label_selector(",".join(f"{k}={v}" for k, v in selector.items()))
                running = [
                    p
                    for p in self.store.objects(
                        self.server.store_kind("Pod"), target.namespace, match
                    )
                    if p["spec"].get("nodeName")
                ]
                node = running[0]["spec"]["nodeName"] if running else None
        else:
            raise ApiError(404, "proxy is not available for this resource", "NotFound")
        if not is_exporter or (port and port not in (DCGM_PORT, "metrics")):
            raise ApiError(
                503,
                f"error trying to reach service: dial tcp: connect: connection refused ({name}:{port or '80'})",
                "ServiceUnavailable",
            )
        if rt.plural == "pods" and (pod.get("status") or {}).get("phase") != "Running":
            raise ApiError(503, f"pod {name} is not running", "ServiceUnavailable")
        if rt.plural == "pods" and container_down(pod):
            raise ApiError(
                503,
                f"error trying to reach service: dial tcp {name}:{DCGM_PORT}: connect: connection refused",
                "ServiceUnavailable",
            )
        if path == "health":
            return web.Response(text="OK")
        if path != "metrics" or not node:
            raise ApiError(404, "404 page not found", "NotFound")
        text = self.telemetry.node_metrics(node)
        return web.Response(
            text=text or "",
            content_type="text/plain",
            charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )
