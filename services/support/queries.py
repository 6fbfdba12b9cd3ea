"""Support's root queries: tickets, configuration (calendars, policies, queues, agents), reports."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from services.common.authz import CUSTOMER, PARTNER, STAFF, allow
from services.common.customfield_types import CustomFieldSort, list_clauses
from services.common.graphql import Connection, paginate
from services.common.values import all_of, equal

from . import tickets as ticket_store
from .inputs import TicketFilter
from .knowledge import KbQuery
from .partner_care import PartnerCareQuery
from .policy import TICKET_READERS
from .remarks import RemarksQuery
from .reports import ReportsQuery
from .types import TICKET_SORT, SlaCalendar, SlaPolicy, SupportAgent, SupportQueue, Ticket


@strawberry.type
class Query(KbQuery, RemarksQuery, ReportsQuery, PartnerCareQuery):
    @strawberry.field(extensions=allow(TICKET_READERS, scoped={CUSTOMER, PARTNER}))
    async def ticket(self, info: Info, id: strawberry.ID) -> Ticket | None:
        return await info.context.one("tickets", id, Ticket.from_doc)

    @strawberry.field(
        description="Tickets, newest first. A customer sees its own; a partner its clients' (when enabled).",
        extensions=allow(TICKET_READERS, scoped={CUSTOMER, PARTNER}),
    )
    async def tickets(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: TicketFilter | None = None,
        sort: CustomFieldSort | None = None,
    ) -> Connection[Ticket] | None:
        f = filter or TicketFilter()
        flt = all_of(
            *equal(
                (
                    ("status", f.status and f.status.value),
                    ("priority", f.priority and f.priority.value),
                    ("company_id", f.company_id),
                    ("queue_id", f.queue_id),
                    ("assignee", f.assignee),
                    ("deliverable_id", f.deliverable_id),
                )
            )
        )
        c = info.context
        custom, order = await list_clauses(c, "ref_custom_fields", "ticket", f.custom_fields, sort)
        flt = all_of(flt, custom)
        sort_spec = [*order, *TICKET_SORT]
        return await paginate(c.store, "tickets", c.scoped("tickets", flt), sort_spec, first, after, Ticket.from_doc)

    @strawberry.field(description="Business-hours calendars.", extensions=allow(STAFF))
    async def sla_calendars(self, info: Info) -> list[SlaCalendar] | None:
        return [SlaCalendar.from_doc(d) for d in await ticket_store.all_of(info.context.store, "sla_calendars")]

    @strawberry.field(description="SLA policies.", extensions=allow(STAFF))
    async def sla_policies(self, info: Info) -> list[SlaPolicy] | None:
        return [SlaPolicy.from_doc(d) for d in await ticket_store.all_of(info.context.store, "sla_policies")]

    @strawberry.field(description="Support queues.", extensions=allow(STAFF))
    async def support_queues(self, info: Info) -> list[SupportQueue] | None:
        return [SupportQueue.from_doc(d) for d in await ticket_store.all_of(info.context.store, "queues")]

    @strawberry.field(description="Support agents and their availability.", extensions=allow(STAFF))
    async def support_agents(self, info: Info) -> list[SupportAgent] | None:
        return [SupportAgent.from_doc(d) for d in await ticket_store.all_of(info.context.store, "agents")]
