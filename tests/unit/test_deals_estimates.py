"""Estimate math (services/deals/estimates.py): the one rounding rule, exact totals, immutability
of priced lines, comparison and baseline; payments and the offer guard (payments.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.common.errors import ErrorCode, InputError
from services.deals import estimates as E
from services.deals import payments as P

ARCH = {"discipline": "architect", "rate_minor": 8555, "cost_minor": 4000}
PRODUCT = {"id": "p1", "sku": "SURVEY", "name": "Site survey", "unit": "project"}


def test_round_half_even_to_the_minor_unit():
    assert E.round_minor(Decimal("0.5")) == 0
    assert E.round_minor(Decimal("1.5")) == 2
    assert E.round_minor(Decimal("2.5")) == 2
    assert E.round_minor(Decimal("2.5000001")) == 3
    assert E.round_minor(Decimal("-2.5")) == -2


def test_work_line_copies_the_rate_and_rounds_once():
    line = E.work_line("concept", "architect", Decimal("3.5"), ARCH, None)
    assert line["amount_minor"] == 29942  # 29942.5 → 29942 (half even)
    assert line["rate_minor"] == 8555 and line["cost_rate_minor"] == 4000 and line["cost_minor"] == 14000
    ARCH_CHANGED = {**ARCH, "rate_minor": 9999}
    assert line["rate_minor"] == 8555 and ARCH_CHANGED["rate_minor"] == 9999  # the line keeps its own copy


def test_item_line_discount_rounds_once():
    line = E.item_line("survey", PRODUCT, Decimal("3"), 3333, Decimal("12.5"), None)
    # 3 × 33.33 = 99.99, less 12.5 % = 87.49125 → 87.49
    assert line["amount_minor"] == 8749 and line["description"] == "Site survey"


def test_totals_are_exact_sums_of_rounded_parts():
    lines = [
        E.work_line("design", "architect", Decimal("10.5"), {"discipline": "structural", "rate_minor": 9900}, None),
        E.work_line("concept", "architect", Decimal("3.5"), ARCH, None),
        E.work_line("design", "mep", Decimal("2.25"), {"discipline": "mep", "rate_minor": 7777}, None),
        E.item_line("survey", PRODUCT, Decimal("1"), 480000, Decimal("10"), None),
    ]
    t = E.totals(lines, Decimal("2.5"), [{"name": "VAT", "percent": "25"}])
    assert t["stages"] == [
        {"stage": "survey", "amount_minor": 432000},
        {"stage": "concept", "amount_minor": 29942},
        {"stage": "design", "amount_minor": 103950 + 17498},
    ]
    assert t["subtotal_minor"] == 583390 == sum(s["amount_minor"] for s in t["stages"])
    assert t["discount_minor"] == 14585  # 14584.75
    assert t["taxable_minor"] == 568805
    assert t["taxes"][0]["amount_minor"] == 142201  # 142201.25
    assert t["total_minor"] == 568805 + 142201


def test_stage_order_design_stages_first_then_as_met():
    lines = [{"stage": s} for s in ("extra", "design", "survey", "other", "design")]
    assert E.stage_order(lines) == ["survey", "design", "extra", "other"]


@pytest.mark.parametrize(
    ("fn", "value"),
    [
        (E.percent, "100.01"),
        (E.percent, "-1"),
        (E.percent, "1.234"),
        (E.hours, "1.001"),
        (E.quantity, "x"),
        (E.hours, "NaN"),
    ],
)
def test_bad_numbers_are_refused(fn, value):
    with pytest.raises(InputError) as e:
        fn(value, ["input", "x"])
    assert e.value.code is ErrorCode.INVALID


def test_status_rules_and_expiry():
    sent = {"status": "sent", "valid_until": "2026-05-31"}
    assert E.effective_status(sent, "2026-05-31") == "sent"
    assert E.effective_status(sent, "2026-06-01") == "expired"
    with pytest.raises(InputError):
        E.require_status(sent, E.EstimateStatus.DRAFT, action="changed")


def test_compare_and_baseline():
    a_lines = [E.work_line("concept", "architect", Decimal("2"), ARCH, None)]
    b_lines = [
        E.work_line("concept", "architect", Decimal("3"), ARCH, None),
        E.item_line("survey", PRODUCT, Decimal(1), 100, Decimal(0), None),
    ]
    a = {"lines": a_lines, "totals": E.totals(a_lines, Decimal(0), [])}
    b = {"lines": b_lines, "totals": E.totals(b_lines, Decimal(0), [])}
    d = E.compare(a, b)
    assert [(r["stage"], r["change"], r["delta_minor"]) for r in d["lines"]] == [
        ("concept", "changed", 8555),
        ("survey", "added", 100),
    ]
    assert d["total_delta_minor"] == 8655
    assert E.baseline(b_lines) == [
        {"stage": "survey", "discipline": None, "hours": "0", "amount_minor": 100},
        {"stage": "concept", "discipline": "architect", "hours": "3", "amount_minor": 25665},
    ]


def test_price_list_activity():
    pl = {"active": True, "valid_from": "2026-01-01", "valid_to": "2026-12-31"}
    assert E.price_list_active(pl, "2026-06-01")
    assert not E.price_list_active(pl, "2027-01-01")
    assert not E.price_list_active({**pl, "active": False}, "2026-06-01")
    with pytest.raises(InputError):
        E.rate_card([{"discipline": "BIM", "rate_minor": 1}, {"discipline": "bim", "rate_minor": 2}])


# ---- payments --------------------------------------------------------------------------------------
def milestone(**kw):
    return P.with_open(
        {
            "id": "m1",
            "status": "planned",
            "amount_minor": 10000,
            "paid_minor": 0,
            "weight": 50,
            "due_date": "2026-03-31",
            **kw,
        }
    )


def test_milestone_amount_from_percent_rounds_half_even():
    assert P.milestone_amount(None, Decimal("30"), 1_000_005) == 300002  # 300001.5 → 300002
    assert P.milestone_amount(500, None, None) == 500
    with pytest.raises(InputError):
        P.milestone_amount(None, Decimal("30"), None)
    with pytest.raises(InputError):
        P.milestone_amount(1, Decimal("1"), 100)


def test_accounting_records_are_idempotent_by_external_id():
    m = milestone()
    inv = P.apply_record(m, "invoice", "INV-1", None, "2026-03-01T00:00:00Z")
    assert inv["status"] == "invoiced" and P.apply_record(inv, "invoice", "INV-1", None, "x") is None
    part = P.apply_record(inv, "payment", "PAY-1", 4000, "2026-03-02T00:00:00Z")
    assert part["status"] == "invoiced" and part["paid_minor"] == 4000 and part["open_minor"] == 6000
    assert part["weighted_open_minor"] == 3000
    assert P.apply_record(part, "payment", "PAY-1", 4000, "x") is None  # a replay changes nothing
    paid = P.apply_record(part, "payment", "PAY-2", 6000, "2026-04-02T00:00:00Z")
    assert paid["status"] == "paid" and paid["paid_month"] == "2026-04" and paid["open_minor"] == 0


def test_overdue_rule():
    m = milestone()
    assert P.overdue_filter("2026-04-01T08:00:00.000000Z") == {
        "status": {"$in": ["planned", "invoiced"]},
        "due_date": {"$lt": "2026-04-01"},
    }
    assert not P.is_overdue_now(m, "2026-03-31T23:00:00Z")
    assert P.is_overdue_now(m, "2026-04-01T00:00:00Z")
    assert not P.is_overdue_now({**m, "status": "paid"}, "2027-01-01T00:00:00Z")
    assert P.days_overdue(m, "2026-05-01T00:00:00Z") == 31
    s = P.overdue_summary(
        [{**m, "status": "overdue", "currency": "EUR", "paid_minor": 1000}, {**m, "currency": "EUR"}],
        "2026-05-01T00:00:00Z",
    )
    assert (s.count, s.amounts, s.max_days) == (1, (("EUR", 9000),), 31)


def test_offer_guard():
    assert P.guard_reasons("attention", ["x"], staff=True) == []
    assert P.guard_reasons("critical", ["1 open critical ticket"], staff=True) == ["1 open critical ticket"]
    partner = P.guard_reasons("critical", ["1 open critical ticket"], staff=False)
    assert partner == [P.PARTNER_REASON] and "ticket" not in partner[0]
    with pytest.raises(InputError) as e:
        P.check_offer(["why"], override_reason=None, may_override=True)
    assert e.value.code is ErrorCode.OFFER_BLOCKED and "why" in e.value.message
    with pytest.raises(InputError):
        P.check_offer(["why"], override_reason="because", may_override=False)
    assert P.check_offer(["why"], override_reason="because", may_override=True) is True
    assert P.check_offer([], override_reason=None, may_override=False) is False


def test_huge_lines_are_refused():
    with pytest.raises(InputError):
        E.work_line("design", "x", Decimal(100_000), {"discipline": "x", "rate_minor": 10**13}, None)
