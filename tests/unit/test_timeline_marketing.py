"""Marketing's calls on the contact's timeline (services/contacts/timeline.py, marketing's branch)."""

from __future__ import annotations

from services.common.envelope import Envelope
from services.contacts.timeline import PATTERNS, interaction_for


def test_a_logged_call_is_a_call_on_the_timeline():
    assert "marketing.call.logged" in PATTERNS
    e = Envelope(
        "marketing.call.logged",
        "call1",
        {
            "call_list_id": "L1",
            "campaign_id": "C1",
            "company_id": "co1",
            "contact_id": "p1",
            "caller": "sam@sales",
            "outcome": "not_interested",
            "notes": "has a supplier",
        },
    )
    assert interaction_for(e) == {
        "kind": "call",
        "title": "Call (not interested) by sam@sales",
        "company_id": "co1",
        "contact_id": "p1",
        "ref_type": "CallList",
        "ref_id": "L1",
        "detail": "has a supplier",
    }
