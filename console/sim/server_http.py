"""Request and response plumbing of the simulated API server, shared by its handlers.

What a resource path names (``Target``), JSON responses and Status errors, the request
body (JSON, YAML or protobuf), and the query parameters every handler reads (booleans,
``dryRun``, non-negative integers, ``as=Table``). No server state here.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from . import protobuf
from .errors import ApiError, bad_request
from .kinds import ResourceType


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


def wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def include_object(request: web.Request) -> str:
    return request.query.get("includeObject", "Metadata")


def truthy_dry_run(query: Any) -> bool:
    return (
        "All" in query.getall("dryRun", [])
        if hasattr(query, "getall")
        else query.get("dryRun") == "All"
    )


def query_int(value: str | None, name: str) -> int:
    if value in (None, ""):
        return 0
    try:
        number = int(value)
    except ValueError as exc:
        raise bad_request(f"invalid value for {name}: {value!r}") from exc
    if number < 0:
        raise bad_request(f"{name} must not be negative")
    return number


async def json_body(request: web.Request) -> Any:
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
