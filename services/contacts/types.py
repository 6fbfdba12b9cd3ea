"""Contacts' GraphQL object types: `Company` and `Contact` (federation entities), the timeline's
`Interaction`, and `Me`. The enums are domain.py's plain enums, registered here."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from services.common.authz import EVERYONE, PARTNER, STAFF, allow
from services.common.customfield_types import CustomFieldValue
from services.common.graphql import Connection, FromDoc

from . import domain, timeline
from .policy import OWN_ROWS

if TYPE_CHECKING:
    from .day_types import PersonalDate

CompanyKind = strawberry.enum(domain.CompanyKind)
Lifecycle = strawberry.enum(domain.Lifecycle)
InteractionKind = strawberry.enum(
    domain.InteractionKind, description="The channel or kind of an interaction on the timeline."
)
ValueTier = strawberry.enum(domain.ValueTier, description="Value to the company: A (most) to C.")
CONTACT_SORT = [("last_name_key", 1), ("first_name_key", 1)]


@strawberry.type(description="Something that happened with a client, on any channel, in any department.")
class Interaction(FromDoc):
    id: strawberry.ID
    kind: InteractionKind
    title: str
    detail: str | None
    occurred_at: dt.datetime
    source: str = strawberry.field(description="Service that recorded it: contacts, deals, marketing or support.")
    ref_type: str | None = strawberry.field(description="Type of the related record, e.g. Deal or Ticket.")
    ref_id: strawberry.ID | None
    company_id: strawberry.ID | None
    contact_id: strawberry.ID | None
    status: str | None = strawberry.field(description="Activities: planned, held, not_held or cancelled.")
    by: str | None = strawberry.field(description="Who did it or owned it then (history keeps the old owner).")
    lead_id: strawberry.ID | None


@strawberry.input
class TimelineFilter:  # here, not in inputs.py: an argument of Company.timeline and Contact.timeline
    kinds: list[InteractionKind] | None = None
    since: dt.datetime | None = None


async def _timeline(
    info: Info, key: str, value: str, first: int | None, after: str | None, flt: TimelineFilter | None
) -> Connection[Interaction]:
    where = timeline.timeline_filter(key, value, flt)
    return await info.context.page("interactions", where, timeline.SORT, first, after, Interaction.from_doc)


@strawberry.federation.type(keys=["id"], description="An organisation: client, prospect or partner.")
class Company(FromDoc):
    id: strawberry.ID
    name: str
    kind: CompanyKind
    website: str | None
    industry: str | None
    city: str | None
    country: str | None
    owner: str | None = strawberry.field(description="Account owner (a user id); the company stays when they leave.")
    partner_id: strawberry.ID | None = strawberry.field(
        description="The partner company that registered this company (deal registration), if any."
    )
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    tier_value: strawberry.Private[str | None]
    last_contact: strawberry.Private[str | None]

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"tier_value": doc.get("tier"), "last_contact": doc.get("last_contact_at")}

    @strawberry.field(
        description="A/B/C from won revenue over the window (tierThresholds); weighted open pipeline breaks ties.",
        extensions=allow(STAFF),
    )
    def tier(self) -> ValueTier | None:
        return ValueTier(self.tier_value) if self.tier_value else None

    @strawberry.field(description="Last held call, meeting, e-mail or note.", extensions=allow(STAFF))
    def last_contact_at(self) -> dt.datetime | None:
        return dt.datetime.fromisoformat(self.last_contact) if self.last_contact else None

    @strawberry.field(description="Custom fields (docs/customfields.md).", extensions=allow(STAFF, PARTNER))
    async def custom_fields(self, info: Info) -> list[CustomFieldValue] | None:
        from .customfield_api import record_values

        return await record_values(info, "companies", "company", self.id)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Company | None:
        from .merge import resolve  # a merged id answers with its survivor

        return await resolve(info.context, "companies", id, cls.from_doc)

    @strawberry.field(description="People at this company.", extensions=allow(EVERYONE, scoped=OWN_ROWS))
    async def contacts(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[Contact]:
        flt = {"company_id": self.id}
        return await info.context.page("contacts", flt, CONTACT_SORT, first, after, Contact.from_doc)

    @strawberry.field(
        description="Every interaction with this company and its people, newest first, from all departments.",
        extensions=allow(STAFF),
    )
    async def timeline(
        self, info: Info, first: int | None = None, after: str | None = None, filter: TimelineFilter | None = None
    ) -> Connection[Interaction] | None:
        return await _timeline(info, "company_id", str(self.id), first, after, filter)


@strawberry.federation.type(keys=["id"], description="A person, usually at a company.")
class Contact(FromDoc):
    id: strawberry.ID
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    job_title: str | None
    lifecycle: Lifecycle
    owner: str | None
    company_id: strawberry.ID | None
    partner_id: strawberry.ID | None = strawberry.field(description="The partner that registered this lead, if any.")
    interested_in: list[strawberry.ID] = strawberry.field(
        description="Products or services of interest: ids of deals' catalogue (`products`)."
    )
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"interested_in": doc.get("interested_in") or []}

    @strawberry.field(
        description="Yearly dates (birthdays, anniversaries) with their reminders.", extensions=allow(STAFF)
    )
    async def personal_dates(
        self, info: Info
    ) -> list[Annotated[PersonalDate, strawberry.lazy("services.contacts.day_types")]] | None:
        from .day_types import PersonalDate

        rows = await info.context.store.find_all("reminders", {"contact_id": str(self.id), "yearly": True})
        return [PersonalDate.from_doc(r) for r in sorted(rows, key=lambda r: (r["month"], r["day"]))]

    @strawberry.field(extensions=allow(EVERYONE))
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @strawberry.field(extensions=allow(EVERYONE, scoped=OWN_ROWS))
    async def company(self, info: Info) -> Company | None:
        return await info.context.one("companies", self.company_id or None, Company.from_doc)

    @strawberry.field(description="Custom fields (docs/customfields.md).", extensions=allow(STAFF, PARTNER))
    async def custom_fields(self, info: Info) -> list[CustomFieldValue] | None:
        from .customfield_api import record_values

        return await record_values(info, "contacts", "contact", self.id)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Contact | None:
        from .merge import resolve  # a merged id answers with its survivor

        return await resolve(info.context, "contacts", id, cls.from_doc)

    @strawberry.field(
        description="Every interaction with this person, newest first, from all departments.", extensions=allow(STAFF)
    )
    async def timeline(
        self, info: Info, first: int | None = None, after: str | None = None, filter: TimelineFilter | None = None
    ) -> Connection[Interaction] | None:
        return await _timeline(info, "contact_id", str(self.id), first, after, filter)


@strawberry.type(description="Who is asking: the identity of the token.")
class Me:
    sub: str
    role: str
    company_id: strawberry.ID | None
    contact_id: strawberry.ID | None
    name: str | None

    @strawberry.field(description="The company a partner or customer token is bound to.", extensions=allow(EVERYONE))
    async def company(self, info: Info) -> Company | None:
        return await info.context.one("companies", self.company_id or None, Company.from_doc)

    @strawberry.field(description="The contact a customer token is bound to.", extensions=allow(EVERYONE))
    async def contact(self, info: Info) -> Contact | None:
        return await info.context.one("contacts", self.contact_id or None, Contact.from_doc)
