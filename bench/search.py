"""Search over many contacts, at the contacts subgraph (docs/data.md; issue: clean data at scale).

    python -m bench.search --size 1000000                 # SQLite (the embedded store)
    python -m bench.search --size 100000 --mongo URL      # a MongoDB-wire server (FerretDB in CI)

A generator writes the contacts straight into the store (raw documents in the store's own format,
with the normalised keys `duplicates.stored_keys` gives them and the service's indexes; not
through GraphQL), then starts `python -m services.contacts` on that store and times `search`
queries over HTTP with an admin token: last-name prefixes, "first last" prefixes, e-mail
prefixes, phone numbers and domains, drawn from the data. Prints p50/p95/p99 per kind and overall.
No timed assertion: the target (p99 <= 50 ms at 1,000,000 contacts) is read off the figures."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from devtools.stack import free_port
from services.common import auth
from services.common.ids import new_id, now_iso
from services.common.settings import Settings
from services.contacts.duplicates import stored_keys
from services.contacts.service import ContactsService

FIRST = [
    "Anna",
    "Åsa",
    "Björn",
    "Célia",
    "Dmitri",
    "Élodie",
    "Erik",
    "Fatima",
    "Göran",
    "Hanna",
    "Ingrid",
    "Jürgen",
    "Karin",
    "Lars",
    "Léa",
    "Magnus",
    "Nils",
    "Olga",
    "Pål",
    "René",
    "Sofia",
    "Søren",
    "Tomás",
    "Ulla",
    "Vera",
    "Zoë",
]
SYLL = [
    "ber",
    "lin",
    "dqv",
    "str",
    "öm",
    "sen",
    "son",
    "hal",
    "kar",
    "vik",
    "nor",
    "man",
    "gar",
    "cía",
    "mül",
    "ler",
    "dah",
    "lun",
    "ber",
    "ska",
    "ho",
    "lm",
    "ås",
    "tro",
    "ed",
]
SEARCH = "query($t: String!) { search(text: $t, first: 20) { kind id score } }"


def person(rng: random.Random, n: int, companies: list[str], keys: bool = True) -> dict:
    last = "".join(rng.choice(SYLL) for _ in range(rng.randint(2, 3))).capitalize()
    first = rng.choice(FIRST)
    domain = f"firm{n % 20000}.example"
    doc = {
        "first_name": first,
        "last_name": last,
        "first_name_key": first.casefold(),
        "last_name_key": last.casefold(),
        "email": f"{first.casefold()}.{last.casefold()}{n}@{domain}",
        "phone": f"+4670{n:07d}",
        "lifecycle": "lead",
        "owner": f"sales.{n % 50}",
        "company_id": companies[n % len(companies)],
        "interested_in": [],
    }
    doc["email_key"] = doc["email"]
    if keys:  # the normalised keys (phonenumbers parsing is most of the generator's time)
        doc.update(stored_keys("contact", doc))
    return doc


def raw(doc: dict, now: str) -> dict:
    return {**doc, "_id": new_id(), "version": 1, "created_at": now, "updated_at": now}


async def prepare_indexes(store) -> None:
    for coll, specs in ContactsService.indexes.items():
        for spec in specs:
            await store.ensure_index(coll, spec)


def generate(size: int, seed: int = 7, start: int = 0):
    """The contacts `start`..`size` of the deterministic sequence (a resumed load skips the rest)."""
    rng = random.Random(seed)
    companies = [new_id() for _ in range(max(1, size // 50))]
    now = now_iso()
    for n in range(size):
        d = person(rng, n, companies, keys=n >= start)
        if n >= start:
            yield raw(d, now)


async def load_sqlite(data_dir: Path, size: int) -> None:
    from services.common.store.sqlite import SqliteStore

    path = data_dir / "contacts.sqlite3"
    store = SqliteStore(path)
    await store.connect()
    await prepare_indexes(store)
    await store.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    start = conn.execute('SELECT COUNT(*) FROM "c_contacts"').fetchone()[0]  # --data-dir: resume a load
    if start:
        print(f"resuming the load after {start:,} contacts")
    batch = []
    for doc in generate(size, start=start):
        batch.append((doc["_id"], 1, orjson.dumps(doc).decode()))
        if len(batch) == 20000:
            conn.executemany('INSERT INTO "c_contacts" (id, version, doc) VALUES (?, ?, ?)', batch)
            conn.commit()
            batch.clear()
    if batch:
        conn.executemany('INSERT INTO "c_contacts" (id, version, doc) VALUES (?, ?, ?)', batch)
        conn.commit()
    conn.execute("ANALYZE")
    conn.close()


async def load_mongo(url: str, db: str, size: int) -> None:
    from pymongo import AsyncMongoClient

    from services.common.store.mongo import MongoStore

    store = MongoStore(url, db)
    await store.connect()
    await prepare_indexes(store)
    await store.close()
    client = AsyncMongoClient(url)
    coll = client[db]["contacts"]
    batch = []
    for doc in generate(size):
        batch.append(doc)
        if len(batch) == 5000:
            await coll.insert_many(batch, ordered=False)
            batch.clear()
    if batch:
        await coll.insert_many(batch, ordered=False)
    await client.close()


def queries(size: int, count: int) -> list[tuple[str, str]]:
    """(kind, text) drawn from the generated data."""
    rng = random.Random(11)
    companies = [new_id() for _ in range(max(1, size // 50))]
    data_rng = random.Random(7)
    sample = {}
    wanted = set(rng.sample(range(size), min(size, count)))
    for n in range(size):
        d = person(data_rng, n, companies, keys=False)
        if n in wanted:
            sample[n] = d
        if len(sample) == len(wanted):
            break
    out = []
    for i, d in enumerate(sample.values()):
        kind = ("last name prefix", "first last", "e-mail prefix", "phone", "domain")[i % 5]
        text = {
            "last name prefix": d["last_name"][: rng.randint(3, 6)],
            "first last": f"{d['first_name']} {d['last_name'][:4]}",
            "e-mail prefix": d["email"][: d["email"].index("@") + 3],
            "phone": d["phone"],
            "domain": d["email"].rsplit("@", 1)[1],
        }[kind]
        out.append((kind, text))
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


async def measure(url: str, token: str, qs: list[tuple[str, str]]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    async with httpx.AsyncClient(timeout=600, headers={"authorization": f"Bearer {token}"}) as c:
        for _kind, text in qs[:5]:  # warm-up
            await c.post(url, json={"query": SEARCH, "variables": {"t": text}})
        for kind, text in qs:
            t0 = time.perf_counter()
            r = await c.post(url, json={"query": SEARCH, "variables": {"t": text}})
            ms = (time.perf_counter() - t0) * 1000
            body = r.json()
            if r.status_code != 200 or body.get("errors"):  # e.g. cancelled by the 30 s request limit
                print(f"  {kind} {text!r}: no answer after {ms:.0f} ms: {str(body)[:120]}")
            else:
                assert body["data"]["search"], (kind, text)  # every query is drawn from the data
            times.setdefault(kind, []).append(ms)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--data-dir", help="SQLite: a data dir of an earlier (interrupted) load, resumed")
    ap.add_argument("--mongo", help="MongoDB-wire URL (FerretDB); default the embedded SQLite store")
    args = ap.parse_args()
    data = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="turnkey-search-"))
    prefix = f"bench{new_id()[-6:].lower()}"
    env = {**os.environ, "TURNKEY_DATA_DIR": str(data), "TURNKEY_DB_PREFIX": prefix, "LOG_LEVEL": "WARNING"}
    env.pop("AMQP_URL", None)
    if args.mongo:
        env["MONGODB_URL"] = args.mongo
    else:
        env.pop("MONGODB_URL", None)
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; store {'mongo-wire' if args.mongo else 'sqlite'}"
    )
    t0 = time.perf_counter()
    if args.mongo:
        asyncio.run(load_mongo(args.mongo, f"{prefix}_contacts", args.size))
    else:
        asyncio.run(load_sqlite(data, args.size))
    print(f"generated {args.size:,} contacts straight into the store in {time.perf_counter() - t0:.0f} s")
    port = free_port()
    env["CONTACTS_PORT"] = str(port)
    os.environ.update({k: env[k] for k in ("TURNKEY_DATA_DIR",)})
    proc = subprocess.Popen([sys.executable, "-m", "services.contacts"], env=env)
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        settings = Settings.from_env("contacts")
        token = auth.mint(settings, role="admin", sub="bench.admin")
        qs = queries(args.size, args.queries)
        times = asyncio.run(measure(url, token, qs))
        every = [t for ts in times.values() for t in ts]
        for kind, ts in [*times.items(), ("all", every)]:
            print(
                f"{kind:>18}: n={len(ts):4d} p50 {statistics.median(ts):7.1f} ms  p95 {pct(ts, 95):7.1f} ms  "
                f"p99 {pct(ts, 99):7.1f} ms"
            )
    finally:
        proc.terminate()
        proc.wait(30)
        if args.mongo:
            from pymongo import MongoClient

            MongoClient(args.mongo).drop_database(f"{prefix}_contacts")


if __name__ == "__main__":
    main()
