"""Partner-channel figures (`python -m bench.partners [--clients 50000] [--registrations 50000]`):
the conflict check of a deal registration (`partner_api.find_conflicts`: client keys, open staff
deals, other partners' live registrations, by the duplicate rules: one indexed query per key and
two per blocking key of the fuzzy name rule, at most 200 candidates each) against a store holding
N client keys, N/5 open staff deals and M registrations, on the embedded SQLite store with deals' indexes — the work every
`submitDealRegistration` does before it writes. Prints the median and p99 of a held client and
of a client nobody holds (the two must cost the same: a partner must not learn from timing).
The names ("Client 17 AS", "Registered 17") all share one blocking key, the worst case of the
fuzzy rule's candidate queries: each returns its full 200."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from services.common.store.sqlite import SqliteStore
from services.deals import partner_api
from services.deals import partners as R


async def bench(clients: int, registrations: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "deals.sqlite3")
        await store.connect()
        for coll, specs in partner_api.INDEXES.items():
            for spec in specs:
                await store.ensure_index(coll, spec)
        await store.ensure_index("deals", [("company_id", 1), ("created_at", -1)])
        t0 = time.perf_counter()
        for i in range(clients):
            await store.insert(
                "client_keys", {"id": f"company:c{i}", "company_id": f"c{i}", **R.client_keys(f"Client {i} AS")}
            )
            await store.insert(
                "client_keys",
                {"id": f"contact:k{i}", "company_id": f"c{i}", **R.client_keys(None, None, f"a@client{i}.no")},
            )
            if i % 5 == 0:
                await store.insert(
                    "deals",
                    {"id": f"d{i}", "company_id": f"c{i}", "status": "open", "partner_id": None, "owner": "anna"},
                )
        for i in range(registrations):
            body = {
                "id": f"r{i}",
                "partner_id": f"p{i % 40}",
                "status": "approved",
                **R.client_keys(f"Registered {i}", f"reg{i}.no"),
            }
            await store.insert("registrations", body)
        print(
            f"loaded {clients} clients, {clients // 5} staff deals, {registrations} registrations in {time.perf_counter() - t0:.0f} s"
        )

        async def timed(keys: dict) -> float:
            t = time.perf_counter()
            await partner_api.find_conflicts(store, keys, "p-me")
            return (time.perf_counter() - t) * 1000

        held, free = [], []
        for i in range(rounds):
            held.append(await timed(R.client_keys(f"CLIENT {i * 5 % clients}", None, f"b@client{i * 5 % clients}.no")))
            free.append(await timed(R.client_keys(f"Nobody {i}", None, f"b@nobody{i}.no")))
        for name, xs in (("held client", held), ("client nobody holds", free)):
            xs.sort()
            print(f"{name:20s} median {statistics.median(xs):.2f} ms  p99 {xs[int(len(xs) * 0.99) - 1]:.2f} ms")
        await store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50_000)
    ap.add_argument("--registrations", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=300)
    a = ap.parse_args()
    asyncio.run(bench(a.clients, a.registrations, a.rounds))


if __name__ == "__main__":
    main()
