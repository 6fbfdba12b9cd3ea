"""Marketing's root queries."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from services.common.authz import STAFF, allow
from services.common.graphql import Connection, paginate

from .api_calls import CallQueries
from .api_forms import FormQueries
from .api_mailing import MailingQueries
from .api_roi import RoiQueries
from .api_segments import SegmentQueries
from .types import Campaign, Channel


@strawberry.type
class Query(SegmentQueries, MailingQueries, CallQueries, FormQueries, RoiQueries):
    @strawberry.field(extensions=allow(STAFF))
    async def campaign(self, info: Info, id: strawberry.ID) -> Campaign | None:
        return await info.context.one("campaigns", id, Campaign.from_doc)

    @strawberry.field(extensions=allow(STAFF))
    async def campaigns(
        self, info: Info, first: int | None = None, after: str | None = None, channel: Channel | None = None
    ) -> Connection[Campaign] | None:
        c = info.context
        return await paginate(
            c.store,
            "campaigns",
            c.scoped("campaigns", {"channel": channel.value} if channel else {}),
            [("created_at", -1)],
            first,
            after,
            Campaign.from_doc,
        )
