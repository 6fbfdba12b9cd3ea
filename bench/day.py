"""`python -m bench.day`: "my day" for a manager with 5,000 activities, through the gateway.

Starts the CRM (`devtools run` in a child process, embedded defaults, or the servers when AMQP_URL
and MONGODB_URL are set), creates 5,000 activities for one manager through the gateway (calls,
meetings and tasks over the past and next 60 days, a third held), 20 leads and 20 open deals,
then times `myDay` sequentially. Prints median and p99 (no assertion: the figures go in the note)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import statistics
import time

import httpx

from bench.crm import running_crm

N = int(os.environ.get("BENCH_DAY_ACTIVITIES", "5000"))
RUNS = int(os.environ.get("BENCH_DAY_RUNS", "200"))
SUB = "sales.bench"
COMPANY = "mutation($i: CreateCompanyInput!) { createCompany(input: $i) { company { id } errors { message } } }"
ACTIVITY = "mutation($i: CreateActivityInput!) { createActivity(input: $i) { activity { id } errors { message } } }"
LEAD = "mutation($i: CreateLeadInput!) { createLead(input: $i) { lead { id } errors { message } } }"
DEAL = "mutation($i: CreateDealInput!) { createDeal(input: $i) { deal { id } errors { message } } }"
MY_DAY = """query { myDay { overdue { id title } dueToday { id title } reminders { id title }
  dealsWithoutNextStep { id title } newLeads { id } hotLeads { id } notContacted { id name } } }"""


async def post(client: httpx.AsyncClient, url: str, query: str, variables: dict | None = None) -> dict:
    r = await client.post(url, json={"query": query, "variables": variables or {}})
    body = r.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


async def seed(url: str, headers: dict) -> None:
    now = dt.datetime.now(dt.UTC)
    async with httpx.AsyncClient(timeout=60, headers=headers) as c:
        companies = []
        for n in range(50):
            d = await post(c, url, COMPANY, {"i": {"name": f"Bench client {n}", "kind": "CLIENT", "owner": SUB}})
            companies.append(d["createCompany"]["company"]["id"])
        await asyncio.sleep(1)  # deals' replica of the companies
        sem = asyncio.Semaphore(8)

        async def one(n: int) -> None:
            kind = ("CALL", "MEETING", "TASK")[n % 3]
            when = (now + dt.timedelta(hours=(n % 2880) - 1440)).isoformat()
            i = {"kind": kind, "title": f"{kind.title()} {n}", "companyId": companies[n % 50], "owner": SUB}
            i["status"] = "HELD" if n % 3 == 0 else "PLANNED"
            i["dueAt" if kind == "TASK" else "startAt"] = when
            async with sem:
                await post(c, url, ACTIVITY, {"i": i})

        t = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(N)))
        print(f"seeded {N} activities in {time.perf_counter() - t:.1f}s")
        for n in range(20):
            await post(c, url, LEAD, {"i": {"source": "EVENT", "lastName": f"Lead {n}", "owner": SUB}})
            await post(
                c,
                url,
                DEAL,
                {
                    "i": {
                        "title": f"Deal {n}",
                        "companyId": companies[n],
                        "amount": "1000",
                        "currency": "EUR",
                        "owner": SUB,
                    }
                },
            )


async def measure(url: str, token: str) -> list[float]:
    times = []
    async with httpx.AsyncClient(timeout=60, headers={"authorization": f"Bearer {token}"}) as c:
        data = await post(c, url, MY_DAY)
        d = data["myDay"]
        print(
            "my day: overdue",
            len(d["overdue"]),
            "today",
            len(d["dueToday"]),
            "deals w/o step",
            len(d["dealsWithoutNextStep"]),
            "new leads",
            len(d["newLeads"]),
            "not contacted",
            len(d["notContacted"]),
        )
        for _ in range(RUNS):
            t = time.perf_counter()
            await post(c, url, MY_DAY)
            times.append((time.perf_counter() - t) * 1000)
    return times


def main() -> None:
    with running_crm() as crm:
        asyncio.run(seed(crm.gateway, crm.headers))
        times = asyncio.run(measure(crm.gateway, crm.token("sales", SUB)))
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(
        f"myDay through the gateway, {N} activities, {RUNS} runs: median {statistics.median(times):.1f} ms, p99 {p99:.1f} ms"
    )


if __name__ == "__main__":
    main()
