"""Contacts: companies, people and the unified timeline of every interaction.

Owns `Company` and `Contact` (federation entities). The timeline is a projection: the service
consumes the events of all four services and stores one `interactions` row per event (the row id
is the event id, so a redelivered event cannot add a second row), plus interactions logged by
hand (calls, e-mails, meetings, notes)."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.schema import build_schema
from services.common.service import Service, Subscription

from . import audit, events, policy, timeline
from .mutations import Mutation
from .queries import Query
from .types import Company, Contact


class ContactsService(Service):
    name = "contacts"
    indexes = {
        "companies": [[("name_key", 1)], [("kind", 1), ("name_key", 1)], [("partner_id", 1), ("name_key", 1)]],
        "contacts": [
            [("company_id", 1), ("last_name_key", 1)],
            [("email_key", 1)],
            [("partner_id", 1), ("last_name_key", 1)],
        ],
        "interactions": [[("company_id", 1), ("occurred_at", -1)], [("contact_id", 1), ("occurred_at", -1)]],
        "audit_log": [[("at", -1)], [("entity_id", 1), ("at", -1)], [("actor.sub", 1), ("at", -1)]],
    }

    def schema(self):
        return build_schema(Query, Mutation, types=[Company, Contact], settings=self.settings)

    def row_scope(self, p: Principal, coll: str) -> dict:
        return policy.row_scope(self.settings, p, coll)

    def subscriptions(self) -> list[Subscription]:
        # the store is looked up per event: it exists only once the service has started
        return [
            Subscription("timeline", timeline.PATTERNS, lambda e: timeline.on_event(self.store, e)),
            Subscription("deal-won", [events.DEAL_WON], lambda e: events.on_deal_won(self.store, e)),
            Subscription("audit", audit.PATTERNS, lambda e: audit.on_event(self.store, e)),
        ]
