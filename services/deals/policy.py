"""Who sees which rows of deals' collections (docs/security.md), and the role groups its field
rules use."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.authz import ALL_ROWS, NO_ROWS, PARTNER, SALES, STAFF
from services.common.settings import Settings

DEAL_READERS = STAFF | {PARTNER}


def row_scope(settings: Settings, p: Principal, coll: str) -> dict:
    own_book = p.role == SALES and settings.sales_own_book
    if coll in ("deals", "ref_companies", "ref_contacts"):
        if p.role in STAFF:
            return {"owner": p.sub} if own_book else ALL_ROWS
        if p.role == PARTNER:  # what it registered
            return {"partner_id": p.company}
    if coll == "pipelines" and p.role in DEAL_READERS:
        return ALL_ROWS
    if coll == "products":
        if p.role in STAFF:
            return ALL_ROWS
        if p.role == PARTNER:
            return {"active": True}  # the published catalogue
    if coll == "account_health" and p.role in STAFF:
        return ALL_ROWS
    return NO_ROWS
