"""Payment schedules, what is owed, and the offer guard (plain rules, no GraphQL import;
unit-tested in tests/unit/test_deals_payments.py).

A milestone is `planned` → `invoiced` → `paid`; a planned or invoiced milestone whose due date
has passed becomes `overdue` (the scheduler, `overdue_timer` in service.py) and stays overdue
until paid. Accounting systems record invoices and payments keyed by their own external id: the
ids applied are kept on the milestone and checked inside the same single-document write, so a
replayed record (or a replayed batch) changes nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from services.common.errors import ErrorCode, InputError

from .estimates import HUNDRED, days_between, round_minor, today_of


class MilestoneStatus(Enum):
    PLANNED = "planned"
    INVOICED = "invoiced"
    PAID = "paid"
    OVERDUE = "overdue"


UNPAID = (MilestoneStatus.PLANNED.value, MilestoneStatus.INVOICED.value, MilestoneStatus.OVERDUE.value)


def milestone_amount(amount_minor: int | None, pct: Decimal | None, accepted_total_minor: int | None) -> int:
    """A milestone's amount: given, or `pct` % of the accepted estimate's total (one rounding,
    half to even)."""
    if (amount_minor is None) == (pct is None):
        raise InputError(ErrorCode.INVALID, "give either an amount or a percent", ["input", "amount"])
    if amount_minor is not None:
        return amount_minor
    if accepted_total_minor is None:
        raise InputError(
            ErrorCode.INVALID, "a percent milestone needs an accepted estimate on the deal", ["input", "percent"]
        )
    return round_minor(accepted_total_minor * pct / HUNDRED)


def apply_record(m: dict, kind: str, external_id: str, amount_minor: int | None, at: str) -> dict | None:
    """Fold one accounting record into a milestone. None: this external id was applied before
    (a replay changes nothing). An invoice marks the milestone invoiced (an overdue one stays
    overdue); payments add up, and the milestone is paid once they cover its amount."""
    applied = list(m.get("external_ids") or [])
    if external_id in applied:
        return None
    new = {**m, "external_ids": [*applied, external_id]}
    if kind == "invoice":
        if m["status"] == MilestoneStatus.PLANNED.value:
            new["status"] = MilestoneStatus.INVOICED.value
        new["invoiced_at"] = at
        new["invoice_id"] = external_id
        return new
    if m["status"] == MilestoneStatus.PAID.value:
        raise InputError(ErrorCode.INVALID, "the milestone is paid already", ["input", "milestoneId"])
    paid = int(m.get("paid_minor") or 0) + int(amount_minor if amount_minor is not None else m["amount_minor"])
    new["paid_minor"] = paid
    if paid >= m["amount_minor"]:
        new["status"] = MilestoneStatus.PAID.value
        new["paid_at"] = at
        new["paid_month"] = at[:7]
    return with_open(new)


def with_open(m: dict) -> dict:
    """The derived fields the cash curve sums: what is still open, and weighted by the deal's
    probability (`weight`, percent)."""
    open_ = (
        0 if m["status"] == MilestoneStatus.PAID.value else max(m["amount_minor"] - int(m.get("paid_minor") or 0), 0)
    )
    unpaid = m["status"] != MilestoneStatus.PAID.value
    return {**m, "unpaid": unpaid, "open_minor": open_, "weighted_open_minor": open_ * int(m.get("weight") or 0) // 100}


# ---- overdue (the scheduler's rule) --------------------------------------------------------------
def overdue_filter(now_iso: str) -> dict:
    """Milestones that are due to turn overdue at `now_iso`: unpaid, not yet overdue, due before today."""
    return {
        "status": {"$in": [MilestoneStatus.PLANNED.value, MilestoneStatus.INVOICED.value]},
        "due_date": {"$lt": today_of(now_iso)},
    }


def is_overdue_now(m: Mapping[str, Any], now_iso: str) -> bool:
    return (
        m.get("status") in (MilestoneStatus.PLANNED.value, MilestoneStatus.INVOICED.value)
        and bool(m.get("due_date"))
        and m["due_date"] < today_of(now_iso)
    )


def days_overdue(m: Mapping[str, Any], now_iso: str) -> int:
    return max(days_between(m["due_date"], today_of(now_iso)), 0)


# ---- account health: tickets and overdue money --------------------------------------------------
@dataclass(frozen=True)
class Overdue:
    count: int
    amounts: tuple[tuple[str, int], ...]  # (currency, minor) sorted by currency
    max_days: int


def overdue_summary(milestones: Iterable[Mapping[str, Any]], now_iso: str) -> Overdue:
    by_cur: dict[str, int] = {}
    n, worst = 0, 0
    for m in milestones:
        if m.get("status") != MilestoneStatus.OVERDUE.value:
            continue
        n += 1
        left = m["amount_minor"] - int(m.get("paid_minor") or 0)
        by_cur[m["currency"]] = by_cur.get(m["currency"], 0) + left
        worst = max(worst, days_overdue(m, now_iso))
    return Overdue(count=n, amounts=tuple(sorted(by_cur.items())), max_days=worst)


# ---- the offer guard -----------------------------------------------------------------------------
PARTNER_REASON = "the client's account has unresolved issues with us; your partner manager can tell you more"


def guard_reasons(level: str, warnings: Iterable[str], *, staff: bool) -> list[str]:
    """Why a new offer is blocked (empty: not blocked). Only CRITICAL health blocks. Staff read
    the health warnings; a partner reads one sentence that reveals no ticket and no amount."""
    if level != "critical":
        return []
    return list(warnings) if staff else [PARTNER_REASON]


def check_offer(reasons: list[str], *, override_reason: str | None, may_override: bool) -> bool:
    """Raise OFFER_BLOCKED with the reasons unless the principal may override and gave a reason.
    True when an override was used (the caller audits it and puts it on the timeline)."""
    if not reasons:
        return False
    if override_reason and may_override:
        return True
    why = "; ".join(reasons)
    msg = f"offer blocked: {why} (you may not override the guard)" if override_reason else f"offer blocked: {why}"
    raise InputError(ErrorCode.OFFER_BLOCKED, msg, ["input", "overrideReason"])


class AccountingKind(Enum):
    INVOICE = "invoice"
    PAYMENT = "payment"
