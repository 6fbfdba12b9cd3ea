"""Contacts: companies, people and the unified timeline of every interaction.

Owns `Company` and `Contact` (federation entities). The timeline is a projection: the service
consumes the events of all four services and stores one `interactions` row per event (the row id
is the event id, so a redelivered event cannot add a second row), plus interactions logged by
hand (calls, e-mails, meetings, notes)."""
from __future__ import annotations

import datetime as dt
import re
from enum import Enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from services.common.authz import (
    ADMIN,
    ALL_ROWS,
    CUSTOMER,
    EVERYONE,
    MARKETING,
    NO_ROWS,
    PARTNER,
    PORTAL,
    SALES,
    STAFF,
    SUPPORT,
    allow,
)
from services.common.auth import Principal
from services.common.envelope import Envelope
from services.common.errors import AlreadyApplied, DuplicateKeyError, NotFoundError
from services.common.graphql import (
    Connection,
    ErrorCode,
    InputError,
    PublicError,
    UserError,
    clean_text,
    paginate,
    user_errors,
)
from services.common.ids import new_id, now_iso
from services.common.service import Service, Subscription, audit_event, build_schema, diff
from services.common.types import parse_ts, ts_input

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@strawberry.enum
class CompanyKind(Enum):
    CLIENT = "client"
    PROSPECT = "prospect"
    PARTNER = "partner"


@strawberry.enum
class Lifecycle(Enum):
    LEAD = "lead"
    PROSPECT = "prospect"
    CLIENT = "client"


@strawberry.enum(description="The channel or kind of an interaction on the timeline.")
class InteractionKind(Enum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    NOTE = "note"
    WEB_FORM = "web_form"
    CHAT = "chat"
    RECORD = "record"
    DEAL = "deal"
    CAMPAIGN = "campaign"
    TICKET = "ticket"


MANUAL_KINDS = {InteractionKind.CALL, InteractionKind.EMAIL, InteractionKind.MEETING, InteractionKind.NOTE,
                InteractionKind.WEB_FORM, InteractionKind.CHAT}


# ---- GraphQL types -------------------------------------------------------------------------
@strawberry.type(description="Something that happened with a client, on any channel, in any department.")
class Interaction:
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

    @staticmethod
    def from_doc(d: dict) -> "Interaction":
        return Interaction(
            id=d["id"], kind=InteractionKind(d["kind"]), title=d["title"], detail=d.get("detail"),
            occurred_at=parse_ts(d["occurred_at"]), source=d["source"], ref_type=d.get("ref_type"),
            ref_id=d.get("ref_id"), company_id=d.get("company_id"), contact_id=d.get("contact_id"),
        )


@strawberry.input
class TimelineFilter:
    kinds: list[InteractionKind] | None = None
    since: dt.datetime | None = None


def _timeline_filter(key: str, value: str, flt: TimelineFilter | None) -> dict:
    clauses: list[dict] = [{key: value}]
    if flt and flt.kinds:
        clauses.append({"kind": {"$in": [k.value for k in flt.kinds]}})
    if flt and flt.since:
        if flt.since.tzinfo is None:
            raise PublicError("since needs a time zone")
        clauses.append({"occurred_at": {"$gte": ts_input(flt.since, "since")}})
    return {"$and": clauses}


TIMELINE_SORT = [("occurred_at", -1)]


async def _timeline(info: Info, key: str, value: str, first, after, filter) -> Connection[Interaction]:
    c = info.context
    return await paginate(c.store, "interactions", c.scoped("interactions", _timeline_filter(key, value, filter)),
                          TIMELINE_SORT, first, after, Interaction.from_doc)




@strawberry.federation.type(keys=["id"], description="An organisation: client, prospect or partner.")
class Company:
    id: strawberry.ID
    name: str
    kind: CompanyKind
    website: str | None
    industry: str | None
    city: str | None
    country: str | None
    owner: str | None = strawberry.field(description="Account owner (a user id); the company stays when they leave.")
    partner_id: strawberry.ID | None = strawberry.field(
        description="The partner company that registered this company (deal registration), if any.")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def from_doc(d: dict) -> "Company":
        return Company(
            id=d["id"], name=d["name"], kind=CompanyKind(d["kind"]), website=d.get("website"),
            industry=d.get("industry"), city=d.get("city"), country=d.get("country"), owner=d.get("owner"),
            partner_id=d.get("partner_id"), version=d["version"], created_at=parse_ts(d["created_at"]), updated_at=parse_ts(d["updated_at"]),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> "Company | None":
        doc = await info.context.get("companies", str(id))
        return cls.from_doc(doc) if doc else None

    @strawberry.field(description="People at this company.", extensions=allow(EVERYONE, scoped=PORTAL | {SALES}))
    async def contacts(self, info: Info, first: int | None = None, after: str | None = None) -> "Connection[Contact]":
        c = info.context
        return await paginate(c.store, "contacts", c.scoped("contacts", {"company_id": self.id}),
                              [("last_name_key", 1), ("first_name_key", 1)], first, after, Contact.from_doc)

    @strawberry.field(description="Every interaction with this company and its people, newest first, from all departments.",
                      extensions=allow(STAFF))
    async def timeline(self, info: Info, first: int | None = None, after: str | None = None,
                       filter: TimelineFilter | None = None) -> Connection[Interaction] | None:
        return await _timeline(info, "company_id", str(self.id), first, after, filter)


@strawberry.federation.type(keys=["id"], description="A person, usually at a company.")
class Contact:
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
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field(extensions=allow(EVERYONE))
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @strawberry.field(extensions=allow(EVERYONE, scoped=PORTAL | {SALES}))
    async def company(self, info: Info) -> Company | None:
        if not self.company_id:
            return None
        doc = await info.context.get("companies", str(self.company_id))
        return Company.from_doc(doc) if doc else None

    @staticmethod
    def from_doc(d: dict) -> "Contact":
        return Contact(
            id=d["id"], first_name=d["first_name"], last_name=d["last_name"], email=d.get("email"),
            phone=d.get("phone"), job_title=d.get("job_title"), lifecycle=Lifecycle(d["lifecycle"]),
            owner=d.get("owner"), company_id=d.get("company_id"), partner_id=d.get("partner_id"), version=d["version"],
            created_at=parse_ts(d["created_at"]), updated_at=parse_ts(d["updated_at"]),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> "Contact | None":
        doc = await info.context.get("contacts", str(id))
        return cls.from_doc(doc) if doc else None

    @strawberry.field(description="Every interaction with this person, newest first, from all departments.",
                      extensions=allow(STAFF))
    async def timeline(self, info: Info, first: int | None = None, after: str | None = None,
                       filter: TimelineFilter | None = None) -> Connection[Interaction] | None:
        return await _timeline(info, "contact_id", str(self.id), first, after, filter)


# ---- inputs and payloads -------------------------------------------------------------------
@strawberry.input
class CompanyFilter:
    kind: CompanyKind | None = None
    name: str | None = strawberry.field(default=None, description="Exact name, case-insensitive.")
    name_prefix: str | None = strawberry.field(default=None, description="Names starting with this, case-insensitive.")
    owner: str | None = None


@strawberry.input
class ContactFilter:
    company_id: strawberry.ID | None = None
    lifecycle: Lifecycle | None = None
    email: str | None = None
    owner: str | None = None


@strawberry.input
class CreateCompanyInput:
    name: str
    kind: CompanyKind = CompanyKind.PROSPECT
    website: str | None = None
    industry: str | None = None
    city: str | None = None
    country: str | None = None
    owner: str | None = None


@strawberry.input
class UpdateCompanyInput:
    id: strawberry.ID
    expected_version: int = strawberry.field(description="The version you read; a concurrent change makes this a CONFLICT.")
    name: str | None = None
    kind: CompanyKind | None = None
    website: str | None = None
    industry: str | None = None
    city: str | None = None
    country: str | None = None
    owner: str | None = None


@strawberry.input
class CreateContactInput:
    first_name: str
    last_name: str
    company_id: strawberry.ID | None = None
    email: str | None = None
    phone: str | None = None
    job_title: str | None = None
    lifecycle: Lifecycle = Lifecycle.LEAD
    owner: str | None = None


@strawberry.input
class UpdateContactInput:
    id: strawberry.ID
    expected_version: int
    first_name: str | None = None
    last_name: str | None = None
    company_id: strawberry.ID | None = None
    email: str | None = None
    phone: str | None = None
    job_title: str | None = None
    lifecycle: Lifecycle | None = None
    owner: str | None = None


@strawberry.input
class LogInteractionInput:
    kind: InteractionKind
    title: str
    company_id: strawberry.ID | None = None
    contact_id: strawberry.ID | None = None
    detail: str | None = None
    occurred_at: dt.datetime | None = strawberry.field(default=None, description="Defaults to now.")


@strawberry.type
class CompanyPayload:
    company: Company | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ContactPayload:
    contact: Contact | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InteractionPayload:
    interaction: Interaction | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


# ---- domain --------------------------------------------------------------------------------
def company_snapshot(doc: dict) -> dict:
    return {k: doc.get(k) for k in ("id", "version", "name", "kind", "owner", "country", "partner_id")}


def contact_snapshot(doc: dict) -> dict:
    return {"id": doc["id"], "version": doc["version"], "name": f"{doc['first_name']} {doc['last_name']}".strip(),
            "email": doc.get("email"), "company_id": doc.get("company_id"), "lifecycle": doc["lifecycle"],
            "owner": doc.get("owner"), "partner_id": doc.get("partner_id")}


def _email(value: str | None) -> str | None:
    v = clean_text(value, "email", max_len=254)
    if not v:
        return None
    if not EMAIL_RE.match(v):
        raise InputError(ErrorCode.INVALID, f"{v!r} is not an e-mail address", ["input", "email"])
    return v


def _company_fields(inp, *, creating: bool) -> dict:
    out: dict = {}
    if creating or inp.name is not None:
        out["name"] = clean_text(inp.name, "name", required=True)
        out["name_key"] = out["name"].casefold()
    if inp.kind is not None:
        out["kind"] = inp.kind.value
    for f in ("website", "industry", "city", "country", "owner"):
        v = getattr(inp, f)
        if v is not None:
            out[f] = clean_text(v, f) or None
    return out


async def _unique_email(info: Info, email: str | None, except_id: str | None = None) -> None:
    """E-mail addresses are unique among the contacts this principal can see: for staff that is
    everyone; for a partner only its own leads, so that the answer cannot reveal that another
    partner (or the vendor) already knows the address. Cross-partner duplicates are left for
    staff's de-duplication."""
    if not email:
        return
    c = info.context
    flt = {"email_key": email.casefold()}
    page = await c.store.find("contacts", c.scoped("contacts", flt) if c.principal.is_portal else flt, first=2)
    if any(d["id"] != except_id for d in page.items):
        raise InputError(ErrorCode.DUPLICATE, f"a contact with e-mail {email} already exists", ["input", "email"])


async def _existing_company(info: Info, company_id) -> None:
    if company_id:
        await info.context.referenced("companies", company_id, "company", "companyId")


def _contact_fields(inp, *, creating: bool) -> dict:
    out: dict = {}
    for f in ("first_name", "last_name"):
        v = getattr(inp, f)
        if creating or v is not None:
            out[f] = clean_text(v, f, required=True)
            out[f"{f}_key"] = out[f].casefold()
    if creating or inp.email is not None:
        out["email"] = _email(inp.email)
        out["email_key"] = out["email"].casefold() if out["email"] else None
    for f in ("phone", "job_title", "owner"):
        v = getattr(inp, f)
        if v is not None:
            out[f] = clean_text(v, f) or None
    if inp.company_id is not None:
        out["company_id"] = str(inp.company_id) or None
    if inp.lifecycle is not None:
        out["lifecycle"] = inp.lifecycle.value
    return out


@strawberry.type(description="Who is asking: the identity of the token.")
class Me:
    sub: str
    role: str
    company_id: strawberry.ID | None
    contact_id: strawberry.ID | None
    name: str | None

    @strawberry.field(description="The company a partner or customer token is bound to.", extensions=allow(EVERYONE))
    async def company(self, info: Info) -> Company | None:
        doc = await info.context.get("companies", str(self.company_id)) if self.company_id else None
        return Company.from_doc(doc) if doc else None

    @strawberry.field(description="The contact a customer token is bound to.", extensions=allow(EVERYONE))
    async def contact(self, info: Info) -> Contact | None:
        doc = await info.context.get("contacts", str(self.contact_id)) if self.contact_id else None
        return Contact.from_doc(doc) if doc else None


@strawberry.enum
class AuditAction(Enum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    EXPORTED = "exported"


@strawberry.type(description="Who did what to which record, when, with which identity. Append-only.")
class AuditEntry:
    id: strawberry.ID
    at: dt.datetime
    service: str
    action: AuditAction
    entity: str
    entity_id: strawberry.ID
    actor_sub: str
    actor_role: str
    actor_company_id: strawberry.ID | None
    token_id: str | None
    changes: JSON = strawberry.field(
        description="{field: {from, to}} of a change; the created record's fields for a creation.")

    @staticmethod
    def from_doc(d: dict) -> "AuditEntry":
        actor = d.get("actor") or {}
        return AuditEntry(id=d["id"], at=parse_ts(d["at"]), service=d["service"], action=AuditAction(d["action"]),
                          entity=d["entity"], entity_id=d["entity_id"], actor_sub=actor.get("sub", ""),
                          actor_role=actor.get("role", ""), actor_company_id=actor.get("company"),
                          token_id=actor.get("token_id"), changes=d.get("changes") or {})


@strawberry.input
class AuditFilter:
    actor_sub: str | None = None
    entity: str | None = strawberry.field(default=None, description="Company, Contact, Deal, Ticket, Campaign...")
    entity_id: strawberry.ID | None = None
    service: str | None = None
    since: dt.datetime | None = None


@strawberry.type
class Query:
    @strawberry.field(description="The identity of the token this request carries.", extensions=allow(EVERYONE))
    def me(self, info: Info) -> Me:
        p: Principal = info.context.principal
        return Me(sub=p.sub, role=p.role, company_id=p.company, contact_id=p.contact, name=p.name)

    @strawberry.field(extensions=allow(EVERYONE, scoped=PORTAL | {SALES}))
    async def company(self, info: Info, id: strawberry.ID) -> Company | None:
        doc = await info.context.get("companies", str(id))
        return Company.from_doc(doc) if doc else None

    @strawberry.field(description="Companies, by name.", extensions=allow(STAFF, PARTNER, scoped={SALES, PARTNER}))
    async def companies(self, info: Info, first: int | None = None, after: str | None = None,
                        filter: CompanyFilter | None = None) -> Connection[Company] | None:
        clauses: list[dict] = []
        if filter:
            if filter.kind:
                clauses.append({"kind": filter.kind.value})
            if filter.name is not None:
                clauses.append({"name_key": " ".join(filter.name.split()).casefold()})
            if filter.name_prefix:
                p = " ".join(filter.name_prefix.split()).casefold()
                clauses.append({"name_key": {"$gte": p, "$lt": p + "\U0010ffff"}})
            if filter.owner:
                clauses.append({"owner": filter.owner})
        c = info.context
        return await paginate(c.store, "companies", c.scoped("companies", {"$and": clauses} if clauses else {}),
                              [("name_key", 1)], first, after, Company.from_doc)

    @strawberry.field(extensions=allow(EVERYONE, scoped=PORTAL | {SALES}))
    async def contact(self, info: Info, id: strawberry.ID) -> Contact | None:
        doc = await info.context.get("contacts", str(id))
        return Contact.from_doc(doc) if doc else None

    @strawberry.field(extensions=allow(STAFF, PARTNER, scoped={SALES, PARTNER}))
    async def contacts(self, info: Info, first: int | None = None, after: str | None = None,
                       filter: ContactFilter | None = None) -> Connection[Contact] | None:
        clauses: list[dict] = []
        if filter:
            if filter.company_id:
                clauses.append({"company_id": str(filter.company_id)})
            if filter.lifecycle:
                clauses.append({"lifecycle": filter.lifecycle.value})
            if filter.email:
                clauses.append({"email_key": filter.email.strip().casefold()})
            if filter.owner:
                clauses.append({"owner": filter.owner})
        c = info.context
        return await paginate(c.store, "contacts", c.scoped("contacts", {"$and": clauses} if clauses else {}),
                              [("last_name_key", 1), ("first_name_key", 1)], first, after, Contact.from_doc)

    @strawberry.field(description="The audit log, newest first: every change made through any service.",
                      extensions=allow(ADMIN))
    async def audit_log(self, info: Info, first: int | None = None, after: str | None = None,
                        filter: AuditFilter | None = None) -> Connection[AuditEntry] | None:
        clauses: list[dict] = []
        if filter:
            for key, val in (("actor.sub", filter.actor_sub), ("entity", filter.entity),
                             ("entity_id", filter.entity_id), ("service", filter.service)):
                if val:
                    clauses.append({key: str(val)})
            if filter.since:
                if filter.since.tzinfo is None:
                    raise PublicError("since needs a time zone")
                clauses.append({"at": {"$gte": ts_input(filter.since, "since")}})
        c = info.context
        return await paginate(c.store, "audit_log", c.scoped("audit_log", {"$and": clauses} if clauses else {}),
                              [("at", -1)], first, after, AuditEntry.from_doc)


async def _partner_owner(info: Info) -> str:
    """Records a partner registers belong to the vendor's partner manager (the owner of the
    partner company), or — without one — to the partner user who registered them."""
    p = info.context.principal
    partner = await info.context.store.get("companies", p.company)
    return (partner or {}).get("owner") or p.sub


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Register a company. Partners register prospects they bring (deal registration).",
                         extensions=allow(ADMIN, SALES, MARKETING, PARTNER, scoped={SALES, PARTNER}))
    async def create_company(self, info: Info, input: CreateCompanyInput) -> CompanyPayload | None:
        c = info.context
        try:
            fields = _company_fields(input, creating=True)
            fields.setdefault("kind", CompanyKind.PROSPECT.value)
            if c.principal.role == PARTNER:
                if fields["kind"] != CompanyKind.PROSPECT.value or input.owner is not None:
                    raise InputError(ErrorCode.NOT_ALLOWED, "partners register prospects; the owner is assigned by the vendor",
                                     ["input", "kind" if input.owner is None else "owner"])
                fields["partner_id"] = c.principal.company
                fields["owner"] = await _partner_owner(info)
            fields.setdefault("owner", c.principal.sub)
            id = new_id()
            body = {"id": id, **fields}
            doc = await c.store.insert("companies", body, events=[
                Envelope("contacts.company.created", id, company_snapshot({"id": id, "version": 1, **fields})),
                c.audit("created", "Company", id, diff(None, body))])
            return CompanyPayload(company=Company.from_doc(doc))
        except Exception as exc:
            return CompanyPayload(errors=user_errors(exc))

    @strawberry.mutation(description="Change a company; changing `owner` hands the account over.",
                         extensions=allow(ADMIN, SALES, MARKETING, scoped={SALES}))
    async def update_company(self, info: Info, input: UpdateCompanyInput) -> CompanyPayload | None:
        c = info.context
        try:
            changes = _company_fields(input, creating=False)
            doc = await c.store.mutate(
                "companies", str(input.id), c.guarded("companies", lambda d: {**d, **changes}),
                expected_version=input.expected_version,
                events=lambda old, new: [Envelope("contacts.company.updated", new["id"], company_snapshot(new)),
                                         c.audit("updated", "Company", new["id"], diff(old, new))])
            return CompanyPayload(company=Company.from_doc(doc))
        except Exception as exc:
            return CompanyPayload(errors=user_errors(exc))

    @strawberry.mutation(description="Add a person. Partners register leads at companies they registered.",
                         extensions=allow(STAFF, PARTNER, scoped={SALES, PARTNER}))
    async def create_contact(self, info: Info, input: CreateContactInput) -> ContactPayload | None:
        c = info.context
        try:
            fields = _contact_fields(input, creating=True)
            await _existing_company(info, fields.get("company_id"))
            await _unique_email(info, fields.get("email"))
            if c.principal.role == PARTNER:
                if input.owner is not None or input.lifecycle is not Lifecycle.LEAD:
                    raise InputError(ErrorCode.NOT_ALLOWED, "partners register leads; the owner is assigned by the vendor",
                                     ["input", "lifecycle" if input.owner is None else "owner"])
                fields["partner_id"] = c.principal.company
                fields["owner"] = await _partner_owner(info)
            fields.setdefault("owner", c.principal.sub)
            id = new_id()
            body = {"id": id, "lifecycle": Lifecycle.LEAD.value, **fields}
            doc = await c.store.insert("contacts", body, events=[
                Envelope("contacts.contact.created", id, contact_snapshot({**body, "version": 1})),
                c.audit("created", "Contact", id, diff(None, body))])
            return ContactPayload(contact=Contact.from_doc(doc))
        except Exception as exc:
            return ContactPayload(errors=user_errors(exc))

    @strawberry.mutation(extensions=allow(STAFF, scoped={SALES}))
    async def update_contact(self, info: Info, input: UpdateContactInput) -> ContactPayload | None:
        c = info.context
        try:
            changes = _contact_fields(input, creating=False)
            await _existing_company(info, changes.get("company_id"))
            await _unique_email(info, changes.get("email"), except_id=str(input.id))

            def events(old, new):
                evs = [Envelope("contacts.contact.updated", new["id"], contact_snapshot(new)),
                       c.audit("updated", "Contact", new["id"], diff(old, new))]
                if old["lifecycle"] != new["lifecycle"]:
                    evs.append(Envelope("contacts.contact.lifecycle_changed", new["id"],
                                        {**contact_snapshot(new), "from": old["lifecycle"]}))
                return evs

            doc = await c.store.mutate("contacts", str(input.id), c.guarded("contacts", lambda d: {**d, **changes}),
                                       expected_version=input.expected_version, events=events)
            return ContactPayload(contact=Contact.from_doc(doc))
        except Exception as exc:
            return ContactPayload(errors=user_errors(exc))

    @strawberry.mutation(description="Record a call, e-mail, meeting, note, web form or chat on the timeline.",
                         extensions=allow(STAFF))
    async def log_interaction(self, info: Info, input: LogInteractionInput) -> InteractionPayload | None:
        c = info.context
        store = c.store
        try:
            if input.kind not in MANUAL_KINDS:
                raise InputError(ErrorCode.INVALID, f"{input.kind.name} interactions are recorded by the system",
                                 ["input", "kind"])
            title = clean_text(input.title, "title", required=True)
            company_id = str(input.company_id) if input.company_id else None
            contact_id = str(input.contact_id) if input.contact_id else None
            if not company_id and not contact_id:
                raise InputError(ErrorCode.INVALID, "give a companyId or a contactId", ["input", "companyId"])
            if contact_id:
                contact = await c.referenced("contacts", contact_id, "contact", "contactId")
                if company_id and contact.get("company_id") not in (None, company_id):
                    raise InputError(ErrorCode.INVALID, "the contact belongs to another company", ["input", "contactId"])
                company_id = company_id or contact.get("company_id")
            await _existing_company(info, company_id)
            id = new_id()
            body = {
                "id": id, "kind": input.kind.value, "title": title,
                "detail": clean_text(input.detail, "detail", max_len=10_000),
                "occurred_at": ts_input(input.occurred_at, "occurredAt") or now_iso(),
                "source": "contacts", "company_id": company_id, "contact_id": contact_id,
                "by": c.principal.sub,
            }
            doc = await store.insert("interactions", body, events=[c.audit("created", "Interaction", id, diff(None, body))])
            return InteractionPayload(interaction=Interaction.from_doc(doc))
        except Exception as exc:
            return InteractionPayload(errors=user_errors(exc))


# ---- timeline projection from every service's events ----------------------------------------
def _money(d: dict) -> str:
    if d.get("amount_minor") is None:
        return ""
    return f" ({d['amount_minor'] / 100:,.2f} {d.get('currency', '')})"


def interaction_for(e: Envelope) -> dict | None:
    d = e.data
    t = e.type
    if t == "contacts.company.created":
        return dict(kind="record", title=f"Company created: {d['name']}", company_id=e.subject, ref_type="Company", ref_id=e.subject)
    if t == "contacts.contact.created":
        return dict(kind="record", title=f"Contact added: {d['name']}", company_id=d.get("company_id"),
                    contact_id=e.subject, ref_type="Contact", ref_id=e.subject)
    if t == "contacts.contact.lifecycle_changed":
        return dict(kind="record", title=f"{d['name']}: {d['from']} → {d['lifecycle']}", company_id=d.get("company_id"),
                    contact_id=e.subject, ref_type="Contact", ref_id=e.subject)
    if t.startswith("deals.deal."):
        verb = t.rsplit(".", 1)[1]
        titles = {"created": f"Deal opened: {d.get('title')}{_money(d)}",
                  "stage_changed": f"Deal {d.get('title')} moved to {d.get('stage_name')}",
                  "won": f"Deal won: {d.get('title')}{_money(d)}",
                  "lost": f"Deal lost: {d.get('title')}" + (f" — {d['lost_reason']}" if d.get("lost_reason") else "")}
        if verb not in titles:
            return None
        return dict(kind="deal", title=titles[verb], company_id=d.get("company_id"), contact_id=d.get("contact_id"),
                    ref_type="Deal", ref_id=e.subject)
    if t == "marketing.member.responded":
        return dict(kind="campaign", title=f"Responded to campaign {d.get('campaign_name')}", detail=d.get("response"),
                    company_id=d.get("company_id"), contact_id=d.get("contact_id"), ref_type="Campaign",
                    ref_id=d.get("campaign_id"))
    if t in ("support.ticket.opened", "support.ticket.resolved"):
        verb = "opened" if t.endswith("opened") else "resolved"
        return dict(kind="ticket", title=f"Ticket {verb}: {d.get('subject')} [{d.get('priority')}]",
                    detail=d.get("resolution"), company_id=d.get("company_id"), contact_id=d.get("contact_id"),
                    ref_type="Ticket", ref_id=e.subject)
    return None


class ContactsService(Service):
    name = "contacts"

    def schema(self):
        return build_schema(Query, Mutation, types=[Company, Contact], settings=self.settings)

    def row_scope(self, p: Principal, coll: str) -> dict:
        own_book = p.role == SALES and self.settings.sales_own_book
        if coll in ("companies", "contacts"):
            if p.role in STAFF:
                return {"owner": p.sub} if own_book else ALL_ROWS
            if p.role == PARTNER:  # itself, its people, and what it registered
                key = "id" if coll == "companies" else "company_id"
                return {"$or": [{key: p.company}, {"partner_id": p.company}]}
            if p.role == CUSTOMER:
                if coll == "companies":
                    return {"id": p.company}
                return {"id": p.contact} if p.contact else {"company_id": p.company}
        if coll == "interactions" and p.role in STAFF:
            return ALL_ROWS  # reached only through companies/contacts the principal can see
        if coll == "audit_log" and p.role == ADMIN:
            return ALL_ROWS
        return NO_ROWS

    async def setup(self) -> None:
        s = self.store
        await s.ensure_index("companies", [("name_key", 1)])
        await s.ensure_index("companies", [("kind", 1), ("name_key", 1)])
        await s.ensure_index("contacts", [("company_id", 1), ("last_name_key", 1)])
        await s.ensure_index("contacts", [("email_key", 1)])
        await s.ensure_index("interactions", [("company_id", 1), ("occurred_at", -1)])
        await s.ensure_index("interactions", [("contact_id", 1), ("occurred_at", -1)])
        await s.ensure_index("companies", [("partner_id", 1), ("name_key", 1)])
        await s.ensure_index("contacts", [("partner_id", 1), ("last_name_key", 1)])
        await s.ensure_index("audit_log", [("at", -1)])
        await s.ensure_index("audit_log", [("entity_id", 1), ("at", -1)])
        await s.ensure_index("audit_log", [("actor.sub", 1), ("at", -1)])

    def subscriptions(self) -> list[Subscription]:
        return [
            Subscription("timeline", ["contacts.#", "deals.deal.*", "marketing.member.responded", "support.ticket.*"],
                         self.on_timeline_event),
            Subscription("deal-won", ["deals.deal.won"], self.on_deal_won),
            Subscription("audit", ["audit.#"], self.on_audit),
        ]

    async def on_audit(self, e: Envelope) -> None:
        """The audit log: one append-only row per audit event of any service (row id = event id,
        so a redelivery cannot add a second row). No API updates or deletes it."""
        d = e.data
        try:
            await self.store.insert("audit_log", {
                "id": e.id, "at": e.occurred_at, "service": d.get("service") or e.producer,
                "action": d.get("action"), "entity": d.get("entity"), "entity_id": d.get("entity_id"),
                "actor": d.get("actor") or {}, "changes": d.get("changes") or {}})
        except DuplicateKeyError:
            pass

    async def on_timeline_event(self, e: Envelope) -> None:
        row = interaction_for(e)
        if row is None:
            return
        try:
            await self.store.insert("interactions", {"id": e.id, "source": e.producer, "occurred_at": e.occurred_at,
                                                     "detail": None, "contact_id": None, **row})
        except DuplicateKeyError:
            pass  # this event is on the timeline already

    async def on_deal_won(self, e: Envelope) -> None:
        """A won deal makes its company a client and its contact a client (lifecycle)."""
        d = e.data
        if d.get("company_id"):
            try:
                await self.store.mutate(
                    "companies", d["company_id"],
                    lambda c: {**c, "kind": "client"} if c["kind"] == "prospect" else None,
                    event_id=e.id,
                    events=lambda old, new: [Envelope("contacts.company.updated", new["id"], company_snapshot(new)),
                                             audit_event("contacts", None, "updated", "Company", new["id"], diff(old, new))]
                    if old["kind"] != new["kind"] else [])
            except (NotFoundError, AlreadyApplied):
                pass
        if d.get("contact_id"):
            try:
                await self.store.mutate(
                    "contacts", d["contact_id"],
                    lambda c: {**c, "lifecycle": "client"} if c["lifecycle"] != "client" else None,
                    event_id=e.id,
                    events=lambda old, new: [
                        Envelope("contacts.contact.updated", new["id"], contact_snapshot(new)),
                        Envelope("contacts.contact.lifecycle_changed", new["id"], {**contact_snapshot(new), "from": old["lifecycle"]}),
                        audit_event("contacts", None, "updated", "Contact", new["id"], diff(old, new)),
                    ] if old["lifecycle"] != new["lifecycle"] else [])
            except (NotFoundError, AlreadyApplied):
                pass
