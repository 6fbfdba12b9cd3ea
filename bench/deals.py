"""The forecast by period and the cash curve over 100,000 deals, through the gateway.

    python -m bench.deals [--deals 100000] [--requests 60] [--concurrency 4]

The deals (and one or two payment milestones for each open or won deal) are written straight
into the deals service's embedded SQLite store before the CRM starts — the documents exactly as
the service writes them (`planning.derive` computes the forecast fields), inserted in bulk, since
creating 100,000 deals through the API would take far longer than the measurement. Then the CRM
starts (`python -m devtools run` in a child process: four services and the gateway, gateway
request de-duplication and rate limits off) and the two queries are sent through the gateway,
varying the period and the currency-independent arguments so that no two concurrent requests
are identical. Prints requests per second, median and p99 latency per query."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.crm import running_crm
from services.common.ids import new_id, now_iso
from services.deals import domain, planning
from services.deals.payments import with_open

NAMES = ["contacts", "deals", "marketing", "support"]
QUERIES = {
    "forecastByPeriod": (
        'query($p: Period!) { forecastByPeriod(currency: "EUR", period: $p) '
        "{ period dealCount amount { amount } weighted { amount } commit { amount } bestCase { amount } } }"
    ),
    "cashCurve": (
        'query($p: Period!) { cashCurve(currency: "EUR", period: $p) '
        "{ period committed { amount } weightedPipeline { amount } expected { amount } } }"
    ),
}


def generate(path: Path, n: int, seed: int = 11) -> tuple[int, int]:
    """`n` deals and their milestones, written into the deals store at `path` (bulk insert)."""
    rnd = random.Random(seed)
    pipeline = domain.default_pipeline()
    stages = [s for s in pipeline["stages"] if s["kind"] == "open"]
    today = dt.date.today()
    now = now_iso()
    db = sqlite3.connect(path)
    for coll in ("deals", "milestones"):
        db.execute(
            f'CREATE TABLE IF NOT EXISTS "c_{coll}" (id TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL)'
        )
    deals, milestones = [], []
    for i in range(n):
        roll = rnd.random()
        status = "open" if roll < 0.7 else "won" if roll < 0.9 else "lost"
        stage = rnd.choice(stages) if status == "open" else {"id": status}
        close = today + dt.timedelta(days=rnd.randint(-30, 700))
        d = {
            "id": new_id(),
            "title": f"Bench deal {i}",
            "company_id": f"bench-company-{i % 5000}",
            "contact_id": None,
            "amount_minor": rnd.randint(10_000, 2_000_000) * 100,
            "currency": "EUR",
            "pipeline_id": pipeline["id"],
            "stage_id": stage["id"],
            "status": status,
            "owner": f"sales.{i % 40}",
            "partner_id": None,
            "expected_close_date": close.isoformat(),
            "probability_override": rnd.choice([None] * 9 + [rnd.randint(5, 95)]),
            "won_at": f"{close.isoformat()}T12:00:00.000000Z" if status == "won" else None,
        }
        d = planning.derive(d, pipeline)
        deals.append(d)
        if status != "lost":
            for k in range(rnd.randint(1, 2)):
                due = close + dt.timedelta(days=30 * (k + 1))
                m = {
                    "id": new_id(),
                    "deal_id": d["id"],
                    "company_id": d["company_id"],
                    "owner": d["owner"],
                    "title": f"Milestone {k + 1}",
                    "amount_minor": d["amount_minor"] // 2,
                    "currency": "EUR",
                    "due_date": due.isoformat(),
                    "due_month": due.isoformat()[:7],
                    "status": "planned",
                    "paid_minor": 0,
                    "external_ids": [],
                    "weight": d["probability"],
                    "deal_status": status,
                    "deal_version": 1,
                }
                milestones.append(with_open(m))
    for coll, docs in (("deals", deals), ("milestones", milestones)):
        rows = []
        for doc in docs:
            raw = {k: v for k, v in doc.items() if k != "id"}
            raw.update(_id=doc["id"], version=1, created_at=now, updated_at=now)
            rows.append((doc["id"], 1, json.dumps(raw)))
        db.executemany(f'INSERT INTO "c_{coll}" (id, version, doc) VALUES (?, ?, ?)', rows)
    db.commit()
    db.close()
    return len(deals), len(milestones)


async def measure(url: str, headers: dict, name: str, requests: int, concurrency: int) -> None:
    latencies: list[float] = []
    periods = ["MONTH", "QUARTER"]
    sem = asyncio.Semaphore(concurrency)

    async with httpx.AsyncClient(timeout=120, headers=headers) as c:
        r = await c.post(url, json={"query": QUERIES[name], "variables": {"p": "QUARTER"}})
        body = r.json()
        assert not body.get("errors"), body
        buckets = body["data"][name]

        async def one(i: int) -> None:
            async with sem:
                t = time.perf_counter()
                r = await c.post(url, json={"query": QUERIES[name], "variables": {"p": periods[i % 2]}})
                latencies.append(time.perf_counter() - t)
                assert r.status_code == 200 and not r.json().get("errors"), r.text[:300]

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(requests)))
        wall = time.perf_counter() - t0
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"{name:<17} {requests} requests, {concurrency} concurrent: {requests / wall:6.1f} req/s   "
        f"median {statistics.median(latencies) * 1000:7.0f} ms   p99 {p99 * 1000:7.0f} ms   ({len(buckets)} quarters)"
    )


async def main(args) -> None:
    data = tempfile.mkdtemp(prefix="turnkey-bench-deals-")
    t = time.perf_counter()
    n_deals, n_ms = generate(Path(data) / "deals.sqlite3", args.deals)
    print(
        f"generated {n_deals} deals and {n_ms} payment milestones straight into the store in {time.perf_counter() - t:.1f} s"
    )
    with running_crm(data_dir=data, embedded=True) as crm:  # the embedded store the data was written to
        for name in QUERIES:
            await measure(crm.gateway, crm.headers, name, args.requests, args.concurrency)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--deals", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--concurrency", type=int, default=4)
    asyncio.run(main(ap.parse_args()))
