"""Who sees which support rows (services/common/authz.py).

- Staff see every ticket (support serves every client; the sales own-book limit is not applied to
  tickets); with TURNKEY_SALES_OWN_BOOK a salesperson still reads every ticket, but the companies
  and people on them only where they are in the salesperson's book (as in contacts).
- A customer sees its company's tickets, deliverables and revisions (only its own contact's
  tickets when its token is bound to a contact), never internal notes, and published public
  knowledge-base articles.
- A partner sees the tickets of the companies it registered (`partner_id` on the ticket, copied
  from the company when opened) only when partner support is enabled for it
  (`TURNKEY_SUPPORT_PARTNERS`), never internal notes, and published public articles.
- Configuration (policies, calendars, queues, agents), KB searches and attachments: staff only."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.authz import ALL_ROWS, CUSTOMER, NO_ROWS, PARTNER, SALES, STAFF
from services.common.settings import Settings

TICKET_READERS = STAFF | {CUSTOMER, PARTNER}
PUBLIC_ARTICLES = {"$and": [{"status": "published"}, {"visibility": "public"}]}


def partner_enabled(p: Principal, partner_support: frozenset[str] | None) -> bool:
    return bool(p.company) and (partner_support is None or p.company in partner_support)


def row_scope(
    settings: Settings, p: Principal, coll: str, partner_support: frozenset[str] | None = frozenset()
) -> dict:
    if p.role in STAFF:
        if p.role == SALES and settings.sales_own_book and coll in ("ref_companies", "ref_contacts"):
            return {"owner": p.sub}  # the clients themselves stay in their owners' books
        return ALL_ROWS
    if coll == "kb_articles" and p.role in (CUSTOMER, PARTNER):
        return PUBLIC_ARTICLES
    if p.role == CUSTOMER:
        mine = {"company_id": p.company}
        if p.contact:
            mine = {"$and": [mine, {"contact_id": p.contact}]}
        if coll == "tickets":
            return mine
        if coll == "ticket_comments":
            return {"$and": [mine, {"internal": False}]}
        if coll in ("deliverables", "revisions"):
            return {"company_id": p.company}
        if coll == "ref_companies":
            return {"id": p.company}
        if coll == "ref_contacts":
            return {"id": p.contact} if p.contact else {"company_id": p.company}
    if p.role == PARTNER and p.company:
        # enabled by configuration for this partner, else per ticket by the programme's flag (partner_care.py)
        mine = (
            {"partner_id": p.company}
            if partner_enabled(p, partner_support)
            else {"$and": [{"partner_id": p.company}, {"partner_care": True}]}
        )
        if coll == "tickets":
            return mine
        if coll == "ticket_comments":  # reached only through a ticket in `mine`
            return {"$and": [{"partner_id": p.company}, {"internal": False}]}
        if coll == "ref_companies":
            return {"partner_id": p.company}
        if coll == "ref_contacts":
            return {"partner_id": p.company}
    return NO_ROWS
