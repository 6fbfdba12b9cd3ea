"""Marketing figures (`python -m bench.marketing [--messages 2000] [--contacts 100000]`):

1. send throughput: a campaign send (claim, render, SMTP, record per recipient) by the real
   sender job on SQLite, to an aiosmtpd server on loopback — messages per second (several
   replicas share a MongoDB store in production; tests/contract/test_marketing_sender.py proves
   they never send one recipient twice);
2. segment evaluation over N contact profiles: the segment's Store filter (count and first page)
   on SQLite with the service's indexes, and the in-memory rule over the same profiles."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller

from devtools.stack import free_port
from services.common.bus.memory import InMemoryBus
from services.common.ids import now_iso
from services.common.settings import Settings
from services.common.store.sqlite import PREFIX, SqliteStore
from services.marketing import segments as S
from services.marketing.profiles import company_fields, deal_flags
from services.marketing.service import MarketingService


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


async def _service(store, data: Path, smtp_url: str) -> MarketingService:
    settings = dataclasses.replace(
        Settings(service="marketing"), data_dir=data, smtp_url=smtp_url, scheduler_enabled=False
    )
    svc = MarketingService(settings, store=store, bus=InMemoryBus())
    svc._store = store
    svc.sender.rate = 0
    return svc


async def send_throughput(n: int, replicas: int) -> tuple[float, float]:
    sink = Sink()
    port = free_port()
    ctl = Controller(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    data = Path(tempfile.mkdtemp(prefix="bench-mk-"))
    store = SqliteStore(data / "m.sqlite3")
    await store.connect()
    try:
        await store.insert("campaigns", {"id": "camp", "name": "Bench", "channel": "email", "currency": "EUR"})
        for i in range(n):
            email = f"p{i:06d}@example.com"
            await store.insert("ref_contacts", {"id": f"c{i:06d}", "name": f"Person {i}", "email": email})
            await store.insert(
                "members",
                {"id": f"camp:c{i:06d}", "campaign_id": "camp", "contact_id": f"c{i:06d}", "status": "targeted"},
            )
            await store.insert("consents", {"id": f"email:{email}", "status": "granted", "channel": "email"})
        await store.insert(
            "sends",
            {
                "id": "send1",
                "campaign_id": "camp",
                "subject": "Hi {{ contact.first_name }}",
                "text": "Hello {{ contact.name }}, unsubscribe: {{ unsubscribe_url }}",
                "html": "<p>Hello {{ contact.name }}</p>",
                "state": "preparing",
                "open": True,
            },
        )
        stores = [store]
        for _ in range(replicas - 1):
            other = SqliteStore(store.path)
            await other.connect()
            stores.append(other)
        svcs = [await _service(s, data, f"smtp://127.0.0.1:{port}") for s in stores]
        t0 = time.perf_counter()
        await svcs[0].sender.prepare(await store.get("sends", "send1"))
        t1 = time.perf_counter()
        for s in stores[1:]:
            s._known.add("deliveries")
        while (await store.get("sends", "send1"))["state"] != "done":
            await asyncio.gather(*(s.sender.tick() for s in svcs))
        t2 = time.perf_counter()
        assert sink.count == n, sink.count
        for s in stores[1:]:
            await s.close()
        return n / (t1 - t0), n / (t2 - t1)
    finally:
        await store.close()
        ctl.stop()


def profiles(n: int) -> list[dict]:
    rnd = random.Random(7)
    out = []
    for i in range(n):
        comp = {
            "kind": rnd.choice(["client", "prospect", "partner"]),
            "tier": rnd.choice(["A", "B", "C", None]),
            "city": rnd.choice(["Oslo", "Bergen", "Hamburg", "Leeds", None]),
            "industry": rnd.choice(["Architecture", "Construction", "Logistics"]),
            "country": rnd.choice(["NO", "DE", "GB"]),
        }
        last = (
            None if rnd.random() < 0.2 else f"2026-{rnd.randint(1, 11):02d}-{rnd.randint(1, 28):02d}T00:00:00.000000Z"
        )
        deals = rnd.choice([{}, {"d": "open"}, {"d": "won"}, {"d": "lost"}])
        out.append(
            {
                "id": f"c{i:06d}",
                "name": f"Person {i:06d}",
                "email": f"p{i}@example.com",
                "lifecycle": rnd.choice(["lead", "prospect", "client"]),
                "owner": rnd.choice(["ann", "bob", "eva"]),
                "last_activity_at": last,
                **company_fields(comp),
                **deal_flags(deals),
                "responded_campaigns": [],
            }
        )
    return out


async def segment_eval(n: int, rounds: int = 5) -> dict:
    data = Path(tempfile.mkdtemp(prefix="bench-seg-"))
    store = SqliteStore(data / "m.sqlite3")
    await store.connect()
    people = profiles(n)
    await store.ensure_index("ref_contacts", [("name", 1)])
    await store.ensure_index("ref_contacts", [("lifecycle", 1)])
    t = f'"{PREFIX}ref_contacts"'
    now = now_iso()
    await store.db.executemany(
        f"INSERT INTO {t} (id, version, doc) VALUES (?, 1, ?)",
        [
            (p["id"], json.dumps({**p, "_id": p["id"], "version": 1, "created_at": now, "updated_at": now}))
            for p in people
        ],
    )
    await store.db.commit()
    clock = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    defn = S.check_definition(
        {
            "conditions": [
                S.condition("lifecycle", "in", ["prospect", "lead"]),
                S.condition("tier", "in", ["A", "B"]),
                S.condition("last_activity_at", "before", days=90),
                S.condition("deal_status", "not_in", ["won"]),
            ]
        }
    )
    seg = S.Resolved(
        defn, excludes=(S.Resolved(S.check_definition({"conditions": [S.condition("city", "in", ["oslo"])]})),)
    )
    flt = S.segment_filter(seg, clock, {})
    counts, pages = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        total = await store.count("ref_contacts", flt)
        counts.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        await store.find("ref_contacts", flt, sort=[("name", 1)], first=100)
        pages.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    test = S.member_test(seg, clock)
    in_memory = sum(1 for p in people if test(p))
    mem = time.perf_counter() - t0
    await store.close()
    assert in_memory == total, (in_memory, total)
    return {
        "members": total,
        "count_ms": statistics.median(counts) * 1000,
        "page_ms": statistics.median(pages) * 1000,
        "in_memory_ms": mem * 1000,
    }


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--contacts", type=int, default=100_000)
    a = ap.parse_args()
    for replicas in (1, 2):
        prep, rate = await send_throughput(a.messages, replicas)
        print(
            f"send to loopback SMTP, {a.messages} recipients, {replicas} replica(s) on one SQLite file: "
            f"prepare {prep:,.0f} recipients/s, send {rate:,.0f} messages/s"
        )
    r = await segment_eval(a.contacts)
    print(
        f"segment over {a.contacts:,} profiles (4 conditions, 1 excluded segment; {r['members']:,} members): "
        f"SQLite count {r['count_ms']:.0f} ms, first page of 100 {r['page_ms']:.0f} ms, "
        f"in-memory rule {r['in_memory_ms']:.0f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
