"""Support: tickets of clients (company and, usually, a contact) with priority and status.

Extends `Company` and `Contact` with their tickets and open-ticket counts. Publishes
`support.ticket.opened|resolved`, from which deals keeps account health and contacts the
timeline. Companies/contacts are validated against replicas fed by contacts' events."""
from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from services.common.auth import Principal
from services.common.authz import ADMIN, ALL_ROWS, CUSTOMER, NO_ROWS, SALES, STAFF, SUPPORT, allow
from services.common.envelope import Envelope
from services.common.graphql import (
    Connection,
    ErrorCode,
    InputError,
    UserError,
    clean_text,
    paginate,
    user_errors,
)
from services.common.ids import new_id, now_iso
from services.common.replica import apply_snapshot
from services.common.service import Service, Subscription, build_schema, diff
from services.common.types import parse_ts

OPEN_STATUSES = ["open", "in_progress", "waiting"]
TICKET_READERS = STAFF | {CUSTOMER}
MAX_COMMENT = 20_000


@strawberry.enum
class TicketPriority(Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


@strawberry.enum
class TicketStatus(Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


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
    def company(self) -> "Company | None":
        return Company(id=self.company_id)

    @strawberry.field(extensions=allow(TICKET_READERS))
    def contact(self) -> "Contact | None":
        return Contact(id=self.contact_id) if self.contact_id else None

    @strawberry.field(description="The conversation, oldest first. Customers see the public comments only.",
                      extensions=allow(TICKET_READERS, scoped={CUSTOMER}))
    async def comments(self, info: Info, first: int | None = None, after: str | None = None) -> "Connection[TicketComment] | None":
        c = info.context
        return await paginate(c.store, "ticket_comments", c.scoped("ticket_comments", {"ticket_id": str(self.id)}),
                              [("created_at", 1)], first, after, TicketComment.from_doc)

    @staticmethod
    def from_doc(d: dict) -> "Ticket":
        return Ticket(
            id=d["id"], subject=d["subject"], description=d.get("description"), priority=TicketPriority(d["priority"]),
            status=TicketStatus(d["status"]), resolution=d.get("resolution"), opened_at=parse_ts(d["created_at"]),
            resolved_at=parse_ts(d.get("resolved_at")), updated_at=parse_ts(d["updated_at"]), version=d["version"],
            company_id=d["company_id"], contact_id=d.get("contact_id"),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> "Ticket | None":
        doc = await info.context.get("tickets", str(id))
        return cls.from_doc(doc) if doc else None


@strawberry.type(description="A message on a ticket: public (the customer sees it) or an internal note.")
class TicketComment:
    id: strawberry.ID
    body: str
    internal: bool
    author: str = strawberry.field(description="Who wrote it (user id).")
    author_role: str
    created_at: dt.datetime

    @staticmethod
    def from_doc(d: dict) -> "TicketComment":
        return TicketComment(id=d["id"], body=d["body"], internal=d["internal"], author=d["author"],
                             author_role=d["author_role"], created_at=parse_ts(d["created_at"]))


def _ticket_filter(key: str, value: str, status: TicketStatus | None, open_only: bool = False) -> dict:
    clauses: list[dict] = [{key: value}]
    if status:
        clauses.append({"status": status.value})
    if open_only:
        clauses.append({"status": {"$in": OPEN_STATUSES}})
    return {"$and": clauses}


TICKET_SORT = [("created_at", -1)]


def _open_count_loader(c, key: str):
    async def load(ids: list[str]) -> list[int]:
        rows = await c.store.group("tickets", [key], flt=c.scoped(
            "tickets", {"$and": [{key: {"$in": ids}}, {"status": {"$in": OPEN_STATUSES}}]}))
        counts = {r["key"][key]: r["count"] for r in rows}
        return [counts.get(i, 0) for i in ids]
    return DataLoader(load_fn=load)


@strawberry.federation.type(keys=["id"])
class Company:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "Company":
        return cls(id=id)

    @strawberry.field(description="Tickets of this company, newest first.", extensions=allow(TICKET_READERS, scoped={CUSTOMER}))
    async def tickets(self, info: Info, first: int | None = None, after: str | None = None,
                      status: TicketStatus | None = None) -> Connection[Ticket] | None:
        c = info.context
        return await paginate(c.store, "tickets", c.scoped("tickets", _ticket_filter("company_id", str(self.id), status)),
                              TICKET_SORT, first, after, Ticket.from_doc)

    @strawberry.field(description="Tickets not yet resolved or closed.", extensions=allow(TICKET_READERS, scoped={CUSTOMER}))
    async def open_ticket_count(self, info: Info) -> int | None:
        c = info.context
        return await c.loader("open_by_company", lambda: _open_count_loader(c, "company_id")).load(str(self.id))


@strawberry.federation.type(keys=["id"])
class Contact:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "Contact":
        return cls(id=id)

    @strawberry.field(extensions=allow(TICKET_READERS, scoped={CUSTOMER}))
    async def tickets(self, info: Info, first: int | None = None, after: str | None = None,
                      status: TicketStatus | None = None) -> Connection[Ticket] | None:
        c = info.context
        return await paginate(c.store, "tickets", c.scoped("tickets", _ticket_filter("contact_id", str(self.id), status)),
                              TICKET_SORT, first, after, Ticket.from_doc)

    @strawberry.field(extensions=allow(TICKET_READERS, scoped={CUSTOMER}))
    async def open_ticket_count(self, info: Info) -> int | None:
        c = info.context
        return await c.loader("open_by_contact", lambda: _open_count_loader(c, "contact_id")).load(str(self.id))


@strawberry.input
class TicketFilter:
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    company_id: strawberry.ID | None = None


@strawberry.input
class OpenTicketInput:
    company_id: strawberry.ID
    subject: str
    contact_id: strawberry.ID | None = None
    description: str | None = None
    priority: TicketPriority = TicketPriority.NORMAL


@strawberry.input
class ResolveTicketInput:
    id: strawberry.ID
    expected_version: int
    resolution: str


@strawberry.input
class AddTicketCommentInput:
    ticket_id: strawberry.ID
    body: str
    internal: bool = strawberry.field(default=False, description="An internal note, never shown to the customer (staff only).")


@strawberry.type
class TicketPayload:
    ticket: Ticket | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CommentPayload:
    comment: TicketComment | None = None
    ticket: Ticket | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def ticket_snapshot(d: dict) -> dict:
    return {k: d.get(k) for k in ("id", "version", "company_id", "contact_id", "subject", "priority", "status",
                                  "resolution", "resolved_at")}


@strawberry.type
class Query:
    @strawberry.field(extensions=allow(TICKET_READERS, scoped={CUSTOMER}))
    async def ticket(self, info: Info, id: strawberry.ID) -> Ticket | None:
        doc = await info.context.get("tickets", str(id))
        return Ticket.from_doc(doc) if doc else None

    @strawberry.field(description="Tickets, newest first. A customer sees its own.",
                      extensions=allow(TICKET_READERS, scoped={CUSTOMER}))
    async def tickets(self, info: Info, first: int | None = None, after: str | None = None,
                      filter: TicketFilter | None = None) -> Connection[Ticket] | None:
        clauses = []
        if filter:
            for key, val in (("status", filter.status and filter.status.value),
                             ("priority", filter.priority and filter.priority.value),
                             ("company_id", filter.company_id)):
                if val:
                    clauses.append({key: str(val)})
        c = info.context
        return await paginate(c.store, "tickets", c.scoped("tickets", {"$and": clauses} if clauses else {}), TICKET_SORT,
                              first, after, Ticket.from_doc)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Open a ticket. A customer opens tickets for its own company (and as its own contact).",
                         extensions=allow(ADMIN, SUPPORT, SALES, CUSTOMER, scoped={CUSTOMER}))
    async def open_ticket(self, info: Info, input: OpenTicketInput) -> TicketPayload | None:
        c = info.context
        p = c.principal
        try:
            subject = clean_text(input.subject, "subject", required=True)
            company_id = str(input.company_id)
            await c.referenced("ref_companies", company_id, "company", "companyId")
            contact_id = str(input.contact_id) if input.contact_id else None
            if p.role == CUSTOMER and p.contact:
                if contact_id not in (None, p.contact):  # answered as if the colleague did not exist
                    raise InputError(ErrorCode.UNKNOWN_REFERENCE, f"contact {contact_id} does not exist",
                                     ["input", "contactId"])
                contact_id = p.contact
            if contact_id:
                ref = await c.referenced("ref_contacts", contact_id, "contact", "contactId")
                if ref.get("company_id") != company_id:
                    raise InputError(ErrorCode.INVALID, "the contact does not work at this company", ["input", "contactId"])
            body = {"id": new_id(), "company_id": company_id, "contact_id": contact_id, "subject": subject,
                    "description": clean_text(input.description, "description", max_len=20_000),
                    "priority": input.priority.value, "status": "open", "opened_by": p.sub}
            doc = await c.store.insert("tickets", body, events=[
                Envelope("support.ticket.opened", body["id"], ticket_snapshot({**body, "version": 1})),
                c.audit("created", "Ticket", body["id"], diff(None, body))])
            return TicketPayload(ticket=Ticket.from_doc(doc))
        except Exception as exc:
            return TicketPayload(errors=user_errors(exc))

    @strawberry.mutation(extensions=allow(ADMIN, SUPPORT))
    async def resolve_ticket(self, info: Info, input: ResolveTicketInput) -> TicketPayload | None:
        c = info.context
        try:
            resolution = clean_text(input.resolution, "resolution", required=True, max_len=20_000)

            def change(d):
                if d["status"] not in OPEN_STATUSES:
                    raise InputError(ErrorCode.INVALID, f"the ticket is {d['status']} already", ["input", "id"])
                return {**d, "status": "resolved", "resolution": resolution, "resolved_at": now_iso()}

            doc = await c.store.mutate("tickets", str(input.id), c.guarded("tickets", change), expected_version=input.expected_version,
                                       events=lambda old, new: [
                                           Envelope("support.ticket.resolved", new["id"], ticket_snapshot(new)),
                                           c.audit("updated", "Ticket", new["id"], diff(old, new))])
            return TicketPayload(ticket=Ticket.from_doc(doc))
        except Exception as exc:
            return TicketPayload(errors=user_errors(exc))

    @strawberry.mutation(description="Answer on a ticket. Customers comment publicly on their own tickets; staff may "
                                     "add internal notes.",
                         extensions=allow(TICKET_READERS, scoped={CUSTOMER}))
    async def add_ticket_comment(self, info: Info, input: AddTicketCommentInput) -> CommentPayload | None:
        c = info.context
        p = c.principal
        try:
            ticket = await c.referenced("tickets", input.ticket_id, "ticket", "ticketId")
            body = clean_text(input.body, "body", required=True, max_len=MAX_COMMENT)
            if input.internal and not p.is_staff:
                raise InputError(ErrorCode.NOT_ALLOWED, "only staff write internal notes", ["input", "internal"])
            doc = {"id": new_id(), "ticket_id": ticket["id"], "company_id": ticket["company_id"],
                   "contact_id": ticket.get("contact_id"), "body": body, "internal": bool(input.internal),
                   "author": p.sub, "author_role": p.role}
            saved = await c.store.insert("ticket_comments", doc, events=[
                Envelope("support.ticket.commented", ticket["id"], {
                    "id": doc["id"], "ticket_id": ticket["id"], "company_id": ticket["company_id"],
                    "contact_id": ticket.get("contact_id"), "internal": doc["internal"], "author_role": p.role}),
                c.audit("created", "TicketComment", doc["id"], diff(None, doc))])
            return CommentPayload(comment=TicketComment.from_doc(saved), ticket=Ticket.from_doc(ticket))
        except Exception as exc:
            return CommentPayload(errors=user_errors(exc))


class SupportService(Service):
    name = "support"

    def schema(self):
        return build_schema(Query, Mutation, types=[Company, Contact, Ticket], settings=self.settings)

    def row_scope(self, p: Principal, coll: str) -> dict:
        if p.role in STAFF:
            return ALL_ROWS  # support serves every client; the sales own-book limit is not applied to tickets
        if p.role == CUSTOMER:
            mine = {"company_id": p.company}
            if p.contact:
                mine = {"$and": [mine, {"contact_id": p.contact}]}
            if coll == "tickets":
                return mine
            if coll == "ticket_comments":
                return {"$and": [mine, {"internal": False}]}
            if coll == "ref_companies":
                return {"id": p.company}
            if coll == "ref_contacts":
                return {"id": p.contact} if p.contact else {"company_id": p.company}
        return NO_ROWS

    async def setup(self) -> None:
        await self.store.ensure_index("tickets", [("company_id", 1), ("created_at", -1)])
        await self.store.ensure_index("tickets", [("contact_id", 1), ("created_at", -1)])
        await self.store.ensure_index("tickets", [("status", 1), ("priority", 1)])
        await self.store.ensure_index("ticket_comments", [("ticket_id", 1), ("created_at", 1)])

    def subscriptions(self) -> list[Subscription]:
        return [
            Subscription("companies", ["contacts.company.created", "contacts.company.updated"],
                         lambda e: apply_snapshot(self.store, "ref_companies", e, ["name", "kind", "owner"])),
            Subscription("contacts", ["contacts.contact.created", "contacts.contact.updated"],
                         lambda e: apply_snapshot(self.store, "ref_contacts", e, ["name", "company_id", "email"])),
        ]
