"""Contacts' queries: a filter input → a store filter within the principal's row scope → types."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from services.common.auth import Principal
from services.common.authz import ADMIN, EVERYONE, PARTNER, STAFF, allow
from services.common.customfield_types import CustomFieldSort, list_clauses
from services.common.graphql import Connection
from services.common.values import all_of, equal

from . import audit, merge
from .audit import AuditEntry, AuditFilter
from .customfield_api import DEFS, CustomFieldQuery
from .data_api import DataQuery
from .day_api import DayQuery
from .import_api import ImportQuery
from .inputs import CompanyFilter, ContactFilter
from .policy import BOOKS, OWN_ROWS
from .types import CONTACT_SORT, Company, Contact, Me


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def company_filter(f: CompanyFilter | None) -> dict:
    if not f:
        return {}
    prefix = _folded(f.name_prefix) if f.name_prefix else None
    return all_of(
        {"kind": f.kind.value} if f.kind else None,
        {"name_key": _folded(f.name)} if f.name is not None else None,
        {"name_key": {"$gte": prefix, "$lt": prefix + "\U0010ffff"}} if prefix is not None else None,
        *equal([("owner", f.owner)]),
        {"tier": f.tier.value} if f.tier else None,
    )


def contact_filter(f: ContactFilter | None) -> dict:
    if not f:
        return {}
    return all_of(
        *equal([("company_id", f.company_id)]),
        {"lifecycle": f.lifecycle.value} if f.lifecycle else None,
        {"email_key": f.email.strip().casefold()} if f.email else None,
        *equal([("owner", f.owner)]),
    )


@strawberry.type
class Query(CustomFieldQuery, ImportQuery, DayQuery, DataQuery):
    @strawberry.field(description="The identity of the token this request carries.", extensions=allow(EVERYONE))
    def me(self, info: Info) -> Me:
        p: Principal = info.context.principal
        return Me(sub=p.sub, role=p.role, company_id=p.company, contact_id=p.contact, name=p.name)

    @strawberry.field(extensions=allow(EVERYONE, scoped=OWN_ROWS))
    async def company(self, info: Info, id: strawberry.ID) -> Company | None:
        return await merge.resolve(info.context, "companies", id, Company.from_doc)

    @strawberry.field(description="Companies, by name.", extensions=allow(STAFF, PARTNER, scoped=BOOKS))
    async def companies(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: CompanyFilter | None = None,
        sort: CustomFieldSort | None = None,
    ) -> Connection[Company] | None:
        custom, order = await list_clauses(info.context, DEFS, "company", filter and filter.custom_fields, sort)
        flt = all_of(company_filter(filter), custom)
        return await info.context.page("companies", flt, [*order, ("name_key", 1)], first, after, Company.from_doc)

    @strawberry.field(extensions=allow(EVERYONE, scoped=OWN_ROWS))
    async def contact(self, info: Info, id: strawberry.ID) -> Contact | None:
        return await merge.resolve(info.context, "contacts", id, Contact.from_doc)

    @strawberry.field(extensions=allow(STAFF, PARTNER, scoped=BOOKS))
    async def contacts(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: ContactFilter | None = None,
        sort: CustomFieldSort | None = None,
    ) -> Connection[Contact] | None:
        custom, order = await list_clauses(info.context, DEFS, "contact", filter and filter.custom_fields, sort)
        flt = all_of(contact_filter(filter), custom)
        return await info.context.page("contacts", flt, [*order, *CONTACT_SORT], first, after, Contact.from_doc)

    @strawberry.field(
        description="The audit log, newest first: every change made through any service.", extensions=allow(ADMIN)
    )
    async def audit_log(
        self, info: Info, first: int | None = None, after: str | None = None, filter: AuditFilter | None = None
    ) -> Connection[AuditEntry] | None:
        return await audit.audit_log(info.context, first, after, filter)
