"""Marketing's plain rules (campaign fields, members, responses, attribution split, ROI), without servers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.common.errors import ErrorCode, InputError
from services.marketing import attribution, calls, domain


def campaign(**kw):
    args = dict(
        name="  Spring   mailing ",
        channel=domain.Channel.EMAIL,
        currency="eur",
        budget=Decimal("1000"),
        cost=None,
        starts_on=dt.date(2026, 3, 1),
        ends_on=dt.date(2026, 3, 31),
    )
    return domain.new_campaign(**{**args, **kw})


def test_a_campaign_is_validated_and_stored_in_minor_units():
    assert campaign() == {
        "name": "Spring mailing",
        "channel": "email",
        "currency": "EUR",
        "budget_minor": 100000,
        "cost_minor": 0,
        "starts_on": "2026-03-01",
        "ends_on": "2026-03-31",
    }
    assert campaign(currency="JPY", budget=Decimal("5000"), cost=Decimal("120"))["budget_minor"] == 5000


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"name": "  "}, "name"),
        ({"currency": "euro"}, "currency"),
        ({"currency": "ÄÖÜ"}, "currency"),
        ({"budget": Decimal("-1")}, "budget"),
        ({"budget": Decimal("1.001")}, "budget"),
        ({"cost": Decimal("NaN")}, "cost"),
        ({"ends_on": dt.date(2026, 2, 1)}, "endsOn"),
    ],
)
def test_bad_campaign_fields_are_refused(kw, field):
    with pytest.raises(InputError) as e:
        campaign(**kw)
    assert e.value.code is ErrorCode.INVALID and e.value.field == ["input", field]


def test_members_are_distinct_and_bounded():
    assert domain.member_ids(["a", "b", "a"]) == ["a", "b"]
    with pytest.raises(InputError):
        domain.member_ids([str(i) for i in range(domain.MAX_MEMBERS_PER_CALL + 1)])


def test_a_targeted_member_is_keyed_by_campaign_and_contact():
    assert domain.targeted("c", {"id": "k", "company_id": "co", "name": "Mats"}) == {
        "id": "c:k",
        "campaign_id": "c",
        "contact_id": "k",
        "company_id": "co",
        "status": "targeted",
    }


def test_a_contact_responds_once():
    contact = {"id": "k", "company_id": "co"}
    m = domain.responded(None, campaign_id="c", contact=contact, response="yes", at="2026-01-01")
    assert m == {
        "campaign_id": "c",
        "contact_id": "k",
        "company_id": "co",
        "status": "responded",
        "responded_at": "2026-01-01",
        "response": "yes",
    }
    targeted = {"id": "c:k", "status": "targeted"}
    assert domain.responded(targeted, campaign_id="c", contact=contact, response=None, at="t")["id"] == "c:k"
    with pytest.raises(InputError) as e:
        domain.responded(m, campaign_id="c", contact=contact, response="again", at="2026-01-02")
    assert e.value.code is ErrorCode.DUPLICATE
    with pytest.raises(InputError):
        domain.check_response_time("2027-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z")


@pytest.mark.parametrize("amount, n", [(100, 1), (100, 3), (1, 2), (0, 2), (10_000_000_000_01, 7)])
def test_the_split_adds_up_to_the_amount(amount, n):
    ids = [f"c{i}" for i in range(n)]
    shares = attribution.split_equally(amount, ids)
    assert [c for c, _ in shares] == ids
    assert sum(s for _, s in shares) == amount
    assert max(s for _, s in shares) - min(s for _, s in shares) <= amount % n if n > 1 else True
    assert shares[0][1] == amount // n + amount % n  # the remainder goes to the earliest response


def test_no_campaign_no_split():
    assert attribution.split_equally(100, []) == []


def test_credited_campaigns_are_distinct_earliest_first():
    rows = [{"campaign_id": "b"}, {"campaign_id": "a"}, {"campaign_id": "b"}]
    assert attribution.credited_campaigns(rows) == ["b", "a"]


def test_responders_are_the_contact_else_the_company():
    assert attribution.responders({"contact_id": "k", "company_id": "co"}) == ("contact_id", "k")
    assert attribution.responders({"contact_id": None, "company_id": "co"}) == ("company_id", "co")
    assert attribution.responders({}) is None


def test_roi():
    assert attribution.roi(300, 100) == 2.0
    assert attribution.roi(0, 100) == -1.0
    assert attribution.roi(100, 0) is None
    assert attribution.roi(1, 3) == -0.6667


def test_only_a_withdrawn_phone_consent_keeps_a_contact_off_call_lists():
    assert calls.do_not_call({"status": "withdrawn"})
    assert not calls.do_not_call(None)
    assert not calls.do_not_call({"status": "pending"})
    assert not calls.do_not_call({"status": "granted"})
