"""Marketing: campaigns on every channel, their members (contacts) and responses, and the money:
cost against the revenue the campaign produced (the attribution rule: attribution.py)."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.schema import build_schema
from services.common.service import Service, Subscription

from . import events, policy
from .mutations import Mutation
from .queries import Query
from .types import Campaign, Contact


class MarketingService(Service):
    name = "marketing"
    indexes = {
        "members": [
            [("campaign_id", 1), ("created_at", 1)],
            [("contact_id", 1), ("created_at", -1)],
            [("company_id", 1)],
        ],
        "attributions": [[("campaign_id", 1)]],
        "ref_contacts": [[("company_id", 1)], [("name", 1)], [("lifecycle", 1)], [("email", 1)]],
        "segment_entries": [[("segment_id", 1)]],
        "segments": [[("name", 1)]],
    }

    def schema(self):
        return build_schema(Query, Mutation, types=[Campaign, Contact], settings=self.settings)

    def row_scope(self, p: Principal, coll: str) -> dict:
        return policy.row_scope(self.settings, p, coll)

    def subscriptions(self) -> list[Subscription]:
        return events.subscriptions(self)
