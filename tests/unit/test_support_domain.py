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
    assert t == {"id": "t", "status": "resolved", "resolution": "fixed", "resolved_at": "2026-01-01T00:00:00.000000Z"}


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
