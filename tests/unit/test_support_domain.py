"""Support's plain rules, without servers."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode, InputError
from services.support import domain


def test_a_customer_bound_to_a_contact_files_as_that_contact():
    assert domain.ticket_contact(None, own_contact="me") == "me"
    assert domain.ticket_contact("me", own_contact="me") == "me"
    with pytest.raises(InputError) as e:
        domain.ticket_contact("colleague", own_contact="me")
    assert e.value.code is ErrorCode.UNKNOWN_REFERENCE
    assert e.value.message == "contact colleague does not exist"  # as if the colleague did not exist


def test_staff_and_unbound_customers_name_any_contact():
    assert domain.ticket_contact("someone", own_contact=None) == "someone"
    assert domain.ticket_contact(None, own_contact=None) is None


@pytest.mark.parametrize("status", domain.OPEN_STATUSES)
def test_an_open_ticket_is_resolved(status):
    t = domain.resolved({"id": "t", "status": status}, "fixed", "2026-01-01T00:00:00.000000Z")
    assert t == {
        "id": "t",
        "status": "resolved",
        "resolution": "fixed",
        "resolved_at": "2026-01-01T00:00:00.000000Z",
        "pauses": [] if status == "waiting" else [{"start": "2026-01-01T00:00:00.000000Z", "end": None}],
    }


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_a_closed_ticket_is_not_resolved_again(status):
    with pytest.raises(InputError) as e:
        domain.resolved({"id": "t", "status": status}, "again", "now")
    assert (e.value.code, e.value.field) == (ErrorCode.INVALID, ["input", "id"])
    assert status in e.value.message


def test_only_staff_write_internal_notes():
    ticket = {"id": "t", "company_id": "co", "contact_id": "k"}
    note = domain.comment("c1", ticket, "call back", internal=True, author="ann", role="support", by_staff=True)
    assert note == {
        "id": "c1",
        "ticket_id": "t",
        "company_id": "co",
        "contact_id": "k",
        "partner_id": None,
        "body": "call back",
        "internal": True,
        "author": "ann",
        "author_role": "support",
    }
    public = domain.comment("c2", ticket, "thanks", internal=False, author="mats", role="customer", by_staff=False)
    assert public["internal"] is False and public["author_role"] == "customer"
    with pytest.raises(InputError) as e:
        domain.comment("c3", ticket, "psst", internal=True, author="mats", role="customer", by_staff=False)
    assert e.value.code is ErrorCode.NOT_ALLOWED


def test_statuses_cover_the_enum():
    assert set(domain.OPEN_STATUSES) < {s.value for s in domain.TicketStatus}


# ---- policies, assignment, knowledge base, reports ------------------------------------------------
def _policy(id, created, *, tier=None, company=None, priorities=("normal",), active=True):
    targets = {p: {"first_response_minutes": 60, "resolution_minutes": 480} for p in priorities}
    return {"id": id, "created_at": created, "tier": tier, "company_id": company, "targets": targets, "active": active}


def test_the_clients_contract_wins_over_its_tier_and_the_default():
    policies = [
        _policy("default", "1"),
        _policy("tier-a", "2", tier="A"),
        _policy("acme", "3", company="acme"),
        _policy("old-default", "0", active=False),
    ]
    assert domain.pick_policy(policies, company_id="acme", tier="A", priority="normal")["id"] == "acme"
    assert domain.pick_policy(policies, company_id="other", tier="A", priority="normal")["id"] == "tier-a"
    assert domain.pick_policy(policies, company_id="other", tier="B", priority="normal")["id"] == "default"
    assert domain.pick_policy(policies, company_id="other", tier=None, priority="critical") is None


def test_targets_are_validated():
    assert domain.targets_of([("high", 30, 240)], ["input", "targets"]) == {
        "high": {"first_response_minutes": 30, "resolution_minutes": 240}
    }
    for rows in ([], [("high", 30, 20)], [("high", 0, 20)], [("high", 30, 240), ("high", 10, 50)]):
        with pytest.raises(InputError):
            domain.targets_of(rows, ["input", "targets"])


def test_round_robin_skips_unavailable_agents_and_moves_on():
    members = ["ann", "bob", "cid"]
    assert domain.pick_agent("round_robin", members, {"ann", "bob", "cid"}, {}, 0) == ("ann", 1)
    assert domain.pick_agent("round_robin", members, {"ann", "cid"}, {}, 1) == ("cid", 0)
    assert domain.pick_agent("round_robin", members, set(), {}, 1) == (None, 1)


def test_least_loaded_takes_the_available_agent_with_fewest_open_tickets():
    members = ["ann", "bob", "cid"]
    load = {"ann": 3, "bob": 1, "cid": 0}
    assert domain.pick_agent("least_loaded", members, {"ann", "bob"}, load, 0) == ("bob", 0)
    assert domain.pick_agent("least_loaded", members, {"ann", "bob", "cid"}, load, 0) == ("cid", 0)


def test_waiting_pauses_and_only_open_tickets_change_status():
    t = domain.status_changed({"id": "t", "status": "open"}, "waiting", "T1")
    assert t["pauses"] == [{"start": "T1", "end": None}]
    t = domain.status_changed(t, "in_progress", "T2")
    assert t["pauses"] == [{"start": "T1", "end": "T2"}]
    with pytest.raises(InputError):
        domain.status_changed({"id": "t", "status": "resolved"}, "open", "T3")
    with pytest.raises(InputError):
        domain.status_changed({"id": "t", "status": "open"}, "resolved", "T3")


def test_reopen_resumes_the_clock():
    t = domain.resolved({"id": "t", "status": "open", "pauses": []}, "done", "T1")
    again = domain.reopened(t, "T2")
    assert (
        again["status"] == "open" and again["resolved_at"] is None and again["pauses"] == [{"start": "T1", "end": "T2"}]
    )


def test_search_is_accent_and_case_insensitive():
    article = {"title": "Exporter les révisions en PDF", "body": "Ouvrez le PLAN, puis Fichier → Exporter.", "tags": []}
    assert domain.article_score(article, "REVISION pdf") > 0
    assert domain.article_score(article, "révisión") > 0
    assert domain.article_score(article, "exp plan") > 0  # word prefixes
    assert domain.article_score(article, "revision dwg") == 0  # every word must match
    assert domain.article_score(article, "  ") == 0
    assert domain.folded("Ærø ÉTÉ straße") == "ærø ete strasse"


def test_percentiles_and_age_buckets():
    assert domain.percentile([], 50) is None
    assert domain.percentile([5, 1, 3, 2, 4], 50) == 3
    assert domain.percentile(list(range(1, 11)), 90) == 9
    assert domain.age_bucket(0.5) == "< 1 day" and domain.age_bucket(40) == "> 30 days"


def test_low_scores_reopen():
    assert domain.satisfaction_low(1) and domain.satisfaction_low(2) and not domain.satisfaction_low(3)
