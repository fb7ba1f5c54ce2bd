"""The object store behind the simulated API server.

Objects are kept as compact JSON bytes (orjson) plus the few strings selectors need, so the
`huge` preset's 200,000 pods fit in memory and list pages are assembled by joining bytes.
Every write gets the next global resourceVersion and is fanned out to watchers and to the
controllers' listeners. Everything here runs on the simulator's event loop thread.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from sys import intern
from typing import Any

import orjson

from .clock import SimClock
from .errors import already_exists, bad_request, conflict, expired, not_found
from .kinds import RESOURCE_TYPES, ResourceType
from .selectors import Matcher, fields_of

HISTORY = 20_000  # watch events kept per kind for resuming watches
WATCH_QUEUE_LIMIT = 200_000  # a watcher this far behind is closed, like the API server does

Key = tuple[str, str]  # (namespace or "", name)


class Entry:
    """One stored object: its JSON bytes and the strings selectors look at."""

    __slots__ = ("fields", "labels", "raw", "rv")

    def __init__(self, raw: bytes, rv: int, labels: dict[str, str], fields: dict[str, str]) -> None:
        self.raw = raw
        self.rv = rv
        self.labels = labels
        self.fields = fields

    def obj(self) -> dict[str, Any]:
        return orjson.loads(self.raw)


@dataclass(slots=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED
    rv: int
    entry: Entry
    namespace: str

    def line(self) -> bytes:
        return b'{"type":"' + self.type.encode() + b'","object":' + self.entry.raw + b"}\n"


class Watcher:
    """One open watch: a queue of events that match its namespace and selectors."""

    def __init__(
        self, namespace: str | None, labels: Matcher | None, fields: Matcher | None
    ) -> None:
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self.closed = False

    def matches(self, event: WatchEvent) -> bool:
        if self.namespace and event.namespace != self.namespace:
            return False
        if self.labels and not self.labels(event.entry.labels):
            return False
        return not (self.fields and not self.fields(event.entry.fields))

    def offer(self, event: WatchEvent) -> None:
        if self.closed or not self.matches(event):
            return
        if self.queue.qsize() > WATCH_QUEUE_LIMIT:
            self.close()
            return
        self.queue.put_nowait(event)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


Listener = Callable[[str, ResourceType, Entry], None]


class _Table:
    """All objects of one resource type, with the watch history and open watchers."""

    def __init__(self) -> None:
        self.objects: dict[Key, Entry] = {}
        self.sorted_keys: list[Key] | None = None
        self.history: deque[WatchEvent] = deque(maxlen=HISTORY)
        self.floor = 0  # resourceVersions at or below this cannot be resumed from
        self.watchers: set[Watcher] = set()
        self.listeners: list[Listener] = []

    def keys_in_order(self) -> list[Key]:
        if self.sorted_keys is None:
            self.sorted_keys = sorted(self.objects)
        return self.sorted_keys


class Store:
    def __init__(self, clock: SimClock, seed: int = 0) -> None:
        self.clock = clock
        self.rv = 1
        self._rng = random.Random(seed)
        self._tables: dict[tuple[str, str], _Table] = {rt.key: _Table() for rt in RESOURCE_TYPES}

    # ----- identity -------------------------------------------------------------------------
    def new_uid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def random_suffix(self, n: int = 5) -> str:
        alphabet = "bcdfghjklmnpqrstvwxz2456789"
        return "".join(self._rng.choice(alphabet) for _ in range(n))

    def rng(self) -> random.Random:
        return self._rng

    # ----- reads ----------------------------------------------------------------------------
    def table(self, rt: ResourceType) -> _Table:
        return self._tables[rt.key]

    def entry(self, rt: ResourceType, namespace: str, name: str) -> Entry | None:
        return self._tables[rt.key].objects.get((namespace if rt.namespaced else "", name))

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        entry = self.entry(rt, namespace, name)
        return entry.obj() if entry else None

    def require(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.get(rt, namespace, name)
        if obj is None:
            raise not_found(rt.plural, name, rt.group)
        return obj

    def count(self, rt: ResourceType) -> int:
        return len(self._tables[rt.key].objects)

    def entries(self, rt: ResourceType, namespace: str | None = None) -> Iterator[Entry]:
        table = self._tables[rt.key]
        if namespace:
            return (e for (ns, _), e in list(table.objects.items()) if ns == namespace)
        return iter(list(table.objects.values()))

    def objects(
        self, rt: ResourceType, namespace: str | None = None, labels: Matcher | None = None
    ) -> list[dict[str, Any]]:
        """Decoded copies of the matching objects (controllers' view; costs a decode each)."""
        return [e.obj() for e in self.entries(rt, namespace) if labels is None or labels(e.labels)]

    def list_page(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: Matcher | None,
        fields: Matcher | None,
        limit: int | None,
        start_after: Key | None,
    ) -> tuple[list[Entry], Key | None, int]:
        """One page of a list: matching entries in key order, the last key if more remain, and the
        count of keys not yet visited (for remainingItemCount, approximate like the real server's)."""
        table = self._tables[rt.key]
        keys = table.keys_in_order()
        index = bisect.bisect_right(keys, start_after) if start_after else 0
        if namespace:
            index = max(index, bisect.bisect_left(keys, (namespace, "")))
        page: list[Entry] = []
        objects = table.objects
        n = len(keys)
        while index < n:
            key = keys[index]
            index += 1
            if namespace and key[0] != namespace:
                break
            entry = objects.get(key)
            if entry is None:
                continue
            if labels and not labels(entry.labels):
                continue
            if fields and not fields(entry.fields):
                continue
            page.append(entry)
            if limit and len(page) >= limit:
                more = index < n and not (namespace and keys[index][0] != namespace)
                return page, (key if more else None), (n - index if more else 0)
        return page, None, 0

    # ----- writes ---------------------------------------------------------------------------
    def _key(self, rt: ResourceType, obj: dict[str, Any]) -> Key:
        meta = obj.get("metadata") or {}
        return (meta.get("namespace", "") if rt.namespaced else "", meta.get("name", ""))

    def _encode(self, rt: ResourceType, obj: dict[str, Any], rv: int) -> Entry:
        obj["metadata"]["resourceVersion"] = str(rv)
        labels = {intern(k): intern(v) for k, v in (obj["metadata"].get("labels") or {}).items()}
        fields = {
            intern(k): v if k == "metadata.name" else intern(v)
            for k, v in fields_of(rt.plural, obj).items()
        }
        # orjson's result keeps its whole growth buffer (~8 KB); a copy is exactly the JSON's size.
        return Entry(bytes(memoryview(orjson.dumps(obj))), rv, labels, fields)

    def create(
        self, rt: ResourceType, obj: dict[str, Any], dry_run: bool = False
    ) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + self.random_suffix()
            else:
                raise bad_request("name or generateName is required")
        if rt.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        key = self._key(rt, obj)
        table = self._tables[rt.key]
        if key in table.objects:
            raise already_exists(rt.plural, key[1], rt.group)
        if "uid" not in meta:  # not setdefault: a given uid must not draw from the seeded RNG
            meta["uid"] = self.new_uid()
        meta.setdefault("creationTimestamp", self.clock.iso())
        if rt.plural not in ("pods", "events", "nodes", "namespaces", "configmaps", "services"):
            meta.setdefault("generation", 1)
        if dry_run:
            meta["resourceVersion"] = str(self.rv)
            return obj
        entry = self._encode(rt, obj, self.rv + 1)  # may raise: then nothing moved
        self.rv += 1
        table.objects[key] = entry
        table.sorted_keys = None
        self._emit(rt, table, "ADDED", key[0], entry)
        return obj

    def replace(
        self,
        rt: ResourceType,
        obj: dict[str, Any],
        expect_rv: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        key = self._key(rt, obj)
        table = self._tables[rt.key]
        current = table.objects.get(key)
        if current is None:
            raise not_found(rt.plural, key[1], rt.group)
        if expect_rv and expect_rv != str(current.rv):
            raise conflict(rt.plural, key[1], rt.group)
        old = current.obj()
        meta = obj.setdefault("metadata", {})
        for immutable in ("uid", "creationTimestamp", "namespace", "name"):
            if immutable in old["metadata"]:
                meta[immutable] = old["metadata"][immutable]
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if "generation" in old["metadata"]:
            gen = old["metadata"]["generation"]
            meta["generation"] = gen + 1 if obj.get("spec") != old.get("spec") else gen
        if dry_run:
            meta["resourceVersion"] = str(current.rv)
            return obj
        meta["resourceVersion"] = old["metadata"].get("resourceVersion")
        if obj == old:
            return old  # a no-op write does not bump the resourceVersion, as on the real server
        entry = self._encode(rt, obj, self.rv + 1)  # may raise: then nothing moved
        self.rv += 1
        table.objects[key] = entry
        self._emit(rt, table, "MODIFIED", key[0], entry)
        return obj

    def mutate(
        self, rt: ResourceType, namespace: str, name: str, change: Callable[[dict[str, Any]], Any]
    ) -> dict[str, Any] | None:
        """Decode, let `change` edit the object in place, store it. `change` returning False aborts.
        Returns the stored object, or None when it does not exist."""
        entry = self.entry(rt, namespace, name)
        if entry is None:
            return None
        obj = entry.obj()
        if change(obj) is False:
            return obj
        return self.replace(rt, obj)

    def delete(
        self, rt: ResourceType, namespace: str, name: str, dry_run: bool = False
    ) -> dict[str, Any]:
        table = self._tables[rt.key]
        key = (namespace if rt.namespaced else "", name)
        current = table.objects.get(key)
        if current is None:
            raise not_found(rt.plural, name, rt.group)
        obj = current.obj()
        if dry_run:
            return obj
        del table.objects[key]
        table.sorted_keys = None
        self.rv += 1
        obj["metadata"]["deletionTimestamp"] = self.clock.iso()
        entry = self._encode(rt, obj, self.rv)
        self._emit(rt, table, "DELETED", key[0], entry)
        return obj

    # ----- watching -------------------------------------------------------------------------
    def _emit(
        self, rt: ResourceType, table: _Table, kind: str, namespace: str, entry: Entry
    ) -> None:
        event = WatchEvent(kind, entry.rv, entry, namespace)
        if len(table.history) == table.history.maxlen:
            table.floor = table.history[0].rv
        table.history.append(event)
        for watcher in list(table.watchers):
            watcher.offer(event)
        for listener in table.listeners:
            listener(kind, rt, entry)

    def listen(self, rt: ResourceType, listener: Listener) -> None:
        """Call `listener(event_type, rt, entry)` synchronously on every write of `rt`."""
        self._tables[rt.key].listeners.append(listener)

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: Matcher | None,
        fields: Matcher | None,
        since_rv: int | None,
    ) -> Watcher:
        """Open a watch. since_rv None: synthetic ADDED for what exists now, then changes.
        A resourceVersion older than the retained history raises 410 Expired."""
        table = self._tables[rt.key]
        watcher = Watcher(namespace, labels, fields)
        if since_rv is None:
            for entry in list(table.objects.values()):
                ns = entry.fields.get("metadata.namespace", "")
                watcher.offer(WatchEvent("ADDED", entry.rv, entry, ns))
        else:
            if since_rv < table.floor:
                raise expired(f"too old resource version: {since_rv} ({table.floor + 1})")
            for event in table.history:
                if event.rv > since_rv:
                    watcher.offer(event)
        table.watchers.add(watcher)
        return watcher

    def unwatch(self, rt: ResourceType, watcher: Watcher) -> None:
        self._tables[rt.key].watchers.discard(watcher)

    def drop_watches(self) -> int:
        """Close every open watch, as an API server restart would. Returns how many were closed."""
        closed = 0
        for table in self._tables.values():
            for watcher in list(table.watchers):
                watcher.close()
                closed += 1
            table.watchers.clear()
        return closed

    def expire_history(self) -> None:
        """Forget all watch history: any resumed watch gets 410 Expired (as after etcd compaction)."""
        for table in self._tables.values():
            table.history.clear()
            table.floor = self.rv
