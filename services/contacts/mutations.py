"""Contacts' mutations: input → domain rule → store, with the record's events and its audit record
in the same write (outbox). Errors reach the payload through `payload_errors`."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from services.common.audit import diff
from services.common.authz import PARTNER, SALES, STAFF, allow
from services.common.context import Context
from services.common.errors import ErrorCode, InputError
from services.common.graphql import payload_errors
from services.common.ids import new_id, now_iso
from services.common.values import clean_text, ts_input

from . import domain, events
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
    """E-mail addresses are unique among the contacts this principal can see: for staff that is
    everyone; for a partner only its own leads, so that the answer cannot reveal that another
    partner (or the vendor) already knows the address. Cross-partner duplicates are left for
    staff's de-duplication."""
    if not email:
        return
    flt = {"email_key": email.casefold()}
    page = await c.store.find("contacts", c.scoped("contacts", flt) if c.principal.is_portal else flt, first=2)
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


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Register a company. Partners register prospects they bring (deal registration).",
        extensions=allow(REGISTRARS, scoped=BOOKS),
    )
    @payload_errors(CompanyPayload)
    async def create_company(self, info: Info, input: CreateCompanyInput) -> CompanyPayload | None:
        c = info.context
        p = c.principal
        fields = domain.company_fields(input, creating=True)
        fields.setdefault("kind", domain.CompanyKind.PROSPECT.value)
        if p.role == PARTNER:
            if fields["kind"] != domain.CompanyKind.PROSPECT.value:
                raise InputError(
                    ErrorCode.NOT_ALLOWED,
                    "partners register prospects; the owner is assigned by the vendor",
                    ["input", "kind"],
                )
            fields.update(
                domain.partner_registration(
                    p.company,
                    p.sub,
                    requested_owner=fields.get("owner"),
                    account_owner=None,
                    partner_manager=await _partner_manager(c),
                )
            )
        fields.setdefault("owner", p.sub)
        body = {"id": new_id(), **fields}
        doc = await c.store.insert(
            "companies",
            body,
            events=[
                events.company_created({**body, "version": 1}),
                c.audit("created", "Company", body["id"], diff(None, body)),
            ],
        )
        return CompanyPayload(company=Company.from_doc(doc))

    @strawberry.mutation(
        description="Change a company; changing `owner` hands the account over.",
        extensions=allow(ACCOUNT_EDITORS, scoped={SALES}),
    )
    @payload_errors(CompanyPayload)
    async def update_company(self, info: Info, input: UpdateCompanyInput) -> CompanyPayload | None:
        c = info.context
        changes = domain.company_fields(input, creating=False)
        doc = await c.store.mutate(
            "companies",
            str(input.id),
            c.guarded("companies", lambda d: {**d, **changes}),
            expected_version=input.expected_version,
            events=lambda old, new: [
                events.company_updated(new),
                c.audit("updated", "Company", new["id"], diff(old, new)),
            ],
        )
        return CompanyPayload(company=Company.from_doc(doc))

    @strawberry.mutation(
        description="Add a person. Partners register leads at companies they registered.",
        extensions=allow(STAFF, PARTNER, scoped=BOOKS),
    )
    @payload_errors(ContactPayload)
    async def create_contact(self, info: Info, input: CreateContactInput) -> ContactPayload | None:
        c = info.context
        p = c.principal
        fields = domain.contact_fields(input, creating=True)
        company = await _existing_company(c, fields.get("company_id"))
        await _unique_email(c, fields.get("email"))
        if p.role == PARTNER:
            if input.lifecycle is not domain.Lifecycle.LEAD:
                raise InputError(
                    ErrorCode.NOT_ALLOWED,
                    "partners register leads; the owner is assigned by the vendor",
                    ["input", "lifecycle"],
                )
            fields.update(
                domain.partner_registration(
                    p.company,
                    p.sub,
                    requested_owner=fields.get("owner"),
                    account_owner=(company or {}).get("owner"),
                    partner_manager=await _partner_manager(c),
                )
            )
        fields.setdefault("owner", p.sub)
        body = {"id": new_id(), "lifecycle": domain.Lifecycle.LEAD.value, **fields}
        doc = await c.store.insert(
            "contacts",
            body,
            events=[
                events.contact_created({**body, "version": 1}),
                c.audit("created", "Contact", body["id"], diff(None, body)),
            ],
        )
        return ContactPayload(contact=Contact.from_doc(doc))

    @strawberry.mutation(extensions=allow(STAFF, scoped={SALES}))
    @payload_errors(ContactPayload)
    async def update_contact(self, info: Info, input: UpdateContactInput) -> ContactPayload | None:
        c = info.context
        changes = domain.contact_fields(input, creating=False)
        await _existing_company(c, changes.get("company_id"))
        await _unique_email(c, changes.get("email"), except_id=str(input.id))
        doc = await c.store.mutate(
            "contacts",
            str(input.id),
            c.guarded("contacts", lambda d: {**d, **changes}),
            expected_version=input.expected_version,
            events=lambda old, new: [
                events.contact_updated(new),
                c.audit("updated", "Contact", new["id"], diff(old, new)),
                *events.lifecycle_changed(old, new),
            ],
        )
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
        doc = await c.store.insert(
            "interactions", body, events=[c.audit("created", "Interaction", body["id"], diff(None, body))]
        )
        return InteractionPayload(interaction=Interaction.from_doc(doc))
