"""Business time and SLA clocks (plain Python, no strawberry; tests/unit/test_support_sla.py).

Why hand-written: the well-kept libraries either count business *days* (numpy.busday_*,
`holidays`, `workalendar`) or business hours without time zones and pauses (`businesstimedelta`,
unmaintained since 2019, no DST handling). An SLA needs minutes inside weekly hours, in an IANA
zone across DST changes, minus holidays, minus the time the ticket waited on the customer. The
arithmetic below is small: walk the local days, turn each day's hours into UTC instants with
`zoneinfo`, clip and sum. Everything is UTC-aware `datetime`.

Rules (docs/support.md):
- The *first-response* clock runs from the opening until the first public reply by staff; it never
  pauses (setting "waiting" is not an answer) and, once met, is never recomputed or overridden.
- The *resolution* clock runs from the opening until resolution and pauses while the ticket waits
  on the customer (`PAUSING_STATUSES`) and while it stays resolved before a reopen.
- A pause moves the deadline by the business time it lasted, and only when it began before the
  deadline (a breach stays a breach).
- Warnings fire when `warn_percent` of the target business time has elapsed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.common.errors import ErrorCode, InputError

PAUSING_STATUSES = frozenset({"waiting"})
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 3 * 366  # a deadline further than this in business days means a calendar with no hours
UTC = dt.UTC


@dataclass(frozen=True, eq=False)  # identity hash: calendar_of caches one object per content
class Calendar:
    """Weekly business hours in an IANA time zone, minus holidays (local dates).
    `hours[weekday]` (0 = Monday) lists `(start_minute, end_minute)` of the local day, end ≤ 1440.
    Hashable (hours are normalised to a 7-tuple), so a day's intervals are cached per calendar."""

    tz: str = "UTC"
    hours: Any = field(default_factory=dict)
    holidays: frozenset[dt.date] = frozenset()

    def __post_init__(self) -> None:
        if isinstance(self.hours, dict):
            week = tuple(tuple(self.hours.get(d, ())) for d in range(7))
            object.__setattr__(self, "hours", week)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def day_intervals(self, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        """The business intervals of a local day as UTC instants (a DST day keeps its wall-clock
        hours: 09:00–17:00 local is 09:00–17:00 local whatever the offset)."""
        return _day_intervals(self, day)

    @staticmethod
    def always(tz: str = "UTC") -> Calendar:
        return Calendar(tz, {d: ((0, 1440),) for d in range(7)})


@lru_cache(maxsize=65536)
def _day_intervals(cal: Calendar, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    if day in cal.holidays:
        return ()
    zone = cal.zone
    out = []
    for start, end in cal.hours[day.weekday()]:
        a = _local(day, start, zone)
        b = _local(day, end, zone)
        if b > a:
            out.append((a, b))
    return tuple(out)


def _local(day: dt.date, minute: int, zone: ZoneInfo) -> dt.datetime:
    if minute >= 1440:
        day, minute = day + dt.timedelta(days=1), minute - 1440
    naive = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
    return naive.replace(tzinfo=zone).astimezone(UTC)


# ---- calendars from records --------------------------------------------------------------------
def parse_hhmm(text: str, field_path: list[str]) -> int:
    try:
        h, m = text.split(":")
        hours, minutes = int(h), int(m)
    except ValueError:
        raise InputError(ErrorCode.INVALID, f"{text!r} is not a time of day (HH:MM)", field_path) from None
    if not (0 <= minutes < 60 and (0 <= hours < 24 or (hours == 24 and minutes == 0))):
        raise InputError(ErrorCode.INVALID, f"{text!r} is not a time of day (HH:MM)", field_path)
    return hours * 60 + minutes


def check_zone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(ErrorCode.INVALID, f"unknown time zone {tz!r}", ["input", "timeZone"]) from None
    return tz


def weekly_hours(rows: Iterable[tuple[str, str, str]]) -> dict[str, list[list[str]]]:
    """Validated weekly hours `[(day, "09:00", "17:00"), ...]` as stored (no nested arrays: FerretDB
    refuses them): `{"mon": [{"start": "09:00", "end": "17:00"}]}`.
    Intervals of one day must not overlap; at least one interval in the week."""
    out: dict[str, list[tuple[int, int]]] = {}
    for i, (day, start, end) in enumerate(rows):
        path = ["input", "hours", str(i)]
        if day not in DAYS:
            raise InputError(ErrorCode.INVALID, f"unknown day {day!r} (mon..sun)", path)
        a, b = parse_hhmm(start, path), parse_hhmm(end, path)
        if b <= a:
            raise InputError(ErrorCode.INVALID, f"{start}–{end} ends before it starts", path)
        for x, y in out.get(day, []):
            if a < y and x < b:
                raise InputError(ErrorCode.INVALID, f"{start}–{end} overlaps another interval on {day}", path)
        out.setdefault(day, []).append((a, b))
    if not out:
        raise InputError(ErrorCode.INVALID, "a calendar needs business hours", ["input", "hours"])
    return {d: [{"start": _hhmm(a), "end": _hhmm(b)} for a, b in sorted(v)] for d, v in out.items()}


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def calendar_of(doc: dict | None) -> Calendar:
    """A stored calendar as a `Calendar` (cached by content: tickets carry copies of a few calendars)."""
    if not doc:
        return Calendar.always()
    key = (doc.get("time_zone"), repr(doc.get("hours")), tuple(doc.get("holidays") or ()))
    return _calendar(key, doc)


_CALENDARS: dict = {}


def _calendar(key, doc: dict) -> Calendar:
    cal = _CALENDARS.get(key)
    if cal is None:
        if len(_CALENDARS) > 1024:
            _CALENDARS.clear()
        cal = _CALENDARS[key] = _parse_calendar(doc)
    return cal


def _parse_calendar(doc: dict | None) -> Calendar:
    """A stored calendar (`{"time_zone", "hours": {"mon": [{"start": "09:00", "end": "17:00"}]}, "holidays": [iso]}`);
    None means round the clock in UTC."""
    if not doc:
        return Calendar.always()
    hours = {
        DAYS.index(d): tuple((parse_hhmm(i["start"], []), parse_hhmm(i["end"], [])) for i in v)
        for d, v in (doc.get("hours") or {}).items()
    }
    holidays = frozenset(dt.date.fromisoformat(h) for h in doc.get("holidays") or ())
    return Calendar(doc.get("time_zone") or "UTC", hours, holidays)


# ---- business-time arithmetic -------------------------------------------------------------------
def _intervals_from(cal: Calendar, start: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Business intervals from `start` on, clipped to begin at `start` (at most MAX_DAYS days)."""
    day = start.astimezone(cal.zone).date() - dt.timedelta(
        days=1
    )  # an interval of the day before may run past midnight
    for _ in range(MAX_DAYS):
        for a, b in cal.day_intervals(day):
            if b > start:
                yield max(a, start), b
        day += dt.timedelta(days=1)
    raise InputError(ErrorCode.INVALID, "the calendar has no business hours within three years", ["calendar"])


def business_seconds(cal: Calendar, a: dt.datetime, b: dt.datetime) -> float:
    """Business time between two instants (negative when b < a)."""
    if b < a:
        return -business_seconds(cal, b, a)
    total = 0.0
    for x, y in _intervals_from(cal, a):
        if x >= b:
            break
        total += (min(y, b) - x).total_seconds()
    return total


def add_business(cal: Calendar, start: dt.datetime, seconds: float) -> dt.datetime:
    """The instant at which `seconds` of business time have elapsed from `start`. Zero business time
    from outside hours is the next opening (a ticket opened at night is due at the opening)."""
    left = seconds
    for x, y in _intervals_from(cal, start):
        span = (y - x).total_seconds()
        if left <= span and (left > 0 or span > 0):
            return x + dt.timedelta(seconds=left)
        left -= span
    raise AssertionError("unreachable")  # _intervals_from raises first


def deadline(
    cal: Calendar, start: dt.datetime, seconds: float, pauses: Iterable[tuple[dt.datetime, dt.datetime | None]]
) -> tuple[dt.datetime | None, float]:
    """The deadline of a clock of `seconds` business time started at `start`, pushed by the pauses
    that began before it. Returns (deadline, business seconds left at the pause) — deadline None
    while a pause is still running."""
    due = add_business(cal, start, seconds)
    for p_start, p_end in sorted(pauses, key=lambda p: p[0]):
        if p_start >= due:
            break
        left = business_seconds(cal, max(p_start, start), due)
        if p_end is None:
            return None, left
        due = add_business(cal, max(p_end, start), left)
    return due, 0.0


# ---- the SLA state of a ticket ------------------------------------------------------------------
@dataclass(frozen=True)
class Targets:
    first_response_minutes: int
    resolution_minutes: int
    warn_percent: int = 80


@dataclass(frozen=True)
class ClockState:
    name: str  # "first_response" | "resolution"
    due_at: dt.datetime | None  # None while paused
    warn_at: dt.datetime | None
    met_at: dt.datetime | None
    paused: bool
    breached: bool
    remaining_seconds: float | None  # business seconds; negative when overdue; None when met


@dataclass(frozen=True)
class Clock:
    """What the SLA of a ticket depends on."""

    start: dt.datetime
    first_response_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    pauses: tuple[tuple[dt.datetime, dt.datetime | None], ...] = ()


def clock_state(
    cal: Calendar,
    name: str,
    start: dt.datetime,
    seconds: float,
    warn_percent: int,
    met_at: dt.datetime | None,
    pauses: Iterable[tuple[dt.datetime, dt.datetime | None]],
    now: dt.datetime,
) -> ClockState:
    pauses = list(pauses)
    if met_at is not None:  # what happened after the clock stopped does not move it
        pauses = [(a, b if b is not None and b <= met_at else met_at) for a, b in pauses if a < met_at]
    else:
        pauses = [(a, b if b is not None and b <= now else None) for a, b in pauses if a <= now]
    due, left = deadline(cal, start, seconds, pauses)
    warn, _ = deadline(cal, start, seconds * warn_percent / 100, pauses)
    if due is None:  # paused right now
        return ClockState(name, None, warn, None, True, False, left)
    if met_at is not None:
        return ClockState(name, due, warn, met_at, False, met_at > due, None)
    remaining = business_seconds(cal, now, due)
    return ClockState(name, due, warn, None, False, now > due, remaining)


def sla_state(cal: Calendar, targets: Targets, clock: Clock, now: dt.datetime) -> tuple[ClockState, ClockState]:
    first = clock_state(
        cal,
        "first_response",
        clock.start,
        targets.first_response_minutes * 60,
        targets.warn_percent,
        clock.first_response_at,
        (),  # the first-response clock never pauses
        now,
    )
    resolution = clock_state(
        cal,
        "resolution",
        clock.start,
        targets.resolution_minutes * 60,
        targets.warn_percent,
        clock.resolved_at,
        clock.pauses,
        now,
    )
    return first, resolution


ALARMS = ("first_response.warning", "first_response.breached", "resolution.warning", "resolution.breached")


def alarms(states: tuple[ClockState, ClockState]) -> list[tuple[str, dt.datetime]]:
    """(alarm name, when) of each alarm of the two clocks that may still fire: a met or paused clock
    has none (a reply after which no escalation may fire)."""
    out = []
    for s in states:
        if s.met_at is not None or s.paused or s.due_at is None:
            continue
        if s.warn_at is not None and s.warn_at < s.due_at:
            out.append((f"{s.name}.warning", s.warn_at))
        out.append((f"{s.name}.breached", s.due_at))
    return out


def _done(fired: Iterable[str]) -> set[str]:
    """Fired alarms, plus the warnings a fired breach made moot."""
    done = set(fired)
    return done | {n.replace(".breached", ".warning") for n in done if n.endswith(".breached")}


def due_alarms(states: tuple[ClockState, ClockState], fired: Iterable[str], now: dt.datetime) -> list[str]:
    """Alarms whose time has come and that have not fired yet (a breach makes its warning moot)."""
    done = _done(fired)
    pending = [name for name, at in alarms(states) if at <= now and name not in done]
    for name in list(pending):
        clock, kind = name.split(".")
        if kind == "breached" and f"{clock}.warning" in pending:
            pending.remove(f"{clock}.warning")  # past the breach, the warning would only be noise
    return pending


def next_alarm(states: tuple[ClockState, ClockState], fired: Iterable[str]) -> dt.datetime | None:
    done = _done(fired)
    times = [at for name, at in alarms(states) if name not in done]
    return min(times) if times else None


# ---- pauses ------------------------------------------------------------------------------------
def with_status(pauses: list[dict], old: str, new: str, now: str) -> list[dict]:
    """The pause intervals (stored `[{"start": iso, "end": iso|None}, ...]`: no nested arrays, which
    FerretDB refuses) after a status change: entering a pausing status (or resolved, for a later
    reopen) opens one, leaving it closes it."""
    stopped = PAUSING_STATUSES | {"resolved", "closed"}
    out = [dict(p) for p in pauses]
    if old not in stopped and new in stopped:
        out.append({"start": now, "end": None})
    elif old in stopped and new not in stopped and out and out[-1]["end"] is None:
        out[-1]["end"] = now
    return out


def pauses_of(stored: Iterable[dict]) -> tuple[tuple[dt.datetime, dt.datetime | None], ...]:
    return tuple((_ts(p["start"]), _ts(p["end"]) if p.get("end") else None) for p in stored)


def _ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)
