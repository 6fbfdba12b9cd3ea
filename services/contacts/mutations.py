"""Contacts' mutations: input → domain rule → store, with the record's events and its audit record
in the same write (outbox). Errors reach the payload through `payload_errors`."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from services.common.authz import PARTNER, SALES, STAFF, allow
from services.common.context import Context
from services.common.errors import ErrorCode, InputError
from services.common.graphql import payload_errors
from services.common.ids import new_id, now_iso
from services.common.registration import partner_registration
from services.common.values import clean_text, ts_input

from . import domain, duplicates, events, timeline
from .customfield_api import CustomFieldMutation
from .data_api import DataMutation, possible_duplicates
from .data_types import RecordKind
from .day_api import DayMutation
from .import_api import ImportMutation
from .inputs import (
    CompanyPayload,
    ContactPayload,
    CreateCompanyInput,
    CreateContactInput,
    InteractionPayload,
    LogInteractionInput,
    UpdateCompanyInput,
    UpdateContactInput,
)
from .policy import ACCOUNT_EDITORS, BOOKS, REGISTRARS
from .types import Company, Contact, Interaction


async def _unique_email(c: Context, email: str | None, except_id: str | None = None) -> None:
    """E-mail addresses are unique among the contacts this principal can see, for every role: for
    staff that is everyone (a salesperson's own book when books are private); for a partner only
    its own leads. So the answer never reveals a record outside the caller's scope; duplicates
    across scopes are left for staff's de-duplication."""
    if not email:
        return
    flt = {"email_key": email.casefold()}
    page = await c.store.find("contacts", c.scoped("contacts", flt), first=2)
    if any(d["id"] != except_id for d in page.items):
        raise InputError(ErrorCode.DUPLICATE, f"a contact with e-mail {email} already exists", ["input", "email"])


async def _existing_company(c: Context, company_id: str | None) -> dict | None:
    """The company an input names (UNKNOWN_REFERENCE if this principal cannot see it), if any."""
    if company_id:
        return await c.referenced("companies", company_id, "company", "companyId")
    return None


async def _partner_manager(c: Context) -> str | None:
    """The vendor's manager of the principal's partner: the owner of the partner company (read
    unscoped: the partner need not see the owner's records)."""
    partner = await c.store.get("companies", c.principal.company)
    return (partner or {}).get("owner")


async def _owned(
    c: Context, fields: dict, *, partner_may: bool, registers: str, field: str, account_owner=None
) -> None:
    """Set the owner of a new record: its creator, or for a partner's registration the one that
    `partner_registration` (services/common/registration.py) assigns. A partner registers only
    new business (`partner_may`): `registers` names it, `field` is the input field that says
    otherwise."""
    p = c.principal
    if p.role == PARTNER:
        if not partner_may:
            message = f"partners register {registers}; the owner is assigned by the vendor"
            raise InputError(ErrorCode.NOT_ALLOWED, message, ["input", field])
        manager = await _partner_manager(c)
        registration = partner_registration(
            p.company, p.sub, requested_owner=fields.get("owner"), account_owner=account_owner, partner_manager=manager
        )
        fields.update(registration)
    fields.setdefault("owner", p.sub)


async def _update(c: Context, coll: str, entity: str, input, changes: dict, published) -> dict:
    """Apply `changes` to the record an update input names, at the version the client read, with
    the `published` events of the change (and its audit record)."""
    kind = "company" if coll == "companies" else "contact"

    def apply(d: dict) -> dict:
        new = {**d, **changes}
        return {**new, **duplicates.stored_keys(kind, new)}  # the keys of duplicates and search

    return await c.update(coll, entity, input.id, apply, expected_version=input.expected_version, events=published)


@strawberry.type
class Mutation(CustomFieldMutation, ImportMutation, DayMutation, DataMutation):
    @strawberry.mutation(
        description="Register a company. Partners register prospects they bring (deal registration).",
        extensions=allow(REGISTRARS, scoped=BOOKS),
    )
    @payload_errors(CompanyPayload)
    async def create_company(self, info: Info, input: CreateCompanyInput) -> CompanyPayload | None:
        c = info.context
        fields = domain.company_fields(input, creating=True)
        fields.setdefault("kind", domain.CompanyKind.PROSPECT.value)
        prospect = fields["kind"] == domain.CompanyKind.PROSPECT.value
        await _owned(c, fields, partner_may=prospect, registers="prospects", field="kind")
        body = {"id": new_id(), **fields}
        body.update(duplicates.stored_keys("company", body))
        doc = await c.create("companies", "Company", body, events=[events.company_created({**body, "version": 1})])
        similar = await possible_duplicates(c, RecordKind.COMPANY, doc)
        return CompanyPayload(company=Company.from_doc(doc), possible_duplicates=similar)

    @strawberry.mutation(
        description="Change a company; changing `owner` hands the account over.",
        extensions=allow(ACCOUNT_EDITORS, scoped={SALES}),
    )
    @payload_errors(CompanyPayload)
    async def update_company(self, info: Info, input: UpdateCompanyInput) -> CompanyPayload | None:
        changes = domain.company_fields(input, creating=False)
        doc = await _update(info.context, "companies", "Company", input, changes, events.company_changed)
        return CompanyPayload(company=Company.from_doc(doc))

    @strawberry.mutation(
        description="Add a person. Partners register leads at companies they registered.",
        extensions=allow(STAFF, PARTNER, scoped=BOOKS),
    )
    @payload_errors(ContactPayload)
    async def create_contact(self, info: Info, input: CreateContactInput) -> ContactPayload | None:
        c = info.context
        fields = domain.contact_fields(input, creating=True)
        company = await _existing_company(c, fields.get("company_id"))
        await _unique_email(c, fields.get("email"))
        lead = input.lifecycle is domain.Lifecycle.LEAD
        account_owner = (company or {}).get("owner")
        await _owned(c, fields, partner_may=lead, registers="leads", field="lifecycle", account_owner=account_owner)
        body = {"id": new_id(), "lifecycle": domain.Lifecycle.LEAD.value, **fields}
        body.update(duplicates.stored_keys("contact", body))
        doc = await c.create("contacts", "Contact", body, events=[events.contact_created({**body, "version": 1})])
        similar = await possible_duplicates(c, RecordKind.CONTACT, doc)
        return ContactPayload(contact=Contact.from_doc(doc), possible_duplicates=similar)

    @strawberry.mutation(extensions=allow(STAFF, scoped={SALES}))
    @payload_errors(ContactPayload)
    async def update_contact(self, info: Info, input: UpdateContactInput) -> ContactPayload | None:
        c = info.context
        changes = domain.contact_fields(input, creating=False)
        await _existing_company(c, changes.get("company_id"))
        await _unique_email(c, changes.get("email"), except_id=str(input.id))
        doc = await _update(c, "contacts", "Contact", input, changes, events.contact_changed)
        return ContactPayload(contact=Contact.from_doc(doc))

    @strawberry.mutation(
        description="Record a call, e-mail, meeting, note, web form or chat on the timeline.", extensions=allow(STAFF)
    )
    @payload_errors(InteractionPayload)
    async def log_interaction(self, info: Info, input: LogInteractionInput) -> InteractionPayload | None:
        c = info.context
        fields = domain.interaction_fields(input)
        company_id, contact_id = fields["company_id"], fields["contact_id"]
        if contact_id:
            contact = await c.referenced("contacts", contact_id, "contact", "contactId")
            if company_id and contact.get("company_id") not in (None, company_id):
                raise InputError(ErrorCode.INVALID, "the contact belongs to another company", ["input", "contactId"])
            company_id = company_id or contact.get("company_id")
        await _existing_company(c, company_id)
        body = {
            "id": new_id(),
            "kind": fields["kind"],
            "title": fields["title"],
            "detail": clean_text(input.detail, "detail", max_len=10_000),
            "occurred_at": ts_input(input.occurred_at, "occurredAt") or now_iso(),
            "source": "contacts",
            "company_id": company_id,
            "contact_id": contact_id,
            "by": c.principal.sub,
        }
        doc = await c.create("interactions", "Interaction", body)
        if company_id:
            await timeline.touch_company(c.store, company_id, body["occurred_at"])
        return InteractionPayload(interaction=Interaction.from_doc(doc))
