"""The manager's day, plain rules (services/contacts/day.py): lead status moves and BANT score,
assignment rules and round robin, yearly reminders (29 February), value tiers and their window,
my-day splits, activity control."""

from __future__ import annotations

import datetime as dt

import pytest

from services.common.errors import InputError
from services.contacts import day
from services.contacts.day_events import personal_date_fire, reminder_fire, tier_window_fire

UTC = dt.UTC


def at(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=UTC)


# ---- leads ----------------------------------------------------------------------------------------
def test_bant_score_and_hot():
    assert day.bant_score({}) == 0
    assert day.bant_score({"budget": True, "need": True}) == 50
    assert day.bant_score(dict.fromkeys(day.BANT, True)) == 100
    assert day.is_hot({"status": "working", "score": 75})
    assert not day.is_hot({"status": "disqualified", "score": 100})
    assert not day.is_hot({"status": "new", "score": 50})


def test_disqualifying_needs_a_reason_from_the_list():
    reasons = ["No budget"]
    with pytest.raises(InputError, match="reason"):
        day.lead_status_change({"status": "new"}, day.LeadStatus.DISQUALIFIED, None, reasons)
    with pytest.raises(InputError, match="reason"):
        day.lead_status_change({"status": "new"}, day.LeadStatus.DISQUALIFIED, "Other", reasons)
    assert day.lead_status_change({"status": "new"}, day.LeadStatus.DISQUALIFIED, "No budget", reasons) == {
        "status": "disqualified",
        "disqualify_reason": "No budget",
    }
    assert day.lead_status_change({"status": "disqualified"}, day.LeadStatus.WORKING, None, reasons) == {
        "status": "working",
        "disqualify_reason": None,
    }


def test_a_converted_lead_does_not_move():
    with pytest.raises(InputError):
        day.lead_status_change({"status": "converted"}, day.LeadStatus.WORKING, None, [])


def test_lead_from_a_marketing_request_is_lenient():
    lead = day.lead_from_request(
        {"source": "nonsense", "first_name": "A\u202eB", "last_name": "Lind", "email": "x@Example.com", "consent": 1}
    )
    assert lead["source"] == "campaign"
    assert lead["first_name"] is None  # a bidi override is dropped, not fatal
    assert lead["email_key"] == "x@example.com"
    assert lead["consent"] is True and lead["status"] == "new"


# ---- assignment -----------------------------------------------------------------------------------
RULES = [
    {"id": "r2", "priority": 2, "team": ["c"], "region": None},
    {"id": "r1", "priority": 1, "team": ["a", "b"], "region": "North"},
    {"id": "r0", "priority": 0, "team": ["z"], "segment": "public", "active": False},
]


def test_first_matching_rule_by_priority():
    assert day.pick_rule(RULES, {"region": "north"})["id"] == "r1"
    assert day.pick_rule(RULES, {"region": "South"})["id"] == "r2"
    assert day.pick_rule(RULES, {"segment": "public"})["id"] == "r2"  # r0 is inactive
    assert day.pick_rule([], {}) is None


def test_round_robin_takes_turns():
    assert [day.round_robin(["a", "b", "c"], n) for n in range(5)] == ["a", "b", "c", "a", "b"]


# ---- reminders ------------------------------------------------------------------------------------
def test_next_reminder_is_strictly_after_now():
    assert day.next_reminder(5, 17, 0, at("2026-03-01T00:00:00")) == "2026-05-17T08:00:00.000000Z"
    assert day.next_reminder(5, 17, 0, at("2026-05-17T08:00:00")) == "2027-05-17T08:00:00.000000Z"
    assert day.next_reminder(5, 17, 3, at("2026-05-15T00:00:00")) == "2027-05-14T08:00:00.000000Z"
    assert day.next_reminder(1, 2, 5, at("2026-12-20T00:00:00")) == "2026-12-28T08:00:00.000000Z"


def test_february_29_birthdays():
    assert day.occurrence(2, 29, 2027) == dt.date(2027, 2, 28)
    assert day.occurrence(2, 29, 2028) == dt.date(2028, 2, 29)
    assert day.next_reminder(2, 29, 0, at("2026-03-01T00:00:00")) == "2027-02-28T08:00:00.000000Z"
    assert day.next_reminder(2, 29, 0, at("2027-03-01T00:00:00")) == "2028-02-29T08:00:00.000000Z"
    day.check_month_day(2, 29)
    with pytest.raises(InputError):
        day.check_month_day(2, 30)


def test_personal_date_fires_once_a_year():
    doc = {
        "id": "p1",
        "month": 2,
        "day": 29,
        "days_before": 0,
        "remind_at": "2027-02-28T08:00:00.000000Z",
        "owner": "anna",
        "title": "Birthday",
        "contact_id": "c1",
        "kind": "birthday",
    }
    assert personal_date_fire(doc, "2027-02-28T07:59:59.000000Z") == (None, [])
    changes, evs = personal_date_fire(doc, "2027-02-28T08:00:01.000000Z")
    assert changes["remind_at"] == "2028-02-29T08:00:00.000000Z"
    assert [e.type for e in evs] == ["contacts.reminder.due"]
    assert evs[0].subject == "p1.2027-02-28T08:00:00.000000Z"  # one notification per occurrence
    assert evs[0].data["owner"] == "anna"


def test_one_off_reminder_fires_once():
    doc = {"id": "r1", "state": "pending", "remind_at": "2026-01-01T09:00:00.000000Z", "owner": "a", "title": "Call"}
    changes, evs = reminder_fire(doc, "2026-01-01T09:00:00.000000Z")
    assert changes["state"] == "fired" and len(evs) == 1
    assert reminder_fire({**doc, **changes}, "2026-01-02T00:00:00.000000Z") == (None, [])


# ---- tiers ----------------------------------------------------------------------------------------
T = day.TierThresholds(currency="EUR", a_min=100_000, b_min=10_000, months=24)
NOW = at("2026-06-15T12:00:00")


def won(amount, when, currency="EUR"):
    return {"status": "won", "amount_minor": amount, "won_at": when + "T00:00:00.000000Z", "currency": currency}


def test_tiers_from_won_revenue_in_the_window():
    assert day.compute_tier([won(100_000, "2025-01-01")], T, NOW).tier == "A"
    assert day.compute_tier([won(50_000, "2025-01-01"), won(50_000, "2026-01-01")], T, NOW).tier == "A"
    assert day.compute_tier([won(10_000, "2025-01-01")], T, NOW).tier == "B"
    assert day.compute_tier([won(9_999, "2025-01-01")], T, NOW).tier == "C"
    # older than 24 months: not counted
    assert day.compute_tier([won(500_000, "2024-06-14")], T, NOW).tier is None
    assert day.compute_tier([won(500_000, "2024-06-16")], T, NOW).tier == "A"
    # another currency does not count
    assert day.compute_tier([won(500_000, "2026-01-01", "USD")], T, NOW).tier is None


def test_pipeline_is_the_tie_breaker():
    open_deal = {"status": "open", "amount_minor": 100_000, "probability": 50, "currency": "EUR"}
    r = day.compute_tier([open_deal], T, NOW)
    assert (r.tier, r.won_minor, r.pipeline_minor) == ("C", 0, 50_000)
    a = {"tier": "B", "tier_won_minor": 20_000, "tier_pipeline_minor": 0}
    b = {"tier": "B", "tier_won_minor": 20_000, "tier_pipeline_minor": 5}
    c = {"tier": "A", "tier_won_minor": 1, "tier_pipeline_minor": 0}
    assert sorted([a, b, c], key=day.tier_sort_key) == [c, b, a]


def test_the_window_timer_recomputes_when_a_win_leaves_it():
    r = day.compute_tier([won(100_000, "2024-07-01"), won(20_000, "2026-01-01")], T, NOW)
    assert r.tier == "A" and r.expires_at == "2026-07-01T00:00:00.000000Z"
    company = {
        "id": "c1",
        "version": 3,
        "name": "X",
        "kind": "client",
        "tier": "A",
        "tier_check_at": r.expires_at,
        "tier_wins": r.wins,
        "tier_pipeline_minor": 0,
        "tier_rule": {"currency": "EUR", "a_min": 100_000, "b_min": 10_000, "months": 24},
    }
    assert tier_window_fire(company, "2026-06-30T00:00:00.000000Z") == (None, [])
    changes, evs = tier_window_fire(company, "2026-07-01T00:00:01.000000Z")
    assert changes["tier"] == "B" and changes["tier_check_at"] == "2028-01-01T00:00:00.000000Z"
    assert evs[0].type == "contacts.company.updated" and evs[0].data["tier"] == "B"


# ---- my day ---------------------------------------------------------------------------------------
def test_my_day_splits_overdue_and_today():
    now = at("2026-06-15T12:00:00")
    acts = [
        {"id": "1", "status": "planned", "due_at": "2026-06-14T09:00:00.000000Z"},
        {"id": "2", "status": "planned", "start_at": "2026-06-15T09:00:00.000000Z"},
        {"id": "3", "status": "planned", "start_at": "2026-06-15T15:00:00.000000Z"},
        {"id": "4", "status": "planned", "due_at": "2026-06-16T00:00:00.000000Z"},
        {"id": "5", "status": "held", "due_at": "2026-06-14T09:00:00.000000Z"},
    ]
    overdue, today = day.split_day(acts, now)
    assert [a["id"] for a in overdue] == ["1", "2"]
    assert [a["id"] for a in today] == ["3"]


def test_deals_without_next_step_and_neglected_clients():
    deals = [{"id": "d1"}, {"id": "d2"}]
    assert day.deals_without_next_step(deals, {"d1"}) == [{"id": "d2"}]
    now = at("2026-06-15T12:00:00")
    companies = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    last = {"a": "2026-06-01T00:00:00.000000Z", "b": "2026-01-01T00:00:00.000000Z"}
    assert [c["id"] for c in day.neglected(companies, last, now, 30)] == ["b", "c"]


def test_activity_control_rows():
    acts = [
        {"owner": "a", "kind": "call", "status": "held"},
        {"owner": "a", "kind": "call", "status": "planned"},
        {"owner": "a", "kind": "call", "status": "cancelled"},
        {"owner": "a", "kind": "meeting", "status": "held"},
        {"owner": "b", "kind": "task", "status": "held"},
    ]
    leads = [
        {"owner": "a", "status": "new"},
        {"owner": "a", "status": "qualified"},
        {"owner": "b", "status": "working"},
    ]
    log = [
        {"owner": "a", "verb": "stage_changed"},
        {"owner": "a", "verb": "won", "amount_minor": 500, "currency": "EUR"},
        {"owner": "b", "verb": "won", "amount_minor": 7, "currency": "USD"},
    ]
    rows = {r.owner: r for r in day.activity_control(acts, leads, log, {"b": 2})}
    a, b = rows["a"], rows["b"]
    assert (a.calls_planned, a.calls_held, a.meetings_planned, a.meetings_held) == (2, 1, 1, 1)
    assert (a.leads_worked, a.deals_moved, a.deals_won, a.revenue_won) == (1, 1, 1, {"EUR": 500})
    assert (b.calls_planned, b.leads_worked, b.deals_won, b.revenue_won, b.neglected_accounts) == (
        0,
        1,
        1,
        {"USD": 7},
        2,
    )


def test_activity_checks():
    base = {"kind": "meeting", "company_id": "c"}
    with pytest.raises(InputError, match="start"):
        day.check_activity(base)
    with pytest.raises(InputError, match="end"):
        day.check_activity({**base, "start_at": "2026-01-02", "end_at": "2026-01-01"})
    with pytest.raises(InputError, match="link"):
        day.check_activity({"kind": "task", "due_at": "2026-01-01"})
    day.check_activity({"kind": "task", "due_at": "2026-01-01", "lead_id": "l"})


def test_activity_timeline_row_is_planned_then_held():
    a = {"id": "a1", "kind": "meeting", "status": "planned", "title": "Site visit", "owner": "anna", "version": 1}
    a["start_at"] = "2026-06-15T09:00:00.000000Z"
    row = day.activity_row(a)
    assert row["title"] == "Meeting (planned): Site visit" and row["by"] == "anna" and row["status"] == "planned"
    held = day.activity_row({**a, "status": "held", "version": 2, "outcome": "Agreed"})
    assert held["title"] == "Meeting (held): Site visit" and held["detail"] == "Agreed"
