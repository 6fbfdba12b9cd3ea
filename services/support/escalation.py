"""SLA evaluation of stored tickets and the escalation timer (services/common/scheduler.py).

A ticket keeps `sla` (its policy's targets and calendar, snapshotted when opened), `pauses`,
`first_response_at`, `resolved_at`, `sla_fired` (alarms already fired) and `sla_next_at` (when the
next alarm is due, or None). The timer takes tickets whose `sla_next_at` has come, fires the due
alarms once (the scheduler's conditional write: once across restarts and replicas), applies the
policy's escalation rules on a breach and computes the next `sla_next_at`."""

from __future__ import annotations

import datetime as dt

from services.common.envelope import Envelope
from services.common.ids import iso
from services.common.scheduler import Timer
from services.common.values import parse_ts

from . import domain, partner_care, sla

SLA_WARNING = "support.sla.warning"
SLA_BREACHED = "support.sla.breached"
TICKET_ESCALATED = "support.ticket.escalated"
NOTIFICATION = "support.notification.requested"


def clock_of(ticket: dict) -> tuple[sla.Calendar, sla.Targets, sla.Clock] | None:
    s = ticket.get("sla")
    if not s:
        return None
    cal = sla.calendar_of(s.get("calendar"))
    targets = sla.Targets(s["first_response_minutes"], s["resolution_minutes"], s.get("warn_percent") or 80)
    clock = sla.Clock(
        start=parse_ts(ticket.get("received_at") or ticket["created_at"]),
        first_response_at=parse_ts(ticket.get("first_response_at")),
        resolved_at=parse_ts(ticket.get("resolved_at")) if ticket.get("status") in ("resolved", "closed") else None,
        pauses=sla.pauses_of(ticket.get("pauses") or []),
    )
    return cal, targets, clock


def evaluate(ticket: dict, now: dt.datetime) -> tuple[sla.ClockState, sla.ClockState] | None:
    c = clock_of(ticket)
    if c is None:
        return None
    cal, targets, clock = c
    if clock.resolved_at is None and ticket.get("status") in ("resolved", "closed"):
        clock = sla.Clock(clock.start, clock.first_response_at, now, clock.pauses)
    return sla.sla_state(cal, targets, clock, now)


def with_next_alarm(ticket: dict, now: str) -> dict:
    """The ticket with `sla_next_at` recomputed after any change (None: nothing left to fire)."""
    if not ticket.get("sla"):
        return {**ticket, "sla_next_at": None}
    states = evaluate(ticket, parse_ts(now))
    nxt = sla.next_alarm(states, ticket.get("sla_fired") or []) if states else None
    return {**ticket, "sla_next_at": iso(nxt) if nxt else None}


def _recipients(ticket: dict, who: list[str]) -> list[str]:
    out = []
    for w in who:
        sub = {"owner": ticket.get("assignee"), "account_manager": ticket.get("account_owner")}.get(w)
        if sub and sub not in out:
            out.append(sub)
    return out


def fire(ticket: dict, now: str) -> tuple[dict | None, list[Envelope]]:
    """The escalation timer's rule (must re-check: it may run on a stale or already fired ticket)."""
    if ticket.get("status") not in domain.OPEN_STATUSES or not ticket.get("sla_next_at"):
        return None, []
    if ticket["sla_next_at"] > now:
        return None, []
    at = parse_ts(now)
    states = evaluate(ticket, at)
    if states is None:
        return {"sla_next_at": None}, []
    fired = list(ticket.get("sla_fired") or [])
    due = sla.due_alarms(states, fired, at)
    by_name = {s.name: s for s in states}
    changes: dict = {}
    events: list[Envelope] = []
    escalations = list(ticket.get("escalations") or [])
    rules = (ticket.get("sla") or {}).get("escalation") or {}
    for alarm in due:
        clock, kind = alarm.split(".")
        state = by_name[clock]
        current = {**ticket, **changes}
        data = {
            "ticket_id": ticket["id"],
            "company_id": ticket.get("company_id"),
            "contact_id": ticket.get("contact_id"),
            "subject": ticket.get("subject"),
            "priority": current.get("priority"),
            "queue": current.get("queue_id"),
            "due_at": iso(state.due_at) if state.due_at else None,
            "kind": clock,
        }
        record = {"alarm": alarm, "at": now, "due_at": data["due_at"]}
        if kind == "warning":
            events.append(Envelope(SLA_WARNING, ticket["id"], data))
            who = _recipients(current, ["owner", "account_manager"])
        else:
            events.append(Envelope(SLA_BREACHED, ticket["id"], data))
            who = _recipients(current, rules.get("notify") or ["owner", "account_manager"])
            if rules.get("raise_priority") and current.get("priority") != "critical":
                changes["priority"] = record["raised_to"] = domain.raised(current["priority"])
            if rules.get("queue_id") and rules["queue_id"] != current.get("queue_id"):
                changes["queue_id"] = record["moved_to"] = rules["queue_id"]
            escalated = {**data, "priority": changes.get("priority", data["priority"])}
            escalated["queue"] = changes.get("queue_id", data["queue"])
            events.append(Envelope(TICKET_ESCALATED, ticket["id"], escalated))
            # a partner's breach on its client's ticket: our own support takes it over (docs/partners.md)
            taken, taken_events = partner_care.breach_escalation({**current, **changes}, alarm, now)
            changes.update(taken)
            events.extend(taken_events)
        record["notified"] = who
        escalations.append(record)
        if who:
            title = ("SLA breached" if kind == "breached" else "SLA at risk") + f": {ticket.get('subject')}"
            what = "first response" if clock == "first_response" else "resolution"
            events.append(
                Envelope(
                    NOTIFICATION,
                    f"support-{ticket['id']}-{alarm}",
                    {
                        "recipients": who,
                        "title": title,
                        "body": f"The {what} is due {data['due_at']}.",
                        "ref_type": "Ticket",
                        "ref_id": ticket["id"],
                        "company_id": ticket.get("company_id"),
                        "kind": f"sla.{kind}",
                    },
                )
            )
        fired.append(alarm)
    changes["sla_fired"] = fired
    changes["escalations"] = escalations
    nxt = sla.next_alarm(states, fired)
    changes["sla_next_at"] = iso(nxt) if nxt else None
    if nxt is not None and changes["sla_next_at"] <= now and not due:
        changes["sla_next_at"] = None  # defensive: never spin on a time that fires nothing
    return changes, events


def timer() -> Timer:
    return Timer(
        name="sla-escalation",
        coll="tickets",
        due=lambda now: {"sla_next_at": {"$lte": now}},
        fire=fire,
        sort=(("sla_next_at", 1),),
    )
