"""Price lists, rate cards and estimates (plain rules, no GraphQL import; unit-tested in
tests/unit/test_deals_estimates.py).

**Money** is integer minor units of the estimate's currency. **The one rounding rule**: wherever
a multiplication yields a fraction of a minor unit (a line: hours × rate or quantity × price less
its discount; the estimate-level discount; each tax), that one amount is rounded to a whole minor
unit, half to even (banker's rounding, `decimal.ROUND_HALF_EVEN`), and every sum above it adds
rounded integers exactly. So a stage subtotal is exactly the sum of its lines, the subtotal the
sum of the stages, and total = subtotal − discount + taxes, to the minor unit, always.

**Immutability**: a line stores the rate (and the internal cost rate) it was priced with; a
price-list change re-prices only drafts that are saved again, never a sent estimate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import Enum
from typing import Any

from services.common.errors import ErrorCode, InputError
from services.common.values import clean_text

HUNDRED = Decimal(100)
MAX_HOURS = Decimal(100_000)
MAX_QTY = Decimal(1_000_000)
MAX_LINE_MINOR = 10**15  # a line (and so every total) stays far inside a 64-bit integer


def _bounded(amount: int) -> int:
    if amount > MAX_LINE_MINOR:
        raise InputError(ErrorCode.INVALID, "the line amount is too large", ["input", "lines"])
    return amount


class EstimateStatus(Enum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


class LineKind(Enum):
    WORK = "work"  # design stage × discipline × hours × hourly rate
    ITEM = "item"  # catalogue product × quantity × list price, less a discount


# the stages of a design project, in the order an estimate prints them (others follow, as met)
DESIGN_STAGES = ("survey", "concept", "design", "approvals", "supervision")
VISIBLE_TO_CLIENT = (
    EstimateStatus.SENT.value,
    EstimateStatus.ACCEPTED.value,
    EstimateStatus.REJECTED.value,
    EstimateStatus.EXPIRED.value,
    EstimateStatus.SUPERSEDED.value,
)


def round_minor(value: Decimal) -> int:
    """The one rounding rule: to a whole minor unit, half to even."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _decimal(value: Any, field: list[str], *, low: Decimal, high: Decimal, places: int) -> Decimal:
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InputError(ErrorCode.INVALID, f"{field[-1]} must be a decimal number", field) from None
    if not d.is_finite() or d < low or d > high:
        raise InputError(ErrorCode.INVALID, f"{field[-1]} must lie between {low} and {high}", field)
    exp = d.as_tuple().exponent
    if isinstance(exp, int) and exp < -places:
        raise InputError(ErrorCode.INVALID, f"{field[-1]} has more than {places} decimal places", field)
    return d


def percent(value: Any, field: list[str]) -> Decimal:
    """A percentage 0..100 with at most 2 decimals."""
    return _decimal(value, field, low=Decimal(0), high=HUNDRED, places=2)


def hours(value: Any, field: list[str]) -> Decimal:
    return _decimal(value, field, low=Decimal(0), high=MAX_HOURS, places=2)


def quantity(value: Any, field: list[str]) -> Decimal:
    return _decimal(value, field, low=Decimal(0), high=MAX_QTY, places=3)


# ---- price lists ----------------------------------------------------------------------------------
def price_list_active(pl: Mapping[str, Any], today: str) -> bool:
    """A list is active when enabled and `today` (ISO date) lies within its validity dates."""
    if not pl.get("active", True):
        return False
    if pl.get("valid_from") and today < pl["valid_from"]:
        return False
    return not (pl.get("valid_to") and today > pl["valid_to"])


def check_validity(valid_from: str | None, valid_to: str | None) -> None:
    if valid_from and valid_to and valid_to < valid_from:
        raise InputError(ErrorCode.INVALID, "validTo is before validFrom", ["input", "validTo"])


def rate_card(entries: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Hourly rates per discipline: [{discipline, rate_minor, cost_minor}], one per discipline."""
    out: dict[str, dict] = {}
    for i, e in enumerate(entries):
        name = clean_text(e["discipline"], "discipline", required=True, max_len=64).lower()
        if name in out:
            raise InputError(ErrorCode.INVALID, f"discipline {name} is listed twice", ["input", "rates", str(i)])
        out[name] = {"discipline": name, "rate_minor": e["rate_minor"], "cost_minor": e.get("cost_minor")}
    return list(out.values())


def find_rate(pl: Mapping[str, Any], discipline: str) -> dict | None:
    return next((r for r in pl.get("rates") or [] if r["discipline"] == discipline), None)


def find_price(pl: Mapping[str, Any], product_id: str) -> dict | None:
    return next((p for p in pl.get("products") or [] if p["product_id"] == product_id), None)


# ---- lines and totals -----------------------------------------------------------------------------
def work_line(stage: str, discipline: str, hrs: Decimal, rate: Mapping[str, Any], description: str | None) -> dict:
    """A work-breakdown line priced from a rate card entry (the rate is copied onto the line)."""
    amount = _bounded(round_minor(hrs * rate["rate_minor"]))
    cost = round_minor(hrs * rate["cost_minor"]) if rate.get("cost_minor") is not None else None
    return {
        "kind": LineKind.WORK.value,
        "stage": stage,
        "discipline": discipline,
        "description": description,
        "hours": str(hrs),
        "rate_minor": rate["rate_minor"],
        "cost_rate_minor": rate.get("cost_minor"),
        "amount_minor": amount,
        "cost_minor": cost,
    }


def item_line(
    stage: str, product: Mapping[str, Any], qty: Decimal, price_minor: int, discount: Decimal, description: str | None
) -> dict:
    """A catalogue line: quantity × list price less its discount %, rounded once."""
    gross = qty * price_minor
    amount = _bounded(round_minor(gross * (HUNDRED - discount) / HUNDRED))
    return {
        "kind": LineKind.ITEM.value,
        "stage": stage,
        "product_id": product["id"],
        "sku": product.get("sku"),
        "description": description or product.get("name"),
        "quantity": str(qty),
        "unit": product.get("unit"),
        "unit_price_minor": price_minor,
        "discount_pct": str(discount),
        "amount_minor": amount,
    }


def stage_order(lines: Iterable[Mapping[str, Any]]) -> list[str]:
    """Design stages in project order, then any other stage in order of first appearance."""
    seen = list(dict.fromkeys(line["stage"] for line in lines))
    known = [s for s in DESIGN_STAGES if s in seen]
    return known + [s for s in seen if s not in DESIGN_STAGES]


def totals(lines: list[Mapping[str, Any]], discount_pct: Decimal, taxes: list[Mapping[str, Any]]) -> dict:
    """Exact totals in minor units: per stage, subtotal, estimate discount, each tax, total."""
    stages = {s: 0 for s in stage_order(lines)}
    for line in lines:
        stages[line["stage"]] += line["amount_minor"]
    subtotal = sum(stages.values())
    discount = round_minor(subtotal * discount_pct / HUNDRED)
    taxable = subtotal - discount
    tax_lines = [{**t, "amount_minor": round_minor(taxable * Decimal(t["percent"]) / HUNDRED)} for t in taxes]
    total = taxable + sum(t["amount_minor"] for t in tax_lines)
    return {
        "stages": [{"stage": s, "amount_minor": a} for s, a in stages.items()],
        "subtotal_minor": subtotal,
        "discount_minor": discount,
        "taxable_minor": taxable,
        "taxes": tax_lines,
        "total_minor": total,
    }


def tax_rates(items: Iterable[Mapping[str, Any]]) -> list[dict]:
    out = []
    for i, t in enumerate(items):
        name = clean_text(t["name"], "name", required=True, max_len=64)
        out.append({"name": name, "percent": str(percent(t["percent"], ["input", "taxRates", str(i), "percent"]))})
    return out


def baseline(lines: Iterable[Mapping[str, Any]]) -> list[dict]:
    """The project baseline of an accepted estimate: hours and money per stage × discipline
    (catalogue items count under discipline None, with no hours)."""
    cells: dict[tuple[str, str | None], dict] = {}
    for line in lines:
        key = (line["stage"], line.get("discipline"))
        cell = cells.setdefault(key, {"stage": key[0], "discipline": key[1], "hours": Decimal(0), "amount_minor": 0})
        cell["amount_minor"] += line["amount_minor"]
        if line.get("hours") is not None:
            cell["hours"] += Decimal(line["hours"])
    order = {s: i for i, s in enumerate(stage_order(lines))}
    rows = sorted(cells.values(), key=lambda c: (order.get(c["stage"], 99), c["discipline"] or "~"))
    return [{**c, "hours": str(c["hours"])} for c in rows]


# ---- status -----------------------------------------------------------------------------------
def require_status(est: Mapping[str, Any], *allowed: EstimateStatus, action: str) -> None:
    if est["status"] not in {s.value for s in allowed}:
        raise InputError(ErrorCode.INVALID, f"a {est['status']} estimate cannot be {action}", ["input", "id"])


def effective_status(est: Mapping[str, Any], today: str) -> str:
    """A sent estimate past its validity date reads as expired (the stored status stays `sent`
    until someone acts on it; accepting it then is refused)."""
    if est["status"] == EstimateStatus.SENT.value and est.get("valid_until") and today > est["valid_until"]:
        return EstimateStatus.EXPIRED.value
    return est["status"]


def line_key(line: Mapping[str, Any]) -> tuple:
    """How two versions' lines are matched by `compare`: work by (stage, discipline), items by
    (stage, product)."""
    if line["kind"] == LineKind.WORK.value:
        return (line["stage"], "work", line.get("discipline"))
    return (line["stage"], "item", line.get("product_id"))


def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict:
    """Line-level and total differences from version `a` to version `b`."""
    la: dict[tuple, list] = {}
    lb: dict[tuple, list] = {}
    for line in a["lines"]:
        la.setdefault(line_key(line), []).append(line)
    for line in b["lines"]:
        lb.setdefault(line_key(line), []).append(line)
    rows = []
    for key in dict.fromkeys([*la, *lb]):
        xa, xb = la.get(key, []), lb.get(key, [])
        amt_a, amt_b = sum(x["amount_minor"] for x in xa), sum(x["amount_minor"] for x in xb)
        hrs_a = sum((Decimal(x["hours"]) for x in xa if x.get("hours")), Decimal(0))
        hrs_b = sum((Decimal(x["hours"]) for x in xb if x.get("hours")), Decimal(0))
        change = (
            "added" if not xa else "removed" if not xb else "changed" if (amt_a, hrs_a) != (amt_b, hrs_b) else "same"
        )
        rows.append(
            {
                "stage": key[0],
                "kind": key[1],
                "discipline": key[2] if key[1] == "work" else None,
                "product_id": key[2] if key[1] == "item" else None,
                "change": change,
                "hours_a": str(hrs_a) if key[1] == "work" else None,
                "hours_b": str(hrs_b) if key[1] == "work" else None,
                "amount_a_minor": amt_a,
                "amount_b_minor": amt_b,
                "delta_minor": amt_b - amt_a,
            }
        )
    ta, tb = a["totals"], b["totals"]
    return {
        "lines": rows,
        "subtotal_delta_minor": tb["subtotal_minor"] - ta["subtotal_minor"],
        "discount_delta_minor": tb["discount_minor"] - ta["discount_minor"],
        "total_delta_minor": tb["total_minor"] - ta["total_minor"],
    }


def today_of(now_iso: str) -> str:
    return now_iso[:10]


def days_between(earlier: str, later: str) -> int:
    return (dt.date.fromisoformat(later[:10]) - dt.date.fromisoformat(earlier[:10])).days
