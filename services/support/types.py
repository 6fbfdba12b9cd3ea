"""Support's GraphQL types: tickets, comments, and the `Company`/`Contact` extensions that show a
client's tickets and open-ticket counts."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from services.common.authz import CUSTOMER, allow
from services.common.graphql import Connection, paginate
from services.common.values import all_of, parse_ts

from . import domain
from .policy import TICKET_READERS

TicketPriority = strawberry.enum(domain.TicketPriority)
TicketStatus = strawberry.enum(domain.TicketStatus)
TICKET_SORT = [("created_at", -1)]


@strawberry.federation.type(keys=["id"])
class Ticket:
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
    def company(self) -> Company | None:
        return Company(id=self.company_id)

    @strawberry.field(extensions=allow(TICKET_READERS))
    def contact(self) -> Contact | None:
        return Contact(id=self.contact_id) if self.contact_id else None

    @strawberry.field(
        description="The conversation, oldest first. Customers see the public comments only.",
        extensions=allow(TICKET_READERS, scoped={CUSTOMER}),
    )
    async def comments(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[TicketComment] | None:
        c = info.context
        return await paginate(
            c.store,
            "ticket_comments",
            c.scoped("ticket_comments", {"ticket_id": str(self.id)}),
            [("created_at", 1)],
            first,
            after,
            TicketComment.from_doc,
        )

    @staticmethod
    def from_doc(d: dict) -> Ticket:
        return Ticket(
            id=d["id"],
            subject=d["subject"],
            description=d.get("description"),
            priority=TicketPriority(d["priority"]),
            status=TicketStatus(d["status"]),
            resolution=d.get("resolution"),
            opened_at=parse_ts(d["created_at"]),
            resolved_at=parse_ts(d.get("resolved_at")),
            updated_at=parse_ts(d["updated_at"]),
            version=d["version"],
            company_id=d["company_id"],
            contact_id=d.get("contact_id"),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Ticket | None:
        return await info.context.one("tickets", id, cls.from_doc)


@strawberry.type(description="A message on a ticket: public (the customer sees it) or an internal note.")
class TicketComment:
    id: strawberry.ID
    body: str
    internal: bool
    author: str = strawberry.field(description="Who wrote it (user id).")
    author_role: str
    created_at: dt.datetime

    @staticmethod
    def from_doc(d: dict) -> TicketComment:
        return TicketComment(
            id=d["id"],
            body=d["body"],
            internal=d["internal"],
            author=d["author"],
            author_role=d["author_role"],
            created_at=parse_ts(d["created_at"]),
        )


def ticket_filter(key: str, value: str, status: TicketStatus | None) -> dict:
    return all_of({key: value}, {"status": status.value} if status else None)


async def _tickets(
    info: Info, key: str, value: str, first: int | None, after: str | None, status: TicketStatus | None
) -> Connection[Ticket]:
    c = info.context
    return await paginate(
        c.store,
        "tickets",
        c.scoped("tickets", ticket_filter(key, value, status)),
        TICKET_SORT,
        first,
        after,
        Ticket.from_doc,
    )


def _open_count(info: Info, key: str, id: str):
    """Open tickets per company (or contact), one grouped query per request (DataLoader)."""
    c = info.context

    async def load(ids: list[str]) -> list[int]:
        rows = await c.store.group(
            "tickets",
            [key],
            flt=c.scoped("tickets", all_of({key: {"$in": ids}}, {"status": {"$in": domain.OPEN_STATUSES}})),
        )
        counts = {r["key"][key]: r["count"] for r in rows}
        return [counts.get(i, 0) for i in ids]

    return c.loader(f"open_by:{key}", lambda: DataLoader(load_fn=load)).load(id)


@strawberry.federation.type(keys=["id"])
class Company:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Company:
        return cls(id=id)

    @strawberry.field(
        description="Tickets of this company, newest first.", extensions=allow(TICKET_READERS, scoped={CUSTOMER})
    )
    async def tickets(
        self, info: Info, first: int | None = None, after: str | None = None, status: TicketStatus | None = None
    ) -> Connection[Ticket] | None:
        return await _tickets(info, "company_id", str(self.id), first, after, status)

    @strawberry.field(
        description="Tickets not yet resolved or closed.", extensions=allow(TICKET_READERS, scoped={CUSTOMER})
    )
    async def open_ticket_count(self, info: Info) -> int | None:
        return await _open_count(info, "company_id", str(self.id))


@strawberry.federation.type(keys=["id"])
class Contact:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Contact:
        return cls(id=id)

    @strawberry.field(extensions=allow(TICKET_READERS, scoped={CUSTOMER}))
    async def tickets(
        self, info: Info, first: int | None = None, after: str | None = None, status: TicketStatus | None = None
    ) -> Connection[Ticket] | None:
        return await _tickets(info, "contact_id", str(self.id), first, after, status)

    @strawberry.field(extensions=allow(TICKET_READERS, scoped={CUSTOMER}))
    async def open_ticket_count(self, info: Info) -> int | None:
        return await _open_count(info, "contact_id", str(self.id))
