"""Support's escalation events on the client's timeline (services/contacts/timeline.py)."""

from __future__ import annotations

import pytest

from services.common.envelope import Envelope
from services.contacts.timeline import PATTERNS, interaction_for


@pytest.mark.parametrize(
    ("type_", "title"),
    [
        ("support.sla.warning", "SLA at risk: Plotter down [high]"),
        ("support.sla.breached", "SLA breached: Plotter down [high]"),
        ("support.ticket.escalated", "Ticket escalated: Plotter down [high]"),
    ],
)
def test_escalations_land_on_the_clients_timeline(type_, title):
    data = {
        "ticket_id": "T1",
        "company_id": "C1",
        "contact_id": "P1",
        "subject": "Plotter down",
        "priority": "high",
        "queue": "Q",
        "due_at": "2026-03-03T10:00:00.000000Z",
        "kind": "first_response",
    }
    row = interaction_for(Envelope(type_, "T1:x", data))
    assert row == {
        "kind": "ticket",
        "title": title,
        "company_id": "C1",
        "contact_id": "P1",
        "ref_type": "Ticket",
        "ref_id": "T1",
        "detail": "first_response",
    }


def test_the_timeline_subscribes_to_support_sla_events():
    assert "support.sla.*" in PATTERNS and "support.ticket.*" in PATTERNS
