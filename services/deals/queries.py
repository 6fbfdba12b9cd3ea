"""Deals' root queries: filter -> store -> types."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, PARTNER, SALES, allow
from services.common.customfield_types import CustomFieldSort, list_clauses
from services.common.graphql import Connection, PublicError
from services.common.money import parse_currency
from services.common.values import all_of

from . import domain
from .inputs import DealFilter
from .partner_api import PartnerQuery
from .policy import DEAL_READERS
from .sales_api import SalesQuery
from .types import DEAL_SORT, Deal, Forecast, Pipeline, Product


@strawberry.type
class Query(SalesQuery, PartnerQuery):
    @strawberry.field(extensions=allow(DEAL_READERS))
    async def pipelines(self, info: Info) -> list[Pipeline] | None:
        c = info.context
        docs = await c.store.find_all("pipelines", c.scope("pipelines"), sort=[("name", 1)])
        return [Pipeline.from_doc(d) for d in docs]

    @strawberry.field(
        description="The catalogue: products and services with their list prices.",
        extensions=allow(DEAL_READERS, scoped={PARTNER}),
    )
    async def products(
        self, info: Info, first: int | None = None, after: str | None = None, active_only: bool = True
    ) -> Connection[Product] | None:
        flt = {"active": True} if active_only else {}
        return await info.context.page("products", flt, [("sku", 1)], first, after, Product.from_doc)

    @strawberry.field(extensions=allow(DEAL_READERS, scoped={SALES, PARTNER}))
    async def deal(self, info: Info, id: strawberry.ID) -> Deal | None:
        return await info.context.one("deals", id, Deal.from_doc)

    @strawberry.field(extensions=allow(DEAL_READERS, scoped={SALES, PARTNER}))
    async def deals(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: DealFilter | None = None,
        sort: CustomFieldSort | None = None,
    ) -> Connection[Deal] | None:
        custom, order = await list_clauses(
            info.context, "ref_custom_fields", "deal", filter and filter.custom_fields, sort
        )
        flt = all_of(*(filter.clauses() if filter else []), custom)
        return await info.context.page("deals", flt, [*order, *DEAL_SORT], first, after, Deal.from_doc)

    @strawberry.field(
        description="Open deals of one pipeline by stage: amount and probability-weighted amount.",
        extensions=allow(ADMIN, SALES, scoped={SALES}),
    )
    async def forecast(self, info: Info, currency: str, pipeline_id: strawberry.ID | None = None) -> Forecast | None:
        c = info.context
        pid = str(pipeline_id or domain.DEFAULT_PIPELINE)
        pipeline = await c.get("pipelines", pid)
        if pipeline is None:
            raise PublicError(f"pipeline {pid} does not exist")
        cur = parse_currency(currency)
        flt = all_of({"status": domain.DealStatus.OPEN.value}, {"currency": cur}, {"pipeline_id": pid})
        rows = await c.store.group(
            "deals", ["stage_id"], sums=["amount_minor", "weighted_minor"], flt=c.scoped("deals", flt)
        )
        return Forecast.from_forecast(domain.forecast(pipeline["stages"], rows), cur)
