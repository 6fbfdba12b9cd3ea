"""The plain rules of partners as a channel (services/deals/partners.py, services/support/partner_care.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.common.errors import InputError
from services.deals import partners as R
from services.support import partner_care


def test_names_are_matched_without_case_accents_punctuation_or_legal_form():
    assert R.name_key("Nordfjord Hydro AS") == R.name_key("NORDFJORD  HYDRO") == "nordfjord hydro"
    assert R.name_key("Sørvik Kraftlag A/S") == R.name_key("sorvik kraftlag")
    assert R.name_key("Müller GmbH & Co. KG") == "muller"
    assert R.name_key("ООО Ромашка") == "ромашка"
    assert R.name_key("AS") is None and R.name_key("") is None and R.name_key(None) is None


def test_domains_come_from_sites_and_addresses_but_not_free_mail():
    assert R.domain_key("https://www.Nordfjord.no/about") == "nordfjord.no"
    assert R.domain_key("ola@nordfjord.no") == "nordfjord.no"
    assert R.domain_key("nordfjord.no:8080") == "nordfjord.no"
    assert R.domain_key("someone@gmail.com") is None and R.domain_key("localhost") is None
    assert R.client_keys("X", None, "Ola@Nordfjord.no") == {
        "name_key": "x",
        "domain_key": "nordfjord.no",
        "email_key": "ola@nordfjord.no",
    }


def test_conflicts_name_what_matched_and_whose_client_it_is():
    keys = R.client_keys("Nordfjord Hydro", "nordfjord.no", "per@nordfjord.no")
    staff = [
        {"company_id": "c1", "deal_ids": ["d1"], "owner": "anna", **R.client_keys(None, None, "kari@nordfjord.no")}
    ]
    regs = [
        {"id": "r1", "partner_id": "p1", "status": "approved", **R.client_keys("NORDFJORD HYDRO AS")},
        {"id": "r2", "partner_id": "p2", "status": "approved", **R.client_keys("Other")},
    ]
    ev = R.conflicts(keys, staff, regs)
    assert ev == [
        {"kind": "staff_deal", "matched_on": ["domain"], "company_id": "c1", "deal_ids": ["d1"], "owner": "anna"},
        {"kind": "partner_registration", "matched_on": ["name"], "registration_id": "r1", "partner_id": "p1",
         "status": "approved"},
    ]  # fmt: skip
    assert R.conflicts(R.client_keys("Unheld"), staff, regs) == []
    assert R.keys_filter(R.client_keys("AS")) is None  # nothing to match on


def test_registration_decisions_protection_and_expiry():
    doc = {"id": "r", "status": "under_review"}
    with pytest.raises(InputError) as e:
        R.decide(doc, False, None, "2026-05-01T10:00:00.000000Z", 90)
    assert e.value.field == ["input", "reason"]
    approved = R.decide(doc, True, None, "2026-05-01T10:00:00.000000Z", 90)
    assert approved["status"] == "approved" and approved["expires_at"] == "2026-07-30T10:00:00.000000Z"
    with pytest.raises(InputError):
        R.decide(approved, False, "late", "2026-05-02T10:00:00.000000Z", 90)
    assert R.expire(approved, "2026-07-30T09:59:59.000000Z") is None
    assert R.expire(approved, "2026-07-30T10:00:00.000000Z") == {
        "status": "expired",
        "expired_at": "2026-07-30T10:00:00.000000Z",
    }
    won = R.win(approved, "d1", "2026-06-01T00:00:00.000000Z")
    assert won["status"] == "won" and R.expire(won, "2027-01-01T00:00:00.000000Z") is None
    assert R.win({"status": "rejected"}, "d1", "x") is None


def test_programme_users_agreement_tier_history_and_discount_limit():
    users = R.check_users(
        [{"sub": "a", "portal_role": "Manager", "certified": True}, {"sub": "b", "portal_role": "viewer"}]
    )
    assert [u["portal_role"] for u in users] == ["manager", "viewer"]
    for bad in (
        [{"sub": "", "portal_role": "viewer"}],
        [{"sub": "a", "portal_role": "boss"}],
        [{"sub": "a", "portal_role": "viewer"}] * 2,
    ):
        with pytest.raises(InputError):
            R.check_users(bad)
    with pytest.raises(InputError):
        R.check_agreement("2027-01-01", "2026-01-01")
    assert R.tier_change("silver", "silver", "adm", "t", None) is None
    assert R.tier_change("silver", "gold", "adm", "t", "review") == {
        "from": "silver",
        "to": "gold",
        "by": "adm",
        "at": "t",
        "reason": "review",
    }
    R.check_discount(Decimal("10"), {"max_discount_pct": "10"})
    with pytest.raises(InputError):
        R.check_discount(Decimal("10.01"), {"max_discount_pct": "10"})
    with pytest.raises(InputError):
        R.check_discount(Decimal("1"), None)  # no tier: no discount


def test_periods_progress_and_tier_standing():
    assert R.months_of("2026-Q2") == ["2026-04", "2026-05", "2026-06"] and len(R.months_of("2026")) == 12
    with pytest.raises(InputError):
        R.months_of("2026-13")
    p = R.progress({"revenue_minor": 10_000_000, "deals": 4, "certified_staff": 3}, 5_000_000, 1, 200, 1)
    assert (p["revenue_pct"], p["deals_pct"], p["certified_pct"]) == (Decimal("50.0"), Decimal("25.0"), Decimal("33.3"))
    assert R.progress({}, 1, 1, 0, 0)["revenue_pct"] is None
    defs = [
        {"id": "registered", "rank": 0},
        {"id": "silver", "rank": 1, "min_revenue_minor": 100, "min_deals": 1},
        {"id": "gold", "rank": 2, "min_revenue_minor": 1000, "min_deals": 3, "min_certified": 2},
    ]
    assert R.tier_standing("registered", defs, 500, 2, 0) == (R.TierStanding.ABOVE, "silver")
    assert R.tier_standing("gold", defs, 500, 2, 0) == (R.TierStanding.BELOW, "silver")
    assert R.tier_standing("silver", defs, 500, 2, 0) == (R.TierStanding.WITHIN, "silver")


def test_report_and_csv():
    deals = [
        {"status": "open", "amount_minor": 100, "currency": "EUR"},
        {"status": "won", "amount_minor": 500, "won_month": "2026-05", "currency": "EUR"},
        {"status": "won", "amount_minor": 900, "won_month": "2025-01", "currency": "EUR"},
        {"status": "lost", "closed_at": "2026-04-02T00:00:00Z", "currency": "EUR"},
    ]
    r = R.report(deals, [{"status": "approved"}, {"status": "approved"}, {"status": "expired"}], R.months_of("2026-Q2"))
    assert (r["open_deals"], r["open_minor"], r["won_deals"], r["lost_deals"]) == (1, 100, 1, 1)
    assert r["win_rate"] == Decimal("50.0") and r["revenue_by_month"]["2026-05"] == 500
    assert r["registrations"] == {"approved": 2, "expired": 1}
    text = R.to_csv(["a", "b"], [["=HYPERLINK(1)", "-12.5"], ['x,"y"', None]])
    assert text == 'a,b\r\n\'=HYPERLINK(1),-12.5\r\n"x,""y""",\r\n'


def test_partner_breach_escalates_once_and_care_figures():
    t = {"id": "t1", "partner_id": "p", "partner_care": True, "subject": "Leak", "account_owner": "anna"}
    changes, evs = partner_care.breach_escalation(t, "first_response.breached", "2026-05-01T10:00:00Z")
    assert changes == {"escalated_to_us": {"alarm": "first_response.breached", "at": "2026-05-01T10:00:00Z"}}
    assert [e.type for e in evs] == ["support.partner.escalated", "support.notification.requested"]
    assert partner_care.breach_escalation({**t, **changes}, "resolution.breached", "x") == ({}, [])
    assert partner_care.breach_escalation({**t, "partner_care": False}, "resolution.breached", "x") == ({}, [])
    rows = partner_care.care_rows(
        [
            {"id": "t1", "partner_id": "p", "created_at": "2026-05-01T10:00:00Z", "first_response_at": "2026-05-01T10:30:00Z",
             "status": "open", "sla_fired": []},
            {"id": "t2", "partner_id": "p", "created_at": "2026-05-01T10:00:00Z", "resolved_at": "2026-05-01T12:00:00Z",
             "status": "resolved", "sla_fired": ["first_response.breached"], "escalated_to_us": {"alarm": "x"}},
        ],
        {"t2": [4, 5]},
    )  # fmt: skip
    assert rows == [
        {"partner_id": "p", "tickets": 2, "open": 1, "first_response_p50": 30.0, "resolution_p50": 120.0,
         "breaches": 1, "escalated": 1, "responses": 2, "satisfaction": 4.5}
    ]  # fmt: skip
