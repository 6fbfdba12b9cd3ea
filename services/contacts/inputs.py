"""Contacts' GraphQL inputs: query filters, mutation inputs, and the mutations' payloads."""

from __future__ import annotations

import datetime as dt

import strawberry

from services.common.graphql import UserError

from .types import Company, CompanyKind, Contact, Interaction, InteractionKind, Lifecycle


# ---- filters ------------------------------------------------------------------------------------
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


# ---- mutation inputs ----------------------------------------------------------------------------
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
    expected_version: int = strawberry.field(
        description="The version you read; a concurrent change makes this a CONFLICT."
    )
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


# ---- payloads -----------------------------------------------------------------------------------
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
