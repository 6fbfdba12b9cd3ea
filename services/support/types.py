"""Support's GraphQL types: tickets, comments, and the `Company`/`Contact` extensions that show a
client's tickets and open-ticket counts."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from services.common.authz import CUSTOMER, PARTNER, STAFF, allow
from services.common.customfield_types import CustomFieldValue, record_values
from services.common.graphql import Connection, EntityRef, FromDoc
from services.common.values import all_of, parse_date, parse_ts

from . import domain, escalation
from .policy import TICKET_READERS
from .survey import survey_url

TicketPriority = strawberry.enum(domain.TicketPriority)
TicketStatus = strawberry.enum(domain.TicketStatus)
TICKET_SORT = [("created_at", -1)]


def own_rows() -> list:
    """The field rule of ticket lists: staff and customers, a customer confined to its own rows."""
    return allow(TICKET_READERS, scoped={CUSTOMER, PARTNER})


@strawberry.type(
    description="A file that came with an e-mail (metadata; content kept up to TURNKEY_ATTACHMENT_MAX_BYTES)."
)
class Attachment:
    id: strawberry.ID
    filename: str
    content_type: str | None
    size: int = strawberry.field(description="Bytes.")
    stored: bool = strawberry.field(description="Whether its content is kept (it was within the size limit).")

    @classmethod
    def list_of(cls, doc: dict) -> list[Attachment]:
        return [
            cls(
                id=a["id"],
                filename=a.get("filename") or "attachment",
                content_type=a.get("content_type"),
                size=int(a.get("size") or 0),
                stored=bool(a.get("stored")),
            )
            for a in doc.get("attachments") or []
        ]


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
    company_id: strawberry.ID | None = strawberry.field(description="Null for mail from an unknown sender (triage).")
    contact_id: strawberry.ID | None
    channel: str | None = strawberry.field(description="How it came in: web, email, phone...")
    received_at: dt.datetime | None = strawberry.field(description="When the request arrived, if before opening.")
    first_response_at: dt.datetime | None = strawberry.field(
        description="The first public reply by staff (meets the first-response target; never changes after)."
    )
    deliverable_id: strawberry.ID | None
    revision_id: strawberry.ID | None = strawberry.field(description="The revision this remark was raised on.")
    resolved_in_revision_id: strawberry.ID | None = strawberry.field(description="The revision that resolved it.")
    doc: strawberry.Private[dict]

    @strawberry.field(description="Files of the e-mail that opened it.", extensions=allow(STAFF, PARTNER, CUSTOMER))
    def attachments(self) -> list[Attachment]:
        return Attachment.list_of(self.doc)

    @strawberry.field(description="The support queue (staff only).", extensions=allow(STAFF))
    def queue_id(self) -> strawberry.ID | None:
        return self.doc.get("queue_id")

    @strawberry.field(description="The agent working on it (staff only).", extensions=allow(STAFF))
    def assignee(self) -> str | None:
        return self.doc.get("assignee")

    @strawberry.field(
        description="The client's account manager when the ticket was opened (moved by a hand-over).",
        extensions=allow(STAFF),
    )
    def account_owner(self) -> str | None:
        return self.doc.get("account_owner")

    @strawberry.field(
        description="The SLA state at `at` (default now): due times, remaining business time, breached, "
        "the calendar used. Null without a policy.",
        extensions=allow(STAFF),
    )
    def sla(self, at: dt.datetime | None = None) -> TicketSla | None:
        when = at.astimezone(dt.UTC) if at and at.tzinfo else dt.datetime.now(dt.UTC)
        states = escalation.evaluate(self.doc, when)
        if states is None:
            return None
        s = self.doc["sla"]
        cal = s.get("calendar") or {}
        return TicketSla(
            policy_id=s["policy_id"],
            policy_name=s.get("policy_name"),
            calendar_name=cal.get("name") or "round the clock (UTC)",
            time_zone=cal.get("time_zone") or "UTC",
            first_response=SlaClock.of(states[0]),
            resolution=SlaClock.of(states[1]),
        )

    @strawberry.field(
        description="The signed satisfaction-survey link of a resolved ticket (staff pass it on; it is also mailed).",
        extensions=allow(STAFF),
    )
    def survey_url(self, info: Info) -> str | None:
        if self.doc.get("status") not in ("resolved", "closed"):
            return None
        return survey_url(info.context.settings, self.doc)

    @strawberry.field(description="Warnings and breaches fired, with what was done.", extensions=allow(STAFF))
    def escalations(self) -> list[Escalation] | None:
        return [
            Escalation(
                alarm=e["alarm"],
                at=parse_ts(e["at"]),
                due_at=parse_ts(e.get("due_at")),
                notified=e.get("notified") or [],
                raised_to=e.get("raised_to"),
                moved_to=e.get("moved_to"),
            )
            for e in self.doc.get("escalations") or []
        ]

    @strawberry.field(description="Who it was assigned to, by whom and why.", extensions=allow(STAFF))
    def assignments(self) -> list[Assignment] | None:
        return [
            Assignment(agent=a.get("agent"), by=a["by"], reason=a.get("reason"), at=parse_ts(a["at"]))
            for a in self.doc.get("assignments") or []
        ]

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
        return {"opened_at": parse_ts(doc["created_at"]), "doc": doc}

    @strawberry.field(description="Custom fields (docs/customfields.md).", extensions=allow(STAFF))
    async def custom_fields(self, info: Info) -> list[CustomFieldValue] | None:
        return await record_values(info.context, "tickets", "ref_custom_fields", "ticket", self.id)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Ticket | None:
        return await info.context.one("tickets", id, cls.from_doc)


@strawberry.type(description="One SLA clock of a ticket (first response or resolution).")
class SlaClock:
    due_at: dt.datetime | None = strawberry.field(description="Null while paused (waiting on the customer).")
    warn_at: dt.datetime | None
    met_at: dt.datetime | None
    paused: bool
    breached: bool
    remaining_minutes: float | None = strawberry.field(
        description="Business minutes left (negative when overdue; null once met)."
    )

    @staticmethod
    def of(s) -> SlaClock:
        return SlaClock(
            due_at=s.due_at,
            warn_at=s.warn_at,
            met_at=s.met_at,
            paused=s.paused,
            breached=s.breached,
            remaining_minutes=None if s.remaining_seconds is None else round(s.remaining_seconds / 60, 2),
        )


@strawberry.type(description="A ticket's SLA: its policy, the calendar it runs on, its two clocks.")
class TicketSla:
    policy_id: strawberry.ID
    policy_name: str | None
    calendar_name: str
    time_zone: str
    first_response: SlaClock
    resolution: SlaClock


@strawberry.type
class Escalation:
    alarm: str = strawberry.field(description="first_response.warning, first_response.breached, resolution.…")
    at: dt.datetime
    due_at: dt.datetime | None
    notified: list[str]
    raised_to: str | None
    moved_to: strawberry.ID | None


@strawberry.type
class Assignment:
    agent: str | None
    by: str
    reason: str | None
    at: dt.datetime


@strawberry.type
class BusinessHours:
    day: str
    start: str
    end: str


@strawberry.type(description="Business hours in a time zone, with holidays.")
class SlaCalendar(FromDoc):
    id: strawberry.ID
    name: str
    time_zone: str
    holidays: list[dt.date]
    version: int
    hours: list[BusinessHours]

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        rows = [
            BusinessHours(day=d, start=i["start"], end=i["end"]) for d, v in (doc.get("hours") or {}).items() for i in v
        ]
        return {"hours": rows, "holidays": [parse_date(h) for h in doc.get("holidays") or []]}


@strawberry.type
class SlaTarget:
    priority: TicketPriority
    first_response_minutes: int
    resolution_minutes: int


@strawberry.type
class EscalationRules:
    notify: list[str] = strawberry.field(description="owner (the assignee) and/or account_manager.")
    raise_priority: bool
    queue_id: strawberry.ID | None


@strawberry.type(description="Targets by priority for a tier, a client (contract) or everyone (default).")
class SlaPolicy(FromDoc):
    id: strawberry.ID
    name: str
    tier: str | None
    company_id: strawberry.ID | None
    calendar_id: strawberry.ID | None
    warn_percent: int
    active: bool
    version: int
    targets: list[SlaTarget]
    escalation: EscalationRules

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        e = doc.get("escalation") or {}
        return {
            "targets": [
                SlaTarget(
                    priority=TicketPriority(p),
                    first_response_minutes=t["first_response_minutes"],
                    resolution_minutes=t["resolution_minutes"],
                )
                for p, t in (doc.get("targets") or {}).items()
            ],
            "escalation": EscalationRules(
                notify=e.get("notify") or [], raise_priority=bool(e.get("raise_priority")), queue_id=e.get("queue_id")
            ),
            "active": doc.get("active", True),
        }


@strawberry.type(description="A queue by product or discipline, with its members and assignment strategy.")
class SupportQueue(FromDoc):
    id: strawberry.ID
    name: str
    discipline: str | None
    strategy: str = strawberry.field(description="round_robin or least_loaded")
    members: list[str]
    is_default: bool
    is_triage: bool
    version: int


@strawberry.type(description="A support agent (a user id) and whether new tickets may go to them.")
class SupportAgent(FromDoc):
    id: strawberry.ID
    name: str
    email: str | None
    available: bool
    version: int


@strawberry.type(description="A message on a ticket: public (the customer sees it) or an internal note.")
class TicketComment(FromDoc):
    id: strawberry.ID
    body: str
    internal: bool
    author: str = strawberry.field(description="Who wrote it (user id).")
    author_role: str
    created_at: dt.datetime
    attachments: list[Attachment] = strawberry.field(description="Files of the e-mail it came from.")

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"attachments": Attachment.list_of(doc)}


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
