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
PATTERNS = ["contacts.#", "deals.deal.*", "marketing.member.responded", "support.ticket.*"]
SORT = [("occurred_at", -1)]


def _amount(d: dict) -> str:
    amount = money.label(d.get("amount_minor"), d.get("currency"))
    return f" ({amount})" if amount else ""


def interaction_for(e: Envelope) -> dict | None:
    """The timeline row of an event (without id, source and time), or None for an event the
    timeline does not show."""
    d = e.data
    t = e.type
    if t == "contacts.company.created":
        return dict(
            kind=InteractionKind.RECORD.value,
            title=f"Company created: {d['name']}",
            company_id=e.subject,
            ref_type="Company",
            ref_id=e.subject,
        )
    if t == "contacts.contact.created":
        return dict(
            kind=InteractionKind.RECORD.value,
            title=f"Contact added: {d['name']}",
            company_id=d.get("company_id"),
            contact_id=e.subject,
            ref_type="Contact",
            ref_id=e.subject,
        )
    if t == "contacts.contact.lifecycle_changed":
        return dict(
            kind=InteractionKind.RECORD.value,
            title=f"{d['name']}: {d['from']} → {d['lifecycle']}",
            company_id=d.get("company_id"),
            contact_id=e.subject,
            ref_type="Contact",
            ref_id=e.subject,
        )
    if t.startswith("deals.deal."):
        verb = t.rsplit(".", 1)[1]
        titles = {
            "created": f"Deal opened: {d.get('title')}{_amount(d)}",
            "stage_changed": f"Deal {d.get('title')} moved to {d.get('stage_name')}",
            "won": f"Deal won: {d.get('title')}{_amount(d)}",
            "lost": f"Deal lost: {d.get('title')}" + (f" — {d['lost_reason']}" if d.get("lost_reason") else ""),
        }
        if verb not in titles:
            return None
        return dict(
            kind=InteractionKind.DEAL.value,
            title=titles[verb],
            company_id=d.get("company_id"),
            contact_id=d.get("contact_id"),
            ref_type="Deal",
            ref_id=e.subject,
        )
    if t == "marketing.member.responded":
        return dict(
            kind=InteractionKind.CAMPAIGN.value,
            title=f"Responded to campaign {d.get('campaign_name')}",
            detail=d.get("response"),
            company_id=d.get("company_id"),
            contact_id=d.get("contact_id"),
            ref_type="Campaign",
            ref_id=d.get("campaign_id"),
        )
    if t in ("support.ticket.opened", "support.ticket.resolved"):
        verb = "opened" if t.endswith("opened") else "resolved"
        return dict(
            kind=InteractionKind.TICKET.value,
            title=f"Ticket {verb}: {d.get('subject')} [{d.get('priority')}]",
            detail=d.get("resolution"),
            company_id=d.get("company_id"),
            contact_id=d.get("contact_id"),
            ref_type="Ticket",
            ref_id=e.subject,
        )
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
