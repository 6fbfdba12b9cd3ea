"""The escalation timer's rule (services/support/escalation.py) on plain ticket documents."""

from __future__ import annotations

from services.support import domain, escalation

ALWAYS = {"id": "c", "name": "24/7", "time_zone": "UTC", "hours": {d: [{"start": "00:00", "end": "24:00"}] for d in
          ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}, "holidays": []}  # fmt: skip


def ticket(**over) -> dict:
    policy = {
        "id": "p",
        "name": "Gold",
        "targets": {"normal": {"first_response_minutes": 60, "resolution_minutes": 240}},
        "warn_percent": 50,
        "escalation": {"notify": ["owner", "account_manager"], "raise_priority": True, "queue_id": "Q2"},
    }
    t = {
        "id": "T1",
        "company_id": "C1",
        "contact_id": "K1",
        "subject": "Roof",
        "priority": "normal",
        "status": "open",
        "queue_id": "Q1",
        "assignee": "ann",
        "account_owner": "sales.anna",
        "created_at": "2026-03-03T09:00:00.000000Z",
        "sla": domain.sla_snapshot(policy, ALWAYS, "normal"),
        "pauses": [],
        "sla_fired": [],
        "escalations": [],
        **over,
    }
    return escalation.with_next_alarm(t, t["created_at"])


def test_the_first_alarm_is_the_first_response_warning():
    assert ticket()["sla_next_at"] == "2026-03-03T09:30:00.000000Z"


def test_a_warning_notifies_and_schedules_the_breach():
    t = ticket()
    changes, events = escalation.fire(t, "2026-03-03T09:31:00.000000Z")
    assert changes["sla_fired"] == ["first_response.warning"]
    assert changes["sla_next_at"] == "2026-03-03T10:00:00.000000Z"
    assert [e.type for e in events] == ["support.sla.warning", "support.notification.requested"]
    note = events[1]
    assert note.subject == "support-T1-first_response.warning"  # deterministic: a replay makes one
    assert note.data["recipients"] == ["ann", "sales.anna"] and note.data["ref_id"] == "T1"
    assert events[0].data == {
        "ticket_id": "T1",
        "company_id": "C1",
        "contact_id": "K1",
        "subject": "Roof",
        "priority": "normal",
        "queue": "Q1",
        "due_at": "2026-03-03T10:00:00.000000Z",
        "kind": "first_response",
    }


def test_a_breach_escalates_by_the_rules_and_fires_once():
    t = ticket()
    changes, events = escalation.fire(t, "2026-03-03T10:05:00.000000Z")
    assert changes["priority"] == "high" and changes["queue_id"] == "Q2"
    assert [e.type for e in events] == [
        "support.sla.breached",
        "support.ticket.escalated",
        "support.notification.requested",
    ]
    assert events[1].data["priority"] == "high" and events[1].data["queue"] == "Q2"
    again = {**t, **changes}
    assert escalation.fire(again, "2026-03-03T10:05:00.000000Z") == (None, [])  # not due any more


def test_nothing_fires_before_its_time_or_once_resolved_or_replied():
    t = ticket()
    assert escalation.fire(t, "2026-03-03T09:10:00.000000Z") == (None, [])
    assert escalation.fire({**t, "status": "resolved"}, "2026-03-03T12:00:00.000000Z") == (None, [])
    replied = escalation.with_next_alarm(
        {**t, "first_response_at": "2026-03-03T09:20:00.000000Z"}, "2026-03-03T09:20:00.000000Z"
    )
    assert replied["sla_next_at"] == "2026-03-03T11:00:00.000000Z"  # the resolution warning only
    changes, _ = escalation.fire(replied, "2026-03-03T11:00:00.000000Z")
    assert changes["sla_fired"] == ["resolution.warning"]


def test_a_ticket_without_policy_has_no_alarm():
    t = escalation.with_next_alarm({"id": "x", "status": "open", "created_at": "2026-03-03T09:00:00.000000Z"}, "now")
    assert t["sla_next_at"] is None
