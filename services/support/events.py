"""Support's published events (docs/events.md) and its consumers. Deals keeps account health and
contacts the timeline from `support.ticket.*`; support keeps replicas of contacts' companies and
people to validate references without calling another service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.common.envelope import Envelope
from services.common.replica import apply_snapshot
from services.common.service import Subscription

if TYPE_CHECKING:
    from services.common.service import Service

TICKET_OPENED = "support.ticket.opened"
TICKET_RESOLVED = "support.ticket.resolved"
TICKET_COMMENTED = "support.ticket.commented"


def ticket_snapshot(d: dict) -> dict:
    return {
        k: d.get(k)
        for k in (
            "id",
            "version",
            "company_id",
            "contact_id",
            "subject",
            "priority",
            "status",
            "resolution",
            "resolved_at",
        )
    }


def opened(ticket: dict) -> Envelope:
    return Envelope(TICKET_OPENED, ticket["id"], ticket_snapshot(ticket))


def resolved(ticket: dict) -> Envelope:
    return Envelope(TICKET_RESOLVED, ticket["id"], ticket_snapshot(ticket))


def commented(ticket: dict, comment: dict) -> Envelope:
    return Envelope(
        TICKET_COMMENTED,
        ticket["id"],
        {
            "id": comment["id"],
            "ticket_id": ticket["id"],
            "company_id": ticket["company_id"],
            "contact_id": ticket.get("contact_id"),
            "internal": comment["internal"],
            "author_role": comment["author_role"],
        },
    )


def subscriptions(service: Service) -> list[Subscription]:
    # the store is looked up per event: it exists only once the service has started
    return [
        Subscription(
            "companies",
            ["contacts.company.created", "contacts.company.updated"],
            lambda e: apply_snapshot(service.store, "ref_companies", e, ["name", "kind", "owner"]),
        ),
        Subscription(
            "contacts",
            ["contacts.contact.created", "contacts.contact.updated"],
            lambda e: apply_snapshot(service.store, "ref_contacts", e, ["name", "company_id", "email"]),
        ),
    ]
