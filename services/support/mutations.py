"""Support's mutations: input → domain rule → store, with the ticket's events in the same write."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, CUSTOMER, PARTNER, SALES, SUPPORT, allow
from services.common.errors import ErrorCode, InputError
from services.common.graphql import payload_errors
from services.common.ids import new_id, now_iso
from services.common.values import clean_text, date_input, ts_input

from . import domain, escalation, events, knowledge, mail, remarks, sla, survey, tickets
from .customfields import TicketCustomFieldMutation
from .inputs import (
    AddTicketCommentInput,
    AssignTicketInput,
    CommentPayload,
    EscalationRulesInput,
    OpenTicketInput,
    ReopenTicketInput,
    ResolveTicketInput,
    SaveSlaCalendarInput,
    SaveSlaPolicyInput,
    SaveSupportAgentInput,
    SaveSupportQueueInput,
    SetTicketStatusInput,
    SlaCalendarPayload,
    SlaPolicyPayload,
    SupportAgentPayload,
    SupportQueuePayload,
    TicketPayload,
)
from .knowledge import KbMutation
from .policy import TICKET_READERS
from .remarks import RemarksMutation
from .types import SlaCalendar, SlaPolicy, SupportAgent, SupportQueue, Ticket, TicketComment


@strawberry.type
class Mutation(TicketCustomFieldMutation, KbMutation, RemarksMutation):
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
        staff = p.role != CUSTOMER
        received_at = ts_input(input.received_at, "receivedAt") if staff else None
        if received_at and received_at > now_iso():
            raise InputError(ErrorCode.INVALID, "receivedAt is in the future", ["input", "receivedAt"])
        queue_id = None
        if input.queue_id and staff:
            queue_id = (await c.referenced("queues", input.queue_id, "queue", "queueId"))["id"]
        body = {
            "id": new_id(),
            "company_id": company_id,
            "contact_id": contact_id,
            "subject": subject,
            "description": clean_text(input.description, "description", max_len=domain.MAX_TEXT),
            "priority": input.priority.value,
            "status": "open",
            "opened_by": p.sub,
            "channel": "web" if not staff else "staff",
            "received_at": received_at,
            "queue_id": queue_id,
        }
        body.update(await remarks.remark_fields(c, input, company_id))
        body = await tickets.prepared(c.store, body)
        doc = await c.create("tickets", "Ticket", body, events=[events.opened({**body, "version": 1})])
        await knowledge.converted(c.store, input.search_id, input.article_id, doc, p)
        return TicketPayload(ticket=Ticket.from_doc(doc))

    @strawberry.mutation(extensions=allow(ADMIN, SUPPORT))
    @payload_errors(TicketPayload)
    async def resolve_ticket(self, info: Info, input: ResolveTicketInput) -> TicketPayload | None:
        c = info.context
        resolution = clean_text(input.resolution, "resolution", required=True, max_len=domain.MAX_TEXT)
        ticket = await c.referenced("tickets", input.id, "ticket", "id", code=ErrorCode.NOT_FOUND)
        in_revision = await remarks.resolving_revision(c, ticket, input.resolved_in_revision_id)
        now = now_iso()

        def resolve(d: dict) -> dict:
            done = domain.resolved(d, resolution, now)
            done["resolutions"] = (d.get("resolutions") or 0) + 1
            if in_revision:
                done["resolved_in_revision_id"] = in_revision
            return escalation.with_next_alarm(done, now)

        doc = await c.update(
            "tickets",
            "Ticket",
            input.id,
            resolve,
            expected_version=input.expected_version,
            events=lambda old, new: [events.resolved(new)],
        )
        await survey.send_link(c.service, doc)
        return TicketPayload(ticket=Ticket.from_doc(doc))

    @strawberry.mutation(
        description="Answer on a ticket. Customers comment publicly on their own tickets; staff may "
        "add internal notes.",
        extensions=allow(TICKET_READERS, scoped={CUSTOMER, PARTNER}),
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
        ticket = await replied(c.store, ticket, doc, now_iso())
        if doc["internal"] is False and p.is_staff and ticket.get("channel") == "email":
            doc.update(await mail.reply_out(c.service, ticket, doc))
        saved = await c.create("ticket_comments", "TicketComment", doc, events=[events.commented(ticket, doc)])
        return CommentPayload(comment=TicketComment.from_doc(saved), ticket=Ticket.from_doc(ticket))

    @strawberry.mutation(
        description="Move an open ticket between open, in progress and waiting on the customer "
        "(waiting pauses the resolution clock).",
        extensions=allow(ADMIN, SUPPORT),
    )
    @payload_errors(TicketPayload)
    async def set_ticket_status(self, info: Info, input: SetTicketStatusInput) -> TicketPayload | None:
        now = now_iso()
        doc = await info.context.update(
            "tickets",
            "Ticket",
            input.id,
            lambda d: escalation.with_next_alarm(domain.status_changed(d, input.status.value, now), now),
            expected_version=input.expected_version,
        )
        return TicketPayload(ticket=Ticket.from_doc(doc))

    @strawberry.mutation(
        description="Reopen a resolved ticket (the resolution clock resumes).", extensions=allow(ADMIN, SUPPORT)
    )
    @payload_errors(TicketPayload)
    async def reopen_ticket(self, info: Info, input: ReopenTicketInput) -> TicketPayload | None:
        c = info.context
        reason = clean_text(input.reason, "reason", required=True, max_len=domain.MAX_TEXT)
        now = now_iso()
        doc = await c.update(
            "tickets",
            "Ticket",
            input.id,
            lambda d: escalation.with_next_alarm({**domain.reopened(d, now), "reopen_reason": reason}, now),
            expected_version=input.expected_version,
            events=lambda old, new: [events.reopened(new, reason)],
        )
        return TicketPayload(ticket=Ticket.from_doc(doc))

    @strawberry.mutation(
        description="Assign a ticket to an agent, or to its queue's next available agent; a reassignment "
        "needs a reason.",
        extensions=allow(ADMIN, SUPPORT),
    )
    @payload_errors(TicketPayload)
    async def assign_ticket(self, info: Info, input: AssignTicketInput) -> TicketPayload | None:
        c = info.context
        reason = clean_text(input.reason, "reason", max_len=500)
        ticket = await c.referenced("tickets", input.id, "ticket", "id", code=ErrorCode.NOT_FOUND)
        queue_id = ticket.get("queue_id")
        if input.queue_id:
            queue_id = (await c.referenced("queues", input.queue_id, "queue", "queueId"))["id"]
        if input.agent:
            agent = await c.store.get("agents", input.agent)
            if agent is None:
                raise InputError(ErrorCode.UNKNOWN_REFERENCE, f"agent {input.agent} does not exist", ["input", "agent"])
            chosen = agent["id"]
        else:
            chosen = await tickets.next_agent(c.store, queue_id) if queue_id else None
            if chosen is None:
                raise InputError(ErrorCode.INVALID, "no available agent in the queue", ["input", "queueId"])
        now = now_iso()

        def assign(d: dict) -> dict:
            if d.get("assignee") and d["assignee"] != chosen and not reason:
                raise InputError(ErrorCode.INVALID, "a reassignment needs a reason", ["input", "reason"])
            entry = {"agent": chosen, "by": c.principal.sub, "reason": reason, "at": now, "from": d.get("assignee")}
            return {
                **d,
                "assignee": chosen,
                "queue_id": queue_id,
                "assignments": [*(d.get("assignments") or []), entry],
            }

        doc = await c.update("tickets", "Ticket", input.id, assign, expected_version=input.expected_version)
        return TicketPayload(ticket=Ticket.from_doc(doc))

    # ---- configuration --------------------------------------------------------------------
    @strawberry.mutation(description="Create or change a business-hours calendar.", extensions=allow(ADMIN, SUPPORT))
    @payload_errors(SlaCalendarPayload)
    async def save_sla_calendar(self, info: Info, input: SaveSlaCalendarInput) -> SlaCalendarPayload | None:
        body = {
            "name": clean_text(input.name, "name", required=True),
            "time_zone": sla.check_zone(input.time_zone),
            "hours": sla.weekly_hours((h.day, h.start, h.end) for h in input.hours),
            "holidays": sorted({date_input(h, "holidays") for h in input.holidays}),
        }
        doc = await save(info.context, "sla_calendars", "SlaCalendar", input, body)
        return SlaCalendarPayload(calendar=SlaCalendar.from_doc(doc))

    @strawberry.mutation(
        description="Create or change an SLA policy (targets by priority for a tier, a client, or the default).",
        extensions=allow(ADMIN, SUPPORT),
    )
    @payload_errors(SlaPolicyPayload)
    async def save_sla_policy(self, info: Info, input: SaveSlaPolicyInput) -> SlaPolicyPayload | None:
        c = info.context
        if input.tier is not None and input.tier not in domain.TIERS:
            raise InputError(ErrorCode.INVALID, "tier is A, B or C", ["input", "tier"])
        if input.tier and input.company_id:
            raise InputError(ErrorCode.INVALID, "a policy is for a tier or for a client, not both", ["input", "tier"])
        if not 1 <= input.warn_percent <= 99:
            raise InputError(ErrorCode.INVALID, "warnPercent is 1 to 99", ["input", "warnPercent"])
        if input.calendar_id:
            await c.referenced("sla_calendars", input.calendar_id, "calendar", "calendarId")
        if input.company_id:
            await c.referenced("ref_companies", input.company_id, "company", "companyId")
        rules = input.escalation or EscalationRulesInput()
        if set(rules.notify) - {"owner", "account_manager"}:
            raise InputError(
                ErrorCode.INVALID, "notify owner and/or account_manager", ["input", "escalation", "notify"]
            )
        if rules.queue_id:
            await c.referenced("queues", rules.queue_id, "queue", "queueId")
        body = {
            "name": clean_text(input.name, "name", required=True),
            "targets": domain.targets_of(
                [(t.priority.value, t.first_response_minutes, t.resolution_minutes) for t in input.targets],
                ["input", "targets"],
            ),
            "calendar_id": str(input.calendar_id) if input.calendar_id else None,
            "tier": input.tier,
            "company_id": str(input.company_id) if input.company_id else None,
            "warn_percent": input.warn_percent,
            "escalation": {
                "notify": list(rules.notify),
                "raise_priority": rules.raise_priority,
                "queue_id": str(rules.queue_id) if rules.queue_id else None,
            },
            "active": input.active,
        }
        doc = await save(c, "sla_policies", "SlaPolicy", input, body)
        return SlaPolicyPayload(policy=SlaPolicy.from_doc(doc))

    @strawberry.mutation(description="Create or change a support queue.", extensions=allow(ADMIN, SUPPORT))
    @payload_errors(SupportQueuePayload)
    async def save_support_queue(self, info: Info, input: SaveSupportQueueInput) -> SupportQueuePayload | None:
        if input.strategy not in ("round_robin", "least_loaded"):
            raise InputError(ErrorCode.INVALID, "strategy is round_robin or least_loaded", ["input", "strategy"])
        members = list(dict.fromkeys(input.members))
        known = await info.context.store.get_many("agents", members)
        for i, m in enumerate(members):
            if m not in known:
                raise InputError(ErrorCode.UNKNOWN_REFERENCE, f"agent {m} does not exist", ["input", "members", str(i)])
        body = {
            "name": clean_text(input.name, "name", required=True),
            "discipline": clean_text(input.discipline, "discipline"),
            "strategy": input.strategy,
            "members": members,
            "is_default": input.is_default,
            "is_triage": input.is_triage,
        }
        doc = await save(info.context, "queues", "SupportQueue", input, body)
        return SupportQueuePayload(queue=SupportQueue.from_doc(doc))

    @strawberry.mutation(
        description="Record an agent and their availability (unavailable agents get no new tickets).",
        extensions=allow(ADMIN, SUPPORT),
    )
    @payload_errors(SupportAgentPayload)
    async def save_support_agent(self, info: Info, input: SaveSupportAgentInput) -> SupportAgentPayload | None:
        c = info.context
        body = {
            "name": clean_text(input.name, "name", required=True),
            "email": clean_text(input.email, "email"),
            "available": input.available,
        }
        existing = await c.store.get("agents", str(input.id))
        if existing is None:
            doc = await c.create(
                "agents", "SupportAgent", {"id": clean_text(str(input.id), "id", required=True), **body}
            )
        else:
            doc = await c.update(
                "agents", "SupportAgent", input.id, lambda d: {**d, **body}, expected_version=input.expected_version
            )
        return SupportAgentPayload(agent=SupportAgent.from_doc(doc))


async def save(c, coll: str, entity: str, input, body: dict) -> dict:
    """Create (no id) or change (id + expectedVersion) a configuration record."""
    if input.id is None:
        return await c.create(coll, entity, {"id": new_id(), **body})
    if input.expected_version is None:
        raise InputError(
            ErrorCode.INVALID, "expectedVersion is required to change a record", ["input", "expectedVersion"]
        )
    return await c.update(coll, entity, input.id, lambda d: {**d, **body}, expected_version=input.expected_version)


async def replied(store, ticket: dict, comment: dict, now: str) -> dict:
    """The ticket after a comment: the first public reply by staff meets the first response (once;
    never overridden), a customer's reply to a ticket waiting on them resumes the clock."""
    staff_reply = not comment["internal"] and comment["author_role"] != CUSTOMER
    customer_reply = comment["author_role"] == CUSTOMER and ticket["status"] == "waiting"
    if not ((staff_reply and not ticket.get("first_response_at")) or customer_reply):
        return ticket

    def apply(d: dict) -> dict | None:
        changed = dict(d)
        if staff_reply and not d.get("first_response_at"):
            changed["first_response_at"] = now
        if customer_reply and d["status"] == "waiting":
            changed = domain.status_changed(changed, "open", now)
        if changed == d:
            return None
        return escalation.with_next_alarm(changed, now)

    return await store.mutate("tickets", ticket["id"], apply)
