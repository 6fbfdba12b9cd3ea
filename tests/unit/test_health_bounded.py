"""Deals' account-health read model stays bounded (services/deals/domain.py apply_ticket): every open
ticket and only the most recently resolved ones, so the document and the cost of an event do not
grow with a client's history. No servers."""

from __future__ import annotations

from services.deals import domain
from services.deals.domain import HealthLevel


def at(i: int) -> str:
    return f"2026-05-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}Z"


def test_a_long_history_keeps_open_tickets_and_a_bounded_tail_of_resolved_ones():
    doc = None
    for i in range(5_000):  # a ticket opened and resolved, again and again
        doc = domain.apply_ticket(doc, f"t{i}", {"status": "open", "priority": "normal"}, at(2 * i))
        doc = domain.apply_ticket(doc, f"t{i}", {"status": "resolved", "priority": "normal"}, at(2 * i + 1))
    doc = domain.apply_ticket(doc, "c1", {"status": "open", "priority": "critical"}, at(20_000))
    doc = domain.apply_ticket(doc, "h1", {"status": "new", "priority": "high"}, at(20_001))
    assert len(doc["tickets"]) == domain.KEEP_RESOLVED + 2
    h = domain.account_health(doc)
    assert h == domain.Health(HealthLevel.CRITICAL, 2, 1, ("1 open critical ticket", "1 open high-priority ticket"))
    # the newest resolved are the ones kept: a late older event of one of them changes nothing
    assert domain.apply_ticket(doc, "t4999", {"status": "open", "priority": "normal"}, at(9_997)) is None


def test_open_tickets_are_never_dropped():
    doc = None
    for i in range(300):
        doc = domain.apply_ticket(doc, f"o{i}", {"status": "open", "priority": "low"}, at(i))
    for i in range(300):
        doc = domain.apply_ticket(doc, f"r{i}", {"status": "closed", "priority": "low"}, at(1000 + i))
    assert domain.account_health(doc).open_tickets == 300
    assert sum(1 for t in doc["tickets"].values() if t["status"] == "resolved") == domain.KEEP_RESOLVED
