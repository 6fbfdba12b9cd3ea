"""The timeline: a projection of the events of all four services (docs/events.md). The consumer
stores one `interactions` row per event (the row id is the event id, so a redelivered event cannot
add a second row); the rows of interactions logged by hand are written by `logInteraction`.

No strawberry import (the `Interaction` GraphQL type lives in types.py), so that the titles are
unit-tested in tests/unit/test_contacts_domain.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.common import money
from services.common.errors import DuplicateKeyError, PublicError
from services.common.values import all_of, ts_input

from .domain import InteractionKind

if TYPE_CHECKING:
    from services.common.envelope import Envelope
    from services.common.store import Store

# the events the timeline shows (routing-key patterns)
PATTERNS = [
    "contacts.#",
    "deals.deal.*",
    "marketing.member.responded",
    "support.ticket.*",
    "support.sla.*",
]
SORT = [("occurred_at", -1)]


def _amount(d: dict) -> str:
    amount = money.label(d.get("amount_minor"), d.get("currency"))
    return f" ({amount})" if amount else ""


def _deal_title(verb: str, d: dict) -> str | None:
    """The title of a `deals.deal.<verb>` event (None: not on the timeline)."""
    titles = {
        "created": f"Deal opened: {d.get('title')}{_amount(d)}",
        "stage_changed": f"Deal {d.get('title')} moved to {d.get('stage_name')}",
        "won": f"Deal won: {d.get('title')}{_amount(d)}",
        "lost": f"Deal lost: {d.get('title')}" + (f" — {d['lost_reason']}" if d.get("lost_reason") else ""),
    }
    return titles.get(verb)


def _row(kind: InteractionKind, title: str, ref_type: str, ref_id: str | None, **who) -> dict:
    """A timeline row: what happened, with whom (company_id, contact_id; a detail), about which record."""
    return {"kind": kind.value, "title": title, **who, "ref_type": ref_type, "ref_id": ref_id}


def interaction_for(e: Envelope) -> dict | None:
    """The timeline row of an event (without id, source and time), or None for an event the
    timeline does not show."""
    d, s, t = e.data, e.subject, e.type
    verb = t.rsplit(".", 1)[1]
    person = {"company_id": d.get("company_id"), "contact_id": s}  # a contact's own events
    party = {"company_id": d.get("company_id"), "contact_id": d.get("contact_id")}  # other services' events
    if t == "contacts.company.created":
        return _row(InteractionKind.RECORD, f"Company created: {d['name']}", "Company", s, company_id=s)
    if t == "contacts.contact.created":
        return _row(InteractionKind.RECORD, f"Contact added: {d['name']}", "Contact", s, **person)
    if t == "contacts.contact.lifecycle_changed":
        title = f"{d['name']}: {d['from']} → {d['lifecycle']}"
        return _row(InteractionKind.RECORD, title, "Contact", s, **person)
    if t.startswith("deals.deal."):
        title = _deal_title(verb, d)
        return _row(InteractionKind.DEAL, title, "Deal", s, **party) if title else None
    if t == "marketing.member.responded":
        title, campaign = f"Responded to campaign {d.get('campaign_name')}", d.get("campaign_id")
        return _row(InteractionKind.CAMPAIGN, title, "Campaign", campaign, detail=d.get("response"), **party)
    if t in ("support.ticket.opened", "support.ticket.resolved"):
        title = f"Ticket {verb}: {d.get('subject')} [{d.get('priority')}]"
        return _row(InteractionKind.TICKET, title, "Ticket", s, detail=d.get("resolution"), **party)
    if t in ("support.ticket.escalated", "support.sla.warning", "support.sla.breached"):
        what = {"escalated": "Ticket escalated", "warning": "SLA at risk", "breached": "SLA breached"}[verb]
        title = f"{what}: {d.get('subject')} [{d.get('priority')}]"
        return _row(InteractionKind.TICKET, title, "Ticket", d.get("ticket_id") or s, detail=d.get("kind"), **party)
    return None


def timeline_filter(key: str, value: str, flt) -> dict:
    """The store filter of one company's or contact's timeline (`key` = company_id or contact_id),
    narrowed by a TimelineFilter (kinds, since), if any."""
    kinds = flt.kinds if flt else None
    since = flt.since if flt else None
    if since and since.tzinfo is None:
        raise PublicError("since needs a time zone")
    return all_of(
        {key: value},
        {"kind": {"$in": [k.value for k in kinds]}} if kinds else None,
        {"occurred_at": {"$gte": ts_input(since, "since")}} if since else None,
    )


async def on_event(store: Store, e: Envelope) -> None:
    """The consumer: one interaction per event the timeline shows."""
    row = interaction_for(e)
    if row is None:
        return
    try:
        await store.insert(
            "interactions",
            {"id": e.id, "source": e.producer, "occurred_at": e.occurred_at, "detail": None, "contact_id": None, **row},
        )
    except DuplicateKeyError:
        pass  # this event is on the timeline already
