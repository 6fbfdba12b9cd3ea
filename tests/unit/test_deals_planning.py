"""The forecast rules (services/deals/planning.py): the sticky probability override, forecast by
period and categories, the cash curve, win rates, accuracy (MAPE by horizon), win/loss."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.common.errors import InputError
from services.deals import domain
from services.deals import planning as F

PIPELINE = domain.default_pipeline()


def deal(**kw):
    return {"id": "d", "status": "open", "stage_id": "brief", "amount_minor": 10000, **kw}


def test_probability_override_survives_stage_moves_and_yields_to_closing():
    d = F.derive(deal(probability_override=80), PIPELINE)
    assert (d["probability"], d["weighted_minor"]) == (80, 8000)
    moved = F.derive(
        domain.move_to_stage(d, domain.find_stage(PIPELINE, "concept"), lost_reason=None, now="t"), PIPELINE
    )
    assert moved["probability"] == 80 and moved["probability_override"] == 80  # the move did not overwrite it
    assert F.derive({**moved, "probability_override": None}, PIPELINE)["probability"] == 35  # cleared: the stage's
    won = F.derive(
        domain.move_to_stage(moved, domain.find_stage(PIPELINE, "won"), lost_reason=None, now="2026-05-02T00:00:00Z"),
        PIPELINE,
    )
    assert (won["probability"], won["won_month"]) == (100, "2026-05")
    lost = F.derive(
        domain.move_to_stage(moved, domain.find_stage(PIPELINE, "lost"), lost_reason="Price", now="t"), PIPELINE
    )
    assert lost["probability"] == 0 and lost["weighted_minor"] == 0


def test_reached_position_is_the_furthest_open_stage():
    d = F.derive(deal(stage_id="negotiation"), PIPELINE)
    assert d["reached_position"] == 4
    back = F.derive({**d, "stage_id": "brief"}, PIPELINE)
    assert back["reached_position"] == 4
    lost = F.derive({**back, "stage_id": "lost", "status": "lost"}, PIPELINE)
    assert lost["reached_position"] == 4


def test_category_follows_probability_until_chosen():
    assert F.derive(deal(), PIPELINE)["forecast_category"] == "pipeline"
    assert F.derive(deal(probability_override=55), PIPELINE)["forecast_category"] == "best_case"
    assert F.derive(deal(probability_override=95), PIPELINE)["forecast_category"] == "commit"
    assert (
        F.derive(deal(probability_override=95, forecast_category_chosen="omitted"), PIPELINE)["forecast_category"]
        == "omitted"
    )


def test_periods():
    assert F.period_of("2026-05", F.Period.QUARTER) == "2026-Q2"
    assert F.months_of("2026-Q4") == ["2026-10", "2026-11", "2026-12"]
    assert F.months_of("2026-02") == ["2026-02"]
    for bad in ("2026-13", "2026-Q5", "x"):
        with pytest.raises(InputError):
            F.months_of(bad)


def row(key, count=1, **sums):
    return {"key": key, "count": count, "sum": sums}


def test_forecast_by_period_and_categories():
    rows = [
        row({"close_month": "2026-01", "forecast_category": "pipeline"}, amount_minor=100, weighted_minor=10),
        row({"close_month": "2026-02", "forecast_category": "commit"}, 2, amount_minor=200, weighted_minor=180),
        row({"close_month": "2026-02", "forecast_category": "omitted"}, amount_minor=999, weighted_minor=99),
        row({"close_month": None, "forecast_category": "best_case"}, amount_minor=50, weighted_minor=25),
    ]
    q = F.forecast_by_period(rows, F.Period.QUARTER)
    assert [
        (
            b["period"],
            b["deal_count"],
            b["amount_minor"],
            b["weighted_minor"],
            b["commit_minor"],
            b["best_case_minor"],
            b["omitted_minor"],
        )
        for b in q
    ] == [
        ("2026-Q1", 3, 300, 190, 200, 200, 999),
        (None, 1, 50, 25, 0, 50, 0),
    ]


def test_cash_curve_counts_won_in_full_and_open_weighted():
    rows = [
        row({"due_month": "2026-01", "deal_status": "won"}, open_minor=1000, weighted_open_minor=1000),
        row({"due_month": "2026-01", "deal_status": "open"}, open_minor=1000, weighted_open_minor=333),
        row({"due_month": "2026-04", "deal_status": "lost"}, open_minor=1000, weighted_open_minor=0),
    ]
    assert F.cash_curve(rows, F.Period.MONTH) == [
        {"period": "2026-01", "committed_minor": 1000, "weighted_pipeline_minor": 333, "expected_minor": 1333}
    ]


def test_win_rates_from_closed_deals():
    rows = [
        row({"reached_position": 3, "status": "won"}, 2),
        row({"reached_position": 3, "status": "lost"}, 2),
        row({"reached_position": 0, "status": "lost"}, 4),
    ]
    rates = {r["stage"]["id"]: (r["closed"], r["won"], r["win_rate"]) for r in F.win_rates(PIPELINE["stages"], rows)}
    assert rates["qualified"] == (8, 2, Decimal("25.0"))
    assert rates["estimate"] == (4, 2, Decimal("50.0"))
    assert rates["negotiation"] == (0, 0, None)
    assert "won" not in rates


def test_accuracy_mape_by_horizon():
    snaps = [
        {"taken_on": "2026-12-04", "bookings": {"2027-01": 90}, "cash": {"2027-01": 40}},
        {"taken_on": "2026-10-28", "bookings": {"2027-01": 120}, "cash": {}},  # 9 days before the 8-week mark: too old
    ]
    out = F.accuracy(["2027-01"], snaps, {"2027-01": 100}, {"2027-01": 50})
    assert out == [
        {"weeks": 4, "samples": 1, "bookings_mape": Decimal("10.00"), "cash_mape": Decimal("20.00")},
        {"weeks": 8, "samples": 0, "bookings_mape": None, "cash_mape": None},
        {"weeks": 12, "samples": 0, "bookings_mape": None, "cash_mape": None},
    ]
    assert F.ape(5, 0) is None


def test_win_loss_analysis():
    stages = PIPELINE["stages"]
    deals = [
        {
            "status": "won",
            "amount_minor": 100,
            "reached_position": 4,
            "created_at": "2026-01-01T00:00:00Z",
            "closed_at": "2026-01-20T00:00:00Z",
        },
        {
            "status": "lost",
            "amount_minor": 50,
            "lost_reason": "Price",
            "reached_position": 0,
            "created_at": "2026-01-01T00:00:00Z",
            "opened_at": "2025-06-01T00:00:00Z",
            "closed_at": "2026-02-01T00:00:00Z",
        },
        {"status": "open", "amount_minor": 1},
    ]
    w = F.win_loss(deals, stages)
    assert w["by_reason"] == [{"key": "Price", "won": 0, "lost": 1, "won_minor": 0, "lost_minor": 50}]
    assert {r["key"]: (r["won"], r["lost"]) for r in w["by_stage"]} == {"Negotiation": (1, 0), "Lead qualified": (0, 1)}
    assert [(r["key"], r["won"], r["lost"]) for r in w["by_cycle"]] == [("≤ 30 days", 1, 0), ("> 180 days", 0, 1)]


def test_validate_stages():
    ok = [
        {"id": "a", "name": "A", "probability": 10, "kind": "open"},
        {"id": "w", "name": "W", "probability": 100, "kind": "won"},
        {"id": "l", "name": "L", "probability": 0, "kind": "lost"},
    ]
    assert [s["id"] for s in domain.validate_stages(ok)] == ["a", "w", "l"]
    for bad in (
        ok[:2],
        [*ok, ok[0]],
        [{**ok[0], "probability": 101}, *ok[1:]],
        [ok[0], {**ok[1], "probability": 90}, ok[2]],
    ):
        with pytest.raises(InputError):
            domain.validate_stages(bad)


def test_health_counts_overdue_money():
    from services.deals.payments import Overdue

    h = domain.account_health(None, Overdue(count=1, amounts=(("EUR", 150000),), max_days=10), critical_days=30)
    assert h.level is domain.HealthLevel.ATTENTION and h.warnings == (
        "1 overdue payment (1,500.00 EUR), up to 10 days late",
    )
    h = domain.account_health(None, Overdue(count=2, amounts=(("EUR", 1),), max_days=31), critical_days=30)
    assert h.level is domain.HealthLevel.CRITICAL and h.overdue_payments == 2


def test_periods_outside_the_date_range_are_refused():
    for bad in ("0001-01", "0001-Q1", "3000-Q1", "2026-1"):
        with pytest.raises(InputError):
            F.months_of(bad)
