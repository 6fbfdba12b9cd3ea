"""deals' branch of the contacts timeline (services/contacts/timeline.py): estimates, payments and
overrides of the offer guard."""

from __future__ import annotations

from services.common.bus.base import topic_matches
from services.common.envelope import Envelope
from services.contacts.timeline import PATTERNS, interaction_for


def test_deals_events_are_on_the_timeline():
    party = {"company_id": "c1", "contact_id": "p1"}
    est = {**party, "deal_id": "d1", "version": 2, "title": "Ferry terminal", "amount_minor": 711006, "currency": "EUR"}
    row = interaction_for(Envelope("deals.estimate.accepted", "e1", est))
    assert row["title"] == "Estimate v2 accepted: Ferry terminal (7,110.06 EUR)"
    assert (row["kind"], row["ref_type"], row["ref_id"], row["company_id"]) == ("deal", "Estimate", "e1", "c1")
    pay = {
        **party,
        "deal_id": "d1",
        "milestone_id": "m1",
        "title": "Advance",
        "amount_minor": 1500000,
        "currency": "EUR",
        "due_date": "2026-01-31",
    }
    row = interaction_for(Envelope("deals.payment.overdue", "m1", pay))
    assert row["title"] == "Payment overdue: Advance (15,000.00 EUR), due 2026-01-31" and row["ref_id"] == "d1"
    over = {**party, "deal_id": "d1", "reason": "plan agreed", "reasons": ["1 overdue payment"], "by": "sales.head"}
    row = interaction_for(Envelope("deals.offer.overridden", "e1", over))
    assert row["title"] == "Offer guard overridden by sales.head: plan agreed" and row["detail"] == "1 overdue payment"
    assert interaction_for(Envelope("deals.payment.unknown", "m1", pay)) is None
    for t in ("deals.estimate.sent", "deals.payment.paid", "deals.offer.overridden"):
        assert any(topic_matches(p, t) for p in PATTERNS)
