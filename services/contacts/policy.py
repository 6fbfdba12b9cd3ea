"""Who sees which rows of contacts' collections (services/common/authz.py, docs/security.md), and
the role groups its field rules use."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.authz import ADMIN, ALL_ROWS, CUSTOMER, MARKETING, NO_ROWS, PARTNER, PORTAL, SALES, STAFF
from services.common.settings import Settings

# the roles whose rows are confined to their own (sales only with `sales_own_book`): the `scoped`
# of the field rules, for the role matrix
OWN_ROWS = PORTAL | {SALES}
BOOKS = frozenset({SALES, PARTNER})  # among staff and partners: a salesperson's book, a partner's registrations
ACCOUNT_EDITORS = frozenset({ADMIN, SALES, MARKETING})  # change companies
REGISTRARS = ACCOUNT_EDITORS | {PARTNER}  # register companies (partners: prospects they bring)
LEAD_WORKERS = STAFF | {PARTNER}  # see and work leads and activities (partners: of what they registered)
LEAD_SCOPED = frozenset({SALES, PARTNER})


def row_scope(settings: Settings, p: Principal, coll: str) -> dict:
    own_book = p.role == SALES and settings.sales_own_book
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
    if coll in ("leads", "activities"):  # the manager's day (docs/day.md)
        if p.role in STAFF:
            return {"owner": p.sub} if own_book else ALL_ROWS
        if p.role == PARTNER:  # the leads and activities of what it registered
            return {"partner_id": p.company}
        return NO_ROWS
    if coll in ("notifications",) and p.role in STAFF | {PARTNER}:
        return {"recipient": p.sub}
    if coll == "reminders" and p.role in STAFF:
        return {"owner": p.sub}
    if coll in ("day_settings", "ref_deals") and p.role in STAFF:
        return ALL_ROWS
    if coll == "transfer_jobs" and p.role == ADMIN:
        return ALL_ROWS
    if coll in ("import_jobs", "import_files", "import_errors") and p.role in (ADMIN, SALES, MARKETING):
        # imports (docs/import.md): admins see every one, sales and marketing their own; a job's
        # errors are reached only through a job the principal can see
        return ALL_ROWS if p.role == ADMIN or coll == "import_errors" else {"owner": p.sub}
    if coll == "custom_field_defs" and p.role in STAFF | {PARTNER}:
        return ALL_ROWS  # definitions (docs/customfields.md); only admins change them
    if coll == "import_mappings" and p.role in (ADMIN, SALES, MARKETING):
        return ALL_ROWS  # saved mappings are shared by everyone who imports
    if coll == "interactions" and p.role in STAFF:
        return ALL_ROWS  # reached only through companies/contacts the principal can see
    if coll == "audit_log" and p.role == ADMIN:
        return ALL_ROWS
    return NO_ROWS
