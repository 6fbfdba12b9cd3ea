"""Business time and SLA clocks (services/support/sla.py), without servers."""

from __future__ import annotations

import datetime as dt

import pytest

from services.common.errors import InputError
from services.support import sla

BERLIN = "Europe/Berlin"
# Mon–Fri 09:00–17:00 in Berlin, 1 May and 25–26 Dec 2026 off
OFFICE = sla.calendar_of(
    {
        "time_zone": BERLIN,
        "hours": {d: [{"start": "09:00", "end": "17:00"}] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-05-01", "2026-12-25", "2026-12-26"],
    }
)


def berlin(y, mo, d, h=0, mi=0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=sla.ZoneInfo(BERLIN)).astimezone(dt.UTC)


def hours(n: float) -> float:
    return n * 3600


# ---- business time -----------------------------------------------------------------------------
def test_inside_hours_adds_wall_clock_time():
    assert sla.add_business(OFFICE, berlin(2026, 3, 3, 10), hours(2)) == berlin(2026, 3, 3, 12)


def test_opened_at_night_starts_at_the_opening():
    # Tuesday 22:00 + 1 h → Wednesday 10:00
    assert sla.add_business(OFFICE, berlin(2026, 3, 3, 22), hours(1)) == berlin(2026, 3, 4, 10)
    # zero business time from outside hours is the next opening
    assert sla.add_business(OFFICE, berlin(2026, 3, 3, 22), 0) == berlin(2026, 3, 4, 9)


def test_opened_on_friday_evening_waits_for_monday():
    assert sla.add_business(OFFICE, berlin(2026, 3, 6, 18), hours(4)) == berlin(2026, 3, 9, 13)


def test_deadline_spanning_a_holiday_skips_it():
    # Thursday 30 April 15:00 + 4 h: 2 h on Thursday, Friday 1 May is a holiday, 2 h on Monday 4 May
    assert sla.add_business(OFFICE, berlin(2026, 4, 30, 15), hours(4)) == berlin(2026, 5, 4, 11)
    # and no business time is counted on it
    assert sla.business_seconds(OFFICE, berlin(2026, 4, 30, 17), berlin(2026, 5, 4, 9)) == 0


def test_dst_spring_forward_keeps_local_hours():
    # Berlin moves to CEST on Sunday 29 March 2026: Friday 16:00 CET + 2 h → Monday 10:00 CEST
    due = sla.add_business(OFFICE, berlin(2026, 3, 27, 16), hours(2))
    assert due == berlin(2026, 3, 30, 10)
    assert due == dt.datetime(2026, 3, 30, 8, tzinfo=dt.UTC)  # UTC+2 now, not UTC+1


def test_dst_autumn_round_the_clock_counts_real_time():
    cal = sla.Calendar.always(BERLIN)
    # 24 h of business time from Saturday 24 Oct 12:00 CEST: the night has 25 h on the wall clock
    start = berlin(2026, 10, 24, 12)
    due = sla.add_business(cal, start, hours(24))
    assert due - start == dt.timedelta(hours=24)
    assert due.astimezone(sla.ZoneInfo(BERLIN)).hour == 11  # 11:00 CET on Sunday


def test_business_seconds_is_the_inverse_of_add_business():
    start = berlin(2026, 4, 29, 16, 30)
    for h in (0.5, 3, 8, 17, 40):
        due = sla.add_business(OFFICE, start, hours(h))
        assert sla.business_seconds(OFFICE, start, due) == hours(h)


def test_a_calendar_without_hours_is_refused():
    with pytest.raises(InputError):
        sla.weekly_hours([])
    with pytest.raises(InputError):
        sla.add_business(sla.Calendar("UTC", {}), berlin(2026, 1, 1), 60)


@pytest.mark.parametrize(
    "rows",
    [
        [("mon", "09:00", "08:00")],
        [("xyz", "09:00", "10:00")],
        [("mon", "25:00", "26:00")],
        [("mon", "09:00", "12:00"), ("mon", "11:00", "13:00")],
        [("mon", "9h", "10:00")],
    ],
)
def test_bad_weekly_hours_are_refused(rows):
    with pytest.raises(InputError):
        sla.weekly_hours(rows)


def test_weekly_hours_are_stored_sorted():
    assert sla.weekly_hours([("mon", "13:00", "17:00"), ("mon", "08:00", "12:00"), ("sun", "00:00", "24:00")]) == {
        "mon": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
        "sun": [{"start": "00:00", "end": "24:00"}],
    }


def test_unknown_time_zone_is_refused():
    with pytest.raises(InputError):
        sla.check_zone("Mars/Olympus")
    assert sla.check_zone(BERLIN) == BERLIN


# ---- pauses and clocks ---------------------------------------------------------------------------
TARGETS = sla.Targets(first_response_minutes=60, resolution_minutes=8 * 60, warn_percent=75)


def test_a_pause_moves_the_resolution_deadline_by_its_business_time():
    start = berlin(2026, 3, 3, 9)  # Tuesday
    clock = sla.Clock(start, pauses=((berlin(2026, 3, 3, 11), berlin(2026, 3, 3, 13)),))
    fr, res = sla.sla_state(OFFICE, TARGETS, clock, now=berlin(2026, 3, 3, 14))
    assert res.due_at == berlin(2026, 3, 4, 11)  # 17:00 + 2 h → next morning 11:00
    assert fr.due_at == berlin(2026, 3, 3, 10)  # the first-response clock never pauses
    assert fr.breached and not res.breached


def test_while_waiting_on_the_customer_the_clock_is_paused_and_remaining_frozen():
    start = berlin(2026, 3, 3, 9)
    clock = sla.Clock(start, first_response_at=berlin(2026, 3, 3, 9, 30), pauses=((berlin(2026, 3, 3, 12), None),))
    _, res = sla.sla_state(OFFICE, TARGETS, clock, now=berlin(2026, 3, 10, 12))  # a week later
    assert res.paused and not res.breached and res.due_at is None
    assert res.remaining_seconds == hours(5)
    assert sla.alarms((_, res)) == []  # nothing fires while paused


def test_a_pause_after_the_breach_does_not_undo_it():
    start = berlin(2026, 3, 3, 9)
    clock = sla.Clock(start, pauses=((berlin(2026, 3, 4, 12), berlin(2026, 3, 5, 12)),))
    _, res = sla.sla_state(OFFICE, TARGETS, clock, now=berlin(2026, 3, 6, 9))
    assert res.due_at == berlin(2026, 3, 3, 17) and res.breached


def test_first_response_is_met_once_and_not_overridden_by_later_activity():
    start = berlin(2026, 3, 3, 9)
    clock = sla.Clock(start, first_response_at=berlin(2026, 3, 3, 9, 40), pauses=((berlin(2026, 3, 3, 10), None),))
    fr, _ = sla.sla_state(OFFICE, TARGETS, clock, now=berlin(2026, 3, 20, 9))
    assert fr.met_at == berlin(2026, 3, 3, 9, 40) and not fr.breached and fr.remaining_seconds is None
    assert fr.due_at == berlin(2026, 3, 3, 10)


def test_no_escalation_after_the_agent_replied():
    start = berlin(2026, 3, 3, 9)
    before = sla.sla_state(OFFICE, TARGETS, sla.Clock(start), now=berlin(2026, 3, 3, 9, 50))
    assert sla.due_alarms(before, [], berlin(2026, 3, 3, 9, 50)) == ["first_response.warning"]
    replied = sla.Clock(start, first_response_at=berlin(2026, 3, 3, 9, 55))
    after = sla.sla_state(OFFICE, TARGETS, replied, now=berlin(2026, 3, 3, 11))
    assert sla.due_alarms(after, ["first_response.warning"], berlin(2026, 3, 3, 11)) == []
    assert sla.next_alarm(after, ["first_response.warning"]) == berlin(2026, 3, 3, 15)  # resolution warning


def test_a_late_check_fires_the_breach_without_its_warning():
    start = berlin(2026, 3, 3, 9)
    states = sla.sla_state(OFFICE, TARGETS, sla.Clock(start), now=berlin(2026, 3, 3, 12))
    assert sla.due_alarms(states, [], berlin(2026, 3, 3, 12)) == ["first_response.breached"]


def test_fired_alarms_do_not_fire_again():
    start = berlin(2026, 3, 3, 9)
    now = berlin(2026, 3, 5, 9)
    states = sla.sla_state(OFFICE, TARGETS, sla.Clock(start), now=now)
    fired = sla.due_alarms(states, [], now)
    assert fired == ["first_response.breached", "resolution.breached"]
    assert sla.due_alarms(states, fired, now) == []
    assert sla.next_alarm(states, fired) is None


def test_resolution_stops_the_clock_and_a_reopen_pauses_the_resolved_time():
    start = berlin(2026, 3, 3, 9)
    pauses = sla.with_status([], "open", "resolved", "2026-03-03T10:00:00.000000+00:00")
    assert pauses == [{"start": "2026-03-03T10:00:00.000000+00:00", "end": None}]
    pauses = sla.with_status(pauses, "resolved", "open", "2026-03-05T10:00:00.000000+00:00")
    clock = sla.Clock(start, first_response_at=berlin(2026, 3, 3, 9, 10), pauses=sla.pauses_of(pauses))
    _, res = sla.sla_state(OFFICE, TARGETS, clock, now=berlin(2026, 3, 5, 12))
    # 2 business hours before the resolution (09:00–11:00 Berlin), the other 6 from the reopen at 11:00
    assert res.due_at == berlin(2026, 3, 5, 17) and not res.breached


def test_status_changes_between_running_statuses_do_not_pause():
    assert sla.with_status([], "open", "in_progress", "t") == []
    assert sla.with_status([{"start": "a", "end": None}], "waiting", "resolved", "t") == [{"start": "a", "end": None}]
