"""Contacts' plain rules (no strawberry import): unit-tested in tests/unit/test_contacts_domain.py.

The enums are plain here; services/contacts/types.py registers them with GraphQL. Input checks
are duck-typed on the input's attributes, so they take a GraphQL input or any object like it."""

from __future__ import annotations

from enum import Enum

from services.common import matchkeys
from services.common.errors import ErrorCode, InputError
from services.common.values import clean_text, email


class CompanyKind(Enum):
    CLIENT = "client"
    PROSPECT = "prospect"
    PARTNER = "partner"


class Lifecycle(Enum):
    LEAD = "lead"
    PROSPECT = "prospect"
    CLIENT = "client"


class ValueTier(Enum):
    A = "A"
    B = "B"
    C = "C"


class InteractionKind(Enum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    NOTE = "note"
    WEB_FORM = "web_form"
    CHAT = "chat"
    RECORD = "record"
    DEAL = "deal"
    CAMPAIGN = "campaign"
    TICKET = "ticket"


# what a user may log by hand; the other kinds are recorded from events (timeline.py)
MANUAL_KINDS = frozenset(
    {
        InteractionKind.CALL,
        InteractionKind.EMAIL,
        InteractionKind.MEETING,
        InteractionKind.NOTE,
        InteractionKind.WEB_FORM,
        InteractionKind.CHAT,
    }
)


# ---- input fields -------------------------------------------------------------------------------
def company_fields(inp, *, creating: bool) -> dict:
    """The stored fields of a company input (a creation, or the fields an update sets)."""
    out: dict = {}
    if creating or inp.name is not None:
        out["name"] = clean_text(inp.name, "name", required=True)
        out["name_key"] = out["name"].casefold()
    if inp.kind is not None:
        out["kind"] = inp.kind.value
    for f in ("website", "industry", "city", "country", "owner"):
        v = getattr(inp, f)
        if v is not None:
            out[f] = clean_text(v, f) or None
    if out.get("website") or ("website" in out and not creating):  # the match key imports use (matchkeys.py)
        out["domain_key"] = matchkeys.domain_key(out["website"])
    return out


def contact_fields(inp, *, creating: bool) -> dict:
    """The stored fields of a contact input (a creation, or the fields an update sets)."""
    out: dict = {}
    for f in ("first_name", "last_name"):
        v = getattr(inp, f)
        if creating or v is not None:
            out[f] = clean_text(v, f, required=True)
            out[f"{f}_key"] = out[f].casefold()
    if creating or inp.email is not None:
        out["email"] = email(inp.email)
        out["email_key"] = out["email"].casefold() if out["email"] else None
    for f in ("phone", "job_title", "owner"):
        v = getattr(inp, f)
        if v is not None:
            out[f] = clean_text(v, f) or None
    if out.get("phone") or ("phone" in out and not creating):  # imports' match key (matchkeys.py)
        out["phone_key"] = matchkeys.phone_key(out["phone"])
    if inp.company_id is not None:
        out["company_id"] = str(inp.company_id) or None
    if inp.lifecycle is not None:
        out["lifecycle"] = inp.lifecycle.value
    return out


def interaction_fields(inp) -> dict:
    """Kind, title and subject of an interaction logged by hand (the store checks that the company
    and contact exist and agree)."""
    if inp.kind not in MANUAL_KINDS:
        raise InputError(
            ErrorCode.INVALID, f"{inp.kind.name} interactions are recorded by the system", ["input", "kind"]
        )
    title = clean_text(inp.title, "title", required=True)
    company_id = str(inp.company_id) if inp.company_id else None
    contact_id = str(inp.contact_id) if inp.contact_id else None
    if not company_id and not contact_id:
        raise InputError(ErrorCode.INVALID, "give a companyId or a contactId", ["input", "companyId"])
    return {"kind": inp.kind.value, "title": title, "company_id": company_id, "contact_id": contact_id}


# ---- partners' registrations ----------------------------------------------------------------------
# ---- a won deal -----------------------------------------------------------------------------------
def company_won(company: dict) -> dict | None:
    """The change a won deal makes to its company: a prospect becomes a client (None: no change)."""
    if company["kind"] == CompanyKind.PROSPECT.value:
        return {"kind": CompanyKind.CLIENT.value}
    return None


def contact_won(contact: dict) -> dict | None:
    """The change a won deal makes to its contact: the lifecycle becomes client (None: no change)."""
    if contact["lifecycle"] != Lifecycle.CLIENT.value:
        return {"lifecycle": Lifecycle.CLIENT.value}
    return None
