"""Benchmarks (not part of `make test`): `make bench` or `python -m bench.run [options]`.

By default the CRM runs in its deployed shape (bench/deployed.py): each service in its own
process over RabbitMQ (AMQP_URL, a unique exchange), SQLite, the gateway process. `--inprocess`
runs the four services in one process instead (`python -m devtools run`, bench/crm.py).
Prints, with the machine and its load:

1. the README's 360° query through the gateway at 1 and at 16 clients: req/s, p50, p99 and the CPU
   milliseconds per request of every process (from /proc via psutil); each subgraph's share of it
   queried directly; the gateway's latency over the slowest subgraph's;
2. the list page (`companies(first: 50)` with health, open ticket count, 5 deals, 5 tickets each);
3. event propagation of single writes (ticket opened → deals' health shows it), p50/p99;
4. sustained writes (`--rate` writes/s for `--sustained` s, mixed: tickets on a few large clients,
   new deals, contact updates): propagation p50/p99 to every consumer (applied time − the event's
   id time, from the consumers' processed-event records) and the time the backlog took to drain
   after the load stopped;
5. the outbox relay's publish rate and a consumer's apply rate from a backlog, separately
   (bench/events.py), on SQLite and, with MONGODB_URL, on the MongoDB-wire server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sqlite3
import time
from pathlib import Path

import httpx
import psutil
from ulid import ULID

from devtools.demo import QUERY_360
from services.common import auth
from services.common.settings import Settings

LIST_PAGE = """query ListPage {
  companies(first: 50) { edges { node {
    id name
    health { level warnings openCriticalTickets }
    openTicketCount
    deals(first: 5) { edges { node { id title status } } }
    tickets(first: 5) { edges { node { id subject status } } }
  } } }
}"""


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] if s else float("nan")


def machine() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "?"
    la = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs ({model}), {psutil.virtual_memory().total / 2**30:.0f} GiB, Python "
        f"{platform.python_version()}, load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}"
    )


async def load(url: str, body: dict, seconds: float, concurrency: int, headers: dict, cpu=None) -> dict:
    """`concurrency` clients sending `body` for `seconds`; with `cpu` (a callable returning
    {process: CPU seconds}), the CPU ms per request of each process."""
    lat: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as client:

        async def worker(stop: float):
            nonlocal errors
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = await client.post(url, json=body)
                dt = time.perf_counter() - t0
                if r.status_code != 200 or r.json().get("errors"):
                    errors += 1
                lat.append(dt)

        await asyncio.gather(*(worker(time.perf_counter() + min(2.0, seconds / 4)) for _ in range(concurrency)))
        lat.clear()
        errors = 0
        before = cpu() if cpu else {}
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(t0 + seconds) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
        after = cpu() if cpu else {}
    n = len(lat)
    return {
        "rps": n / elapsed,
        "p50": pct(lat, 50) * 1000,
        "p99": pct(lat, 99) * 1000,
        "n": n,
        "errors": errors,
        "cpu": {k: (after[k] - before[k]) * 1000 / max(n, 1) for k in after},
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


OPEN_TICKET = "mutation($i: OpenTicketInput!) { openTicket(input: $i) { ticket { id } errors { code } } }"
CREATE_DEAL = "mutation($i: CreateDealInput!) { createDeal(input: $i) { deal { id } errors { code } } }"
UPDATE_CONTACT = (
    "mutation($i: UpdateContactInput!) { updateContact(input: $i) { contact { id version } errors { code } } }"
)


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
                    "query": OPEN_TICKET,
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


async def sustained(gw: str, headers: dict, companies: list[str], contacts: list[dict], rate: float, seconds: float):
    """Open-loop writes at `rate`/s for `seconds`: half tickets on a few large clients, a quarter
    new deals, a quarter contact updates. Returns (t_start, t_end, answered, failed)."""
    versions = {c["id"]: c["version"] for c in contacts}
    locks = {c["id"]: asyncio.Lock() for c in contacts}
    ok = failed = 0
    first_failure: dict[int, str] = {}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=30, headers=headers, limits=limits) as c:

        async def write(i: int):
            nonlocal ok, failed
            kind = i % 4
            try:
                if kind in (0, 1):
                    body = {
                        "query": OPEN_TICKET,
                        "variables": {"i": {"companyId": companies[i % len(companies)], "subject": f"load {i}"}},
                    }
                    r = await c.post(gw, json=body)
                    good = bool(r.json()["data"]["openTicket"]["ticket"])
                elif kind == 2:
                    body = {
                        "query": CREATE_DEAL,
                        "variables": {"i": {"companyId": companies[i % len(companies)], "title": f"load {i}"}},
                    }
                    r = await c.post(gw, json=body)
                    good = bool(r.json()["data"]["createDeal"]["deal"])
                else:
                    cid = contacts[i % len(contacts)]["id"]
                    async with locks[cid]:
                        body = {
                            "query": UPDATE_CONTACT,
                            "variables": {"i": {"id": cid, "expectedVersion": versions[cid], "jobTitle": f"load {i}"}},
                        }
                        r = await c.post(gw, json=body)
                        contact = r.json()["data"]["updateContact"]["contact"]
                        good = bool(contact)
                        if contact:
                            versions[cid] = contact["version"]
            except Exception as exc:
                good = False
                r = None
                first_failure.setdefault(kind, repr(exc))
            if not good and r is not None:
                first_failure.setdefault(kind, r.text[:300])
            ok, failed = ok + good, failed + (not good)

        tasks = []
        t_start = time.time()
        t0 = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(write(i)))
        t_sent = time.time()
        await asyncio.gather(*tasks)
        t_end = time.time()
    for kind, text in first_failure.items():
        print(f"  (a failed write of kind {kind}: {text})")
    return t_start, t_sent, t_end, ok, failed


def applied_lags(db_files: dict[str, str], since: float, until: float) -> tuple[dict[str, list[float]], float]:
    """Per consumer: applied time − event time (ms) of the events created in [since, until], and
    the last applied time seen (epoch s). From each service's processed-event records."""
    from services.common.values import parse_ts

    out: dict[str, list[float]] = {}
    last = 0.0
    for service, path in db_files.items():
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT id, json_extract(doc, '$.created_at') FROM c_processed_events").fetchall()
        for key, applied in rows:
            queue, event_id = key.rsplit(":", 1)
            made = ULID.from_str(event_id).milliseconds / 1000
            if not since <= made <= until:
                continue
            at = parse_ts(applied).timestamp()
            last = max(last, at)
            out.setdefault(f"{service}.{queue.rsplit('.', 1)[-1]}", []).append((at - made) * 1000)
    return out, last


def print_load(title: str, r: dict) -> None:
    cpu = "  ".join(f"{k} {v:.1f}" for k, v in r["cpu"].items())
    total = sum(r["cpu"].values())
    print(f"{title:<40}{r['rps']:>8.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['errors']:>7}")
    if r["cpu"]:
        print(f"{'':<6}CPU ms/request: {cpu}  (all: {total:.1f})")


async def main(a: argparse.Namespace) -> None:
    amqp = os.environ.get("AMQP_URL")
    mongo = os.environ.get("MONGODB_URL") if a.mongo else None
    print(f"Turnkey CRM bench on {machine()}")
    if a.inprocess or not amqp:
        from bench.crm import running_crm

        if not a.inprocess:
            print("(AMQP_URL is not set: the deployed shape needs RabbitMQ; running the in-process variant)")
        with running_crm(mongo=mongo) as crm:
            await body(a, crm.gateway, crm.subgraphs, crm.headers, crm.settings, crm.cpu, None, "in-process")
        return
    from bench.deployed import Deployed

    d = Deployed(amqp_url=amqp, mongodb_url=mongo)
    try:
        t0 = time.monotonic()
        await d.start()
        print(f"(deployed shape up with demo data in {time.monotonic() - t0:.0f}s, data in {d.data})")
        settings = d.stack.settings("contacts")
        headers = {"authorization": "Bearer " + d.stack.mint("admin", "bench", ttl="2h")}
        await body(
            a,
            d.gateway,
            {n: d.url(n) for n in ("contacts", "deals", "marketing", "support")},
            headers,
            settings,
            d.cpu,
            d,
            "deployed",
        )
        print("\nidle RSS MB: " + "  ".join(f"{k} {v:.0f}" for k, v in d.rss().items()))
    finally:
        await d.stop()


async def body(a, gw, subgraphs, headers, settings, cpu, deployed, shape: str) -> None:
    store = "MongoDB-wire" if a.mongo and os.environ.get("MONGODB_URL") else "SQLite"
    bus = "RabbitMQ" if os.environ.get("AMQP_URL") else "in-process bus"
    print(f"shape: {shape}; store {store}; bus {bus}; {a.seconds:.0f}s per target\n")
    async with httpx.AsyncClient(headers=headers, timeout=30) as c:
        d = (
            await c.post(
                gw,
                json={
                    "query": "{ companies(first: 50) { edges { node { id name contacts { edges { node { id version } } } } } } }"
                },
            )
        ).json()
    nodes = [e["node"] for e in d["data"]["companies"]["edges"]]
    node = next(n for n in nodes if n["name"] == "Nordhaven Architects")
    company_id, contacts = node["id"], [e["node"]["id"] for e in node["contacts"]["edges"]]
    print(f"{'target':<40}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}")
    one = await load(gw, {"query": QUERY_360}, a.seconds, 1, headers, cpu)
    print_load("360° via gateway, 1 client", one)
    many = await load(gw, {"query": QUERY_360}, a.seconds, a.concurrency, headers, cpu)
    print_load(f"360° via gateway, {a.concurrency} clients", many)
    subs = {}
    for name, q in subgraph_queries(company_id, contacts).items():
        subs[name] = await load(subgraphs[name], q, a.seconds / 2, 1, headers, cpu)
        print_load(f"  {name}'s share direct, 1 client", subs[name])
    critical = max(subs["contacts"]["p50"], 0) + max(subs[n]["p50"] for n in ("deals", "support", "marketing"))
    print(
        f"\n1 client: gateway p50 {one['p50']:.1f} ms vs critical path of its subgraph fetches "
        f"(contacts + slowest of the rest, direct) {critical:.1f} ms: {one['p50'] / critical:.2f}x"
    )
    lp = await load(gw, {"query": LIST_PAGE}, a.seconds, a.concurrency, headers, cpu)
    print(f"\nlist page ({len(nodes)} companies):")
    print_load(f"  companies(first: 50), {a.concurrency} clients", lp)
    p = await propagation(gw, subgraphs["deals"], company_id, a.samples, headers)
    print(
        f"\nsingle writes: support.ticket.opened -> deals health applied (n={p['n']}): p50 {p['p50']:.1f} ms, p99 {p['p99']:.1f} ms"
    )
    if a.sustained and deployed is not None and store == "SQLite":
        big = [n["id"] for n in nodes[:3]]
        people = []
        for n in nodes:
            people += [e["node"] for e in n["contacts"]["edges"]]
        before = cpu()
        t_start, t_sent, t_end, ok, failed = await sustained(gw, headers, big, people[:12], a.rate, a.sustained)
        await deployed.settle(quiet=1.5, timeout=120)
        after = cpu()
        lags, last = applied_lags(
            {n: str(deployed.sqlite(n)) for n in ("contacts", "deals", "marketing", "support")}, t_start, t_end
        )
        n_all = sum(len(v) for v in lags.values())
        print(
            f"\nsustained writes: {a.rate:.0f}/s for {a.sustained:.0f}s ({ok} answered, {failed} failed, "
            f"the last answered {t_end - t_sent:.1f}s after the last was sent), {n_all} events applied:"
        )
        for k, v in sorted(lags.items()):
            print(f"  {k:<34} n={len(v):>6}  p50 {pct(v, 50):8.1f} ms  p99 {pct(v, 99):8.1f} ms  max {max(v):8.1f} ms")
        every = [x for v in lags.values() for x in v]
        print(f"  {'every consumer':<34} n={len(every):>6}  p50 {pct(every, 50):8.1f} ms  p99 {pct(every, 99):8.1f} ms")
        print(f"  backlog drained {max(0.0, last - t_end) * 1000:.0f} ms after the last write was answered")
        print("  CPU s during the run: " + "  ".join(f"{k} {after[k] - before[k]:.1f}" for k in after))
    from bench.events import rates

    print()
    await rates(n=a.events, amqp_url=os.environ.get("AMQP_URL"), mongodb_url=os.environ.get("MONGODB_URL"))
    full, cached = await verify_cost(settings, headers["authorization"])
    print(f"\ntoken verification in a subgraph (ES256, local key): {full:.0f} µs, cached {cached:.1f} µs")
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


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


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10, help="per load target")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--samples", type=int, default=100, help="single-write propagation samples")
    ap.add_argument("--rate", type=float, default=100, help="sustained writes per second")
    ap.add_argument("--sustained", type=float, default=60, help="sustained load seconds (0: skip)")
    ap.add_argument("--events", type=int, default=2000, help="backlog size for the relay and consumer rates")
    ap.add_argument("--inprocess", action="store_true", help="the four services in one process")
    ap.add_argument("--mongo", action="store_true", help="MongoDB-wire store (MONGODB_URL) instead of SQLite")
    asyncio.run(main(ap.parse_args()))
