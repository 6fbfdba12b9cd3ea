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
DEAL_UPDATED = "deals.deal.updated"  # amount, forecast fields or accepted estimate changed
OFFER_OVERRIDDEN = "deals.offer.overridden"  # the offer guard passed by an override (on the timeline)
NOTIFICATION_REQUESTED = "deals.notification.requested"
SNAPSHOT_REQUESTED = "deals.forecast.snapshot_requested"
ESTIMATE_EVENTS = ("deals.estimate.sent", "deals.estimate.accepted", "deals.estimate.rejected")
PAYMENT_EVENTS = ("deals.payment.invoiced", "deals.payment.paid", "deals.payment.overdue")


# ---- published ------------------------------------------------------------------------------------
def deal_snapshot(d: dict, stage: dict) -> dict:
    """The data of every `deals.deal.*` event: the deal, who owns it and where it stands in its pipeline."""
    deal = pick(d, "id", "version", "title", "company_id", "contact_id", "partner_id", "amount_minor", "currency")
    standing = pick(d, "owner", "pipeline_id", "stage_id", "status", "won_at", "lost_reason")
    forecast = pick(d, "probability_override", "forecast_category", "expected_close_date", "accepted_estimate_id")
    return {
        **deal,
        **standing,
        **forecast,
        "stage_name": stage["name"],
        "probability": stage["probability"],  # the stage's configured probability (as before)
        "effective_probability": d.get("probability"),  # what the forecast uses (planning.py)
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


async def on_own_deal(store: Store, e: Envelope) -> None:
    """Keep each payment milestone's copy of its deal's standing (status, effective probability)
    for the cash curve; the deal's version orders the updates, so replays change nothing."""
    from .payments import with_open

    d = e.data
    version = int(d.get("version") or 0)
    for m in await store.find_all("milestones", {"deal_id": d["id"]}):

        def fn(doc: dict) -> dict | None:
            if int(doc.get("deal_version") or 0) >= version:
                return None
            weight = d.get("effective_probability")
            if weight is None:
                weight = (
                    100 if d.get("status") == "won" else 0 if d.get("status") == "lost" else d.get("probability") or 0
                )
            return with_open({**doc, "deal_status": d.get("status"), "weight": int(weight), "deal_version": version})

        await store.mutate("milestones", m["id"], fn)


async def on_estimate_accepted(store: Store, e: Envelope) -> None:
    """The safety net of `acceptEstimate`: the deal's amount and baseline, other versions superseded."""
    from .sales_api import apply_acceptance

    est = await store.get("estimates", e.subject)
    if est is not None and est["status"] == "accepted":
        await apply_acceptance(store, est)


def subscriptions(service: Service) -> list[Subscription]:
    """The consumers of `service` (its store is looked up when an event arrives)."""
    from .sales_api import on_snapshot_requested

    return [
        Subscription("deal-standing", ["deals.deal.*"], lambda e: on_own_deal(service.store, e)),
        Subscription("acceptance", ["deals.estimate.accepted"], lambda e: on_estimate_accepted(service.store, e)),
        Subscription(
            "snapshots",
            [SNAPSHOT_REQUESTED],
            lambda e: on_snapshot_requested(service.store, e, service.config.currency),
        ),
        replica(
            service,
            "companies",
            "contacts.company",
            "ref_companies",
            # country, city and industry: where a partner's registered client is (its territory)
            ["name", "kind", "owner", "partner_id", "country", "city", "industry"],
        ),
        replica(service, "contacts", "contacts.contact", "ref_contacts", ["name", "company_id", "owner", "partner_id"]),
        Subscription("health", ["support.ticket.*"], lambda e: on_ticket(service.store, e)),
    ]
