"""Benchmarks (not part of `make test`): `make bench` or `python -m bench.run [--seconds N]`.

1. The 360° query (README) through the gateway vs. the slowest subgraph's share of it queried
   directly, same data, same run: req/s, p50, p99 and the ratio.
2. Event propagation: a ticket opened (mutation answered) → deals' account health shows it
   (consumer applied), p50/p99, on RabbitMQ when AMQP_URL is set (else the in-process bus).

The CRM runs in a child process (`python -m devtools run`, the four services in one
process plus the gateway process, gateway request deduplication off); the load comes from this
process with a fixed number of concurrent clients."""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import httpx

from bench.crm import running_crm
from devtools.demo import QUERY_360
from services.common import auth
from services.common.settings import Settings


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


async def load(url: str, body: dict, seconds: float, concurrency: int, headers: dict) -> dict:
    lat: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient):
        nonlocal errors
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            r = await client.post(url, json=body)
            dt = time.perf_counter() - t0
            if r.status_code != 200 or r.json().get("errors"):
                errors += 1
            lat.append(dt)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as client:
        for _ in range(20):  # warm-up
            await client.post(url, json=body)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return {
        "rps": len(lat) / elapsed,
        "p50": pct(lat, 50) * 1000,
        "p99": pct(lat, 99) * 1000,
        "n": len(lat),
        "errors": errors,
    }


def subgraph_queries(company_id: str, contact_ids: list[str]) -> dict[str, dict]:
    """Each subgraph's share of the 360° query, as the gateway asks for it."""
    reps_company = [{"__typename": "Company", "id": company_id}]
    reps_contacts = [{"__typename": "Contact", "id": c} for c in contact_ids]
    return {
        "contacts": {
            "query": """{ companies(first: 1, filter: {name: "Nordhaven Architects"}) { edges { node {
            id name kind contacts(first: 10) { edges { node { id name email lifecycle } } }
            timeline(first: 20) { edges { node { occurredAt kind source title } } } } } } }"""
        },
        "deals": {
            "query": """query($r: [_Any!]!) { _entities(representations: $r) { ... on Company {
            health { level warnings openCriticalTickets }
            deals(first: 10) { edges { node { title status amount { amount currency } stage { name probability } } } } } } }""",
            "variables": {"r": reps_company},
        },
        "support": {
            "query": """query($r: [_Any!]!) { _entities(representations: $r) { ... on Company {
            openTicketCount tickets(first: 10) { edges { node { subject priority status } } } } } }""",
            "variables": {"r": reps_company},
        },
        "marketing": {
            "query": """query($r: [_Any!]!) { _entities(representations: $r) { ... on Contact {
            campaigns(first: 5) { edges { node { status campaign { name channel roi revenue { amount currency } } } } } } } }""",
            "variables": {"r": reps_contacts},
        },
    }


async def propagation(gw: str, deals_url: str, company_id: str, samples: int, headers: dict) -> dict:
    lat = []
    q_health = {
        "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on Company { health { openTickets } } } }",
        "variables": {"r": [{"__typename": "Company", "id": company_id}]},
    }
    async with httpx.AsyncClient(timeout=30, headers=headers) as c:

        async def open_count():
            r = await c.post(deals_url, json=q_health)
            return r.json()["data"]["_entities"][0]["health"]["openTickets"]

        for i in range(samples):
            before = await open_count()
            r = await c.post(
                gw,
                json={
                    "query": "mutation($i: OpenTicketInput!) { openTicket(input: $i) { ticket { id } errors { code } } }",
                    "variables": {"i": {"companyId": company_id, "subject": f"bench {i}", "priority": "LOW"}},
                },
            )
            assert r.json()["data"]["openTicket"]["ticket"], r.text
            t0 = time.perf_counter()
            while await open_count() == before:
                if time.perf_counter() - t0 > 10:
                    raise TimeoutError("event not applied within 10 s")
                await asyncio.sleep(0.001)
            lat.append(time.perf_counter() - t0)
    return {"p50": pct(lat, 50) * 1000, "p99": pct(lat, 99) * 1000, "n": len(lat)}


async def verify_cost(settings: Settings, header: str, n: int = 2000) -> tuple[float, float]:
    """What checking the JWT again in every subgraph costs per request (µs): a full signature
    check, and a token seen in the last minute (cached)."""
    v = auth.Verifier(settings)
    await v.verify(header)
    t0 = time.perf_counter()
    for _ in range(n):
        await v._verify(header)
    full = (time.perf_counter() - t0) / n * 1e6
    t0 = time.perf_counter()
    for _ in range(n):
        await v.verify(header)
    return full, (time.perf_counter() - t0) / n * 1e6


async def main(seconds: float, concurrency: int, samples: int) -> None:
    with running_crm() as crm:
        gw, headers, settings = crm.gateway, crm.headers, crm.settings
        async with httpx.AsyncClient(headers=headers) as c:
            d = (
                await c.post(
                    gw,
                    json={
                        "query": '{ companies(first: 1, filter: {name: "Nordhaven Architects"}) { edges { node { id contacts { edges { node { id } } } } } } }'
                    },
                )
            ).json()
        node = d["data"]["companies"]["edges"][0]["node"]
        company_id, contacts = node["id"], [e["node"]["id"] for e in node["contacts"]["edges"]]
        bus = "RabbitMQ" if os.environ.get("AMQP_URL") else "in-process bus"
        store = "MongoDB" if os.environ.get("MONGODB_URL") else "SQLite"
        print(
            f"Turnkey CRM bench: {store}, {bus}, {concurrency} concurrent clients, {seconds:.0f}s per target, "
            f"{os.cpu_count()} CPUs\n"
        )
        subs = {}
        for name, body in subgraph_queries(company_id, contacts).items():
            subs[name] = await load(crm.subgraphs[name], body, seconds / 2, concurrency, headers)
        slowest = min(subs, key=lambda n: subs[n]["rps"])
        g = await load(gw, {"query": QUERY_360}, seconds, concurrency, headers)
        s = await load(
            crm.subgraphs[slowest],
            subgraph_queries(company_id, contacts)[slowest],
            seconds,
            concurrency,
            headers,
        )
        print(f"{'target':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for name, r in subs.items():
            print(
                f"{'  subgraph ' + name + ' (its share)':<34}{r['rps']:>9.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['errors']:>8}"
            )
        print(f"{'360° query via gateway':<34}{g['rps']:>9.0f}{g['p50']:>9.1f}{g['p99']:>9.1f}{g['errors']:>8}")
        print(
            f"{'slowest subgraph direct: ' + slowest:<34}{s['rps']:>9.0f}{s['p50']:>9.1f}{s['p99']:>9.1f}{s['errors']:>8}"
        )
        print(
            f"\ngateway / slowest subgraph: throughput {g['rps'] / s['rps']:.2f}x, "
            f"p50 {g['p50'] / s['p50']:.2f}x, p99 {g['p99'] / s['p99']:.2f}x"
        )
        p = await propagation(gw, crm.subgraphs["deals"], company_id, samples, headers)
        print(
            f"\nevent propagation support.ticket.opened -> deals health applied ({bus}, n={p['n']}): "
            f"p50 {p['p50']:.1f} ms, p99 {p['p99']:.1f} ms"
        )
        full, cached = await verify_cost(settings, headers["authorization"])
        print(f"\ntoken verification in a subgraph (ES256, local key): {full:.0f} µs, cached {cached:.1f} µs")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--samples", type=int, default=100)
    a = ap.parse_args()
    asyncio.run(main(a.seconds, a.concurrency, a.samples))
