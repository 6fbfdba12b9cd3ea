"""Who owns what a partner registers: one rule for contacts' registrations (prospect companies,
leads) and deals' (deals, deal registrations), so that both services decide alike."""

from __future__ import annotations

from .errors import ErrorCode, InputError


def partner_registration(
    partner_company: str,
    sub: str,
    *,
    requested_owner: str | None,
    account_owner: str | None,
    partner_manager: str | None,
) -> dict:
    """What a partner's registration (a prospect company, a lead, a deal) records: the partner
    that brought it, and an owner on the vendor's side. Partners never choose the owner: it is
    the owner of the account the record is registered under, else the partner's manager (the
    owner of the partner company), else the partner user who registered it. One rule for
    contacts' and deals' registrations, so a partner's records land in one salesperson's book."""
    if requested_owner is not None:
        raise InputError(
            ErrorCode.NOT_ALLOWED, "the owner of a partner's registration is assigned by the vendor", ["input", "owner"]
        )
    return {"partner_id": partner_company, "owner": account_owner or partner_manager or sub}
