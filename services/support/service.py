"""Support: tickets of clients (company and, usually, a contact) with priority and status.

Extends `Company` and `Contact` with their tickets and open-ticket counts. Publishes
`support.ticket.opened|resolved|commented`, from which deals keeps account health and contacts the
timeline. Companies/contacts are validated against replicas fed by contacts' events."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.schema import build_schema
from services.common.service import Service, Subscription

from . import events, handover, policy
from .mutations import Mutation
from .queries import Query
from .types import Company, Contact, Ticket


class SupportService(Service):
    name = "support"
    indexes = {
        "tickets": [
            [("company_id", 1), ("created_at", -1)],
            [("contact_id", 1), ("created_at", -1)],
            [("status", 1), ("priority", 1)],
        ],
        "ticket_comments": [[("ticket_id", 1), ("created_at", 1)]],
    }

    def schema(self):
        return build_schema(Query, Mutation, types=[Company, Contact, Ticket], settings=self.settings)

    def row_scope(self, p: Principal, coll: str) -> dict:
        return policy.row_scope(self.settings, p, coll)

    def subscriptions(self) -> list[Subscription]:
        return [*events.subscriptions(self), handover.subscription(self)]
