"""The deals subgraph: schema wiring, indexes and the seeded pipeline, event consumers and row
scopes. What deals is about is told in `domain.py`; the pieces live in one module per concern:
domain (plain rules), policy (row scopes), events, types, inputs, queries, mutations."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.errors import DuplicateKeyError
from services.common.schema import build_schema
from services.common.service import Service, Subscription

from . import domain, events, handover, leads, policy
from .mutations import Mutation
from .queries import Query
from .types import Company, Contact, Deal


class DealsService(Service):
    name = "deals"
    indexes = {
        # the deals of a company, a contact, a partner or an owner, newest first; open deals by currency (forecast)
        "deals": [
            *([(key, 1), ("created_at", -1)] for key in ("company_id", "contact_id", "partner_id", "owner")),
            [("status", 1), ("currency", 1)],
        ],
    }

    def schema(self):
        return build_schema(Query, Mutation, types=[Company, Contact, Deal], settings=self.settings)

    def row_scope(self, p: Principal, coll: str) -> dict:
        return policy.row_scope(self.settings, p, coll)

    async def setup(self) -> None:
        s = self.store
        await s.ensure_index("products", [("sku_key", 1)], unique=True)
        if await s.get("pipelines", domain.DEFAULT_PIPELINE) is None:
            try:
                await s.insert("pipelines", domain.default_pipeline())
            except DuplicateKeyError:
                pass

    def subscriptions(self) -> list[Subscription]:
        return [*events.subscriptions(self), leads.subscription(self), handover.subscription(self)]
