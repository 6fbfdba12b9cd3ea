"""Support: tickets of clients (company and, usually, a contact) with priority and status, SLA
policies on business-hours calendars, escalation, queues and assignment, e-mail to ticket,
satisfaction surveys, a knowledge base, and remarks on design deliverables (docs/support.md).

Extends `Company` and `Contact` with their tickets and open-ticket counts. Publishes
`support.ticket.*`, `support.sla.*` and `support.notification.requested`. Companies/contacts are
validated against replicas fed by contacts' events."""

from __future__ import annotations

import os

from services.common.auth import Principal
from services.common.scheduler import Timer
from services.common.schema import build_schema
from services.common.service import Service, Subscription

from . import customfields, escalation, events, handover, mail, partner_care, person_data, policy, survey
from .mutations import Mutation
from .queries import Query
from .types import Company, Contact, Ticket


def partner_support_from_env() -> frozenset[str] | None:
    """`TURNKEY_SUPPORT_PARTNERS`: partner company ids whose partners see their clients' tickets
    (comma-separated), `*` for every partner; unset: none."""
    raw = os.environ.get("TURNKEY_SUPPORT_PARTNERS", "").strip()
    if raw == "*":
        return None
    return frozenset(p.strip() for p in raw.split(",") if p.strip())


class SupportService(Service):
    name = "support"
    indexes = {
        "tickets": [
            [("company_id", 1), ("created_at", -1)],
            [("contact_id", 1), ("created_at", -1)],
            [("status", 1), ("priority", 1)],
            [("sla_next_at", 1)],
            [("assignee", 1), ("status", 1)],
            [("deliverable_id", 1), ("created_at", 1)],
        ],
        "ticket_comments": [[("ticket_id", 1), ("created_at", 1)]],
    }
    # revisions, KB searches and attachments are read by deliverable / ticket / date with the
    # default id index or small scans; no extra collections at start (each is one more query per
    # outbox poll)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.partner_support: frozenset[str] | None = partner_support_from_env()
        self.mail_ignored = 0
        self.inbound = None

    def schema(self):
        return build_schema(
            Query, Mutation, types=[Company, Contact, Ticket, person_data.PersonData], settings=self.settings
        )

    def row_scope(self, p: Principal, coll: str) -> dict:
        return policy.row_scope(self.settings, p, coll, partner_support=self.partner_support)

    def subscriptions(self) -> list[Subscription]:
        return [
            *events.subscriptions(self),
            handover.subscription(self),
            partner_care.subscription(self),
            *person_data.person_subscriptions(self),
            customfields.subscription(self),
        ]

    def timers(self) -> list[Timer]:
        return [escalation.timer()]

    def public_routes(self) -> list:
        return survey.routes()

    async def start(self) -> None:
        was = self.started
        await super().start()
        if not was and self.inbound is None:
            self.inbound = await mail.start_inbound(self)

    async def stop(self) -> None:
        if self.inbound is not None:
            self.inbound.close()
            await self.inbound.wait_closed()
            self.inbound = None
        await super().stop()
