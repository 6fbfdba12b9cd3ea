"""Marketing's plain rules (no strawberry import): campaigns, members and responses.
Unit-tested in tests/unit/test_marketing_domain.py; the money side is in attribution.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum

from services.common.errors import ErrorCode, InputError
from services.common.money import parse_money
from services.common.values import clean_text, date_input

MAX_MEMBERS_PER_CALL = 500


class Channel(Enum):
    EMAIL = "email"
    TELEMARKETING = "telemarketing"
    EVENT = "event"
    WEB_FORM = "web_form"
    ADS = "ads"


class MemberStatus(Enum):
    TARGETED = "targeted"
    RESPONDED = "responded"


def new_campaign(
    *,
    name: str,
    channel: Channel,
    currency: str,
    budget: Decimal | None,
    cost: Decimal | None,
    starts_on: dt.date | None,
    ends_on: dt.date | None,
) -> dict:
    """A campaign's fields, validated: a name, one currency for budget and cost, a sane period."""
    clean = clean_text(name, "name", required=True)
    budget_minor, cur = parse_money(budget, currency, "budget") if budget is not None else (None, None)
    cost_minor, cur2 = parse_money(cost or Decimal(0), currency, "cost")
    if starts_on and ends_on and ends_on < starts_on:
        raise InputError(ErrorCode.INVALID, "endsOn is before startsOn", ["input", "endsOn"])
    return {
        "name": clean,
        "channel": channel.value,
        "currency": cur or cur2,
        "budget_minor": budget_minor,
        "cost_minor": cost_minor,
        "starts_on": date_input(starts_on, "startsOn"),
        "ends_on": date_input(ends_on, "endsOn"),
    }


def member_ids(contact_ids: list[str]) -> list[str]:
    """The distinct contacts of one `addCampaignMembers` call, in the order given."""
    ids = list(dict.fromkeys(str(i) for i in contact_ids))
    if len(ids) > MAX_MEMBERS_PER_CALL:
        raise InputError(
            ErrorCode.INVALID, f"at most {MAX_MEMBERS_PER_CALL} contacts per call", ["input", "contactIds"]
        )
    return ids


def member_id(campaign_id: str, contact_id: str) -> str:
    return f"{campaign_id}:{contact_id}"


def targeted(campaign_id: str, contact: dict) -> dict:
    """A contact added to a campaign's audience (one member record per campaign and contact)."""
    return {
        "id": member_id(campaign_id, contact["id"]),
        "campaign_id": campaign_id,
        "contact_id": contact["id"],
        "company_id": contact.get("company_id"),
        "status": MemberStatus.TARGETED.value,
    }


def check_response_time(at: str, now: str) -> None:
    if at > now:
        raise InputError(ErrorCode.INVALID, "respondedAt is in the future", ["input", "respondedAt"])


def responded(member: dict | None, *, campaign_id: str, contact: dict, response: str | None, at: str) -> dict:
    """The member record after a response; a contact responds to a campaign once."""
    if member and member.get("status") == MemberStatus.RESPONDED.value:
        raise InputError(
            ErrorCode.DUPLICATE, "this contact has responded to this campaign already", ["input", "contactId"]
        )
    return {
        **(member or {}),
        "campaign_id": campaign_id,
        "contact_id": contact["id"],
        "company_id": contact.get("company_id"),
        "status": MemberStatus.RESPONDED.value,
        "responded_at": at,
        "response": response,
    }
