"""Contacts' plain rules and timeline titles, without servers."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from services.common.envelope import Envelope
from services.common.errors import ErrorCode, InputError, PublicError
from services.common.registration import partner_registration
from services.contacts import domain, events, timeline
from services.contacts.domain import CompanyKind, InteractionKind, Lifecycle


def company_input(**kw):
    base = dict(
        name="Acme", kind=CompanyKind.PROSPECT, website=None, industry=None, city=None, country=None, owner=None
    )
    return SimpleNamespace(**{**base, **kw})


def contact_input(**kw):
    base = dict(
        first_name="Ada",
        last_name="Lovelace",
        company_id=None,
        email=None,
        phone=None,
        job_title=None,
        lifecycle=Lifecycle.LEAD,
        owner=None,
    )
    return SimpleNamespace(**{**base, **kw})


def refused(fn, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as e:
        fn(*args, **kwargs)
    return e.value


# ---- field validation -----------------------------------------------------------------------------
def test_company_fields_are_cleaned_and_keyed():
    out = domain.company_fields(company_input(name="  Acme   Corp ", city=" Lyon ", website=""), creating=True)
    assert out == {"name": "Acme Corp", "name_key": "acme corp", "kind": "prospect", "city": "Lyon", "website": None}


def test_a_company_update_sets_only_what_it_names():
    inp = company_input(name=None, kind=None, owner="u2")
    assert domain.company_fields(inp, creating=False) == {"owner": "u2"}


@pytest.mark.parametrize(
    ("name", "message"),
    [(None, "name is required"), ("   ", "name must not be empty"), ("x" * 201, "name is longer than 200 characters")],
)
def test_a_company_needs_a_name(name, message):
    e = refused(domain.company_fields, company_input(name=name), creating=True)
    assert (e.code, e.message, e.field) == (ErrorCode.INVALID, message, ["input", "name"])


def test_a_company_update_refuses_an_empty_name():
    e = refused(domain.company_fields, company_input(name=""), creating=False)
    assert (e.message, e.field) == ("name must not be empty", ["input", "name"])


def test_a_too_long_optional_field_is_refused():
    e = refused(domain.company_fields, company_input(industry="x" * 201), creating=True)
    assert (e.message, e.field) == ("industry is longer than 200 characters", ["input", "industry"])


def test_contact_fields_are_cleaned_and_keyed():
    inp = contact_input(first_name=" Ada ", email=" Ada@Example.ORG ", company_id="c1", phone="", job_title="CTO")
    assert domain.contact_fields(inp, creating=True) == {
        "first_name": "Ada",
        "first_name_key": "ada",
        "last_name": "Lovelace",
        "last_name_key": "lovelace",
        "email": "Ada@example.org",  # the domain case-folded (email-validator normalisation)
        "email_key": "ada@example.org",
        "phone": None,
        "job_title": "CTO",
        "company_id": "c1",
        "lifecycle": "lead",
    }


def test_a_contact_without_email_has_no_email_key():
    out = domain.contact_fields(contact_input(email="  "), creating=True)
    assert out["email"] is None and out["email_key"] is None


def test_a_contact_update_sets_only_what_it_names():
    inp = contact_input(first_name=None, last_name=None, lifecycle=Lifecycle.CLIENT)
    assert domain.contact_fields(inp, creating=False) == {"lifecycle": "client"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", None, "first_name is required"),
        ("last_name", "", "last_name must not be empty"),
        ("last_name", "y" * 201, "last_name is longer than 200 characters"),
    ],
)
def test_a_contact_needs_a_name(field, value, message):
    e = refused(domain.contact_fields, contact_input(**{field: value}), creating=True)
    assert (e.code, e.message, e.field) == (ErrorCode.INVALID, message, ["input", field])


@pytest.mark.parametrize("email", ["ada", "ada@example", "ada lovelace@example.org", "@example.org"])
def test_a_bad_email_is_refused(email):
    e = refused(domain.contact_fields, contact_input(email=email), creating=True)
    assert (e.code, e.field) == (ErrorCode.INVALID, ["input", "email"])
    assert e.message.startswith(f"{email!r} is not an e-mail address: ")


def test_a_too_long_email_is_refused():
    e = refused(domain.email, "a" * 250 + "@b.org")
    assert (e.message, e.field) == ("email is longer than 254 characters", ["input", "email"])


def test_a_logged_interaction_is_manual_and_about_someone():
    inp = SimpleNamespace(kind=InteractionKind.CALL, title=" Intro  call ", company_id="c1", contact_id=None)
    assert domain.interaction_fields(inp) == {
        "kind": "call",
        "title": "Intro call",
        "company_id": "c1",
        "contact_id": None,
    }
    e = refused(
        domain.interaction_fields,
        SimpleNamespace(kind=InteractionKind.DEAL, title="x", company_id="c1", contact_id=None),
    )
    assert (e.code, e.message, e.field) == (
        ErrorCode.INVALID,
        "DEAL interactions are recorded by the system",
        ["input", "kind"],
    )
    e = refused(
        domain.interaction_fields,
        SimpleNamespace(kind=InteractionKind.NOTE, title="x", company_id=None, contact_id=None),
    )
    assert (e.message, e.field) == ("give a companyId or a contactId", ["input", "companyId"])


# ---- partner registration -------------------------------------------------------------------------
def register(**kw):
    return partner_registration(
        "p1", "partner-user", **{"requested_owner": None, "account_owner": None, "partner_manager": None, **kw}
    )


def test_a_partner_cannot_choose_the_owner():
    e = refused(register, requested_owner="someone", account_owner="ao", partner_manager="pm")
    assert (e.code, e.field) == (ErrorCode.NOT_ALLOWED, ["input", "owner"])


def test_the_account_owner_comes_first_then_the_partner_manager_then_the_partner_user():
    assert register(account_owner="ao", partner_manager="pm") == {"partner_id": "p1", "owner": "ao"}
    assert register(partner_manager="pm") == {"partner_id": "p1", "owner": "pm"}
    assert register() == {"partner_id": "p1", "owner": "partner-user"}


# ---- a won deal -----------------------------------------------------------------------------------
def test_a_won_deal_makes_a_prospect_a_client():
    assert domain.company_won({"kind": "prospect"}) == {"kind": "client"}
    assert domain.company_won({"kind": "client"}) is None
    assert domain.company_won({"kind": "partner"}) is None


@pytest.mark.parametrize("lifecycle", ["lead", "prospect"])
def test_a_won_deal_makes_its_contact_a_client(lifecycle):
    assert domain.contact_won({"lifecycle": lifecycle}) == {"lifecycle": "client"}


def test_a_client_contact_stays_a_client():
    assert domain.contact_won({"lifecycle": "client"}) is None


# ---- timeline titles ------------------------------------------------------------------------------
def row(type: str, data: dict, subject: str = "s1") -> dict | None:
    return timeline.interaction_for(Envelope(type, subject, data))


def test_company_created():
    assert row("contacts.company.created", {"name": "Acme"}, "c1") == dict(
        kind="record", title="Company created: Acme", company_id="c1", ref_type="Company", ref_id="c1"
    )


def test_contact_created():
    assert row("contacts.contact.created", {"name": "Ada Lovelace", "company_id": "c1"}, "p1") == dict(
        kind="record",
        title="Contact added: Ada Lovelace",
        company_id="c1",
        contact_id="p1",
        ref_type="Contact",
        ref_id="p1",
    )


def test_lifecycle_changed():
    r = row("contacts.contact.lifecycle_changed", {"name": "Ada Lovelace", "from": "lead", "lifecycle": "client"}, "p1")
    assert r == dict(
        kind="record",
        title="Ada Lovelace: lead → client",
        company_id=None,
        contact_id="p1",
        ref_type="Contact",
        ref_id="p1",
    )


DEAL = {"title": "Big one", "company_id": "c1", "contact_id": "p1"}
EUR = {"amount_minor": 25_000_000, "currency": "EUR"}


@pytest.mark.parametrize(
    ("verb", "data", "title"),
    [
        ("created", {**DEAL, **EUR}, "Deal opened: Big one (250,000.00 EUR)"),
        ("created", DEAL, "Deal opened: Big one"),
        ("stage_changed", {**DEAL, "stage_name": "Proposal"}, "Deal Big one moved to Proposal"),
        ("won", {**DEAL, **EUR}, "Deal won: Big one (250,000.00 EUR)"),
        ("won", DEAL, "Deal won: Big one"),
        ("won", {**DEAL, "amount_minor": 5000, "currency": "JPY"}, "Deal won: Big one (5,000 JPY)"),
        ("lost", {**DEAL, "lost_reason": "price"}, "Deal lost: Big one — price"),
        ("lost", DEAL, "Deal lost: Big one"),
    ],
)
def test_deal_titles(verb, data, title):
    assert row(f"deals.deal.{verb}", data, "d1") == dict(
        kind="deal", title=title, company_id="c1", contact_id="p1", ref_type="Deal", ref_id="d1", by=None
    )


def test_other_deal_events_are_not_on_the_timeline():
    assert row("deals.deal.updated", DEAL) is None


def test_campaign_response():
    data = {
        "campaign_name": "Spring",
        "campaign_id": "k1",
        "response": "interested",
        "company_id": "c1",
        "contact_id": "p1",
    }
    assert row("marketing.member.responded", data, "m1") == dict(
        kind="campaign",
        title="Responded to campaign Spring",
        detail="interested",
        company_id="c1",
        contact_id="p1",
        ref_type="Campaign",
        ref_id="k1",
    )


def test_ticket_opened_and_resolved():
    data = {"subject": "Printer on fire", "priority": "high", "company_id": "c1", "contact_id": None}
    assert row("support.ticket.opened", data, "t1") == dict(
        kind="ticket",
        title="Ticket opened: Printer on fire [high]",
        detail=None,
        company_id="c1",
        contact_id=None,
        ref_type="Ticket",
        ref_id="t1",
    )
    r = row("support.ticket.resolved", {**data, "resolution": "extinguished"}, "t1")
    assert (r["title"], r["detail"]) == ("Ticket resolved: Printer on fire [high]", "extinguished")


@pytest.mark.parametrize("type", ["marketing.campaign.created", "support.ticket.commented", "audit.deals.updated"])
def test_unknown_events_are_not_on_the_timeline(type):
    assert row(type, {"name": "x"}) is None


def test_timeline_kinds_are_interaction_kinds():
    kinds = {
        row("contacts.company.created", {"name": "x"})["kind"],
        row("deals.deal.won", DEAL)["kind"],
        row("marketing.member.responded", {})["kind"],
        row("support.ticket.opened", {})["kind"],
    }
    assert kinds <= {k.value for k in InteractionKind} and not kinds & {k.value for k in domain.MANUAL_KINDS}


def test_timeline_filter():
    assert timeline.timeline_filter("company_id", "c1", None) == {"company_id": "c1"}
    since = dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)
    flt = SimpleNamespace(kinds=[InteractionKind.CALL, InteractionKind.DEAL], since=since)
    assert timeline.timeline_filter("contact_id", "p1", flt) == {
        "$and": [
            {"contact_id": "p1"},
            {"kind": {"$in": ["call", "deal"]}},
            {"occurred_at": {"$gte": "2026-05-01T09:00:00.000000Z"}},
        ]
    }
    with pytest.raises(PublicError):
        timeline.timeline_filter("contact_id", "p1", SimpleNamespace(kinds=None, since=since.replace(tzinfo=None)))


def test_the_contact_snapshot_carries_custom_values_and_the_lifecycle_event_does_not():
    doc = {"id": "p1", "version": 3, "first_name": "Ada", "last_name": "L", "lifecycle": "client"}
    assert events.contact_snapshot(doc)["custom"] == {}  # none: an empty map, not a missing key
    doc["custom"] = {"budget": 5000, "tags": {"b2b": True}}
    assert events.contact_updated(doc).data["custom"] == {"budget": 5000, "tags": {"b2b": True}}
    (changed,) = events.lifecycle_changed({**doc, "lifecycle": "lead"}, doc)
    assert "custom" not in changed.data and changed.data["from"] == "lead"
