"""Support's mutations: input → domain rule → store, with the ticket's events in the same write."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, CUSTOMER, SALES, SUPPORT, allow
from services.common.errors import ErrorCode, InputError
from services.common.graphql import payload_errors
from services.common.ids import new_id, now_iso
from services.common.values import clean_text

from . import domain, events
from .inputs import AddTicketCommentInput, CommentPayload, OpenTicketInput, ResolveTicketInput, TicketPayload
from .policy import TICKET_READERS
from .types import Ticket, TicketComment


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Open a ticket. A customer opens tickets for its own company (and as its own contact).",
        extensions=allow(ADMIN, SUPPORT, SALES, CUSTOMER, scoped={CUSTOMER}),
    )
    @payload_errors(TicketPayload)
    async def open_ticket(self, info: Info, input: OpenTicketInput) -> TicketPayload | None:
        c = info.context
        p = c.principal
        subject = clean_text(input.subject, "subject", required=True)
        company_id = str(input.company_id)
        await c.referenced("ref_companies", company_id, "company", "companyId")
        contact_id = domain.ticket_contact(
            str(input.contact_id) if input.contact_id else None, own_contact=p.contact if p.role == CUSTOMER else None
        )
        if contact_id:
            ref = await c.referenced("ref_contacts", contact_id, "contact", "contactId")
            if ref.get("company_id") != company_id:
                raise InputError(ErrorCode.INVALID, "the contact does not work at this company", ["input", "contactId"])
        body = {
            "id": new_id(),
            "company_id": company_id,
            "contact_id": contact_id,
            "subject": subject,
            "description": clean_text(input.description, "description", max_len=domain.MAX_TEXT),
            "priority": input.priority.value,
            "status": "open",
            "opened_by": p.sub,
        }
        doc = await c.create("tickets", "Ticket", body, events=[events.opened({**body, "version": 1})])
        return TicketPayload(ticket=Ticket.from_doc(doc))

    @strawberry.mutation(extensions=allow(ADMIN, SUPPORT))
    @payload_errors(TicketPayload)
    async def resolve_ticket(self, info: Info, input: ResolveTicketInput) -> TicketPayload | None:
        c = info.context
        resolution = clean_text(input.resolution, "resolution", required=True, max_len=domain.MAX_TEXT)
        doc = await c.update(
            "tickets",
            "Ticket",
            input.id,
            lambda d: domain.resolved(d, resolution, now_iso()),
            expected_version=input.expected_version,
            events=lambda old, new: [events.resolved(new)],
        )
        return TicketPayload(ticket=Ticket.from_doc(doc))

    @strawberry.mutation(
        description="Answer on a ticket. Customers comment publicly on their own tickets; staff may "
        "add internal notes.",
        extensions=allow(TICKET_READERS, scoped={CUSTOMER}),
    )
    @payload_errors(CommentPayload)
    async def add_ticket_comment(self, info: Info, input: AddTicketCommentInput) -> CommentPayload | None:
        c = info.context
        p = c.principal
        ticket = await c.referenced("tickets", input.ticket_id, "ticket", "ticketId")
        body = clean_text(input.body, "body", required=True, max_len=domain.MAX_TEXT)
        doc = domain.comment(
            new_id(), ticket, body, internal=bool(input.internal), author=p.sub, role=p.role, by_staff=p.is_staff
        )
        saved = await c.create("ticket_comments", "TicketComment", doc, events=[events.commented(ticket, doc)])
        return CommentPayload(comment=TicketComment.from_doc(saved), ticket=Ticket.from_doc(ticket))
