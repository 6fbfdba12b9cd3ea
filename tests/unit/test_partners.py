"""The plain rules of partners as a channel (services/deals/partners.py, services/support/partner_care.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.common import duprules
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
        "phone_key": None,
        "registration_key": None,
        "vat_key": None,
        "block_key": "x",
        "block2_key": None,
    }
    # the shared match keys (services/common/matchkeys.py): phone in E.164, ids without punctuation
    k = R.client_keys(
        "Aurora Studio GmbH", phone="030 1234567", country="DE", registration="HRB 123/B", vat="de 123.456.789"
    )
    assert (k["phone_key"], k["registration_key"], k["vat_key"]) == ("+49301234567", "HRB123B", "DE123456789")
    assert k["name_key"] == "aurora studio" and (k["block_key"], k["block2_key"]) == ("aur", "stu")


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
        {"kind": "staff_deal", "matched_on": ["domain"], "rules": ["same domain"], "company_id": "c1",
         "deal_ids": ["d1"], "owner": "anna"},
        {"kind": "partner_registration", "matched_on": ["name"], "rules": ["same name"], "registration_id": "r1",
         "partner_id": "p1", "status": "approved"},
    ]  # fmt: skip
    assert R.conflicts(R.client_keys("Unheld"), staff, regs) == []
    assert R.keys_filter(R.client_keys("AS")) is None  # nothing to match on


def test_conflicts_use_the_duplicate_rules_of_the_clean_data_work():
    def reg(rid, name, **kw):
        return {"id": rid, "partner_id": "p1", "status": "under_review", **R.client_keys(name, **kw)}

    keys = R.client_keys(
        "Aurora Studio GmbH", phone="+47 22 33 44 55", registration="NO 912 345 678", vat="SE5560000001"
    )
    # legal form and punctuation ignored: the same name; one letter more: a similar name at the
    # duplicates' threshold (token-sort ratio >= 85), with its ratio in the evidence
    [same] = R.conflicts(keys, [], [reg("r1", "Aurora-Studio")])
    assert same["matched_on"] == ["name"] and same["rules"] == ["same name"]
    [similar] = R.conflicts(keys, [], [reg("r2", "Aurora Studios AS")])
    assert similar["matched_on"] == ["name"] and similar["rules"] == ["similar name (96%)"]
    assert duprules.name_ratio("aurora studio", "aurora studios") >= duprules.SIMILAR_NAME
    # word order does not matter; a different firm of the same block does not match
    assert R.conflicts(keys, [], [reg("r3", "Studio Aurora")])[0]["rules"] == ["same name"]
    assert R.conflicts(keys, [], [reg("r4", "Aurora Borealis Consulting")]) == []
    # the identifiers of the import and the duplicates: phone (E.164), registration and VAT number
    by_ids = R.conflicts(
        keys, [], [reg("r5", "Other", phone="22 33 44 55", country="NO", registration="NO-912.345.678")]
    )
    assert by_ids[0]["matched_on"] == ["phone", "registration"]
    assert by_ids[0]["rules"] == ["same phone", "same registration number"]
    assert R.conflicts(keys, [], [reg("r6", "Other", vat="se 556000-0001")])[0]["rules"] == ["same VAT number"]
    # the candidates of the fuzzy rule share a blocking key (the duplicates' key of the longest
    # word, or the one of the second-longest: one letter more may change the longest word)
    k1, k2 = R.client_keys("Aurora Studio GmbH"), R.client_keys("Aurora Studios AS")
    assert (k2["block_key"], k2["block2_key"]) == ("stu", "aur") and k2["block_key"] == duprules.block("aurora studios")
    assert {k1["block_key"], k1["block2_key"]} & {k2["block_key"], k2["block2_key"]}


def test_territory_and_agreement_dates():
    prog = {"regions": ["Vestland", "Rogaland"], "industries": ["Energy", "timber"]}
    assert R.outside_territory(prog, ["vestland"], None, "energy") is None  # case ignored
    assert R.outside_territory(prog, [None, "Bergen", "Vestland"], "NO", None) is None  # any place matches
    ev = R.outside_territory(prog, ["Troms"], None, "Retail")
    assert ev["kind"] == "outside_territory" and ev["matched_on"] == ["region", "industry"]
    assert ev["rules"] == [
        "outside territory: Troms not in Vestland, Rogaland",
        "outside territory: industry Retail not in Energy, timber",
    ]
    # a country says nothing against a territory of regions, and a region nothing against countries
    assert R.outside_territory(prog, [], "NO", None) is None
    nordics = {"regions": ["NO", "SE"]}
    assert R.outside_territory(nordics, ["Bavaria"], None, None) is None
    assert R.outside_territory(nordics, ["Vestland"], "no", None) is None
    assert R.outside_territory(nordics, ["Bavaria"], "DE", None)["rules"] == [
        "outside territory: Bavaria / DE not in NO, SE"
    ]
    assert R.outside_territory(prog, [], None, None) is None  # nothing known: not held against the partner
    assert R.outside_territory({"regions": [], "industries": []}, ["Troms"], "DE", "Retail") is None  # unrestricted
    assert R.outside_territory(None, ["Troms"], "DE", "Retail") is None
    agreement = {"agreement_start": "2026-01-01", "agreement_end": "2026-12-31"}
    R.check_agreement_in_force(agreement, "2026-01-01")
    R.check_agreement_in_force(agreement, "2026-12-31")
    R.check_agreement_in_force({}, "2030-01-01")
    for day in ("2025-12-31", "2027-01-01"):
        with pytest.raises(InputError) as e:
            R.check_agreement_in_force(agreement, day)
        assert e.value.field == ["input"]


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
