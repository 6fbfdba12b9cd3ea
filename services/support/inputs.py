"""Support's inputs, filters and payloads."""

from __future__ import annotations

import datetime as dt

import strawberry

from services.common.customfield_types import CustomFieldFilter
from services.common.graphql import payload

from .types import (
    SlaCalendar,
    SlaPolicy,
    SupportAgent,
    SupportQueue,
    Ticket,
    TicketComment,
    TicketPriority,
    TicketStatus,
)


@strawberry.input
class TicketFilter:
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    company_id: strawberry.ID | None = None
    queue_id: strawberry.ID | None = None
    assignee: str | None = None
    deliverable_id: strawberry.ID | None = None
    custom_fields: list[CustomFieldFilter] | None = strawberry.field(default=None, description="All must hold.")


@strawberry.input
class OpenTicketInput:
    company_id: strawberry.ID
    subject: str
    contact_id: strawberry.ID | None = None
    description: str | None = None
    priority: TicketPriority = TicketPriority.NORMAL
    queue_id: strawberry.ID | None = None
    received_at: dt.datetime | None = strawberry.field(
        default=None, description="When the request arrived (staff logging a call or a letter); the SLA starts then"
    )
    deliverable_id: strawberry.ID | None = None
    revision_id: strawberry.ID | None = strawberry.field(default=None, description="Raise a remark on this revision")
    article_id: strawberry.ID | None = strawberry.field(default=None, description="Opened from this KB article")
    search_id: strawberry.ID | None = strawberry.field(default=None, description="The KB search that led here")


@strawberry.input
class ResolveTicketInput:
    id: strawberry.ID
    expected_version: int
    resolution: str
    resolved_in_revision_id: strawberry.ID | None = strawberry.field(
        default=None, description="For a remark on a deliverable: the revision that resolves it"
    )


@strawberry.input
class AddTicketCommentInput:
    ticket_id: strawberry.ID
    body: str
    internal: bool = strawberry.field(
        default=False, description="An internal note, never shown to the customer (staff only)."
    )


TicketPayload = payload("TicketPayload", ticket=Ticket)
CommentPayload = payload("CommentPayload", comment=TicketComment, ticket=Ticket)


@strawberry.input
class BusinessHoursInput:
    day: str = strawberry.field(description="mon, tue, wed, thu, fri, sat, sun")
    start: str = strawberry.field(description="HH:MM local time")
    end: str = strawberry.field(description="HH:MM local time (24:00 = midnight)")


@strawberry.input
class SaveSlaCalendarInput:
    name: str
    time_zone: str = strawberry.field(description="IANA time zone, e.g. Europe/Berlin")
    hours: list[BusinessHoursInput]
    holidays: list[dt.date] = strawberry.field(default_factory=list)
    id: strawberry.ID | None = None
    expected_version: int | None = None


@strawberry.input
class SlaTargetInput:
    priority: TicketPriority
    first_response_minutes: int
    resolution_minutes: int


@strawberry.input
class EscalationRulesInput:
    notify: list[str] = strawberry.field(default_factory=lambda: ["owner", "account_manager"])
    raise_priority: bool = False
    queue_id: strawberry.ID | None = None


@strawberry.input
class SaveSlaPolicyInput:
    name: str
    targets: list[SlaTargetInput]
    calendar_id: strawberry.ID | None = None
    tier: str | None = strawberry.field(default=None, description="A, B or C; null with companyId or for the default")
    company_id: strawberry.ID | None = strawberry.field(default=None, description="A client's own contract")
    warn_percent: int = 80
    escalation: EscalationRulesInput | None = None
    active: bool = True
    id: strawberry.ID | None = None
    expected_version: int | None = None


@strawberry.input
class SaveSupportQueueInput:
    name: str
    discipline: str | None = None
    strategy: str = "round_robin"
    members: list[str] = strawberry.field(default_factory=list)
    is_default: bool = False
    is_triage: bool = False
    id: strawberry.ID | None = None
    expected_version: int | None = None


@strawberry.input
class SaveSupportAgentInput:
    id: strawberry.ID = strawberry.field(description="The agent's user id (token subject)")
    name: str
    email: str | None = None
    available: bool = True
    expected_version: int | None = None


@strawberry.input
class SetTicketStatusInput:
    id: strawberry.ID
    expected_version: int
    status: TicketStatus


@strawberry.input
class AssignTicketInput:
    id: strawberry.ID
    expected_version: int
    agent: str | None = strawberry.field(default=None, description="Null: the queue's next agent")
    queue_id: strawberry.ID | None = None
    reason: str | None = strawberry.field(default=None, description="Required when the ticket had an agent")


@strawberry.input
class ReopenTicketInput:
    id: strawberry.ID
    expected_version: int
    reason: str


SlaCalendarPayload = payload("SlaCalendarPayload", calendar=SlaCalendar)
SlaPolicyPayload = payload("SlaPolicyPayload", policy=SlaPolicy)
SupportQueuePayload = payload("SupportQueuePayload", queue=SupportQueue)
SupportAgentPayload = payload("SupportAgentPayload", agent=SupportAgent)
