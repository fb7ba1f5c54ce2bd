"""The simulated API server: Kubernetes REST paths over aiohttp.

Routing follows the real server: `/api/v1/...` for the core group, `/apis/{group}/{version}/...`
for the rest, `namespaces/{ns}/` before namespaced collections, and subresources after a name.
Every failure is answered as a Status object. Subresources live in `subresources.py`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from . import discovery, protobuf, tables
from .auth import Authenticator, User
from .errors import ApiError, bad_request, status_object
from .faults import Faults
from .kinds import BY_KEY, ResourceType
from .patch import APPLY, MERGE, apply_patch
from .runtime import SimContext
from .selectors import field_selector, label_selector
from .store import Store, Watcher

log = logging.getLogger("kmc.sim.server")

BOOKMARK_SECONDS = 5.0
DEFAULT_WATCH_SECONDS = 1800


@dataclass
class Target:
    """What a resource path names."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    rest: list[str]  # path after the subresource (pod proxy paths)


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def json_response(
    obj: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(obj), status=status, content_type="application/json", headers=headers
    )


def error_response(err: ApiError) -> web.Response:
    return json_response(err.status(), err.code, err.headers)


class ApiServer:
    def __init__(self, ctx: SimContext, auth: Authenticator, faults: Faults, address: str) -> None:
        self.ctx = ctx
        self.store: Store = ctx.store
        self.auth = auth
        self.faults = faults
        self.address = address
        self.watchers: set[Watcher] = set()
        self.subresources: Any = None  # set by cluster.py: a subresources.Subresources
        self.admin_routes: dict[str, Any] = {}

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
        if self.auth.authorize(user, verb, rt.group, rt.plural, target.subresource or ""):
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
        body = await _json_body(request)
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

    def respond_object(
        self, request: web.Request, rt: ResourceType, obj: dict[str, Any], status: int = 200
    ):
        if wants_table(request):
            table = tables.table_for(
                rt, [obj], self.ctx.clock.now(), include_object=_include_object(request)
            )
            if table is not None:
                return json_response(table, status)
        return json_response(obj, status)

    # ----- collection reads -----------------------------------------------------------------
    def list(self, request: web.Request, target: Target) -> web.Response:
        q = request.query
        labels = label_selector(q.get("labelSelector"))
        fields = field_selector(q.get("fieldSelector"), target.rt.plural)
        limit = _int(q.get("limit"), "limit") or None
        start = None
        if q.get("continue"):
            start = _decode_continue(q["continue"])
        entries, last, remaining = self.store.list_page(
            target.rt, target.namespace, labels, fields, limit, start
        )
        meta: dict[str, Any] = {"resourceVersion": str(self.store.rv)}
        if last is not None:
            meta["continue"] = _encode_continue(self.store.rv, last)
            meta["remainingItemCount"] = remaining
        if wants_table(request):
            objects = [e.obj() for e in entries]
            table = tables.table_for(
                target.rt, objects, self.ctx.clock.now(), _include_object(request)
            )
            if table is not None:
                table["metadata"] = meta
                return json_response(table)
        head = orjson.dumps(
            {"kind": target.rt.list_kind, "apiVersion": target.rt.api_version, "metadata": meta}
        )
        body = head[:-1] + b',"items":[' + b",".join(e.raw for e in entries) + b"]}"
        return web.Response(body=body, content_type="application/json")

    async def watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        q = request.query
        labels = label_selector(q.get("labelSelector"))
        fields = field_selector(q.get("fieldSelector"), target.rt.plural)
        rv_param = q.get("resourceVersion")
        since = None if rv_param in (None, "", "0") else _int(rv_param, "resourceVersion")
        timeout = _int(q.get("timeoutSeconds"), "timeoutSeconds") or DEFAULT_WATCH_SECONDS
        bookmarks = truthy(q.get("allowWatchBookmarks"))
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        try:
            watcher = self.store.watch(target.rt, target.namespace, labels, fields, since)
        except ApiError as err:
            await response.prepare(request)
            await response.write(orjson.dumps({"type": "ERROR", "object": err.status()}) + b"\n")
            await response.write_eof()
            return response
        await response.prepare(request)
        self.watchers.add(watcher)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        as_table = wants_table(request)
        try:
            await response.write(b"")
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    event = await asyncio.wait_for(
                        watcher.queue.get(), min(remaining, BOOKMARK_SECONDS)
                    )
                except TimeoutError:
                    if bookmarks:
                        await response.write(self._bookmark(target.rt))
                    continue
                if (
                    event is None
                ):  # dropped by a fault: the connection dies like a restarting server's
                    if request.transport is not None:
                        request.transport.abort()
                    return response
                chunk = [event]
                while not watcher.queue.empty() and len(chunk) < 500:
                    nxt = watcher.queue.get_nowait()
                    if nxt is None:
                        watcher.queue.put_nowait(None)
                        break
                    chunk.append(nxt)
                if as_table:
                    lines = [
                        self._table_event(target.rt, e.type, e.entry.obj(), request) for e in chunk
                    ]
                else:
                    lines = [e.line() for e in chunk]
                await response.write(b"".join(lines))
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.unwatch(target.rt, watcher)
            self.watchers.discard(watcher)
        return response

    def _bookmark(self, rt: ResourceType) -> bytes:
        obj = {
            "kind": rt.kind,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(self.store.rv)},
        }
        return orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n"

    def _table_event(
        self, rt: ResourceType, kind: str, obj: dict[str, Any], request: web.Request
    ) -> bytes:
        table = tables.table_for(rt, [obj], self.ctx.clock.now(), _include_object(request))
        if table is None:
            return orjson.dumps({"type": kind, "object": obj}) + b"\n"
        table["metadata"] = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        return orjson.dumps({"type": kind, "object": table}) + b"\n"

    # ----- writes ---------------------------------------------------------------------------
    async def create(self, request: web.Request, target: Target) -> web.Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise bad_request("the body must be an object")
        _check_kind(body, target.rt)
        meta = body.setdefault("metadata", {})
        if target.rt.namespaced:
            if meta.get("namespace") and target.namespace and meta["namespace"] != target.namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = target.namespace or meta.get("namespace") or "default"
        for field in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp"):
            meta.pop(field, None)
        obj = self.store.create(target.rt, body, truthy_dry_run(request.query))
        return self.respond_object(request, target.rt, obj, 201)

    async def update(self, request: web.Request, target: Target) -> web.Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise bad_request("the body must be an object")
        _check_kind(body, target.rt)
        meta = body.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != target.name:
            raise bad_request("the name of the object does not match the name on the URL")
        meta["name"] = target.name
        if target.rt.namespaced:
            meta["namespace"] = target.namespace
        current = self.store.require(target.rt, target.namespace or "", target.name or "")
        if "status" in target.rt.subresources:
            body["status"] = current.get("status", {})
        obj = self.store.replace(
            target.rt, body, meta.get("resourceVersion"), truthy_dry_run(request.query)
        )
        return json_response(obj)

    async def patch(
        self, request: web.Request, target: Target, only_status: bool = False
    ) -> web.Response:
        body = await _json_body(request)
        is_apply = request.content_type == APPLY
        if is_apply and not self.store.entry(target.rt, target.namespace or "", target.name or ""):
            # Server-side apply of an object that does not exist creates it. (Field managers and
            # conflicts are not simulated: apply merges like a merge patch.)
            if not isinstance(body, dict):
                raise bad_request("an apply body must be an object")
            body.setdefault("metadata", {}).update(
                {"name": target.name, "namespace": target.namespace}
            )
            return self.respond_object(
                request,
                target.rt,
                self.store.create(target.rt, body, truthy_dry_run(request.query)),
                201,
            )
        current = self.store.require(target.rt, target.namespace or "", target.name or "")
        patched = apply_patch(
            MERGE if is_apply else request.content_type,
            current,
            body,
            custom_resource="." in target.rt.group,
        )
        if not isinstance(patched, dict):
            raise bad_request("the patch produced something that is not an object")
        expect_rv = (patched.get("metadata") or {}).get("resourceVersion")
        if expect_rv == current["metadata"].get("resourceVersion"):
            expect_rv = None
        patched.setdefault("metadata", {})
        if "status" in target.rt.subresources:
            if only_status:
                patched = {**current, "status": patched.get("status", {})}
            else:
                patched["status"] = current.get("status", {})
        _check_kind(patched, target.rt)
        obj = self.store.replace(target.rt, patched, expect_rv, truthy_dry_run(request.query))
        return json_response(obj)


# ----- helpers --------------------------------------------------------------------------------
def wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def _include_object(request: web.Request) -> str:
    return request.query.get("includeObject", "Metadata")


def truthy_dry_run(query: Any) -> bool:
    return (
        "All" in query.getall("dryRun", [])
        if hasattr(query, "getall")
        else query.get("dryRun") == "All"
    )


def _int(value: str | None, name: str) -> int:
    if value in (None, ""):
        return 0
    try:
        number = int(value)
    except ValueError as exc:
        raise bad_request(f"invalid value for {name}: {value!r}") from exc
    if number < 0:
        raise bad_request(f"{name} must not be negative")
    return number


def _encode_continue(rv: int, key: tuple[str, str]) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": list(key)})
    return base64.urlsafe_b64encode(raw).decode()


def _decode_continue(token: str) -> tuple[str, str]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token.encode()))
        ns, name = data["start"]
        return (str(ns), str(name))
    except Exception as exc:
        raise bad_request("continue key is not valid") from exc


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        raise bad_request("the request body is empty")
    ctype = request.content_type
    if ctype == protobuf.CONTENT_TYPE:
        return protobuf.decode(raw)
    if "yaml" in ctype:
        import yaml

        with contextlib.suppress(yaml.YAMLError):
            return yaml.safe_load(raw)
        raise bad_request("the body is not valid YAML")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"the body is not valid JSON: {exc}") from exc


def _check_kind(body: dict[str, Any], rt: ResourceType) -> None:
    kind = body.get("kind")
    if kind and kind != rt.kind:
        raise bad_request(f"the kind of the body ({kind}) does not match the resource ({rt.kind})")


def _reason(code: int) -> str:
    from .errors import REASONS

    return REASONS.get(code, "InternalError")
