"""`python -m bench.import`: the import of 100,000 contacts with matching (docs/import.md), as a
ratio to the raw `insert_many` of the same documents into the same store.

For each store (embedded SQLite; FerretDB too when MONGODB_URL is set): a fresh database, the file
parsed and stored as an upload is (`import_job.save_file`), then the job run to its end on this
process (`import_job.Runner`: validation, normalised keys, one `$in` query per key and chunk, the
company link, one write per record with its event in the outbox), then the same file again (every
row matches: 0 created). The baseline writes the documents the first run created, as they are,
with the store's bulk insert (SQLite `executemany` in one transaction; MongoDB `insert_many`).
Prints rows/s and the ratio (no assertion: the figures go in the note).

BENCH_IMPORT_ROWS (default 100000) sets the size."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import types
import uuid

from services.common.auth import Principal
from services.common.settings import Settings
from services.common.store.sqlite import PREFIX, SqliteStore, _dumps
from services.contacts import import_job, imports
from services.contacts.service import ContactsService

N = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
COLUMNS = [("First name", "first_name"), ("Last name", "last_name"), ("E-mail", "email"), ("Phone", "phone")]
COLUMNS += [("Title", "job_title"), ("Company", "company_name")]


def csv_text(n: int) -> str:
    lines = ["First name,Last name,E-mail,Phone,Title,Company"]
    for i in range(n):
        lines.append(f"Pat{i},Bench{i},pat.{i}@firm{i % 500}.example,+49 30 {1000000 + i},Engineer,Firm {i % 500}")
    return "\n".join(lines) + "\n"


async def run_job(store, dry: bool = False) -> tuple[float, dict]:
    svc = types.SimpleNamespace(store=store, settings=Settings.from_env("contacts"), jobs={}, holder="bench")
    admin = Principal(sub="bench", role="admin")
    mapping = {"id": "m", **imports.check_mapping("contact", COLUMNS, ["email"], None), "create_companies": True}
    header, rows = imports.read_csv(csv_text(N))
    file = await import_job.save_file(store, "bench", "bench.csv", header, rows)
    job = await import_job.create(store, admin, file, mapping, dry)
    t0 = time.perf_counter()
    await import_job.run_guarded(svc, job["id"], "bench")
    return time.perf_counter() - t0, await store.get(import_job.JOBS, job["id"])


async def indexes(store) -> None:
    for coll, specs in ContactsService.indexes.items():
        for spec in specs:
            await store.ensure_index(coll, spec)


async def raw_sqlite(store: SqliteStore, docs: list[dict]) -> float:
    coll = "raw_contacts"
    table = await store._table(coll)
    for spec in ContactsService.indexes["contacts"]:
        await store.ensure_index(coll, spec)
    rows = [(d["id"], d["version"], _dumps({**d, "_id": d["id"]})) for d in docs]

    def write(conn) -> None:
        conn.executemany(f"INSERT INTO {table} (id, version, doc) VALUES (?, ?, ?)", rows)
        conn.commit()

    t0 = time.perf_counter()
    await store._run(write)
    assert table.strip('"').startswith(PREFIX)
    return time.perf_counter() - t0


async def raw_mongo(store, docs: list[dict]) -> float:
    coll = store.db["raw_contacts"]
    for spec in ContactsService.indexes["contacts"]:
        await store.ensure_index("raw_contacts", spec)
    body = [{**{k: v for k, v in d.items() if k != "id"}, "_id": d["id"]} for d in docs]
    t0 = time.perf_counter()
    for i in range(0, len(body), 1000):
        await coll.insert_many(body[i : i + 1000], ordered=False)
    return time.perf_counter() - t0


async def bench(name: str, store, raw) -> None:
    await indexes(store)
    first, job = await run_job(store)
    assert job["created"] == N, job
    docs = await store.find_all("contacts", {"import_mark.job": job["id"]})
    again, job2 = await run_job(store)
    assert job2["created"] == 0 and job2["skipped"] == N, job2
    base = await raw(store, docs)
    print(
        f"{name}: {N} contacts  import {first:.1f} s ({N / first:,.0f} rows/s)  "
        f"re-import (all match) {again:.1f} s ({N / again:,.0f} rows/s)  "
        f"raw insert_many {base:.2f} s ({N / base:,.0f} rows/s)  "
        f"ratio import/raw {base / first:.1%} (re-import {base / again:.1%})"
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        store = SqliteStore(os.path.join(d, "contacts.sqlite3"))
        await store.connect()
        try:
            await bench("SQLite", store, raw_sqlite)
        finally:
            await store.close()
    url = os.environ.get("MONGODB_URL")
    if url:
        from services.common.store.mongo import MongoStore

        db = f"bench_import_{uuid.uuid4().hex[:8]}"
        store = MongoStore(url, db)
        await store.connect()
        try:
            await bench("FerretDB" if store.ferretdb else "MongoDB", store, raw_mongo)
        finally:
            await store.client.drop_database(db)
            await store.close()


if __name__ == "__main__":
    asyncio.run(main())
