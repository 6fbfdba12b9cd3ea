"""The manager's day, plain rules (no strawberry import; unit-tested in tests/unit/test_day.py):
leads (sources, statuses, BANT score, assignment), activities (kinds, statuses, timeline rows),
personal dates and their yearly reminders, my-day rules, value tiers and activity control.

Documented in docs/day.md. The GraphQL layer is in day_types.py / day_api.py, the consumers and
timers in day_events.py, the hand-over of a book in handover.py."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from services.common.errors import ErrorCode, InputError
from services.common.ids import iso
from services.common.values import clean_text


# ---- leads ----------------------------------------------------------------------------------------
class LeadSource(Enum):
    CHANNEL = "channel"
    CAMPAIGN = "campaign"
    WEB_FORM = "web_form"
    PARTNER = "partner"
    REFERRAL = "referral"
    EVENT = "event"
    TELEMARKETING = "telemarketing"


class LeadStatus(Enum):
    NEW = "new"
    WORKING = "working"
    QUALIFIED = "qualified"
    DISQUALIFIED = "disqualified"
    CONVERTED = "converted"


OPEN_LEAD = (LeadStatus.NEW.value, LeadStatus.WORKING.value, LeadStatus.QUALIFIED.value)
BANT = ("budget", "authority", "need", "timing")
HOT_SCORE = 75  # three of the four BANT criteria
DEFAULT_DISQUALIFY_REASONS = ["No budget", "No authority", "No need", "Bad timing", "Competitor chosen", "Duplicate"]

# status moves a user may make (converted only through convertLead)
LEAD_MOVES = {
    LeadStatus.NEW: {LeadStatus.WORKING, LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED},
    LeadStatus.WORKING: {LeadStatus.NEW, LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED},
    LeadStatus.QUALIFIED: {LeadStatus.WORKING, LeadStatus.DISQUALIFIED},
    LeadStatus.DISQUALIFIED: {LeadStatus.WORKING},
    LeadStatus.CONVERTED: set(),
}


def bant_score(bant: Mapping[str, Any] | None) -> int:
    """The qualification score 0-100: 25 per BANT criterion met."""
    bant = bant or {}
    return 25 * sum(1 for k in BANT if bant.get(k))


def is_hot(lead: Mapping[str, Any]) -> bool:
    return lead.get("status") in OPEN_LEAD and int(lead.get("score") or 0) >= HOT_SCORE


def lead_status_change(lead: Mapping[str, Any], to: LeadStatus, reason: str | None, reasons: list[str]) -> dict:
    """The change of a status move: disqualifying needs a reason from the managed list; other
    moves clear the reason."""
    current = LeadStatus(lead["status"])
    if to == current:
        return {}
    if to not in LEAD_MOVES[current]:
        raise InputError(ErrorCode.INVALID, f"a {current.value} lead cannot become {to.value}", ["input", "status"])
    if to == LeadStatus.DISQUALIFIED:
        if not reason or reason not in reasons:
            raise InputError(
                ErrorCode.INVALID,
                f"disqualifying needs a reason from the list: {', '.join(reasons)}",
                ["input", "reason"],
            )
        return {"status": to.value, "disqualify_reason": reason}
    return {"status": to.value, "disqualify_reason": None}


def lead_name(lead: Mapping[str, Any]) -> str:
    person = f"{lead.get('first_name') or ''} {lead.get('last_name') or ''}".strip()
    company = lead.get("company_name")
    if person and company:
        return f"{person} ({company})"
    return person or company or lead.get("email") or "lead"


def lead_from_request(data: Mapping[str, Any]) -> dict:
    """The stored fields of a lead from a `marketing.lead.requested` event (lenient: an event is
    never refused for a cosmetic problem; bad text is dropped rather than failing the consumer)."""

    def text(key: str, max_len: int = 200) -> str | None:
        try:
            return clean_text(data.get(key), key, max_len=max_len) or None
        except InputError:
            return None

    source = data.get("source") or "web_form"
    try:
        source = LeadSource(source).value
    except ValueError:
        source = LeadSource.CAMPAIGN.value
    mail = text("email", 254)
    return {
        "source": source,
        "status": LeadStatus.NEW.value,
        "first_name": text("first_name"),
        "last_name": text("last_name"),
        "company_name": text("company_name"),
        "email": mail,
        "email_key": mail.casefold() if mail else None,
        "phone": text("phone"),
        "notes": text("notes", 10_000),
        "campaign_id": data.get("campaign_id"),
        "form_id": data.get("form_id"),
        "company_id": data.get("company_id"),
        "contact_id": data.get("contact_id"),
        "utm": {k: v for k, v in (data.get("utm") or {}).items() if isinstance(v, str)} or None,
        "referrer": text("referrer", 2000),
        "consent": bool(data.get("consent")),
        "region": text("region"),
        "segment": text("segment"),
        "bant": dict.fromkeys(BANT, False),
        "score": 0,
    }


# ---- assignment rules -----------------------------------------------------------------------------
def rule_matches(rule: Mapping[str, Any], lead: Mapping[str, Any]) -> bool:
    """A rule applies when each criterion it names (region, segment, source) equals the lead's."""
    if not rule.get("active", True) or not rule.get("team"):
        return False
    for key in ("region", "segment", "source"):
        want = rule.get(key)
        if want and (lead.get(key) or "").casefold() != want.casefold():
            return False
    return True


def pick_rule(rules: Iterable[Mapping[str, Any]], lead: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The first matching rule by priority (lower first), then by id."""
    ordered = sorted(rules, key=lambda r: (int(r.get("priority") or 0), r["id"]))
    return next((r for r in ordered if rule_matches(r, lead)), None)


def round_robin(team: list[str], turn: int) -> str:
    """The member whose turn it is (the cursor counts turns taken, shared by every replica)."""
    return team[turn % len(team)]


# ---- activities -----------------------------------------------------------------------------------
class ActivityKind(Enum):
    TASK = "task"
    CALL = "call"
    MEETING = "meeting"
    EMAIL = "email"


class ActivityStatus(Enum):
    PLANNED = "planned"
    HELD = "held"
    NOT_HELD = "not_held"
    CANCELLED = "cancelled"


class CallDirection(Enum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


ACTIVITY_TITLES = {"task": "Task", "call": "Call", "meeting": "Meeting", "email": "E-mail"}
STATUS_WORDS = {"planned": "planned", "held": "held", "not_held": "not held", "cancelled": "cancelled"}


def activity_when(a: Mapping[str, Any]) -> str | None:
    """The moment an activity is about: its start (meetings, calls) or its due time (tasks)."""
    return a.get("start_at") or a.get("due_at")


def activity_row(a: Mapping[str, Any]) -> dict:
    """The timeline row of an activity (one row per activity, updated as its status changes)."""
    kind = "note" if a["kind"] == "task" else a["kind"]
    word = STATUS_WORDS[a["status"]]
    title = f"{ACTIVITY_TITLES[a['kind']]} ({word}): {a['title']}"
    return {
        "kind": kind,
        "title": title,
        "status": a["status"],
        "detail": a.get("outcome") or a.get("notes"),
        "occurred_at": activity_when(a) or a.get("created_at"),
        "company_id": a.get("company_id"),
        "contact_id": a.get("contact_id"),
        "ref_type": "Activity",
        "ref_id": a["id"],
        "by": a.get("owner"),
        "activity_version": a.get("version", 1),
    }


def check_activity(fields: Mapping[str, Any]) -> None:
    """Kind-specific checks: a meeting has a start and an end after it; a time for every kind."""
    start, end = fields.get("start_at"), fields.get("end_at")
    if fields["kind"] == ActivityKind.MEETING.value and not start:
        raise InputError(ErrorCode.INVALID, "a meeting needs a start", ["input", "startAt"])
    if start and end and end < start:
        raise InputError(ErrorCode.INVALID, "the end is before the start", ["input", "endAt"])
    if not start and not fields.get("due_at"):
        raise InputError(ErrorCode.INVALID, "give a dueAt or a startAt", ["input", "dueAt"])
    if not any(fields.get(k) for k in ("company_id", "contact_id", "lead_id", "deal_id")):
        raise InputError(ErrorCode.INVALID, "link the activity to a company, contact, lead or deal", ["input"])
    duration = fields.get("duration_minutes")
    if duration is not None and not 0 <= duration <= 24 * 60:
        raise InputError(ErrorCode.INVALID, "duration must be 0-1440 minutes", ["input", "durationMinutes"])


# ---- personal dates and reminders -----------------------------------------------------------------
class PersonalDateKind(Enum):
    BIRTHDAY = "birthday"
    CHILD_BIRTHDAY = "child_birthday"
    ANNIVERSARY = "anniversary"
    OTHER = "other"


REMIND_HOUR = 8  # reminders are due at 08:00 UTC on their day


def occurrence(month: int, day: int, year: int) -> dt.date:
    """The date a yearly (month, day) falls on in `year`: 29 February is the 28th in other years."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return dt.date(year, month, day)


def next_reminder(month: int, day: int, days_before: int, now: dt.datetime) -> str:
    """The next moment (ISO, UTC) to remind of a yearly date, `days_before` it at 08:00 UTC,
    strictly after `now`."""
    for year in (now.year - 1, now.year, now.year + 1, now.year + 2):
        when = occurrence(month, day, year) - dt.timedelta(days=days_before)
        at = dt.datetime(when.year, when.month, when.day, REMIND_HOUR, tzinfo=dt.UTC)
        if at > now:
            return iso(at)
    raise AssertionError("unreachable")


def check_month_day(month: int, day: int) -> None:
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2024, month)[1]:
        raise InputError(ErrorCode.INVALID, f"{month}-{day} is not a day of the year", ["input", "day"])


# ---- value tiers ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TierThresholds:
    """Won revenue over the window (minor units of `currency`) that makes a company A or B."""

    currency: str = "EUR"
    a_min: int = 10_000_000  # 100 000.00
    b_min: int = 1_000_000  # 10 000.00
    months: int = 24


def months_ago(now: dt.datetime, months: int) -> dt.datetime:
    y, m = divmod(now.year * 12 + now.month - 1 - months, 12)
    d = min(now.day, calendar.monthrange(y, m + 1)[1])
    return now.replace(year=y, month=m + 1, day=d)


@dataclass
class TierResult:
    tier: str | None
    won_minor: int
    pipeline_minor: int
    expires_at: str | None  # when the oldest counted win leaves the window (recompute then)
    wins: list = field(
        default_factory=list
    )  # [{"at": won_at, "amount_minor": n}, ...] counted (no nested arrays: FerretDB)


def compute_tier(deals: Iterable[Mapping[str, Any]], t: TierThresholds, now: dt.datetime) -> TierResult:
    """A company's tier from its deals (replica rows): won revenue in `t.currency` over the last
    `t.months` months decides A (≥ a_min), B (≥ b_min) or C (any won or open business, else None);
    the weighted open pipeline is the tie-breaker: it orders companies inside a tier and lifts a
    company with no win yet from None to C."""
    since = iso(months_ago(now, t.months))
    won, pipeline, oldest, wins = 0, 0, None, []
    for d in deals:
        if d.get("currency") != t.currency:
            continue
        amount = int(d.get("amount_minor") or 0)
        if d.get("status") == "won" and (d.get("won_at") or "") >= since:
            won += amount
            wins.append({"at": d["won_at"], "amount_minor": amount})
            oldest = min(oldest or d["won_at"], d["won_at"])
        elif d.get("status") == "open":
            pipeline += amount * int(d.get("probability") or 0) // 100
    if won >= t.a_min:
        tier = "A"
    elif won >= t.b_min:
        tier = "B"
    elif won or pipeline:
        tier = "C"
    else:
        tier = None
    expires = None
    if oldest:
        expires = iso(months_ago(dt.datetime.fromisoformat(oldest), -t.months))
    return TierResult(tier, won, pipeline, expires, sorted(wins, key=lambda w: w["at"]))


def tier_sort_key(doc: Mapping[str, Any]) -> tuple:
    """A before B before C before none; inside a tier more won revenue, then more weighted pipeline."""
    order = {"A": 0, "B": 1, "C": 2}.get(doc.get("tier") or "", 3)
    return (order, -int(doc.get("tier_won_minor") or 0), -int(doc.get("tier_pipeline_minor") or 0))


# ---- my day ---------------------------------------------------------------------------------------
def day_bounds(now: dt.datetime) -> tuple[str, str]:
    """[start of today, start of tomorrow) in UTC, as stored timestamps."""
    start = dt.datetime(now.year, now.month, now.day, tzinfo=dt.UTC)
    return iso(start), iso(start + dt.timedelta(days=1))


def split_day(activities: Iterable[Mapping[str, Any]], now: dt.datetime) -> tuple[list, list]:
    """Planned activities split into overdue (their time has passed) and due later today."""
    _, tomorrow = day_bounds(now)
    now_s = iso(now)
    overdue, today = [], []
    for a in activities:
        if a.get("status") != ActivityStatus.PLANNED.value:
            continue
        when = activity_when(a) or ""
        if when < now_s:
            overdue.append(a)
        elif when < tomorrow:
            today.append(a)
    key = lambda a: activity_when(a) or ""  # noqa: E731
    return sorted(overdue, key=key), sorted(today, key=key)


def deals_without_next_step(open_deals: Iterable[Mapping[str, Any]], planned_deal_ids: set[str]) -> list:
    """Open deals with no planned activity linked to them."""
    return [d for d in open_deals if d["id"] not in planned_deal_ids]


def neglected(companies: Iterable[Mapping[str, Any]], last_contact: Mapping[str, str], now: dt.datetime, days: int):
    """Companies whose last held activity or logged interaction is older than `days` (or never)."""
    cutoff = iso(now - dt.timedelta(days=days))
    return [c for c in companies if (last_contact.get(c["id"]) or "") < cutoff]


# ---- activity control -----------------------------------------------------------------------------
@dataclass
class ControlRow:
    owner: str
    calls_planned: int = 0
    calls_held: int = 0
    meetings_planned: int = 0
    meetings_held: int = 0
    leads_worked: int = 0
    deals_moved: int = 0
    deals_won: int = 0
    revenue_won: dict[str, int] = field(default_factory=dict)
    neglected_accounts: int = 0


def activity_control(
    activities: Iterable[Mapping[str, Any]],
    leads: Iterable[Mapping[str, Any]],
    deal_log: Iterable[Mapping[str, Any]],
    neglected_by_owner: Mapping[str, int],
) -> list[ControlRow]:
    """Per salesperson over a period (the inputs are already the period's rows): activities by
    kind and status (planned = still planned or held/not held: everything that was scheduled;
    held = held), leads worked (touched leads they own), deal moves and wins with revenue by currency."""
    rows: dict[str, ControlRow] = {}

    def row(owner: str | None) -> ControlRow | None:
        if not owner:
            return None
        return rows.setdefault(owner, ControlRow(owner))

    for a in activities:
        r = row(a.get("owner"))
        if r is None or a.get("kind") not in ("call", "meeting") or a.get("status") == "cancelled":
            continue
        k = "calls" if a["kind"] == "call" else "meetings"
        setattr(r, f"{k}_planned", getattr(r, f"{k}_planned") + 1)
        if a.get("status") == "held":
            setattr(r, f"{k}_held", getattr(r, f"{k}_held") + 1)
    for lead in leads:
        r = row(lead.get("owner"))
        if r and lead.get("status") != LeadStatus.NEW.value:
            r.leads_worked += 1
    for e in deal_log:
        r = row(e.get("owner"))
        if r is None:
            continue
        if e.get("verb") == "stage_changed":
            r.deals_moved += 1
        elif e.get("verb") == "won":
            r.deals_won += 1
            cur = e.get("currency") or "?"
            r.revenue_won[cur] = r.revenue_won.get(cur, 0) + int(e.get("amount_minor") or 0)
    for owner, n in neglected_by_owner.items():
        r = row(owner)
        if r:
            r.neglected_accounts = n
    return sorted(rows.values(), key=lambda r: r.owner)
