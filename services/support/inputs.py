"""Support's inputs, filters and payloads."""

from __future__ import annotations

import strawberry

from services.common.graphql import payload

from .types import Ticket, TicketComment, TicketPriority, TicketStatus


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
    internal: bool = strawberry.field(
        default=False, description="An internal note, never shown to the customer (staff only)."
    )


TicketPayload = payload("TicketPayload", ticket=Ticket)
CommentPayload = payload("CommentPayload", comment=TicketComment, ticket=Ticket)
