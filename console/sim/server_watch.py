"""Watch streams of the simulated API server: store events as JSON lines, bookmarks, timeouts.

``WatchStreams`` is a mixin of ``ApiServer`` (``server.py``). A stream sends the store's
events in chunks of up to 500 lines (as Table rows when asked), a BOOKMARK every
``BOOKMARK_SECONDS`` of silence when allowed, ends at ``timeoutSeconds``, and is cut
like a restarting server's connection when a fault drops it. While the stall fault holds,
every stream (open or new, past its headers) sends nothing at all and does not end: a
frozen API server, or a proxy that holds a connection whose far end is gone.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from . import tables
from .errors import ApiError
from .faults import Faults
from .kinds import ResourceType
from .runtime import SimContext
from .selectors import field_selector, label_selector
from .server_http import Target, include_object, query_int, truthy, wants_table
from .store import Store, Watcher

BOOKMARK_SECONDS = 5.0
DEFAULT_WATCH_SECONDS = 1800


class WatchStreams:
    """The watch verb on a collection (a mixin of ``ApiServer``)."""

    ctx: SimContext
    store: Store
    faults: Faults
    watchers: set[Watcher]

    async def watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        q = request.query
        labels = label_selector(q.get("labelSelector"))
        fields = field_selector(q.get("fieldSelector"), target.rt.plural)
        rv_param = q.get("resourceVersion")
        since = None if rv_param in (None, "", "0") else query_int(rv_param, "resourceVersion")
        timeout = query_int(q.get("timeoutSeconds"), "timeoutSeconds") or DEFAULT_WATCH_SECONDS
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
                if self.faults.watches_stalled:
                    await asyncio.sleep(0.05)
                    continue
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
        table = tables.table_for(rt, [obj], self.ctx.clock.now(), include_object(request))
        if table is None:
            return orjson.dumps({"type": kind, "object": obj}) + b"\n"
        table["metadata"] = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        return orjson.dumps({"type": kind, "object": table}) + b"\n"
