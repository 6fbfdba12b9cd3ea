"""MongoDB adapter through PyMongo's native async API (`pymongo.AsyncMongoClient`).

It uses only what FerretDB 1.x also supports: single-document writes, find with sort/limit,
count_documents, a $match/$group aggregation, and (unique) indexes. No transactions, no change
streams.

Two FerretDB 1.24 defects are worked around here, only when the server reports
`ferretdbVersion` (a real MongoDB takes the direct path):

1. A conditional write is not atomic: FerretDB runs the filter as a query and then updates or
   deletes *by _id*, so two writers that both read version v both "match" and one write is lost
   (measured: 10 concurrent compare-and-set writers, all told matched_count=1, 2 increments
   kept). The only atomic primitive it has is an insert under a unique key, so the adapter takes
   a claim `<collection>/<id>/<version>/<generation>` in `_claims` before writing version v and
   releases it afterwards. A claim whose holder died expires after CLAIM_LEASE seconds; the next
   writer then takes the next generation.
2. `$group` computes only its first accumulator (the others come back 0), so each accumulator
   runs as its own aggregation and the rows are merged by key.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import BulkWriteError, OperationFailure
from pymongo.errors import DuplicateKeyError as MongoDuplicateKey

from ..errors import DuplicateKeyError
from .base import Store
from .documents import Doc, Filter


def _is_duplicate(exc: OperationFailure) -> bool:
    """MongoDB reports 11000. FerretDB 1.24 on SQLite reports a unique violation *on update* as
    InternalError (code 1) carrying SQLite's message, so that is recognised too."""
    if isinstance(exc, MongoDuplicateKey) or exc.code in (11000, 11001):
        return True
    msg = str(exc)
    return "UNIQUE constraint failed" in msg or "duplicate key" in msg


CLAIMS = "_claims"
CLAIM_LEASE = timedelta(seconds=30)
CLAIM_WAIT = 5.0  # seconds a writer waits for another writer's claim on the same version


def _alias(field: str) -> str:
    return field.replace(".", "__")


class MongoStore(Store):
    def __init__(self, url: str, db_name: str):
        super().__init__()
        self.url, self.db_name = url, db_name
        self.client: AsyncMongoClient | None = None
        self.db: Any = None
        self.ferretdb: str | None = None

    async def connect(self) -> None:
        self.client = AsyncMongoClient(self.url, serverSelectionTimeoutMS=5000, tz_aware=True)
        self.db = self.client[self.db_name]
        info = await self.db.command("buildInfo")
        self.ferretdb = info.get("ferretdbVersion")

    async def _claim(self, coll: str, id: str, version: int) -> str | None:
        """Atomically reserve the right to write `coll/id` at `version` (FerretDB only).

        A live claim of another writer is waited for (claims last one write, milliseconds): the
        relay clearing an outbox writes at the *same* version, so its claim does not make a
        concurrent change stale; the conditional write after the claim decides that."""
        claims = self.db[CLAIMS]
        generation = 0
        deadline = asyncio.get_running_loop().time() + CLAIM_WAIT
        while generation < 1000:
            cid = f"{coll}/{id}/{version}/{generation}"
            now = datetime.now(UTC)
            try:
                await claims.insert_one({"_id": cid, "at": now})
                return cid
            except MongoDuplicateKey:
                held = await claims.find_one({"_id": cid})
                if held is None:
                    continue  # released meanwhile: try the same claim again
                if now - held["at"] >= CLAIM_LEASE:
                    generation += 1  # its holder died: take the next generation
                    continue
                if asyncio.get_running_loop().time() > deadline:
                    return None
                await asyncio.sleep(0.005)
        return None

    async def _conditional(self, coll: str, id: str, expected_version: int, write) -> bool:
        if not self.ferretdb:
            return await write()
        cid = await self._claim(coll, id, expected_version)
        if cid is None:
            return False
        try:
            return await write()
        finally:
            await self.db[CLAIMS].delete_one({"_id": cid})

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None

    async def ping(self) -> bool:
        try:
            await self.db.command("ping")
            return True
        except Exception:
            return False

    async def _insert(self, coll: str, doc: Doc) -> None:
        try:
            await self.db[coll].insert_one(dict(doc))
        except OperationFailure as exc:
            if _is_duplicate(exc):
                raise DuplicateKeyError(coll, str(exc)) from exc
            raise

    async def _insert_many(self, coll: str, docs: list[Doc]) -> None:
        """`insert_many(ordered=False)`: every document that can be inserted is; a duplicate raises
        DuplicateKeyError after the others went in."""
        try:
            await self.db[coll].insert_many([dict(d) for d in docs], ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors") or []
            if errors and all(
                e.get("code") in (11000, 11001)
                or "duplicate" in str(e.get("errmsg", "")).lower()
                or "UNIQUE constraint" in str(e.get("errmsg", ""))
                for e in errors
            ):
                raise DuplicateKeyError(coll, str(errors[0].get("errmsg"))) from exc
            raise

    async def _get(self, coll: str, id: str) -> Doc | None:
        return await self.db[coll].find_one({"_id": id})

    async def _replace(self, coll: str, id: str, expected_version: int, doc: Doc) -> bool:
        async def write() -> bool:
            try:
                res = await self.db[coll].replace_one({"_id": id, "version": expected_version}, doc)
            except OperationFailure as exc:
                if _is_duplicate(exc):
                    raise DuplicateKeyError(coll, str(exc)) from exc
                raise
            return res.matched_count == 1

        return await self._conditional(coll, id, expected_version, write)

    async def clear_outboxes(self, items) -> None:
        """The relay's batch: documents whose whole outbox was published lose `_outbox` and
        `_pending` in one `update_many` per collection and 500 documents, each matched at the
        version the relay read (a document changed since keeps its events; the relay comes
        back). On MongoDB that is one round trip instead of one per document. FerretDB 1.24 runs
        one statement at a time and still scans the collection once per matched document
        (docs/ferretdb.md), but a batch saves the two claim statements and the query of each
        document: with it the marketing send test on FerretDB passed in minutes, without it it
        timed out. Its claims are taken first, as for any conditional write there; a batch
        holds them through its scans, so writers of those documents wait that long (a bulk
        writer should not leave one event per document: see the import's keyed `emit`)."""
        batches: dict[str, list[Doc]] = {}
        for coll, raw, published in items:
            ids = {e["id"] for e in raw.get("_outbox") or []}
            if raw.get("_deleted") or not ids or not ids <= published:
                await self.clear_outbox(coll, raw, published)
            else:
                batches.setdefault(coll, []).append(raw)
        for coll, raws in batches.items():
            for i in range(0, len(raws), 500):
                await self._unset_outboxes(coll, raws[i : i + 500])

    async def _unset_outboxes(self, coll: str, raws: list[Doc]) -> None:
        held: list[str] = []
        if self.ferretdb:
            cids = await asyncio.gather(*(self._claim(coll, r["_id"], r["version"]) for r in raws))
            raws = [r for r, c in zip(raws, cids, strict=True) if c]  # an unclaimed one stays pending
            held = [c for c in cids if c]
        try:
            if raws:
                flt = {"$or": [{"_id": r["_id"], "version": r["version"]} for r in raws]}
                await self.db[coll].update_many(flt, {"$unset": {"_outbox": "", "_pending": ""}})
        finally:
            if held:
                await self.db[CLAIMS].delete_many({"_id": {"$in": held}})

    async def _delete(self, coll: str, id: str, expected_version: int) -> bool:
        async def write() -> bool:
            res = await self.db[coll].delete_one({"_id": id, "version": expected_version})
            return res.deleted_count == 1

        return await self._conditional(coll, id, expected_version, write)

    async def _find(self, coll: str, flt: Filter, sort: list[tuple[str, int]], limit: int) -> list[Doc]:
        if limit <= 0:
            return []
        cursor = self.db[coll].find(flt).sort(sort).limit(limit)
        return await cursor.to_list(length=limit)

    async def _count(self, coll: str, flt: Filter) -> int:
        return await self.db[coll].count_documents(flt)

    async def _aggregate(self, coll: str, flt: Filter, by: list[str], accumulators: dict[str, Any]) -> dict[str, Doc]:
        group: dict[str, Any] = {"_id": {_alias(b): f"${b}" for b in by} if by else None, **accumulators}
        cursor = await self.db[coll].aggregate([{"$match": flt}, {"$group": group}])
        rows: dict[str, Doc] = {}
        async for row in cursor:
            key = {("id" if b == "_id" else b): (row["_id"] or {}).get(_alias(b)) for b in by}
            rows[repr(sorted(key.items()))] = {"key": key, **{a: row.get(a, 0) for a in accumulators}}
        return rows

    async def _group(self, coll: str, flt: Filter, by: list[str], sums: list[str]) -> list[Doc]:
        accs = {"n": {"$sum": 1}, **{"s_" + _alias(s): {"$sum": f"${s}"} for s in sums}}
        if self.ferretdb:  # one accumulator per pass (see module docstring)
            merged: dict[str, Doc] = {}
            for name, acc in accs.items():
                for k, row in (await self._aggregate(coll, flt, by, {name: acc})).items():
                    merged.setdefault(k, {"key": row["key"]})[name] = row[name]
        else:
            merged = await self._aggregate(coll, flt, by, accs)
        return [
            {"key": r["key"], "count": r.get("n", 0), "sum": {s: r.get("s_" + _alias(s), 0) for s in sums}}
            for r in merged.values()
        ]

    async def _ensure_index(self, coll: str, fields: list[tuple[str, int]], unique: bool, name: str) -> None:
        try:
            await self.db[coll].create_index(fields, unique=unique, name=name)
        except OperationFailure as exc:
            if exc.code not in (85, 86):  # index exists with other options/name: keep the existing one
                raise

    async def collections(self) -> list[str]:
        return sorted(n for n in await self.db.list_collection_names() if not n.startswith(("system.", "_")))
