"""Marketing's published events (docs/events.md) and its consumers: a replica of contacts' people
(to validate members) and the revenue attribution of won deals (attribution.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.common.envelope import Envelope
from services.common.replica import apply_snapshot
from services.common.service import Subscription

from .attribution import on_deal_won

if TYPE_CHECKING:
    from services.common.service import Service

CAMPAIGN_CREATED = "marketing.campaign.created"
MEMBER_RESPONDED = "marketing.member.responded"


def campaign_created(campaign: dict) -> Envelope:
    return Envelope(
        CAMPAIGN_CREATED,
        campaign["id"],
        {"id": campaign["id"], "version": 1, "name": campaign["name"], "channel": campaign["channel"]},
    )


def member_responded(campaign: dict, member: dict) -> Envelope:
    return Envelope(
        MEMBER_RESPONDED,
        member["id"],
        {
            "id": member["id"],
            "campaign_id": campaign["id"],
            "campaign_name": campaign["name"],
            "channel": campaign["channel"],
            "contact_id": member["contact_id"],
            "company_id": member.get("company_id"),
            "response": member.get("response"),
            "responded_at": member["responded_at"],
        },
    )


def subscriptions(service: Service) -> list[Subscription]:
    # the store is looked up per event: it exists only once the service has started
    return [
        Subscription(
            "contacts",
            ["contacts.contact.created", "contacts.contact.updated"],
            lambda e: apply_snapshot(service.store, "ref_contacts", e, ["name", "company_id"]),
        ),
        Subscription("attribution", ["deals.deal.won"], lambda e: on_deal_won(service.store, e)),
    ]
