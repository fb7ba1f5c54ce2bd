"""The simulated API server's object handlers: get responses, list pages, create, update, patch.

``ObjectHandlers`` is a mixin of ``ApiServer`` (``server.py``), which routes a request
here once it is authorized; watch streams are ``server_watch.py``. List pages carry a
``continue`` token (the store's resource version and the last key, base64).
"""

from __future__ import annotations

import base64
import math
from typing import Any

import orjson
from aiohttp import web

from . import tables
from .errors import bad_request
from .kinds import ResourceType
from .managed_fields import manager_of, record_labels
from .patch import APPLY, MERGE, apply_patch
from .runtime import SimContext
from .selectors import field_selector, label_selector
from .server_http import (
    Target,
    include_object,
    json_body,
    json_response,
    query_int,
    truthy_dry_run,
    wants_table,
)
from .store import Store
from .validation import validate_update

MAX_ADVANCE_SECONDS = 3600.0
"""The most sim time one `/_sim/advance` may move (every controller timer runs on the
server's loop as time passes: a day at once would stall the API server for minutes)."""


class ObjectHandlers:
    """Reads and writes of whole objects and collections (a mixin of ``ApiServer``)."""

    ctx: SimContext
    store: Store

    def respond_object(
        self, request: web.Request, rt: ResourceType, obj: dict[str, Any], status: int = 200
    ):
        if wants_table(request):
            table = tables.table_for(
                rt, [obj], self.ctx.clock.now(), include_object=include_object(request)
            )
            if table is not None:
                return json_response(table, status)
        return json_response(obj, status)

    # ----- collection reads -----------------------------------------------------------------
    def list(self, request: web.Request, target: Target) -> web.Response:
        q = request.query
        labels = label_selector(q.get("labelSelector"))
        fields = field_selector(q.get("fieldSelector"), target.rt.plural)
        limit = query_int(q.get("limit"), "limit") or None
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
                target.rt, objects, self.ctx.clock.now(), include_object(request)
            )
            if table is not None:
                table["metadata"] = meta
                return json_response(table)
        head = orjson.dumps(
            {"kind": target.rt.list_kind, "apiVersion": target.rt.api_version, "metadata": meta}
        )
        body = head[:-1] + b',"items":[' + b",".join(e.raw for e in entries) + b"]}"
        return web.Response(body=body, content_type="application/json")

    # ----- writes ---------------------------------------------------------------------------
    async def create(self, request: web.Request, target: Target) -> web.Response:
        body = await json_body(request)
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
        body = await json_body(request)
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
        validate_update(target.rt, current, body)
        self._record(request, current, body)
        obj = self.store.replace(
            target.rt, body, meta.get("resourceVersion"), truthy_dry_run(request.query)
        )
        return json_response(obj)

    async def patch(
        self, request: web.Request, target: Target, only_status: bool = False
    ) -> web.Response:
        body = await json_body(request)
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
        if not isinstance(patched, dict) or not isinstance(patched.get("metadata", {}), dict):
            raise bad_request("the patch produced something that is not an object with metadata")
        expect_rv = patched.get("metadata", {}).get("resourceVersion")
        if expect_rv == current["metadata"].get("resourceVersion"):
            expect_rv = None
        meta = patched.setdefault("metadata", {})
        for field in ("name", "namespace"):  # a patch that drops them means the URL's object
            if field in current["metadata"]:
                meta.setdefault(field, current["metadata"][field])
        if "status" in target.rt.subresources:
            if only_status:
                patched = {**current, "status": patched.get("status", {})}
            else:
                patched["status"] = current.get("status", {})
        _check_kind(patched, target.rt)
        validate_update(target.rt, current, patched)  # what would be stored
        self._record(request, current, patched)
        obj = self.store.replace(target.rt, patched, expect_rv, truthy_dry_run(request.query))
        return json_response(obj)

    def _record(
        self, request: web.Request, current: dict[str, Any], updated: dict[str, Any]
    ) -> None:
        manager = manager_of(request.query.get("fieldManager"), request.headers.get("User-Agent"))
        record_labels(current, updated, manager, self.store.clock.iso())


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


def _check_kind(body: dict[str, Any], rt: ResourceType) -> None:
    kind = body.get("kind")
    if kind and kind != rt.kind:
        raise bad_request(f"the kind of the body ({kind}) does not match the resource ({rt.kind})")


def advance_seconds(raw: bytes) -> float:
    """The `seconds` of a `/_sim/advance` body: a finite number in [0, MAX_ADVANCE_SECONDS],
    else a 400 Status and time does not move."""
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise bad_request('the body must be a JSON object such as {"seconds": 30}') from None
    if not isinstance(body, dict):
        raise bad_request('the body must be a JSON object such as {"seconds": 30}')
    seconds = body.get("seconds", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise bad_request(f"seconds must be a number, got {seconds!r:.40}")
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
        raise bad_request(
            f"seconds must be between 0 and {MAX_ADVANCE_SECONDS:g}, got {seconds!r:.40}"
        )
    return float(seconds)
