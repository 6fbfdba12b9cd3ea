"""Support's plain rules (no strawberry import): ticket states and who may write what.
Unit-tested in tests/unit/test_support_domain.py."""

from __future__ import annotations

from enum import Enum

from services.common.errors import ErrorCode, InputError


class TicketPriority(Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class TicketStatus(Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = ["open", "in_progress", "waiting"]
MAX_TEXT = 20_000  # description, resolution and comment bodies


def ticket_contact(requested: str | None, *, own_contact: str | None) -> str | None:
    """The contact a new ticket is filed for. A customer token bound to a contact files as that
    contact; naming a colleague is answered as if the colleague did not exist."""
    if own_contact is None:
        return requested
    if requested not in (None, own_contact):
        raise InputError(ErrorCode.UNKNOWN_REFERENCE, f"contact {requested} does not exist", ["input", "contactId"])
    return own_contact


def resolved(ticket: dict, resolution: str, now: str) -> dict:
    """The ticket resolved: only an open (or in-progress, waiting) ticket can be."""
    if ticket["status"] not in OPEN_STATUSES:
        raise InputError(ErrorCode.INVALID, f"the ticket is {ticket['status']} already", ["input", "id"])
    from .sla import with_status

    pauses = with_status(ticket.get("pauses") or [], ticket["status"], "resolved", now)
    return {**ticket, "status": "resolved", "resolution": resolution, "resolved_at": now, "pauses": pauses}


def comment(id: str, ticket: dict, body: str, *, internal: bool, author: str, role: str, by_staff: bool) -> dict:
    """A comment on `ticket`. Internal notes are staff's; customers comment publicly."""
    if internal and not by_staff:
        raise InputError(ErrorCode.NOT_ALLOWED, "only staff write internal notes", ["input", "internal"])
    return {
        "id": id,
        "ticket_id": ticket["id"],
        "company_id": ticket["company_id"],
        "contact_id": ticket.get("contact_id"),
        "partner_id": ticket.get("partner_id"),
        "body": body,
        "internal": internal,
        "author": author,
        "author_role": role,
    }


# ---- SLA policies --------------------------------------------------------------------------------
PRIORITIES = [p.value for p in TicketPriority]
TIERS = ("A", "B", "C")


def targets_of(rows, field_path: list[str]) -> dict[str, dict[str, int]]:
    """Validated targets `[(priority, first_response_minutes, resolution_minutes)]` as stored:
    `{"high": {"first_response_minutes": 60, "resolution_minutes": 480}}`."""
    out: dict[str, dict[str, int]] = {}
    for i, (priority, first, resolution) in enumerate(rows):
        path = [*field_path, str(i)]
        if priority in out:
            raise InputError(ErrorCode.INVALID, f"two targets for priority {priority}", path)
        if not (0 < first <= 525_600 and 0 < resolution <= 525_600):
            raise InputError(ErrorCode.INVALID, "targets are 1 minute to 1 year of business time", path)
        if resolution < first:
            raise InputError(ErrorCode.INVALID, "the resolution target is shorter than the first response", path)
        out[priority] = {"first_response_minutes": first, "resolution_minutes": resolution}
    if not out:
        raise InputError(ErrorCode.INVALID, "a policy needs targets", field_path)
    return out


def pick_policy(policies: list[dict], *, company_id: str | None, tier: str | None, priority: str) -> dict | None:
    """The policy of a ticket: the client's own contract first, then its value tier, then the
    default (no tier, no company); among equals the oldest. Only a policy with a target for the
    ticket's priority applies."""

    def rank(p: dict) -> int | None:
        if priority not in (p.get("targets") or {}) or not p.get("active", True):
            return None
        if p.get("company_id"):
            return 0 if p["company_id"] == company_id else None
        if p.get("tier"):
            return 1 if p["tier"] == tier else None
        return 2

    ranked = [(r, p.get("created_at") or "", p["id"], p) for p in policies if (r := rank(p)) is not None]
    return min(ranked, key=lambda x: x[:3])[3] if ranked else None


def sla_snapshot(policy: dict | None, calendar: dict | None, priority: str) -> dict | None:
    """What a ticket keeps of its policy when opened (or re-prioritised): the targets and the
    calendar itself, so that evaluating and escalating it needs no other read."""
    if policy is None:
        return None
    t = policy["targets"][priority]
    cal = {k: calendar.get(k) for k in ("id", "name", "time_zone", "hours", "holidays")} if calendar else None
    return {
        "policy_id": policy["id"],
        "policy_name": policy.get("name"),
        "first_response_minutes": t["first_response_minutes"],
        "resolution_minutes": t["resolution_minutes"],
        "warn_percent": policy.get("warn_percent") or 80,
        "calendar": cal,
        "escalation": policy.get("escalation") or {},
    }


def raised(priority: str) -> str:
    i = PRIORITIES.index(priority)
    return PRIORITIES[min(i + 1, len(PRIORITIES) - 1)]


# ---- assignment ------------------------------------------------------------------------------------
def pick_agent(strategy: str, members: list[str], available: set[str], load: dict[str, int], cursor: int):
    """(agent, next cursor) of a queue's next assignment, or (None, cursor) when nobody is available.
    Round robin walks the member list from the cursor, skipping unavailable agents; least loaded
    takes the available agent with the fewest open tickets (member order breaks ties)."""
    if not members:
        return None, cursor
    if strategy == "least_loaded":
        candidates = [m for m in members if m in available]
        if not candidates:
            return None, cursor
        return min(candidates, key=lambda m: (load.get(m, 0), members.index(m))), cursor
    n = len(members)
    for step in range(n):
        i = (cursor + step) % n
        if members[i] in available:
            return members[i], (i + 1) % n
    return None, cursor


# ---- status --------------------------------------------------------------------------------------
MANUAL_STATUSES = ("open", "in_progress", "waiting")


def status_changed(ticket: dict, status: str, now: str) -> dict:
    """Move an open ticket between open / in progress / waiting on the customer (pauses the SLA)."""
    if ticket["status"] not in OPEN_STATUSES:
        raise InputError(ErrorCode.INVALID, f"the ticket is {ticket['status']}; reopen it first", ["input", "id"])
    if status not in MANUAL_STATUSES:
        raise InputError(ErrorCode.INVALID, "use resolveTicket to resolve", ["input", "status"])
    from .sla import with_status

    return {
        **ticket,
        "status": status,
        "pauses": with_status(ticket.get("pauses") or [], ticket["status"], status, now),
    }


def reopened(ticket: dict, now: str) -> dict:
    """A resolved (or closed) ticket back to open; its SLA resolution clock resumes (the resolved
    time was a pause)."""
    from .sla import with_status

    if ticket["status"] in OPEN_STATUSES:
        return ticket
    return {
        **ticket,
        "status": "open",
        "resolved_at": None,
        "reopened_at": now,
        "pauses": with_status(ticket.get("pauses") or [], ticket["status"], "open", now),
    }


def satisfaction_low(score: int) -> bool:
    """A score of 1 or 2 (of 5) reopens the conversation."""
    return score <= 2


# ---- knowledge base ---------------------------------------------------------------------------------
def folded(text: str) -> str:
    """Text for accent- and case-insensitive search: NFKD without combining marks, casefolded
    ("Révision Ærø" → "revision æro"); letters without a decomposition (ø, æ, ß→ss) fold by case only."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def words(text: str) -> list[str]:
    import re

    return re.findall(r"\w+", folded(text))


def article_score(article: dict, query: str) -> int:
    """0 when some word of the query is missing; else how well it matches (title words count
    triple). Every query word must appear as a prefix of a word of the article."""
    terms = words(query)
    if not terms:
        return 0
    title = words(article.get("title") or "")
    body = words(" ".join([article.get("body") or "", article.get("category") or "", *(article.get("tags") or [])]))
    score = 0
    for t in terms:
        in_title = sum(1 for w in title if w.startswith(t))
        in_body = sum(1 for w in body if w.startswith(t))
        if not in_title and not in_body:
            return 0
        score += 3 * in_title + in_body
    return score


def readable_articles(role_is_staff: bool) -> dict:
    """Which articles a reader sees: staff every article, portal users published public ones."""
    return {} if role_is_staff else {"$and": [{"status": "published"}, {"visibility": "public"}]}


# ---- reports ------------------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of `values`, None when empty."""
    if not values:
        return None
    import math

    ordered = sorted(values)
    k = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[k - 1]


AGE_BUCKETS = ((1, "< 1 day"), (3, "1–3 days"), (7, "3–7 days"), (30, "7–30 days"), (None, "> 30 days"))


def age_bucket(days: float) -> str:
    for limit, label in AGE_BUCKETS:
        if limit is None or days < limit:
            return label
    return AGE_BUCKETS[-1][1]
