"""The manager's day: published events, consumers and scheduled work (docs/day.md).

Consumers: `marketing.lead.requested` → a lead (assigned by the rules); `*.notification.requested`
and `contacts.reminder.due` → notifications (and e-mail with SMTP_URL); `deals.deal.*` → the
`ref_deals` replica and the company's value tier (the timeline's deal rows carry verb, owner
and amount for activity control).
Timers (services.common.scheduler): one-off reminders, yearly personal dates, tier windows."""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import TYPE_CHECKING, Any

from services.common.envelope import Envelope
from services.common.errors import AlreadyApplied, DuplicateKeyError, NotFoundError
from services.common.values import pick

from . import day
from .events import company_snapshot

if TYPE_CHECKING:
    from services.common.store import Store

log = logging.getLogger(__name__)

LEAD_CREATED = "contacts.lead.created"
LEAD_UPDATED = "contacts.lead.updated"
LEAD_STATUS_CHANGED = "contacts.lead.status_changed"
LEAD_CONVERTED = "contacts.lead.converted"
ACTIVITY_CHANGED = "contacts.activity.changed"
REMINDER_DUE = "contacts.reminder.due"
LEAD_REQUESTED = "marketing.lead.requested"  # consumed
NOTIFICATION_REQUESTED = "*.notification.requested"  # consumed
DEAL_EVENTS = "deals.deal.*"  # consumed
# settings documents: disqualify reasons, tier thresholds, assignment rules (`type:
# assignment_rule`) and their round-robin cursors (`rr-<rule id>`)
SETTINGS = "day_settings"
CONFIG = SETTINGS

# Indexes of the day's collections, created on their first write (not at start): every collection
# costs the outbox relay one query per scan, so collections a deployment never uses stay absent.
LAZY_INDEXES = {
    "leads": [[("created_at", -1)], [("owner", 1), ("status", 1)], [("partner_id", 1), ("created_at", -1)]],
    "activities": [[("owner", 1), ("status", 1), ("when", 1)], [("when", 1)], [("deal_id", 1), ("status", 1)]],
    "notifications": [[("recipient", 1), ("created_at", -1)]],
    "reminders": [[("state", 1), ("remind_at", 1)], [("yearly", 1), ("remind_at", 1)], [("contact_id", 1)]],
    "ref_deals": [[("owner", 1), ("status", 1)], [("company_id", 1)]],
    "transfer_jobs": [[("key", 1), ("state", 1)], [("job_id", 1)]],
}
_indexed: set[tuple[int, str]] = set()


async def lazy_indexes(store: Store, coll: str) -> None:
    key = (id(store), coll)
    if key in _indexed:
        return
    for spec in LAZY_INDEXES.get(coll, []):
        await store.ensure_index(coll, spec)
    _indexed.add(key)


# ---- published --------------------------------------------------------------------------------------
def lead_snapshot(doc: dict) -> dict:
    return pick(
        doc,
        "id",
        "version",
        "status",
        "source",
        "first_name",
        "last_name",
        "company_name",
        "email",
        "owner",
        "score",
        "campaign_id",
        "form_id",
        "company_id",
        "contact_id",
        "deal_id",
        "partner_id",
        "disqualify_reason",
    )


def lead_created(doc: dict) -> Envelope:
    return Envelope(LEAD_CREATED, doc["id"], lead_snapshot({**doc, "version": 1}))


def lead_changed(old: dict, new: dict) -> list[Envelope]:
    evs = [Envelope(LEAD_UPDATED, new["id"], lead_snapshot(new))]
    if old["status"] != new["status"] and new["status"] != day.LeadStatus.CONVERTED.value:
        evs.append(Envelope(LEAD_STATUS_CHANGED, new["id"], {**lead_snapshot(new), "from": old["status"]}))
    return evs


def activity_snapshot(doc: dict) -> dict:
    return pick(
        doc,
        "id",
        "version",
        "kind",
        "status",
        "title",
        "notes",
        "outcome",
        "owner",
        "due_at",
        "start_at",
        "end_at",
        "held_at",
        "company_id",
        "contact_id",
        "lead_id",
        "deal_id",
        "partner_id",
        "created_at",
    )


def activity_changed(doc: dict) -> Envelope:
    """One event type per change of an activity: the timeline keeps one row per activity."""
    return Envelope(ACTIVITY_CHANGED, doc["id"], activity_snapshot(doc))


# ---- settings documents ---------------------------------------------------------------------------
async def disqualify_reasons(store: Store) -> list[str]:
    doc = await store.get(CONFIG, "disqualify_reasons")
    return list((doc or {}).get("reasons") or day.DEFAULT_DISQUALIFY_REASONS)


async def tier_thresholds(store: Store) -> day.TierThresholds:
    doc = await store.get(CONFIG, "tiers")
    if not doc:
        return day.TierThresholds()
    return day.TierThresholds(doc["currency"], int(doc["a_min"]), int(doc["b_min"]), int(doc.get("months") or 24))


# ---- assignment -----------------------------------------------------------------------------------
RECENT_KEEP = 200


async def assign(store: Store, lead: dict) -> tuple[str | None, str | None]:
    """(owner, rule id) for a new lead: the first matching rule's team, round robin. The turn is
    taken on the rule's cursor document by a version-conditional write (two replicas never take the
    same turn), and remembered per lead id, so assigning the same lead again (a redelivered request)
    gives the same owner and takes no second turn."""
    rules = await store.find_all(SETTINGS, {"type": "assignment_rule", "active": True})
    rule = day.pick_rule(rules, lead)
    if rule is None:
        return None, None
    taken: dict[str, int] = {}

    def turn(doc: dict | None) -> dict | None:
        doc = doc or {"n": 0, "recent": []}
        # [{"lead": id, "turn": n}]: a list, not a dict keyed by lead id (ids may hold dots)
        recent = list(doc.get("recent") or [])
        seen = next((r["turn"] for r in recent if r["lead"] == lead["id"]), None)
        if seen is not None:
            taken["turn"] = seen
            return None
        taken["turn"] = int(doc.get("n") or 0)
        recent = [*recent, {"lead": lead["id"], "turn": taken["turn"]}][-RECENT_KEEP:]
        return {"n": taken["turn"] + 1, "recent": recent}

    await store.mutate(SETTINGS, f"rr-{rule['id']}", turn, create=True)
    return day.round_robin(list(rule["team"]), taken["turn"]), rule["id"]


# ---- consumed: lead requests ------------------------------------------------------------------------
async def on_lead_requested(store: Store, e: Envelope) -> None:
    """`marketing.lead.requested` → a lead whose id is the event's subject (a replay makes none)."""
    if await store.get("leads", e.subject) is not None:
        return
    fields = day.lead_from_request(e.data)
    body = {"id": e.subject, **fields}
    if body.get("company_id"):
        company = await store.get("companies", body["company_id"])
        if company is None:
            body["company_id"] = None
        else:
            body["partner_id"] = company.get("partner_id")
    if body.get("contact_id") and await store.get("contacts", body["contact_id"]) is None:
        body["contact_id"] = None
    body["owner"], body["rule_id"] = await assign(store, body)
    if body["owner"]:
        body["status"] = day.LeadStatus.NEW.value
    audit = _system_audit("created", "Lead", body["id"], {"source": {"from": None, "to": body["source"]}})
    await lazy_indexes(store, "leads")
    try:
        await store.insert("leads", body, events=[lead_created(body), audit])
    except DuplicateKeyError:
        pass


def _system_audit(action: str, entity: str, entity_id: str, changes: dict) -> Envelope:
    from services.common.audit import audit_event

    return audit_event("contacts", None, action, entity, entity_id, changes)


# ---- consumed: notifications (and e-mail) -----------------------------------------------------------
def mail_address(sub: str) -> str | None:
    """A user's e-mail address: the sub itself when it is one, else sub@TURNKEY_STAFF_MAIL_DOMAIN."""
    if "@" in sub:
        return sub
    domain = os.environ.get("TURNKEY_STAFF_MAIL_DOMAIN")
    return f"{sub}@{domain}" if domain else None


async def notify(service: Any, e: Envelope, recipients: list[str], fields: dict) -> None:
    """One notification per recipient (id = subject + recipient: a replay adds none), and an e-mail
    each when SMTP_URL is set. The mail state rides on the notification: a redelivery after a crash
    between the insert and the send sends it then; a sent one is never sent again."""
    store = service.store
    for sub in recipients:
        nid = f"{e.subject}.{sub}"
        body = {
            "id": nid,
            "recipient": sub,
            "read": False,
            "source": e.producer,
            "kind": fields.get("kind") or "notice",
            "title": fields.get("title") or "Notification",
            "body": fields.get("body"),
            "ref_type": fields.get("ref_type"),
            "ref_id": fields.get("ref_id"),
            "company_id": fields.get("company_id"),
            "mail": "pending" if _mailer(service) else None,
        }
        await lazy_indexes(store, "notifications")
        try:
            doc = await store.insert("notifications", body)
        except DuplicateKeyError:
            doc = await store.get("notifications", nid)
        if doc and doc.get("mail") == "pending":
            await _send(service, doc)


def _mailer(service: Any):
    url = service.settings.smtp_url
    if not url:
        return None
    from services.common.mail import Mailer

    return Mailer(url)


async def _send(service: Any, doc: dict) -> None:
    from services.common.mail import make_message

    mailer = _mailer(service)
    to = mail_address(doc["recipient"])
    if mailer is None or not to:
        await service.store.update("notifications", doc["id"], {"mail": None})
        return
    msg = make_message(
        sender=service.settings.mail_from,
        message_id=f"<{doc['id']}@turnkey-crm>",
        to=to,
        subject=doc["title"],
        text=(doc.get("body") or doc["title"]) + "\n",
        headers={"X-Turnkey-Notification": doc["id"]},
    )
    await mailer.send(msg)
    await service.store.update("notifications", doc["id"], {"mail": "sent"})


async def on_notification_requested(service: Any, e: Envelope) -> None:
    d = e.data
    recipients = [r for r in d.get("recipients") or [] if isinstance(r, str) and r]
    await notify(service, e, recipients, d)


async def on_reminder_due(service: Any, e: Envelope) -> None:
    d = e.data
    if d.get("owner"):
        await notify(service, e, [d["owner"]], {**d, "kind": d.get("kind") or "reminder"})


# ---- consumed: deals --------------------------------------------------------------------------------
DEAL_FIELDS = (
    "title",
    "company_id",
    "contact_id",
    "amount_minor",
    "currency",
    "status",
    "owner",
    "probability",
    "stage_name",
    "won_at",
    "partner_id",
)


async def on_deal_event(store: Store, e: Envelope) -> None:
    """The `ref_deals` replica (newest version wins) and the company's value tier recomputed."""
    snap = e.data
    if not snap.get("id"):
        return
    version = int(snap.get("version") or 0)

    def fn(current: dict | None) -> dict | None:
        if current and current.get("source_version", 0) > version:
            return None
        if current and current.get("source_version", 0) == version and e.type.endswith(".stage_changed"):
            return None
        return {**(current or {}), **{k: snap.get(k) for k in DEAL_FIELDS}, "source_version": version}

    await lazy_indexes(store, "ref_deals")
    try:
        await store.mutate("ref_deals", str(snap["id"]), fn, create=True, event_id=e.id)
    except AlreadyApplied:
        pass
    if snap.get("company_id"):
        await recompute_tier(store, snap["company_id"])


async def recompute_tier(store: Store, company_id: str, now: dt.datetime | None = None) -> dict | None:
    """Set a company's tier from its deals (replica); publishes `contacts.company.updated` with
    `tier` when it changed. `tier_check_at` is when the oldest counted win leaves the window."""
    thresholds = await tier_thresholds(store)
    deals = await store.find_all("ref_deals", {"company_id": company_id})
    r = day.compute_tier(deals, thresholds, now or dt.datetime.now(dt.UTC))
    changes = tier_changes(r, thresholds)

    def fn(doc: dict) -> dict | None:
        if all(doc.get(k) == v for k, v in changes.items()):
            return None
        return {**doc, **changes}

    def evs(old: dict, new: dict) -> list[Envelope]:
        if old.get("tier") == new.get("tier"):
            return []
        return [Envelope("contacts.company.updated", new["id"], company_snapshot(new))]

    try:
        return await store.mutate("companies", company_id, fn, events=evs)
    except NotFoundError:
        return None


def tier_changes(r: day.TierResult, t: day.TierThresholds) -> dict:
    """What a company document keeps of its tier: the tier, its figures, the counted wins and the
    rule, so that the window timer can recompute it alone when the oldest win leaves the window."""
    return {
        "tier": r.tier,
        "tier_won_minor": r.won_minor,
        "tier_pipeline_minor": r.pipeline_minor,
        "tier_check_at": r.expires_at,
        "tier_wins": r.wins,
        "tier_rule": {"currency": t.currency, "a_min": t.a_min, "b_min": t.b_min, "months": t.months},
    }


def tier_window_fire(doc: dict, now: str) -> tuple[dict | None, list[Envelope]]:
    """A win left the 24-month window: the tier again from the wins the company document keeps."""
    if not doc.get("tier_check_at") or doc["tier_check_at"] > now:
        return None, []
    t = day.TierThresholds(**(doc.get("tier_rule") or {}))
    wins = [
        {"status": "won", "won_at": w["at"], "amount_minor": w["amount_minor"], "currency": t.currency}
        for w in doc.get("tier_wins") or []
    ]
    pipeline = [
        {
            "status": "open",
            "amount_minor": doc.get("tier_pipeline_minor") or 0,
            "currency": t.currency,
            "probability": 100,
        }
    ]
    r = day.compute_tier([*wins, *pipeline], t, dt.datetime.fromisoformat(now))
    changes = tier_changes(r, t)
    new = {**doc, **changes}
    evs = (
        []
        if doc.get("tier") == r.tier
        else [Envelope("contacts.company.updated", doc["id"], company_snapshot({**new, "version": doc["version"] + 1}))]
    )
    return changes, evs


# ---- timers (services.common.scheduler) -------------------------------------------------------------
def reminder_fire(doc: dict, now: str) -> tuple[dict | None, list[Envelope]]:
    """A one-off reminder: fires once, then `state: fired`."""
    if doc.get("state") != "pending" or doc["remind_at"] > now:
        return None, []
    data = {**pick(doc, "owner", "title", "ref_type", "ref_id", "company_id", "contact_id"), "kind": "reminder"}
    data["body"] = doc.get("body")
    return {"state": "fired", "fired_at": now}, [Envelope(REMINDER_DUE, f"{doc['id']}.{doc['remind_at']}", data)]


def personal_date_fire(doc: dict, now: str) -> tuple[dict | None, list[Envelope]]:
    """A yearly personal date: fires, then moves `remind_at` to next year's occurrence. The event
    subject names the occurrence, so a redelivery makes one notification."""
    if doc["remind_at"] > now:
        return None, []
    nxt = day.next_reminder(doc["month"], doc["day"], int(doc.get("days_before") or 0), dt.datetime.fromisoformat(now))
    data = {
        "owner": doc["owner"],
        "title": doc["title"],
        "body": doc.get("body"),
        "ref_type": "Contact",
        "ref_id": doc["contact_id"],
        "company_id": doc.get("company_id"),
        "contact_id": doc["contact_id"],
        "kind": doc["kind"],
    }
    return {"remind_at": nxt, "last_fired_at": now}, [Envelope(REMINDER_DUE, f"{doc['id']}.{doc['remind_at']}", data)]


def timers(service: Any) -> list:
    from services.common.scheduler import Timer

    return [
        Timer(
            name="reminders",
            coll="reminders",
            due=lambda now: {"state": "pending", "remind_at": {"$lte": now}},
            fire=reminder_fire,
        ),
        Timer(
            name="personal-dates",
            coll="reminders",
            due=lambda now: {"yearly": True, "remind_at": {"$lte": now}},
            fire=personal_date_fire,
        ),
        Timer(
            name="tier-window",
            coll="companies",
            due=lambda now: {"tier_check_at": {"$lte": now}},
            fire=tier_window_fire,
        ),
    ]
