"""Support's published events (docs/events.md) and its consumers. Deals keeps account health and
contacts the timeline from `support.ticket.*`; support keeps replicas of contacts' companies and
people to validate references without calling another service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.common.envelope import Envelope
from services.common.replica import replica
from services.common.service import Subscription
from services.common.values import pick

if TYPE_CHECKING:
    from services.common.service import Service

TICKET_OPENED = "support.ticket.opened"
TICKET_RESOLVED = "support.ticket.resolved"
TICKET_COMMENTED = "support.ticket.commented"
TICKET_REOPENED = "support.ticket.reopened"


def ticket_snapshot(d: dict) -> dict:
    return pick(
        d, "id", "version", "company_id", "contact_id", "subject", "priority", "status", "resolution", "resolved_at"
    )


def opened(ticket: dict) -> Envelope:
    return Envelope(TICKET_OPENED, ticket["id"], ticket_snapshot(ticket))


def resolved(ticket: dict) -> Envelope:
    return Envelope(TICKET_RESOLVED, ticket["id"], ticket_snapshot(ticket))


def reopened(ticket: dict, reason: str) -> Envelope:
    return Envelope(TICKET_REOPENED, ticket["id"], {**ticket_snapshot(ticket), "reason": reason})


def commented(ticket: dict, comment: dict) -> Envelope:
    published = pick(comment, "id", "ticket_id", "company_id", "contact_id", "internal", "author_role")
    return Envelope(TICKET_COMMENTED, ticket["id"], published)


def subscriptions(service: Service) -> list[Subscription]:
    return [
        replica(
            service,
            "companies",
            "contacts.company",
            "ref_companies",
            ["name", "kind", "owner", "tier", "partner_id", "partner_support"],
        ),
        replica(
            service,
            "contacts",
            "contacts.contact",
            "ref_contacts",
            ["name", "company_id", "email", "owner", "partner_id"],
        ),
    ]
