"""Support's GraphQL types: tickets, comments, and the `Company`/`Contact` extensions that show a
client's tickets and open-ticket counts."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from services.common.authz import CUSTOMER, allow
from services.common.graphql import Connection, EntityRef, FromDoc
from services.common.values import all_of, parse_ts

from . import domain
from .policy import TICKET_READERS

TicketPriority = strawberry.enum(domain.TicketPriority)
TicketStatus = strawberry.enum(domain.TicketStatus)
TICKET_SORT = [("created_at", -1)]


def own_rows() -> list:
    """The field rule of ticket lists: staff and customers, a customer confined to its own rows."""
    return allow(TICKET_READERS, scoped={CUSTOMER})


@strawberry.federation.type(keys=["id"])
class Ticket(FromDoc):
    id: strawberry.ID
    subject: str
    description: str | None
    priority: TicketPriority
    status: TicketStatus
    resolution: str | None
    opened_at: dt.datetime
    resolved_at: dt.datetime | None
    updated_at: dt.datetime
    version: int
    company_id: strawberry.ID
    contact_id: strawberry.ID | None

    @strawberry.field(extensions=allow(TICKET_READERS))
    async def company(self, info: Info) -> Company | None:
        return await info.context.stub("ref_companies", self.company_id, Company)

    @strawberry.field(extensions=allow(TICKET_READERS))
    async def contact(self, info: Info) -> Contact | None:
        return await info.context.stub("ref_contacts", self.contact_id, Contact)

    @strawberry.field(
        description="The conversation, oldest first. Customers see the public comments only.",
        extensions=own_rows(),
    )
    async def comments(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[TicketComment] | None:
        flt = {"ticket_id": str(self.id)}
        return await info.context.page(
            "ticket_comments", flt, [("created_at", 1)], first, after, TicketComment.from_doc
        )

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"opened_at": parse_ts(doc["created_at"])}

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Ticket | None:
        return await info.context.one("tickets", id, cls.from_doc)


@strawberry.type(description="A message on a ticket: public (the customer sees it) or an internal note.")
class TicketComment(FromDoc):
    id: strawberry.ID
    body: str
    internal: bool
    author: str = strawberry.field(description="Who wrote it (user id).")
    author_role: str
    created_at: dt.datetime


class _TicketsOf:
    """`tickets` and `openTicketCount` of a company or a contact (the key names which)."""

    key = "company_id"

    async def _tickets(
        self, info: Info, first: int | None, after: str | None, status: TicketStatus | None
    ) -> Connection[Ticket]:
        flt = {"status": status.value} if status else None  # the pages of a request's entities in one query
        return await info.context.page_of(
            "tickets", self.key, str(self.id), flt, TICKET_SORT, first, after, Ticket.from_doc
        )

    async def _open_count(self, info: Info) -> int:
        """Open tickets per company (or contact): one grouped query per request (DataLoader)."""
        c, key = info.context, self.key

        async def load(ids: list[str]) -> list[int]:
            flt = all_of({key: {"$in": ids}}, {"status": {"$in": domain.OPEN_STATUSES}})
            rows = await c.store.group("tickets", [key], flt=c.scoped("tickets", flt))
            counts = {r["key"][key]: r["count"] for r in rows}
            return [counts.get(i, 0) for i in ids]

        return await c.loader(f"open_by:{key}", lambda: DataLoader(load_fn=load)).load(str(self.id))


@strawberry.federation.type(keys=["id"])
class Company(EntityRef, _TicketsOf):
    key = "company_id"

    @strawberry.field(description="Tickets of this company, newest first.", extensions=own_rows())
    async def tickets(
        self, info: Info, first: int | None = None, after: str | None = None, status: TicketStatus | None = None
    ) -> Connection[Ticket] | None:
        return await self._tickets(info, first, after, status)

    @strawberry.field(description="Tickets not yet resolved or closed.", extensions=own_rows())
    async def open_ticket_count(self, info: Info) -> int | None:
        return await self._open_count(info)


@strawberry.federation.type(keys=["id"])
class Contact(EntityRef, _TicketsOf):
    key = "contact_id"

    @strawberry.field(extensions=own_rows())
    async def tickets(
        self, info: Info, first: int | None = None, after: str | None = None, status: TicketStatus | None = None
    ) -> Connection[Ticket] | None:
        return await self._tickets(info, first, after, status)

    @strawberry.field(extensions=own_rows())
    async def open_ticket_count(self, info: Info) -> int | None:
        return await self._open_count(info)
