"""The timeline: a projection of the events of all four services (docs/events.md). The consumer
stores one `interactions` row per event (the row id is the event id, so a redelivered event cannot
add a second row); the rows of interactions logged by hand are written by `logInteraction`.

No strawberry import (the `Interaction` GraphQL type lives in types.py), so that the titles are
unit-tested in tests/unit/test_contacts_domain.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.common import money
from services.common.errors import DuplicateKeyError, NotFoundError, PublicError
from services.common.values import all_of, ts_input

from . import day
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
    "deals.estimate.*",  # deals: quotes, payments, guard overrides
    "deals.payment.*",
    "deals.offer.*",
    "marketing.call.logged",  # marketing: telemarketing calls
    "support.sla.*",  # support: SLA warnings and breaches (escalations are support.ticket.escalated)
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
        return _row(InteractionKind.DEAL, title, "Deal", s, by=d.get("owner"), **party) if title else None
    if t.startswith("contacts.lead."):
        return _lead_row(verb, d, s)
    if t == "marketing.member.responded":
        title, campaign = f"Responded to campaign {d.get('campaign_name')}", d.get("campaign_id")
        return _row(InteractionKind.CAMPAIGN, title, "Campaign", campaign, detail=d.get("response"), **party)
    if t in ("support.ticket.opened", "support.ticket.resolved"):
        title = f"Ticket {verb}: {d.get('subject')} [{d.get('priority')}]"
        return _row(InteractionKind.TICKET, title, "Ticket", s, detail=d.get("resolution"), **party)
    if t.startswith(("deals.estimate.", "deals.payment.", "deals.offer.")):  # deals: quotes, payments, guard
        amount = _amount(d)
        titles = {
            "deals.estimate.sent": f"Estimate v{d.get('version')} sent: {d.get('title')}{amount}",
            "deals.estimate.accepted": f"Estimate v{d.get('version')} accepted: {d.get('title')}{amount}",
            "deals.estimate.rejected": f"Estimate v{d.get('version')} rejected: {d.get('title')}{amount}",
            "deals.payment.invoiced": f"Invoiced: {d.get('title')}{amount}",
            "deals.payment.paid": f"Paid: {d.get('title')}{amount}",
            "deals.payment.overdue": f"Payment overdue: {d.get('title')}{amount}, due {d.get('due_date')}",
            "deals.offer.overridden": f"Offer guard overridden by {d.get('by')}: {d.get('reason')}",
        }
        if t not in titles:
            return None
        ref = ("Estimate", s) if t.startswith("deals.estimate.") else ("Deal", d.get("deal_id"))
        return _row(
            InteractionKind.DEAL, titles[t], ref[0], ref[1], detail="; ".join(d.get("reasons") or []) or None, **party
        )
    if t == "marketing.call.logged":
        title = f"Call ({str(d.get('outcome') or '').replace('_', ' ')}) by {d.get('caller')}"
        return _row(InteractionKind.CALL, title, "CallList", d.get("call_list_id"), detail=d.get("notes"), **party)
    if t in ("support.ticket.escalated", "support.sla.warning", "support.sla.breached"):
        what = {"escalated": "Ticket escalated", "warning": "SLA at risk", "breached": "SLA breached"}[verb]
        title = f"{what}: {d.get('subject')} [{d.get('priority')}]"
        return _row(InteractionKind.TICKET, title, "Ticket", d.get("ticket_id") or s, detail=d.get("kind"), **party)
    return None


LEAD_SOURCES = {"web_form": "web form", "telemarketing": "telemarketing", "campaign": "campaign", "event": "event"}


def _lead_row(verb: str, d: dict, s: str) -> dict | None:
    """Lead events: received, status changes, converted. Rows of a lead without a company yet
    carry `lead_id`; the conversion places them on the company's timeline."""
    name = day.lead_name(d)
    who = {"company_id": d.get("company_id"), "contact_id": d.get("contact_id"), "lead_id": s, "by": d.get("owner")}
    if verb == "created":
        source = d.get("source") or ""
        kind = InteractionKind.WEB_FORM if source == "web_form" else InteractionKind.RECORD
        return _row(kind, f"Lead received ({LEAD_SOURCES.get(source, source)}): {name}", "Lead", s, **who)
    if verb == "status_changed":
        reason = f" — {d['disqualify_reason']}" if d.get("disqualify_reason") else ""
        return _row(InteractionKind.RECORD, f"Lead {d.get('status')}: {name}{reason}", "Lead", s, **who)
    if verb == "converted":
        return _row(InteractionKind.RECORD, f"Lead converted: {name}", "Lead", s, **who)
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
    """The consumer: one interaction per event the timeline shows; one row per activity, kept at
    the activity's newest version (planned, then held); a converted lead's rows join its company."""
    if e.type == "contacts.activity.changed":
        await _activity(store, e)
        return
    row = interaction_for(e)
    if row is None:
        return
    if e.type.startswith("deals.deal."):  # what activity control counts: moves and wins with their amount
        row = {**row, "verb": e.type.rsplit(".", 1)[1], **{k: e.data.get(k) for k in ("amount_minor", "currency")}}
    try:
        await store.insert(
            "interactions",
            {"id": e.id, "source": e.producer, "occurred_at": e.occurred_at, "detail": None, "contact_id": None, **row},
        )
    except DuplicateKeyError:
        pass  # this event is on the timeline already
    if e.type == "contacts.lead.converted" and e.data.get("company_id"):
        place = {"company_id": e.data["company_id"], "contact_id": e.data.get("contact_id")}
        for old in await store.find_all("interactions", {"lead_id": e.subject, "company_id": None}):
            await store.update("interactions", old["id"], place)


async def _activity(store: Store, e: Envelope) -> None:
    a = e.data
    row = day.activity_row(a)
    version = row.pop("activity_version")

    def fn(current: dict | None) -> dict | None:
        if current and int(current.get("activity_version") or 0) >= int(version):
            return None
        return {**row, "activity_version": int(version), "source": "contacts", "lead_id": a.get("lead_id")}

    await store.mutate("interactions", f"activity-{a['id']}", fn, create=True)
    if a.get("status") == "held" and a.get("company_id"):
        await touch_company(store, a["company_id"], row["occurred_at"])


async def touch_company(store: Store, company_id: str, when: str | None) -> None:
    """`last_contact_at` of a company: the newest held activity or logged interaction (my day's
    "not contacted for N days", activity control's neglected accounts)."""
    if not when:
        return

    def fn(d: dict) -> dict | None:
        if (d.get("last_contact_at") or "") >= when:
            return None
        return {**d, "last_contact_at": when}

    try:
        await store.mutate("companies", company_id, fn)
    except NotFoundError:
        pass
