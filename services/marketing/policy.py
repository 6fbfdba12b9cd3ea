"""Who sees which marketing rows (services/common/authz.py): marketing is staff work, all of it;
partners and customers see none of it. With TURNKEY_SALES_OWN_BOOK a salesperson sees the
people of a campaign only where they are in the salesperson's book."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.authz import ALL_ROWS, NO_ROWS, SALES, STAFF
from services.common.settings import Settings


def row_scope(settings: Settings, p: Principal, coll: str) -> dict:
    if p.role == SALES and settings.sales_own_book and coll == "ref_contacts":
        return {"owner": p.sub}  # people stay in their owners' books (as in contacts)
    return ALL_ROWS if p.role in STAFF else NO_ROWS
