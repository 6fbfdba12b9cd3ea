"""Row scopes of the partner-channel collections of deals (docs/partners.md, docs/security.md).
None: the collection is not one of these (policy.row_scope decides)."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.authz import ALL_ROWS, NO_ROWS, PARTNER, STAFF

STAFF_ONLY = ("tier_defs", "registration_reviews", "client_keys")
OWN = {"partner_tiers": "id", "registrations": "partner_id", "partner_targets": "partner_id"}


def partner_scope(p: Principal, coll: str) -> dict | None:
    if coll not in (*STAFF_ONLY, *OWN, "bundles"):
        return None
    if p.role in STAFF:
        return ALL_ROWS
    if p.role == PARTNER and p.company:
        if coll in OWN:
            return {OWN[coll]: p.company}
        if coll == "bundles":
            return {"active": True}
    return NO_ROWS
