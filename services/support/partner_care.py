"""Partners' care of their end clients (issue #16, docs/partners.md): where the partner programme
enables partner support for a partner (`supportEnabled`, published by deals as
`deals.partner.updated`), the partner sees and answers the tickets of the clients it registered,
on the same SLA clocks. A breach on such a ticket escalates to our own support (the escalation
timer calls `breach_escalation`). Partner managers read per-partner response and resolution times,
breaches, escalations and satisfaction (`partnerCareReport`).

`TURNKEY_SUPPORT_PARTNERS` still enables partners by configuration (`*`: all); the programme's
flag complements it. Each ticket carries `partner_care` (copied when it is opened, rewritten for
the partner's tickets when the flag changes), so the row scope stays one store filter."""

from __future__ import annotations

import statistics

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, SALES, SUPPORT, allow
from services.common.envelope import Envelope
from services.common.service import Service, Subscription
from services.common.store import Store
from services.common.values import parse_ts

PARTNER_UPDATED = "deals.partner.updated"
ESCALATED_TO_US = "support.partner.escalated"
MAX_TICKETS = 20_000  # per report, as supportReport


async def enabled(store: Store, partner_id: str | None) -> bool:
    if not partner_id:
        return False
    return bool((await store.get("ref_partners", partner_id) or {}).get("support_enabled"))


async def on_partner(store: Store, e: Envelope) -> None:
    """The programme's flag: kept per partner, and on each of its tickets."""
    d = e.data
    version = int(d.get("version") or 0)
    flag = bool(d.get("support_enabled"))
    changed: list[bool] = []

    def fn(cur):
        if cur and int(cur.get("source_version") or 0) >= version:
            return None
        changed.append(bool((cur or {}).get("support_enabled")) != flag)
        return {"support_enabled": flag, "source_version": version}

    await store.mutate("ref_partners", str(d["id"]), fn, create=True)
    # the partner's tickets follow the newest flag (also re-run on a replay: idempotent)
    current = await enabled(store, str(d["id"]))
    for t in await store.find_all(
        "tickets", {"$and": [{"partner_id": str(d["id"])}, {"partner_care": {"$ne": current}}]}
    ):
        await store.mutate(
            "tickets",
            t["id"],
            lambda doc: None if doc.get("partner_care") == current else {**doc, "partner_care": current},
        )


def subscription(service: Service) -> Subscription:
    return Subscription("partner-care", [PARTNER_UPDATED], lambda e: on_partner(service.store, e))


def breach_escalation(ticket: dict, alarm: str, now: str) -> tuple[dict, list[Envelope]]:
    """A partner missed an SLA on its client's ticket: our support takes it over (the ticket leaves
    the partner's assignee-less care, recorded with the alarm), and support staff are told."""
    if not ticket.get("partner_care") or ticket.get("escalated_to_us"):
        return {}, []
    data = {
        "ticket_id": ticket["id"],
        "partner_id": ticket.get("partner_id"),
        "company_id": ticket.get("company_id"),
        "subject": ticket.get("subject"),
        "alarm": alarm,
        "at": now,
    }
    note = Envelope(
        "support.notification.requested",
        f"support-{ticket['id']}-partner-{alarm}",
        {
            "recipients": [r for r in (ticket.get("assignee"), ticket.get("account_owner")) if r],
            "title": f"Partner SLA breached, now ours: {ticket.get('subject')}",
            "body": f"The partner missed the {alarm.split('.')[0].replace('_', ' ')} on this client's ticket.",
            "ref_type": "Ticket",
            "ref_id": ticket["id"],
            "company_id": ticket.get("company_id"),
            "kind": "sla.partner_breached",
        },
    )
    return {"escalated_to_us": {"alarm": alarm, "at": now}}, [Envelope(ESCALATED_TO_US, ticket["id"], data), note]


# ---- the partner manager's report ---------------------------------------------------------------
def minutes(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    return (parse_ts(b) - parse_ts(a)).total_seconds() / 60


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def care_rows(tickets: list[dict], scores: dict[str, list[int]]) -> list[dict]:
    by: dict[str, list[dict]] = {}
    for t in tickets:
        by.setdefault(t["partner_id"], []).append(t)
    rows = []
    for pid, ts in sorted(by.items()):
        first = [m for t in ts if (m := minutes(t.get("created_at"), t.get("first_response_at"))) is not None]
        resolved = [m for t in ts if (m := minutes(t.get("created_at"), t.get("resolved_at"))) is not None]
        breached = sum(1 for t in ts if any(a.endswith(".breached") for a in t.get("sla_fired") or []))
        s = [x for t in ts for x in scores.get(t["id"], [])]
        rows.append(
            {
                "partner_id": pid,
                "tickets": len(ts),
                "open": sum(1 for t in ts if t.get("status") not in ("resolved", "closed")),
                "first_response_p50": median(first),
                "resolution_p50": median(resolved),
                "breaches": breached,
                "escalated": sum(1 for t in ts if t.get("escalated_to_us")),
                "responses": len(s),
                "satisfaction": round(sum(s) / len(s), 2) if s else None,
            }
        )
    return rows


@strawberry.type(description="How a partner cares for its end clients' tickets.")
class PartnerCareRow:
    partner_id: strawberry.ID
    tickets: int
    open: int
    first_response_p50: float | None = strawberry.field(description="Median minutes to the first public answer.")
    resolution_p50: float | None = strawberry.field(description="Median minutes to resolution.")
    breaches: int
    escalated: int = strawberry.field(description="Tickets taken over by our support after a partner's breach.")
    responses: int
    satisfaction: float | None = strawberry.field(description="Average survey score (1-5).")


@strawberry.type
class PartnerCareQuery:
    @strawberry.field(
        description="Per partner with partner support: response and resolution times, breaches, escalations "
        "and satisfaction of the tickets opened since `since` (partner managers and support).",
        extensions=allow(ADMIN, SALES, SUPPORT),
    )
    async def partner_care_report(self, info: Info, since: str | None = None) -> list[PartnerCareRow] | None:
        c = info.context
        flt: dict = {"$and": [{"partner_id": {"$ne": None}}, {"partner_care": True}]}
        if since:
            flt["$and"].append({"created_at": {"$gte": since}})
        tickets = (await c.store.find_all("tickets", flt, sort=[("created_at", 1)]))[:MAX_TICKETS]
        surveys = (
            await c.store.find_all("surveys", {"ticket_id": {"$in": [t["id"] for t in tickets]}}) if tickets else []
        )
        scores: dict[str, list[int]] = {}
        for s in surveys:
            scores.setdefault(s["ticket_id"], []).append(int(s["score"]))
        return [PartnerCareRow(**r) for r in care_rows(tickets, scores)]
