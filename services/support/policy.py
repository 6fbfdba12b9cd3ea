"""Who sees which support rows (services/common/authz.py): staff see every ticket (support serves
every client; the sales own-book limit is not applied to tickets); a customer sees its company's
tickets, or only its own contact's when its token is bound to a contact, and never internal notes.
With TURNKEY_SALES_OWN_BOOK a salesperson still reads every ticket, but the companies and people
on them only where they are in the salesperson's book (as in contacts)."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.authz import ALL_ROWS, CUSTOMER, NO_ROWS, SALES, STAFF
from services.common.settings import Settings

TICKET_READERS = STAFF | {CUSTOMER}


def row_scope(settings: Settings, p: Principal, coll: str) -> dict:
    if p.role in STAFF:
        if p.role == SALES and settings.sales_own_book and coll in ("ref_companies", "ref_contacts"):
            return {"owner": p.sub}  # the clients themselves stay in their owners' books
        return ALL_ROWS
    if p.role == CUSTOMER:
        mine = {"company_id": p.company}
        if p.contact:
            mine = {"$and": [mine, {"contact_id": p.contact}]}
        if coll == "tickets":
            return mine
        if coll == "ticket_comments":
            return {"$and": [mine, {"internal": False}]}
        if coll == "ref_companies":
            return {"id": p.company}
        if coll == "ref_contacts":
            return {"id": p.contact} if p.contact else {"company_id": p.company}
    return NO_ROWS
