"""The Store port: one narrow async interface every service persists through.

The semantics live here, once: ids, `version` for optimistic concurrency, timestamps, the
transactional outbox, tombstones for deletes, the applied-event guard of idempotent consumers,
keyset (cursor) pagination and the filter subset. An adapter implements only the primitive
`_`-methods, so SQLite and MongoDB/FerretDB cannot drift apart in behaviour (one contract suite,
tests/contract/test_store.py, runs against both).

Documents are JSON-compatible dicts. Public documents carry `id`, `version`, `created_at`,
`updated_at` and their own fields; fields starting with `_` are internal:

- `_outbox`: events written in the *same single-document write* as the change they describe
  (no multi-document transactions exist on FerretDB 1.x, so the outbox rides inside the document);
  `_pending` marks documents whose outbox the relay still has to publish.
- `_deleted`: a tombstone. `delete()` wipes the document's fields and keeps only the pending
  events; the relay publishes them and then removes the tombstone for good.
- `_seen`: ids of the last events applied to this document by a consumer, so a redelivered event
  changes nothing (see `mutate(event_id=...)`).

Filter subset (documented in docs/store.md): equality `{field: scalar}`, `$eq $ne $gt $gte $lt
$lte $in $nin $exists`, combined with `$and`/`$or`; dotted paths address nested fields; values are
scalars (str, int, float, bool, None). Anything else raises InvalidFilterError.
"""

from __future__ import annotations

import asyncio
import json
import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Sequence

from ..envelope import Envelope
from ..errors import (
    AlreadyApplied,
    ConflictError,
    DuplicateKeyError,
    InvalidFilterError,
    NotFoundError,
)
from ..ids import new_id, now_iso
from ..port import Port
from .documents import (
    MAX_PAGE,
    MAX_RETRIES,
    OUTBOX_COLLECTION,
    SEEN_KEEP,
    Doc,
    Filter,
    Page,
    Sort,
    _body,
    check_collection,
    check_field,
    decode_cursor,
    encode_cursor,
    get_path,
    keyset_filter,
    normalize_filter,
    normalize_sort,
    public,
)


class Store(Port):
    """Async document store with optimistic concurrency and a built-in outbox."""

    # how often the relay scans every collection for pending events, rather than only the documents
    # this process wrote events to: what another replica left in its outbox when it died is published
    # within this time (seconds; a restarted process scans at once). Scans are expensive where the server cannot use a
    # secondary index (FerretDB 1.24 scans the whole collection): a tighter period kept FerretDB busy
    # scanning every collection of every service.
    FULL_OUTBOX_SCAN = 30.0
    # collections that never carry events: the consumers' applied-event marks (outbox.PROCESSED) and
    # the adapters' own bookkeeping (names starting with "_")
    FULL_SCAN_SKIP = frozenset({"processed_events"})

    def __init__(self) -> None:
        self.outbox_signal = asyncio.Event()
        self._internally_indexed: set[str] = set()
        # documents this process wrote events to, by collection, since the relay last looked at them
        self._dirty: dict[str, set[str]] = {}
        # collections to scan whole on the relay's next pass (a full scan found, or had no room for, more)
        self._rescan: set[str] = set()
        self._last_full_scan = float("-inf")

    # (connect, close and ping: the Port)
    # ---- primitives an adapter implements ---------------------------------------------------
    @abstractmethod
    async def _insert(self, coll: str, doc: Doc) -> None:
        """Insert a raw document; DuplicateKeyError on an `_id` or unique-index clash."""

    @abstractmethod
    async def _get(self, coll: str, id: str) -> Doc | None: ...

    @abstractmethod
    async def _replace(self, coll: str, id: str, expected_version: int, doc: Doc) -> bool:
        """Replace the document iff it is at `expected_version`; False when it is not."""

    @abstractmethod
    async def _delete(self, coll: str, id: str, expected_version: int) -> bool: ...

    @abstractmethod
    async def _find(self, coll: str, flt: Filter, sort: list[tuple[str, int]], limit: int) -> list[Doc]: ...

    @abstractmethod
    async def _count(self, coll: str, flt: Filter) -> int: ...

    @abstractmethod
    async def _group(self, coll: str, flt: Filter, by: list[str], sums: list[str]) -> list[Doc]:
        """Rows of {"key": {field: value}, "count": n, "sum": {field: total}}."""

    @abstractmethod
    async def _ensure_index(self, coll: str, fields: list[tuple[str, int]], unique: bool, name: str) -> None: ...

    @abstractmethod
    async def collections(self) -> list[str]: ...

    # ---- public API ----------------------------------------------------------------------
    async def ensure_index(self, coll: str, fields: Sequence[str | tuple[str, int]], *, unique: bool = False) -> None:
        spec = [(check_field(f), 1) if isinstance(f, str) else (check_field(f[0]), f[1]) for f in fields]
        name = "ix_" + "_".join(f.replace(".", "_") for f, _ in spec) + ("_u" if unique else "")
        await self._ensure_index(check_collection(coll), spec, unique, name)

    async def ensure_internal_indexes(self, coll: str) -> None:
        """The index the outbox relay's scan for `_pending` documents uses (once per collection
        and process; called by `pending_outbox` for every collection it scans)."""
        if coll not in self._internally_indexed:
            await self.ensure_index(coll, ["_pending"])
            self._internally_indexed.add(coll)

    def _mark(self, coll: str, id: str) -> None:
        """`coll/id` has events to publish: the relay fetches it by id on its next pass."""
        self._dirty.setdefault(coll, set()).add(id)
        self.outbox_signal.set()

    def _with_events(self, doc: Doc, events: Iterable[Envelope]) -> Doc:
        evs = [e.to_dict() for e in events]
        if evs:
            doc["_outbox"] = list(doc.get("_outbox") or []) + evs
            doc["_pending"] = True
        return doc

    async def insert(self, coll: str, doc: Doc, *, events: Iterable[Envelope] = (), event_id: str | None = None) -> Doc:
        """Insert a new document (id generated unless given) with its events, atomically."""
        check_collection(coll)
        now = now_iso()
        raw = _body(doc)
        raw["_id"] = str(doc.get("id") or new_id())
        raw.update(version=1, created_at=now, updated_at=now)
        if event_id:
            raw["_seen"] = [event_id]
        self._with_events(raw, events)
        await self._insert(coll, raw)
        if raw.get("_pending"):
            self._mark(coll, raw["_id"])
        return public(raw)

    async def insert_many(self, coll: str, items: Sequence[tuple[Doc, Iterable[Envelope]]]) -> list[Doc]:
        """Insert new documents, each with its own events in its own document (as `insert`), in as
        few round trips as the backend allows (bulk loads: imports). Not atomic as a whole: on a
        DuplicateKeyError some of them may have been inserted; each one is complete or absent."""
        check_collection(coll)
        now = now_iso()
        raws = []
        for doc, events in items:
            raw = _body(doc)
            raw["_id"] = str(doc.get("id") or new_id())
            raw.update(version=1, created_at=now, updated_at=now)
            raws.append(self._with_events(raw, events))
        if not raws:
            return []
        try:
            await self._insert_many(coll, raws)
        finally:
            for r in raws:
                if r.get("_pending"):
                    self._mark(coll, r["_id"])  # (one that failed to insert is simply not found)
        return [public(r) for r in raws]

    async def _insert_many(self, coll: str, docs: list[Doc]) -> None:
        """Adapters override this with their bulk insert; the default inserts one by one."""
        for doc in docs:
            await self._insert(coll, doc)

    async def get(self, coll: str, id: str) -> Doc | None:
        return public(await self._get(check_collection(coll), str(id)))

    async def get_many(self, coll: str, ids: Sequence[str]) -> dict[str, Doc]:
        """Batch read for DataLoaders: one query for many ids."""
        uniq = list(dict.fromkeys(str(i) for i in ids))
        if not uniq:
            return {}
        rows = await self._find(
            check_collection(coll), {"_id": {"$in": uniq}, "_deleted": {"$ne": True}}, [("_id", 1)], len(uniq)
        )
        return {r["_id"]: public(r) for r in rows}

    async def mutate(
        self,
        coll: str,
        id: str,
        fn: Callable[[Doc | None], Doc | Awaitable[Doc] | None],
        *,
        expected_version: int | None = None,
        events: Iterable[Envelope] | Callable[[Doc | None, Doc], Iterable[Envelope]] = (),
        event_id: str | None = None,
        create: bool = False,
    ) -> Doc:
        """Read-modify-write one document under optimistic concurrency.

        `fn` gets the current public document (None if absent and `create`) and returns the new
        body (or None to leave it unchanged). With `expected_version` a concurrent change raises
        ConflictError; without it the write is retried on a fresh read (for consumers and
        counters). With `event_id`, an event already applied to this document raises
        AlreadyApplied, and the id is remembered in the same write. `events` may be a callable
        (old, new) -> events, evaluated on the final attempt."""
        check_collection(coll)
        for _ in range(MAX_RETRIES):
            raw = await self._get(coll, str(id))
            if raw is not None and raw.get("_deleted"):
                raw = None
            if raw is None:
                if not create:
                    raise NotFoundError(coll, id)
                if expected_version not in (None, 0):
                    raise ConflictError(coll, id, expected_version, None)
                body = fn(None)
                if asyncio.iscoroutine(body):
                    body = await body
                if body is None:
                    raise NotFoundError(coll, id)
                evs = events(None, body) if callable(events) else events
                try:
                    return await self.insert(coll, {**body, "id": id}, events=evs, event_id=event_id)
                except DuplicateKeyError:
                    if await self._get(coll, str(id)) is None:
                        raise  # a unique index, not a concurrent creator
                    continue
            if expected_version is not None and raw["version"] != expected_version:
                raise ConflictError(coll, id, expected_version, raw["version"])
            seen = list(raw.get("_seen") or [])
            if event_id and event_id in seen:
                raise AlreadyApplied(event_id)
            current = public(raw)
            body = fn(dict(current))
            if asyncio.iscoroutine(body):
                body = await body
            if body is None:
                return current
            new = _body(body)
            new.update(
                _id=raw["_id"],
                version=raw["version"] + 1,
                created_at=raw["created_at"],
                updated_at=now_iso(),
            )
            if event_id:
                new["_seen"] = [*seen, event_id][-SEEN_KEEP:]
            elif seen:
                new["_seen"] = seen
            if raw.get("_outbox"):
                new["_outbox"], new["_pending"] = raw["_outbox"], True
            evs = events(current, public(new)) if callable(events) else events
            self._with_events(new, evs)
            if await self._replace(coll, raw["_id"], raw["version"], new):
                if new.get("_pending"):
                    self._mark(coll, raw["_id"])
                return public(new)
            if expected_version is not None:
                fresh = await self._get(coll, str(id))
                raise ConflictError(coll, id, expected_version, fresh and fresh.get("version"))
        raise ConflictError(coll, id, -1, None)

    async def update(
        self,
        coll: str,
        id: str,
        changes: Doc,
        *,
        expected_version: int | None = None,
        unset: Sequence[str] = (),
        events: Iterable[Envelope] | Callable[[Doc | None, Doc], Iterable[Envelope]] = (),
        event_id: str | None = None,
    ) -> Doc:
        """Set top-level fields (and remove `unset` ones) of an existing document."""

        def apply(doc: Doc | None) -> Doc:
            assert doc is not None
            doc.update(changes)
            for f in unset:
                doc.pop(f, None)
            return doc

        return await self.mutate(coll, id, apply, expected_version=expected_version, events=events, event_id=event_id)

    async def delete(
        self, coll: str, id: str, *, expected_version: int | None = None, events: Iterable[Envelope] = ()
    ) -> None:
        """Delete a document. Its fields are erased at once; when events go with the delete, a
        tombstone holding only them stays until the relay has published them."""
        check_collection(coll)
        for _ in range(MAX_RETRIES):
            raw = await self._get(coll, str(id))
            if raw is None or raw.get("_deleted"):
                raise NotFoundError(coll, id)
            if expected_version is not None and raw["version"] != expected_version:
                raise ConflictError(coll, id, expected_version, raw["version"])
            evs = list(events)
            if not evs and not raw.get("_outbox"):
                if await self._delete(coll, raw["_id"], raw["version"]):
                    return
            else:
                tomb = {
                    "_id": raw["_id"],
                    "version": raw["version"] + 1,
                    "created_at": raw["created_at"],
                    "updated_at": now_iso(),
                    "_deleted": True,
                    "_outbox": list(raw.get("_outbox") or []),
                }
                self._with_events(tomb, evs)
                tomb["_pending"] = True
                if await self._replace(coll, raw["_id"], raw["version"], tomb):
                    self._mark(coll, raw["_id"])
                    return
            if expected_version is not None:
                raise ConflictError(coll, id, expected_version, None)
        raise ConflictError(coll, id, -1, None)

    async def emit(self, events: Iterable[Envelope], *, key: str | None = None) -> None:
        """Events not tied to one document (e.g. a consumer's derived event) get a document of
        their own in the `outbox` collection, removed once published.

        With a `key` (the document's id) the call is idempotent while that document is pending: a
        second call with the same key writes nothing. A batch writer (an import chunk) uses it to
        publish the events of many inserted records with one write to clear, instead of one per
        record (every such write scans its collection on FerretDB 1.24, docs/ferretdb.md)."""
        evs = list(events)
        if not evs:
            return
        raw = {"_id": key or new_id(), "version": 1, "created_at": now_iso(), "updated_at": now_iso(), "_deleted": True}
        self._with_events(raw, evs)
        try:
            await self._insert(OUTBOX_COLLECTION, raw)
        except DuplicateKeyError:
            if key is None:
                raise
            return  # still pending from an earlier call: its events go out with it
        self._mark(OUTBOX_COLLECTION, raw["_id"])

    async def find(
        self,
        coll: str,
        flt: Filter | None = None,
        *,
        sort: Sort | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Page:
        """One page of matching documents, keyset-paginated: `after` is an opaque cursor from a
        previous page, stable under inserts and deletes. Sort fields should be present on every
        document (they are compared as stored)."""
        check_collection(coll)
        spec = normalize_sort(sort)
        limit = MAX_PAGE if first is None else first
        if limit < 0 or limit > MAX_PAGE:
            raise InvalidFilterError(f"page size must be between 0 and {MAX_PAGE}")
        clauses = [normalize_filter(flt), {"_deleted": {"$ne": True}}]
        if after:
            clauses.append(keyset_filter(spec, decode_cursor(after, len(spec))))
        query = {"$and": [c for c in clauses if c]}
        rows = await self._find(coll, query, spec, limit + 1)
        return self._page(rows, limit, spec, after)

    async def first_pages(
        self, coll: str, key: str, values: Sequence[str], flt: Filter | None = None, *, sort: Sort | None, first: int
    ) -> dict[str, Page]:
        """The first page of `flt` for each of `values` of `key` (the deals of each of 50
        companies), each exactly as `find(coll, {key: value} AND flt, sort=sort, first=first)`
        would give it, in one query for all of them: the rows of every value in sort order, up to
        (first + 1) per value in total. A value whose page that shared query could not fill (others
        took the rows) gets a query of its own."""
        check_collection(coll)
        spec = normalize_sort(sort)
        if first < 0 or first > MAX_PAGE:
            raise InvalidFilterError(f"page size must be between 0 and {MAX_PAGE}")
        values = list(dict.fromkeys(str(v) for v in values))
        if not values:
            return {}
        base = normalize_filter(flt)
        query = {"$and": [c for c in ({key: {"$in": values}}, base, {"_deleted": {"$ne": True}}) if c]}
        limit = min(MAX_PAGE, len(values) * (first + 1))
        rows = await self._find(coll, query, spec, limit + 1)
        everything = len(rows) <= limit
        groups: dict[str, list[Doc]] = {v: [] for v in values}
        for r in rows[:limit]:
            group = groups.get(str(get_path(r, key)))
            if group is not None:
                group.append(r)
        out = {}
        for v, group in groups.items():
            if everything or len(group) > first:
                out[v] = self._page(group, first, spec, None)
            else:
                out[v] = await self.find(coll, {"$and": [{key: v}, base]} if base else {key: v}, sort=sort, first=first)
        return out

    @staticmethod
    def _page(rows: list[Doc], limit: int, spec: list[tuple[str, int]], after: str | None) -> Page:
        has_next = len(rows) > limit
        rows = rows[:limit]
        cursors = [encode_cursor([get_path(r, f) for f, _ in spec]) for r in rows]
        return Page(
            items=[public(r) for r in rows],
            has_next=has_next,
            has_previous=bool(after),
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
            cursors=cursors,
        )

    async def find_all(self, coll: str, flt: Filter | None = None, *, sort: Sort | None = None) -> list[Doc]:
        """Every matching document, page by page (for small sets and batch jobs)."""
        out: list[Doc] = []
        after = None
        while True:
            page = await self.find(coll, flt, sort=sort, first=MAX_PAGE, after=after)
            out.extend(page.items)
            if not page.has_next:
                return out
            after = page.end_cursor

    async def count(self, coll: str, flt: Filter | None = None) -> int:
        f = normalize_filter(flt)
        return await self._count(
            check_collection(coll), {"$and": [f, {"_deleted": {"$ne": True}}]} if f else {"_deleted": {"$ne": True}}
        )

    async def group(
        self, coll: str, by: Sequence[str], *, sums: Sequence[str] = (), flt: Filter | None = None
    ) -> list[Doc]:
        """Grouped count and sums: [{"key": {by...}, "count": n, "sum": {field: total}}]."""
        f = normalize_filter(flt)
        query = {"$and": [f, {"_deleted": {"$ne": True}}]} if f else {"_deleted": {"$ne": True}}
        by_ = [check_field(b) for b in by]
        rows = await self._group(check_collection(coll), query, by_, [check_field(s) for s in sums])
        return sorted(rows, key=lambda r: json.dumps(r["key"], sort_keys=True, default=str))

    # ---- outbox, used by the relay ---------------------------------------------------------
    async def pending_outbox(self, limit: int = 100) -> list[tuple[str, Doc]]:
        """Documents with events still to publish.

        The documents this process wrote events to are fetched by id: a scan for `_pending` reads
        the whole collection on a server without secondary-index queries (FerretDB 1.24's SQLite
        backend scans; docs/ferretdb.md), which made every write cost a scan of its collection.
        Every collection is scanned once per FULL_OUTBOX_SCAN seconds (what another replica left
        when it died), and scanned again while such a scan keeps finding documents."""
        now = time.monotonic()
        colls = set(self._rescan)
        if now - self._last_full_scan >= self.FULL_OUTBOX_SCAN:
            colls |= {c for c in await self.collections() if c not in self.FULL_SCAN_SKIP and not c.startswith("_")}
            self._last_full_scan = now
        self._rescan -= colls
        out: list[tuple[str, Doc]] = []
        seen: set[tuple[str, str]] = set()
        for coll in sorted(colls):
            if len(out) >= limit:
                self._rescan.add(coll)  # not scanned this time
                continue
            await self.ensure_internal_indexes(coll)
            rows = await self._find(coll, {"_pending": True}, [("_id", 1)], limit - len(out))
            if rows:
                self._rescan.add(coll)  # look again until a scan finds it empty
            for r in rows:
                seen.add((coll, r["_id"]))
                out.append((coll, r))
        for coll in sorted(self._dirty):
            if len(out) >= limit:
                break
            taken = self._dirty.pop(coll, None)  # another caller (relay, settle) may have taken it meanwhile
            if not taken:
                continue
            ids = sorted(taken)
            take, rest = ids[: limit - len(out)], ids[limit - len(out) :]
            if rest:
                self._dirty.setdefault(coll, set()).update(rest)
            docs = await asyncio.gather(*(self._get(coll, i) for i in take))
            for doc in docs:
                if doc is None or not doc.get("_pending"):
                    continue
                # looked at again until a fetch finds it published (a failed publish is retried)
                self._dirty.setdefault(coll, set()).add(doc["_id"])
                if (coll, doc["_id"]) not in seen:
                    seen.add((coll, doc["_id"]))
                    out.append((coll, doc))
        return out

    async def clear_outboxes(self, items: Sequence[tuple[str, Doc, set[str]]]) -> None:
        """`clear_outbox` for a relay batch: (collection, document as read, published event ids).
        An adapter whose single writes are costly (FerretDB: each update scans its collection)
        clears many documents in one write; a document changed meanwhile stays pending."""
        for coll, raw, published in items:
            await self.clear_outbox(coll, raw, published)

    async def clear_outbox(self, coll: str, raw: Doc, published_ids: set[str]) -> bool:
        """Remove published events from a document without touching its public version: the
        write is conditional on the version the relay read, so a concurrent change (which may
        have added events) simply makes the relay come back later."""
        remaining = [e for e in raw.get("_outbox") or [] if e["id"] not in published_ids]
        if raw.get("_deleted") and not remaining:
            return await self._delete(coll, raw["_id"], raw["version"])
        new = {k: v for k, v in raw.items() if k not in ("_outbox", "_pending")}
        if remaining:
            new["_outbox"], new["_pending"] = remaining, True
        return await self._replace(coll, raw["_id"], raw["version"], new)
