"""Deals' plain rules (services/deals/domain.py): no server, no GraphQL."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace as Input

import pytest

from services.common.errors import ErrorCode, InputError
from services.deals import domain
from services.deals.domain import DealStatus, HealthLevel, StageKind

NOW = "2026-05-01T09:00:00.000000Z"
PIPELINE = domain.default_pipeline()


def deal(**kw) -> dict:
    return {"id": "d1", "status": "open", "stage_id": "qualified", "version": 3, **kw}


def stage(stage_id: str) -> dict:
    found = domain.find_stage(PIPELINE, stage_id)
    assert found is not None
    return found


def err(excinfo) -> tuple[ErrorCode, str, list[str] | None]:
    e = excinfo.value
    return e.code, e.message, e.field


# ---- pipelines and stages ---------------------------------------------------------------------
def test_default_pipeline():
    assert PIPELINE["id"] == domain.DEFAULT_PIPELINE
    assert [s["id"] for s in PIPELINE["stages"]][:2] == ["qualified", "brief"]
    assert {s["kind"] for s in PIPELINE["stages"]} == {k.value for k in StageKind}


def test_stage_kinds_are_deal_statuses():
    assert [(k.name, k.value) for k in StageKind] == [(s.name, s.value) for s in DealStatus]


def test_find_stage():
    assert domain.find_stage(PIPELINE, "brief")["probability"] == 20
    assert domain.find_stage(PIPELINE, "nope") is None
    assert domain.find_stage(None, "brief") is None


def test_starting_stage_defaults_to_first_and_must_be_open():
    assert domain.starting_stage(PIPELINE, None)["id"] == "qualified"
    assert domain.starting_stage(PIPELINE, "concept")["id"] == "concept"
    for bad in ("won", "lost", "nope"):
        with pytest.raises(InputError) as e:
            domain.starting_stage(PIPELINE, bad)
        assert err(e) == (ErrorCode.INVALID, "a new deal starts in an open stage of its pipeline", ["input", "stageId"])


def test_target_stage_must_be_in_the_pipeline():
    assert domain.target_stage(PIPELINE, "won")["kind"] == "won"
    for pipeline in (PIPELINE, None):
        with pytest.raises(InputError) as e:
            domain.target_stage(pipeline, "nope")
        assert err(e) == (ErrorCode.UNKNOWN_REFERENCE, "stage nope is not in the deal's pipeline", ["input", "stageId"])


def test_move_to_open_stage():
    old = deal()
    new = domain.move_to_stage(old, stage("brief"), lost_reason="ignored", now=NOW)
    assert new == {**old, "stage_id": "brief", "status": "open"}
    assert old["stage_id"] == "qualified"  # not changed in place


def test_move_to_won_records_when():
    new = domain.move_to_stage(deal(), stage("won"), lost_reason=None, now=NOW)
    assert new["status"] == DealStatus.WON.value and new["won_at"] == NOW and "lost_reason" not in new


def test_move_to_lost_records_why():
    new = domain.move_to_stage(deal(), stage("lost"), lost_reason="budget", now=NOW)
    assert new["status"] == "lost" and new["lost_reason"] == "budget" and "won_at" not in new


@pytest.mark.parametrize("status", ["won", "lost"])
def test_a_closed_deal_does_not_move(status):
    with pytest.raises(InputError) as e:
        domain.move_to_stage(deal(status=status), stage("brief"), lost_reason=None, now=NOW)
    assert err(e) == (ErrorCode.INVALID, f"the deal is {status} already", ["input", "id"])


def test_same_stage_is_refused():
    with pytest.raises(InputError) as e:
        domain.move_to_stage(deal(stage_id="brief"), stage("brief"), lost_reason=None, now=NOW)
    assert err(e) == (ErrorCode.INVALID, "the deal is in this stage already", ["input", "stageId"])


def test_deal_snapshot_is_the_published_payload():
    from services.deals.events import deal_snapshot  # the contract of `deals.deal.*` (docs/events.md)

    d = {**deal(status="won", stage_id="won", won_at=NOW), "title": "T", "company_id": "c1", "pipeline_id": "p"}
    snap = deal_snapshot({**d, "expected_close_date": "2026-09-01", "created_at": NOW, "_outbox": []}, stage("won"))
    assert snap == {
        **{k: None for k in ("contact_id", "partner_id", "amount_minor", "currency", "owner", "lost_reason")},
        **d,
        "stage_name": "Contract signed",
        "probability": 100,
        # the forecast fields (issue #11): override, category, close date, accepted estimate, effective probability
        **{k: None for k in ("probability_override", "forecast_category", "accepted_estimate_id")},
        "expected_close_date": "2026-09-01",
        "effective_probability": None,
    }


# ---- amounts and the forecast -----------------------------------------------------------------
def test_weighted_amount():
    assert domain.weighted_amount(100_000, stage("estimate")) == 50_000
    assert domain.weighted_amount(999, stage("qualified")) == 99  # rounded down
    assert domain.weighted_amount(None, stage("estimate")) is None
    assert domain.weighted_amount(100_000, None) is None


def test_forecast_lines():
    rows = [
        {"key": {"stage_id": "estimate"}, "count": 2, "sum": {"amount_minor": 300_001}},
        {"key": {"stage_id": "qualified"}, "count": 1, "sum": {"amount_minor": 100_000.0}},
        {"key": {"stage_id": "gone"}, "count": 5, "sum": {"amount_minor": 1}},
    ]
    f = domain.forecast(PIPELINE["stages"], rows)
    assert [
        (line.stage["id"], line.position, line.deal_count, line.amount_minor, line.weighted_minor) for line in f.lines
    ] == [("qualified", 0, 1, 100_000, 10_000), ("estimate", 3, 2, 300_001, 150_000)]
    assert isinstance(f.lines[0].amount_minor, int)
    assert (f.total_minor, f.weighted_minor) == (400_001, 160_000)


def test_empty_forecast():
    f = domain.forecast(PIPELINE["stages"], [])
    assert (f.lines, f.total_minor, f.weighted_minor) == ((), 0, 0)


# ---- account health ---------------------------------------------------------------------------
def health_doc(*tickets: tuple[str, str]) -> dict:
    return {"tickets": {f"t{i}": {"priority": p, "status": s, "at": NOW} for i, (p, s) in enumerate(tickets)}}


def test_health_without_tickets():
    for doc in (None, {}, health_doc()):
        assert domain.account_health(doc) == domain.Health(HealthLevel.OK, 0, 0, ())


def test_health_one_critical():
    h = domain.account_health(health_doc(("critical", "open"), ("normal", "open")))
    assert h == domain.Health(HealthLevel.CRITICAL, 2, 1, ("1 open critical ticket",))


def test_health_two_critical():
    h = domain.account_health(health_doc(("critical", "open"), ("critical", "open"), ("high", "open")))
    assert h.level is HealthLevel.CRITICAL and h.open_critical_tickets == 2
    assert h.warnings == ("2 open critical tickets", "1 open high-priority ticket")


def test_health_high_priority():
    h = domain.account_health(health_doc(("high", "open")))
    assert h == domain.Health(HealthLevel.ATTENTION, 1, 0, ("1 open high-priority ticket",))


def test_health_three_normal_open():
    assert domain.account_health(health_doc(("normal", "open"), ("normal", "open"))).level is HealthLevel.OK
    h = domain.account_health(health_doc(("normal", "open"), ("low", "open"), ("normal", "open")))
    assert h == domain.Health(HealthLevel.ATTENTION, 3, 0, ("3 open tickets",))


def test_health_ignores_resolved():
    h = domain.account_health(health_doc(("critical", "resolved"), ("high", "resolved"), ("normal", "open")))
    assert h == domain.Health(HealthLevel.OK, 1, 0, ())


# ---- the ticket-event fold --------------------------------------------------------------------
def test_apply_ticket_records_status_and_priority():
    doc = domain.apply_ticket(None, "t1", {"status": "new", "priority": "critical"}, NOW)
    assert doc == {"tickets": {"t1": {"priority": "critical", "status": "open", "at": NOW}}}
    later = "2026-05-02T09:00:00.000000Z"
    for closed in ("resolved", "closed"):
        doc2 = domain.apply_ticket(doc, "t1", {"status": closed, "priority": "critical"}, later)
        assert doc2["tickets"]["t1"] == {"priority": "critical", "status": "resolved", "at": later}
    assert doc["tickets"]["t1"]["status"] == "open"  # not changed in place
    assert domain.account_health(doc2).level is HealthLevel.OK


def test_apply_ticket_keeps_other_tickets():
    doc = domain.apply_ticket(health_doc(("high", "open")), "t9", {"status": "open", "priority": "low"}, NOW)
    assert set(doc["tickets"]) == {"t0", "t9"}


def test_late_older_ticket_event_is_ignored():
    later = "2026-05-02T09:00:00.000000Z"
    doc = domain.apply_ticket(None, "t1", {"status": "resolved", "priority": "high"}, later)
    assert domain.apply_ticket(doc, "t1", {"status": "open", "priority": "high"}, NOW) is None


# ---- the catalogue ----------------------------------------------------------------------------
def test_product_fields_on_create():
    inp = Input(
        sku=" fl-oak ", name="  Oak   floor ", list_price=Decimal("89.90"), currency="eur", description="", unit="m²"
    )
    out = domain.product_fields(inp, creating=True)
    assert out == {
        "sku": "FL-OAK",
        "name": "Oak floor",
        "description": None,
        "unit": "m²",
        "price_minor": 8990,
        "currency": "EUR",
    }


def test_product_fields_on_update_only_what_is_given():
    assert domain.product_fields(Input(id="p1", expected_version=1), creating=False) == {}
    assert domain.product_fields(Input(name="New", active=False, currency="USD"), creating=False) == {
        "name": "New",
        "active": False,
    }
    assert domain.product_fields(Input(list_price=Decimal("1000"), currency="JPY"), creating=False) == {
        "price_minor": 1000,
        "currency": "JPY",
    }


@pytest.mark.parametrize(
    "inp, creating, code, field",
    [
        ({"sku": "", "name": "x", "list_price": Decimal(1), "currency": "EUR"}, True, ErrorCode.INVALID, "sku"),
        ({"sku": "x" * 65, "name": "x", "list_price": Decimal(1), "currency": "EUR"}, True, ErrorCode.INVALID, "sku"),
        ({"sku": "A", "name": " ", "list_price": Decimal(1), "currency": "EUR"}, True, ErrorCode.INVALID, "name"),
        ({"name": ""}, False, ErrorCode.INVALID, "name"),
        ({"unit": "u" * 33}, False, ErrorCode.INVALID, "unit"),
        ({"list_price": Decimal("-1"), "currency": "EUR"}, False, ErrorCode.INVALID, "listPrice"),
        ({"list_price": Decimal("1.001"), "currency": "EUR"}, False, ErrorCode.INVALID, "listPrice"),
        ({"list_price": Decimal("1"), "currency": "euro"}, False, ErrorCode.INVALID, "currency"),
    ],
)
def test_product_fields_refused(inp, creating, code, field):
    with pytest.raises(InputError) as e:
        domain.product_fields(Input(**inp), creating=creating)
    assert e.value.code is code and e.value.field == ["input", field]
