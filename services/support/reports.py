"""Support reports (staff): SLA compliance by queue and priority, first-response and resolution
times (p50/p90, wall-clock minutes), backlog by age, satisfaction per agent/queue/client, tickets
per client (feeding account health). Computed from the tickets opened in a period (read in pages;
at most MAX_SCAN tickets per report)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from enum import Enum

import strawberry
from strawberry.types import Info

from services.common.authz import STAFF, allow
from services.common.errors import PublicError
from services.common.ids import iso
from services.common.values import parse_ts

from . import domain, escalation

MAX_SCAN = 20_000


@strawberry.type
class Compliance:
    queue_id: strawberry.ID | None
    priority: str
    tickets: int
    first_response_met: int
    resolution_met: int
    first_response_percent: float | None
    resolution_percent: float | None


@strawberry.type
class Durations:
    count: int
    p50_minutes: float | None
    p90_minutes: float | None


@strawberry.type
class Bucket:
    label: str
    count: int


@strawberry.type
class ClientTickets:
    company_id: strawberry.ID | None
    opened: int
    open: int
    breached: int


@strawberry.type
class SatisfactionRow:
    key: str | None = strawberry.field(description="The agent, queue id or company id")
    responses: int
    average: float
    low: int


@strawberry.type(description="Support figures for the tickets opened in a period.")
class SupportReport:
    tickets: int
    compliance: list[Compliance]
    first_response: Durations
    resolution: Durations
    backlog: list[Bucket]
    per_client: list[ClientTickets]


async def _scan(store, coll: str, flt: dict) -> list[dict]:
    out, after = [], None
    while True:
        page = await store.find(coll, flt, sort=[("created_at", 1)], first=500, after=after)
        out.extend(page.items)
        if not page.has_next or len(out) >= MAX_SCAN:
            return out[:MAX_SCAN]
        after = page.end_cursor


def _minutes(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    return (parse_ts(b) - parse_ts(a)).total_seconds() / 60


def _pct(n: int, d: int) -> float | None:
    return round(100 * n / d, 2) if d else None


def report(docs: list[dict], now: dt.datetime) -> SupportReport:
    """The report of `docs` (plain; unit-tested through bench and tests)."""
    groups: dict = defaultdict(lambda: [0, 0, 0, 0, 0])  # tickets with SLA, fr met, fr decided, res met, res decided
    first, resolution, backlog = [], [], defaultdict(int)
    clients: dict = defaultdict(lambda: [0, 0, 0])
    for t in docs:
        start = t.get("received_at") or t["created_at"]
        if (m := _minutes(start, t.get("first_response_at"))) is not None:
            first.append(m)
        if t["status"] in ("resolved", "closed") and (m := _minutes(start, t.get("resolved_at"))) is not None:
            resolution.append(m)
        if t["status"] in domain.OPEN_STATUSES:
            backlog[domain.age_bucket((now - parse_ts(start)).total_seconds() / 86400)] += 1
        c = clients[t.get("company_id")]
        c[0] += 1
        c[1] += t["status"] in domain.OPEN_STATUSES
        states = escalation.evaluate(t, now)
        if states is None:
            continue
        fr, res = states
        g = groups[(t.get("queue_id"), t["priority"])]
        g[0] += 1
        if fr.met_at is not None or fr.breached:
            g[2] += 1
            g[1] += not fr.breached
        if res.met_at is not None or res.breached:
            g[4] += 1
            g[3] += not res.breached
        c[2] += fr.breached or res.breached
    order = {p: i for i, p in enumerate(domain.PRIORITIES)}
    compliance = [
        Compliance(
            queue_id=q,
            priority=p,
            tickets=g[0],
            first_response_met=g[1],
            resolution_met=g[3],
            first_response_percent=_pct(g[1], g[2]),
            resolution_percent=_pct(g[3], g[4]),
        )
        for (q, p), g in sorted(groups.items(), key=lambda x: (x[0][0] or "", order.get(x[0][1], 9)))
    ]

    def durations(values: list[float]) -> Durations:
        p50, p90 = domain.percentile(values, 50), domain.percentile(values, 90)
        return Durations(
            count=len(values),
            p50_minutes=None if p50 is None else round(p50, 2),
            p90_minutes=None if p90 is None else round(p90, 2),
        )

    return SupportReport(
        tickets=len(docs),
        compliance=compliance,
        first_response=durations(first),
        resolution=durations(resolution),
        backlog=[Bucket(label=label, count=backlog[label]) for _, label in domain.AGE_BUCKETS],
        per_client=[
            ClientTickets(company_id=k, opened=v[0], open=v[1], breached=v[2])
            for k, v in sorted(clients.items(), key=lambda x: (-x[1][0], x[0] or ""))
        ],
    )


def _since_until(since: dt.datetime | None, until: dt.datetime | None) -> dict:
    for v, name in ((since, "since"), (until, "until")):
        if v is not None and v.tzinfo is None:
            raise PublicError(f"`{name}` needs a time zone")
    clauses = []
    if since:
        clauses.append({"created_at": {"$gte": iso(since)}})
    if until:
        clauses.append({"created_at": {"$lt": iso(until)}})
    return {"$and": clauses} if clauses else {}


@strawberry.enum
class SatisfactionBy(Enum):
    AGENT = "agent"
    QUEUE = "queue_id"
    CLIENT = "company_id"


@strawberry.type
class ReportsQuery:
    @strawberry.field(
        description="SLA compliance, response and resolution times, backlog and tickets per client for the "
        "tickets opened in [since, until).",
        extensions=allow(STAFF),
    )
    async def support_report(
        self, info: Info, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> SupportReport | None:
        docs = await _scan(info.context.store, "tickets", _since_until(since, until))
        return report(docs, dt.datetime.now(dt.UTC))

    @strawberry.field(description="Satisfaction answers grouped by agent, queue or client.", extensions=allow(STAFF))
    async def satisfaction(
        self, info: Info, by: SatisfactionBy, since: dt.datetime | None = None
    ) -> list[SatisfactionRow] | None:
        docs = await _scan(info.context.store, "surveys", _since_until(since, None))
        rows: dict = defaultdict(list)
        for d in docs:
            rows[d.get(by.value)].append(d["score"])
        return [
            SatisfactionRow(
                key=k,
                responses=len(v),
                average=round(sum(v) / len(v), 2),
                low=sum(domain.satisfaction_low(s) for s in v),
            )
            for k, v in sorted(rows.items(), key=lambda x: x[0] or "")
        ]
