"""Deals' events (docs/events.md): the types it publishes and their payload (`deal_snapshot`, the
published contract), and its consumers: replicas of contacts' companies and contacts, and the
account-health read model fed by support's tickets."""

from __future__ import annotations

from services.common.envelope import Envelope
from services.common.replica import replica
from services.common.service import Service, Subscription
from services.common.store import Store
from services.common.values import pick

from . import domain

DEAL_CREATED = "deals.deal.created"
DEAL_STAGE_CHANGED = "deals.deal.stage_changed"
DEAL_WON = "deals.deal.won"
DEAL_LOST = "deals.deal.lost"


# ---- published ------------------------------------------------------------------------------------
def deal_snapshot(d: dict, stage: dict) -> dict:
    """The data of every `deals.deal.*` event: the deal, who owns it and where it stands in its pipeline."""
    deal = pick(d, "id", "version", "title", "company_id", "contact_id", "partner_id", "amount_minor", "currency")
    standing = pick(d, "owner", "pipeline_id", "stage_id", "status", "won_at", "lost_reason")
    return {**deal, **standing, "stage_name": stage["name"], "probability": stage["probability"]}


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
        replica(service, "companies", "contacts.company", "ref_companies", ["name", "kind", "owner", "partner_id"]),
        replica(service, "contacts", "contacts.contact", "ref_contacts", ["name", "company_id", "owner", "partner_id"]),
        Subscription("health", ["support.ticket.*"], lambda e: on_ticket(service.store, e)),
    ]
