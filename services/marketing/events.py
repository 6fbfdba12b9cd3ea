"""Marketing's published events (docs/events.md) and its consumers: a replica of contacts' people
(to validate members and evaluate segments), of contacts' custom-field definitions, and the
revenue attribution of won deals (attribution.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.common import customfields as cf
from services.common.envelope import Envelope
from services.common.replica import replica
from services.common.service import Subscription
from services.common.values import pick

from .attribution import on_deal_won, on_revenue
from .profiles import ACTIVITY_PATTERNS, CUSTOM_FIELD_DEFS, on_activity, on_company, on_contact

if TYPE_CHECKING:
    from services.common.service import Service

CAMPAIGN_CREATED = "marketing.campaign.created"
MEMBER_RESPONDED = "marketing.member.responded"


def campaign_created(campaign: dict) -> Envelope:
    return Envelope(CAMPAIGN_CREATED, campaign["id"], {**pick(campaign, "id", "name", "channel"), "version": 1})


def member_responded(campaign: dict, member_id: str, member: dict) -> Envelope:
    published = pick(member, "contact_id", "company_id", "response", "responded_at")
    return Envelope(
        MEMBER_RESPONDED,
        member_id,
        {
            "id": member_id,
            **published,
            "campaign_id": campaign["id"],
            "campaign_name": campaign["name"],
            "channel": campaign["channel"],
        },
    )


def subscriptions(service: Service) -> list[Subscription]:
    return [
        Subscription(
            "contacts", ["contacts.contact.created", "contacts.contact.updated"], lambda e: on_contact(service.store, e)
        ),
        Subscription(
            "companies",
            ["contacts.company.created", "contacts.company.updated"],
            lambda e: on_company(service.store, e),
        ),
        replica(service, "customfields", "contacts.customfield", CUSTOM_FIELD_DEFS, cf.DEFINITION_FIELDS),
        Subscription("activity", ACTIVITY_PATTERNS, lambda e: on_activity(service.store, e)),
        Subscription("attribution", ["deals.deal.won"], lambda e: on_deal_won(service.store, e)),
        Subscription("revenue", ["deals.deal.won", "deals.estimate.accepted"], lambda e: on_revenue(service.store, e)),
    ]
