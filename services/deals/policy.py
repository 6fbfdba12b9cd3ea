"""Who sees which rows of deals' collections (docs/security.md), and the role groups its field
rules use."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.authz import ALL_ROWS, CUSTOMER, NO_ROWS, PARTNER, SALES, STAFF
from services.common.settings import Settings

from .estimates import VISIBLE_TO_CLIENT
from .partner_policy import partner_scope

DEAL_READERS = STAFF | {PARTNER}


def row_scope(settings: Settings, p: Principal, coll: str) -> dict:
    own_book = p.role == SALES and settings.sales_own_book
    if coll in ("deals", "ref_companies", "ref_contacts", "estimates", "milestones") and p.role in STAFF:
        return {"owner": p.sub} if own_book else ALL_ROWS
    if coll in ("deals", "ref_companies", "ref_contacts", "estimates") and p.role == PARTNER:
        return {"partner_id": p.company}  # what it registered
    if coll == "estimates" and p.role == CUSTOMER:  # what was sent to its company
        return {"$and": [{"company_id": p.company}, {"status": {"$in": list(VISIBLE_TO_CLIENT)}}]}
    if coll == "milestones" and p.role == CUSTOMER:  # the payments its company owes
        return {"company_id": p.company}
    if coll == "pipelines" and p.role in DEAL_READERS:
        return ALL_ROWS
    if coll == "products":
        if p.role in STAFF:
            return ALL_ROWS
        if p.role == PARTNER:
            return {"active": True}  # the published catalogue
    if (
        coll in ("account_health", "price_lists", "partner_tiers", "forecast_snapshots", "lost_reasons")
        and p.role in STAFF
    ):
        return ALL_ROWS
    partners = partner_scope(p, coll)
    if partners is not None:
        return partners
    if coll == "lost_reasons" and p.role == PARTNER:
        return {"active": True}
    return NO_ROWS
