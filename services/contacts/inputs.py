"""Contacts' GraphQL inputs: query filters, mutation inputs, and the mutations' payloads."""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing

import strawberry

from services.common.customfield_types import CustomFieldFilter
from services.common.graphql import payload

from .data_types import DuplicateMatch
from .types import Company, CompanyKind, Contact, Interaction, InteractionKind, Lifecycle, ValueTier


# ---- filters ------------------------------------------------------------------------------------
@strawberry.input
class CompanyFilter:
    kind: CompanyKind | None = None
    name: str | None = strawberry.field(default=None, description="Exact name, case-insensitive.")
    name_prefix: str | None = strawberry.field(default=None, description="Names starting with this, case-insensitive.")
    owner: str | None = None
    tier: ValueTier | None = strawberry.field(default=None, description="Value tier A, B or C.")
    custom_fields: list[CustomFieldFilter] | None = strawberry.field(default=None, description="All must hold.")


@strawberry.input
class ContactFilter:
    company_id: strawberry.ID | None = None
    lifecycle: Lifecycle | None = None
    email: str | None = None
    owner: str | None = None
    custom_fields: list[CustomFieldFilter] | None = strawberry.field(default=None, description="All must hold.")


# ---- mutation inputs ----------------------------------------------------------------------------
def update_of(create: type, name: str, *, version: str | None = None) -> type:
    """The input of an update of what `create` creates: the record's id and the version the client
    read (a concurrent change makes it a CONFLICT), then every field of the creation, optional: an
    update sets the fields it names (domain.py, `creating=False`)."""
    hints = typing.get_type_hints(create)
    fields = [f.name for f in dataclasses.fields(create)]
    annotations = {"id": strawberry.ID, "expected_version": int, **{f: hints[f] | None for f in fields}}
    namespace = {"expected_version": strawberry.field(description=version), **dict.fromkeys(fields)}
    return strawberry.input(type(name, (), {"__annotations__": annotations, **namespace}))


@strawberry.input
class CreateCompanyInput:
    name: str
    kind: CompanyKind = CompanyKind.PROSPECT
    website: str | None = None
    industry: str | None = None
    city: str | None = None
    country: str | None = None
    owner: str | None = None


UpdateCompanyInput = update_of(
    CreateCompanyInput, "UpdateCompanyInput", version="The version you read; a concurrent change makes this a CONFLICT."
)


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


UpdateContactInput = update_of(CreateContactInput, "UpdateContactInput")


@strawberry.input
class LogInteractionInput:
    kind: InteractionKind
    title: str
    company_id: strawberry.ID | None = None
    contact_id: strawberry.ID | None = None
    detail: str | None = None
    occurred_at: dt.datetime | None = strawberry.field(default=None, description="Defaults to now.")


# ---- payloads -----------------------------------------------------------------------------------
CompanyPayload = payload("CompanyPayload", company=Company, possible_duplicates=list[DuplicateMatch])
ContactPayload = payload("ContactPayload", contact=Contact, possible_duplicates=list[DuplicateMatch])
InteractionPayload = payload("InteractionPayload", interaction=Interaction)
