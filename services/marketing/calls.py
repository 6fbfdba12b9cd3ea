"""Telemarketing, the plain part (no strawberry import; tests/unit/test_marketing_calls.py): call
outcomes, what an outcome does to a call-list item, the caller's queue order, and the events a
logged call publishes (the contract: `marketing.call.logged`, and `marketing.lead.requested` for an
interested contact)."""

from __future__ import annotations

import datetime as dt
from enum import Enum

from services.common.errors import ErrorCode, InputError
from services.common.ids import iso

from .consent import ConsentStatus

MAX_ATTEMPTS = 5
MAX_ITEMS = 5000
RETRY_AFTER = {"no_answer": dt.timedelta(hours=2), "busy": dt.timedelta(minutes=15)}
TIER_PRIORITY = {"A": 30, "B": 20, "C": 10}


class Outcome(Enum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"
    CALLBACK = "callback"
    NOT_INTERESTED = "not_interested"
    INTERESTED = "interested"


class ItemStatus(Enum):
    OPEN = "open"
    DONE = "done"


def do_not_call(phone_consent: dict | None) -> bool:
    """Whether a contact stays off call lists: the one who withdrew phone consent (a do-not-call
    request). Business calls rest on legitimate interest until the person objects, so no record,
    or a pending one, does not keep anyone off (docs/marketing.md)."""
    return bool(phone_consent) and phone_consent.get("status") == ConsentStatus.WITHDRAWN.value


def priority(profile: dict) -> int:
    """Better clients first: value tier A, B, C, then the rest."""
    return TIER_PRIORITY.get(str(profile.get("tier") or "").upper(), 0)


def assign(contact_ids: list[str], callers: list[str]) -> list[tuple[str, str]]:
    """(contact, caller) round-robin, in the order given."""
    if not callers:
        raise InputError(ErrorCode.INVALID, "a call list needs at least one caller", ["input", "callers"])
    return [(cid, callers[i % len(callers)]) for i, cid in enumerate(contact_ids)]


def after_call(item: dict, outcome: Outcome, *, callback_at: str | None, now: dt.datetime, notes: str | None) -> dict:
    """The item after a call: finished, or open again with the time of the next try."""
    if item.get("status") != ItemStatus.OPEN.value:
        raise InputError(ErrorCode.INVALID, "this call is finished already", ["input", "itemId"])
    attempts = int(item.get("attempts") or 0) + 1
    out = {**item, "attempts": attempts, "last_outcome": outcome.value, "last_called_at": iso(now), "notes": notes}
    if outcome is Outcome.CALLBACK:
        if not callback_at:
            raise InputError(ErrorCode.INVALID, "a callback needs callbackAt", ["input", "callbackAt"])
        if callback_at <= iso(now):
            raise InputError(ErrorCode.INVALID, "callbackAt must be in the future", ["input", "callbackAt"])
        return {**out, "callback_at": callback_at}
    if callback_at:
        raise InputError(ErrorCode.INVALID, "callbackAt goes with the CALLBACK outcome only", ["input", "callbackAt"])
    if outcome.value in RETRY_AFTER:
        if attempts >= MAX_ATTEMPTS:
            return {**out, "status": ItemStatus.DONE.value, "callback_at": None}
        return {**out, "callback_at": iso(now + RETRY_AFTER[outcome.value])}
    return {**out, "status": ItemStatus.DONE.value, "callback_at": None}


def queue_filter(caller: str, now: str, list_id: str | None = None) -> dict:
    """The caller's open calls that are due (no callback time, or a callback time reached)."""
    parts = [
        {"caller": caller},
        {"status": ItemStatus.OPEN.value},
        {"$or": [{"callback_at": None}, {"callback_at": {"$lte": now}}]},
    ]
    if list_id:
        parts.append({"list_id": list_id})
    return {"$and": parts}


QUEUE_SORT = [("priority", -1), ("callback_at", 1), ("id", 1)]


def call_logged(call_id: str, call_list: dict, item: dict, caller: str, outcome: Outcome, notes: str | None) -> dict:
    return {
        "id": call_id,
        "call_list_id": call_list["id"],
        "campaign_id": call_list.get("campaign_id"),
        "company_id": item.get("company_id"),
        "contact_id": item["contact_id"],
        "caller": caller,
        "outcome": outcome.value,
        "notes": notes,
    }


def lead_from_call(call_list: dict, item: dict, profile: dict, notes: str | None) -> dict:
    """The `marketing.lead.requested` payload of an interested contact (contract)."""
    first, _, last = (profile.get("name") or "").partition(" ")
    return {
        "source": "telemarketing",
        "campaign_id": call_list.get("campaign_id"),
        "form_id": None,
        "company_id": item.get("company_id"),
        "contact_id": item["contact_id"],
        "company_name": None,
        "first_name": first or None,
        "last_name": last or None,
        "email": profile.get("email"),
        "phone": None,
        "notes": notes,
        "utm": {k: None for k in ("source", "medium", "campaign", "term", "content")},
        "referrer": None,
        "consent": False,
    }
