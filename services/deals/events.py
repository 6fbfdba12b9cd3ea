"""Deals' events (docs/events.md): the types it publishes and their payload (`deal_snapshot`, the
published contract), and its consumers: replicas of contacts' companies and contacts, and the
account-health read model fed by support's tickets."""

from __future__ import annotations

from services.common.envelope import Envelope
from services.common.replica import apply_snapshot
from services.common.service import Service, Subscription
from services.common.store import Store

from . import domain

DEAL_CREATED = "deals.deal.created"
DEAL_STAGE_CHANGED = "deals.deal.stage_changed"
DEAL_WON = "deals.deal.won"
DEAL_LOST = "deals.deal.lost"

COMPANY_EVENTS = ["contacts.company.created", "contacts.company.updated"]
CONTACT_EVENTS = ["contacts.contact.created", "contacts.contact.updated"]
TICKET_EVENTS = ["support.ticket.*"]
REF_COMPANY_FIELDS = ["name", "kind", "owner", "partner_id"]
REF_CONTACT_FIELDS = ["name", "company_id", "owner", "partner_id"]


# ---- published ------------------------------------------------------------------------------------
def deal_snapshot(d: dict, stage: dict) -> dict:
    """The data of every `deals.deal.*` event."""
    return {
        "id": d["id"],
        "version": d["version"],
        "title": d["title"],
        "company_id": d["company_id"],
        "contact_id": d.get("contact_id"),
        "amount_minor": d.get("amount_minor"),
        "currency": d.get("currency"),
        "pipeline_id": d["pipeline_id"],
        "stage_id": d["stage_id"],
        "stage_name": stage["name"],
        "probability": stage["probability"],
        "status": d["status"],
        "owner": d.get("owner"),
        "won_at": d.get("won_at"),
        "lost_reason": d.get("lost_reason"),
        "partner_id": d.get("partner_id"),
    }


def deal_created(body: dict, stage: dict) -> Envelope:
    """`deals.deal.created` for a deal about to be inserted (version 1)."""
    return Envelope(DEAL_CREATED, body["id"], deal_snapshot({**body, "version": 1}, stage))


def deal_moved(old: dict, new: dict, stage: dict) -> list[Envelope]:
    """`deals.deal.stage_changed` (with `from_stage_id`), and `won` or `lost` when the move closed the deal."""
    snap = deal_snapshot(new, stage)
    evs = [Envelope(DEAL_STAGE_CHANGED, new["id"], {**snap, "from_stage_id": old["stage_id"]})]
    if new["status"] == domain.DealStatus.WON.value:
        evs.append(Envelope(DEAL_WON, new["id"], snap))
    elif new["status"] == domain.DealStatus.LOST.value:
        evs.append(Envelope(DEAL_LOST, new["id"], snap))
    return evs


# ---- consumed -------------------------------------------------------------------------------------
async def on_ticket(store: Store, e: Envelope) -> None:
    """Account health: one document per company with the priority and status of its tickets."""
    d = e.data
    if not d.get("company_id") or "status" not in d:
        return
    await store.mutate(
        "account_health",
        d["company_id"],
        lambda doc: domain.apply_ticket(doc, e.subject, d, e.occurred_at),
        create=True,
        event_id=e.id,
    )


def subscriptions(service: Service) -> list[Subscription]:
    """The consumers of `service` (its store is looked up when an event arrives)."""
    return [
        Subscription(
            "companies", COMPANY_EVENTS, lambda e: apply_snapshot(service.store, "ref_companies", e, REF_COMPANY_FIELDS)
        ),
        Subscription(
            "contacts", CONTACT_EVENTS, lambda e: apply_snapshot(service.store, "ref_contacts", e, REF_CONTACT_FIELDS)
        ),
        Subscription("health", TICKET_EVENTS, lambda e: on_ticket(service.store, e)),
    ]
