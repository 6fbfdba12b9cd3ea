"""Support's root queries."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from services.common.authz import CUSTOMER, allow
from services.common.graphql import Connection, paginate
from services.common.values import all_of, equal

from .inputs import TicketFilter
from .policy import TICKET_READERS
from .types import TICKET_SORT, Ticket


@strawberry.type
class Query:
    @strawberry.field(extensions=allow(TICKET_READERS, scoped={CUSTOMER}))
    async def ticket(self, info: Info, id: strawberry.ID) -> Ticket | None:
        return await info.context.one("tickets", id, Ticket.from_doc)

    @strawberry.field(
        description="Tickets, newest first. A customer sees its own.",
        extensions=allow(TICKET_READERS, scoped={CUSTOMER}),
    )
    async def tickets(
        self, info: Info, first: int | None = None, after: str | None = None, filter: TicketFilter | None = None
    ) -> Connection[Ticket] | None:
        f = filter or TicketFilter()
        flt = all_of(
            *equal(
                (
                    ("status", f.status and f.status.value),
                    ("priority", f.priority and f.priority.value),
                    ("company_id", f.company_id),
                )
            )
        )
        c = info.context
        return await paginate(c.store, "tickets", c.scoped("tickets", flt), TICKET_SORT, first, after, Ticket.from_doc)
