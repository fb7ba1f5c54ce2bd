"""The simulated API server: Kubernetes REST paths over aiohttp.

Routing follows the real server: `/api/v1/...` for the core group, `/apis/{group}/{version}/...`
for the rest, `namespaces/{ns}/` before namespaced collections, and subresources after a name.
Every failure is answered as a Status object. This module routes and authorizes; the handlers
are `server_handlers.py` (objects and collections) and `server_watch.py` (watch streams), the
request plumbing `server_http.py`. Subresources live in `subresources.py`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from . import discovery
from .auth import Authenticator, User
from .errors import ApiError, status_object
from .faults import Faults
from .kinds import BY_KEY, ResourceType
from .request_log import RequestLog
from .runtime import SimContext
from .server_handlers import ObjectHandlers
from .server_http import Target, error_response, json_body, json_response, truthy, truthy_dry_run
from .server_watch import WatchStreams
from .store import Store, Watcher

log = logging.getLogger("kmc.sim.server")


class ApiServer(ObjectHandlers, WatchStreams):
    def __init__(self, ctx: SimContext, auth: Authenticator, faults: Faults, address: str) -> None:
        self.ctx = ctx
        self.store: Store = ctx.store
        self.auth = auth
        self.faults = faults
        self.address = address
        self.watchers: set[Watcher] = set()
        self.subresources: Any = None  # set by cluster.py: a subresources.Subresources
        self.admin_routes: dict[str, Any] = {}
        self.requests = RequestLog()

    @staticmethod
    def store_kind(kind: str) -> ResourceType:
        from .kinds import by_kind

        return by_kind(kind)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    # ----- entry ----------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            if not request.path.startswith("/_sim/"):
                self.requests.record(request.method, request.path_qs)
            injected = self.faults.next_error(request.path)
            if self.faults.latency_seconds and not request.path.startswith("/_sim/"):
                await asyncio.sleep(self.faults.latency_seconds)
            if injected:
                code, retry_after = injected
                headers = {"Retry-After": str(retry_after)} if code == 429 else None
                message = (
                    "Too many requests, please try again later."
                    if code == 429
                    else "injected failure"
                )
                return json_response(status_object(code, message, _reason(code)), code, headers)
            user = self.auth.authenticate(request.headers.get("Authorization"))
            if user is None:
                return json_response(status_object(401, "Unauthorized", "Unauthorized"), 401)
            if self.faults.next_conflict(request.method, request.path):
                message = (
                    "Operation cannot be fulfilled: the object has been modified;"
                    " please apply your changes to the latest version and try again"
                )
                return json_response(status_object(409, message, "Conflict"), 409)
            return await self.route(request, user)
        except ApiError as err:
            return error_response(err)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a bug here must answer 500, not kill the server
            log.exception("sim server error on %s %s", request.method, request.path)
            return json_response(status_object(500, f"internal error: {exc}", "InternalError"), 500)

    async def route(self, request: web.Request, user: User) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if request.path.startswith("/_sim/"):
            if user.name != "admin":
                raise ApiError(
                    403, "the simulator's admin endpoint needs the admin token", "Forbidden"
                )
            handler = self.admin_routes.get(parts[1] if len(parts) > 1 else "")
            if handler is None:
                raise ApiError(404, f"no admin action {request.path}", "NotFound")
            return await handler(request)
        if parts == ["version"]:
            return json_response(discovery.VERSION)
        if parts in (["healthz"], ["readyz"], ["livez"]):
            return web.Response(text="ok")
        if parts[:2] == ["openapi", "v3"]:
            doc = (
                discovery.openapi_root()
                if len(parts) == 2
                else discovery.openapi_document("/".join(parts[2:]))
            )
            if doc is None:
                raise ApiError(404, "the server could not find the requested resource", "NotFound")
            return json_response(doc)
        if parts == ["api"]:
            return json_response(discovery.api_versions(self.address))
        if parts == ["apis"]:
            return json_response(discovery.group_list())
        if parts and parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts and parts[0] == "apis" and len(parts) >= 2:
            if len(parts) == 2:
                doc = discovery.api_group(parts[1])
                if doc is None:
                    raise ApiError(
                        404, "the server could not find the requested resource", "NotFound"
                    )
                return json_response(doc)
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "the server could not find the requested resource", "NotFound")
        if not rest:
            doc = discovery.resource_list(group, version)
            if doc is None:
                raise ApiError(404, "the server could not find the requested resource", "NotFound")
            return json_response(doc)
        if group == discovery.AUTHZ_GROUP and rest == ["selfsubjectaccessreviews"]:
            return await self.access_review(request, user)
        target = self.parse_target(group, version, rest)
        return await self.dispatch(request, user, target)

    def parse_target(self, group: str, version: str, rest: list[str]) -> Target:
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and BY_KEY.get((group, rest[2])):
            namespace, rest = rest[1], rest[2:]
        rt = BY_KEY.get((group, rest[0]))
        if rt is None or rt.version != version:
            raise ApiError(404, "the server could not find the requested resource", "NotFound")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub and sub not in rt.subresources:
            raise ApiError(404, "the server could not find the requested resource", "NotFound")
        if rt.namespaced and name is not None and namespace is None:
            raise ApiError(404, "the server could not find the requested resource", "NotFound")
        return Target(rt, namespace, name, sub, rest[3:])

    # ----- authorization --------------------------------------------------------------------
    def require(self, user: User, verb: str, target: Target) -> None:
        rt = target.rt
        sub = target.subresource or ""
        if self.auth.authorize(user, verb, rt.group, rt.plural, sub, target.namespace):
            return
        resource = f"{rt.plural}/{target.subresource}" if target.subresource else rt.plural
        what = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
        subject = f'{what} "{target.name}"' if target.name else what
        scope = (
            f'in the namespace "{target.namespace}"' if target.namespace else "at the cluster scope"
        )
        message = (
            f'{subject} is forbidden: User "{user.name}" cannot {verb} resource "{resource}" '
            f'in API group "{rt.group}" {scope}'
        )
        details = {"kind": rt.plural, "group": rt.group}
        if target.name:
            details["name"] = target.name
        raise ApiError(403, message, "Forbidden", details)

    async def access_review(self, request: web.Request, user: User) -> web.Response:
        if request.method != "POST":
            raise ApiError(405, "method not allowed", "MethodNotAllowed")
        body = await json_body(request)
        attrs = (body.get("spec") or {}).get("resourceAttributes") or {}
        allowed = False
        if attrs:
            resource = attrs.get("resource", "")
            allowed = self.auth.authorize(
                user,
                attrs.get("verb", ""),
                attrs.get("group", ""),
                resource,
                attrs.get("subresource", ""),
                attrs.get("namespace"),
            )
        elif (body.get("spec") or {}).get("nonResourceAttributes"):
            allowed = True
        body.setdefault("metadata", {})
        body["apiVersion"], body["kind"] = "authorization.k8s.io/v1", "SelfSubjectAccessReview"
        body["status"] = {"allowed": allowed}
        if not allowed:
            body["status"]["reason"] = ""
        else:
            body["status"]["reason"] = f'RBAC: allowed by ClusterRoleBinding "kmc-sim-{user.name}"'
        return json_response(body, 201)

    # ----- dispatch -------------------------------------------------------------------------
    async def dispatch(
        self, request: web.Request, user: User, target: Target
    ) -> web.StreamResponse:
        method = request.method
        q = request.query
        if target.subresource:
            return await self.subresources.handle(request, user, target)
        if target.name is None:
            if method == "GET":
                verb = "watch" if truthy(q.get("watch")) else "list"
                self.require(user, verb, target)
                if verb == "watch":
                    return await self.watch(request, target)
                return self.list(request, target)
            if method == "POST":
                self.require(user, "create", target)
                return await self.create(request, target)
            raise ApiError(405, f"method {method} not allowed on a collection", "MethodNotAllowed")
        if method == "GET":
            self.require(user, "get", target)
            obj = self.store.require(target.rt, target.namespace or "", target.name)
            return self.respond_object(request, target.rt, obj)
        if method == "PUT":
            self.require(user, "update", target)
            return await self.update(request, target)
        if method == "PATCH":
            self.require(user, "patch", target)
            return await self.patch(request, target)
        if method == "DELETE":
            self.require(user, "delete", target)
            obj = self.store.delete(
                target.rt, target.namespace or "", target.name, truthy_dry_run(q)
            )
            return json_response(obj)
        raise ApiError(405, f"method {method} not allowed", "MethodNotAllowed")


def _reason(code: int) -> str:
    from .errors import REASONS

    return REASONS.get(code, "InternalError")
