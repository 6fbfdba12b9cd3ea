"""Queries and mutations of the manager's day (docs/day.md): leads and their conversion, assignment
rules, activities, personal dates and interests, reminders and notifications, my day, value tiers,
activity control and the hand-over of a book. Mixed into contacts' Query and Mutation."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Annotated

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, PARTNER, SALES, STAFF, allow
from services.common.context import Context
from services.common.envelope import Envelope
from services.common.errors import DuplicateKeyError, ErrorCode, InputError, PublicError
from services.common.graphql import Connection, Money, payload_errors
from services.common.ids import iso, new_id, now_iso
from services.common.money import parse_money
from services.common.registration import partner_registration
from services.common.values import all_of, clean_text, equal, ts_input

from . import day, day_events, domain, events, handover
from .day_types import (
    Activity,
    ActivityControlRow,
    ActivityFilter,
    ActivityPayload,
    AddPersonalDateInput,
    AssignmentRule,
    AssignmentRuleInput,
    AssignmentRulePayload,
    ContactInterestsPayload,
    ConvertLeadInput,
    ConvertLeadPayload,
    CreateActivityInput,
    CreateLeadInput,
    CreateReminderInput,
    DealSummary,
    DisqualifyReasonsInput,
    DisqualifyReasonsPayload,
    HandoverNeeded,
    Lead,
    LeadFilter,
    LeadPayload,
    MarkReadInput,
    MarkReadPayload,
    MyDay,
    Notification,
    PersonalDate,
    PersonalDatePayload,
    Reminder,
    ReminderPayload,
    RemovePersonalDateInput,
    SetInterestsInput,
    SetLeadStatusInput,
    TierThresholds,
    TierThresholdsInput,
    TierThresholdsPayload,
    TransferBookInput,
    TransferJob,
    TransferPayload,
    UpdateActivityInput,
    UpdateLeadInput,
)
from .policy import LEAD_SCOPED, LEAD_WORKERS
from .types import Company, Contact

LEAD_SORT = [("created_at", -1)]
ACTIVITY_SORT = [("when", 1)]
CONTACT_KINDS = ["call", "email", "meeting", "note", "chat"]
DONE = ["held"]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---- leads ----------------------------------------------------------------------------------------
def lead_filter(f: LeadFilter | None) -> dict:
    if not f:
        return {}
    return all_of(
        {"status": f.status.value} if f.status else None,
        {"source": f.source.value} if f.source else None,
        *equal(
            [
                ("owner", f.owner),
                ("campaign_id", f.campaign_id),
                ("form_id", f.form_id),
                ("company_id", f.company_id),
            ]
        ),
        {"status": {"$in": list(day.OPEN_LEAD)}, "score": {"$gte": day.HOT_SCORE}} if f.hot else None,
    )


def _lead_text(inp, creating: bool) -> dict:
    out: dict = {}
    for f in ("first_name", "last_name", "company_name", "phone", "region", "segment"):
        v = getattr(inp, f, None)
        if v is not None or creating:
            out[f] = clean_text(v, f) or None
    if getattr(inp, "notes", None) is not None or creating:
        out["notes"] = clean_text(inp.notes, "notes", max_len=10_000) or None
    if getattr(inp, "email", None) is not None or creating:
        out["email"] = domain.email(inp.email)
        out["email_key"] = out["email"].casefold() if out["email"] else None
    return out


async def _partner_owner(c: Context, account_owner: str | None, requested: str | None) -> dict:
    partner = await c.store.get("companies", c.principal.company)
    return partner_registration(
        c.principal.company,
        c.principal.sub,
        requested_owner=requested,
        account_owner=account_owner,
        partner_manager=(partner or {}).get("owner"),
    )


async def _convert(c: Context, input: ConvertLeadInput) -> ConvertLeadPayload:
    """Company + contact (created with ids derived from the lead, or linked), then the lead marked
    converted with its links and the `contacts.lead.converted` event that deals turns into a deal
    (services/deals/leads.py, deal id derived from the lead). Each step is idempotent, so a retry,
    even after a crash half-way, creates nothing twice."""
    store = c.store
    lead = await c.referenced("leads", input.id, "lead", "id", code=ErrorCode.NOT_FOUND)
    if lead["status"] == day.LeadStatus.CONVERTED.value:
        return await _converted_payload(c, lead)
    if lead["status"] == day.LeadStatus.DISQUALIFIED.value:
        raise InputError(ErrorCode.INVALID, "a disqualified lead cannot be converted", ["input", "id"])
    deal = None
    if input.deal_title is not None:
        title = clean_text(input.deal_title, "dealTitle", required=True)
        amount_minor, currency = parse_money(input.amount or decimal.Decimal(0), input.currency, "amount")
        deal = {"title": title, "amount_minor": amount_minor, "currency": currency}
    owner = lead.get("owner") or c.principal.sub
    # the company
    company_id = str(input.company_id or lead.get("company_id") or "")
    if company_id:
        company = await c.referenced("companies", company_id, "company", "companyId")
    else:
        name = lead.get("company_name") or day.lead_name(lead)
        company_id = f"{lead['id']}-co"
        body = {
            "id": company_id,
            "name": name,
            "name_key": name.casefold(),
            "kind": domain.CompanyKind.PROSPECT.value,
            "owner": owner,
            "partner_id": lead.get("partner_id"),
            "lead_id": lead["id"],
        }
        company = await _create_once(c, "companies", "Company", body, events.company_created)
    # the contact
    contact_id = str(input.contact_id or lead.get("contact_id") or "")
    if contact_id:
        contact = await c.referenced("contacts", contact_id, "contact", "contactId")
    elif lead.get("last_name") or lead.get("first_name"):
        same = None
        if lead.get("email_key"):
            page = await store.find("contacts", c.scoped("contacts", {"email_key": lead["email_key"]}), first=1)
            same = page.items[0] if page.items else None
        if same is not None:
            contact, contact_id = same, same["id"]
        else:
            contact_id = f"{lead['id']}-ct"
            body = {
                "id": contact_id,
                "first_name": lead.get("first_name") or "",
                "last_name": lead.get("last_name") or lead.get("first_name") or "",
                "email": lead.get("email"),
                "email_key": lead.get("email_key"),
                "phone": lead.get("phone"),
                "company_id": company_id,
                "lifecycle": domain.Lifecycle.PROSPECT.value,
                "owner": owner,
                "partner_id": lead.get("partner_id"),
                "lead_id": lead["id"],
            }
            body["first_name_key"], body["last_name_key"] = body["first_name"].casefold(), body["last_name"].casefold()
            contact = await _create_once(c, "contacts", "Contact", body, events.contact_created)
    else:
        contact, contact_id = None, None
    deal_id = f"{lead['id']}-deal" if deal else None
    links = {"company_id": company_id, "contact_id": contact_id, "deal_id": deal_id}

    def convert(d: dict) -> dict | None:
        if d["status"] == day.LeadStatus.CONVERTED.value:
            return None  # converted meanwhile (a concurrent retry): nothing more
        return {**d, **links, "status": day.LeadStatus.CONVERTED.value, "converted_at": now_iso()}

    def converted(old: dict, new: dict) -> list[Envelope]:
        data = {
            **day_events.lead_snapshot(new),
            "lead_id": new["id"],
            "deal": {**deal, "owner": owner} if deal else None,
        }
        data["partner_id"] = new.get("partner_id")
        return [Envelope(day_events.LEAD_CONVERTED, new["id"], data), *day_events.lead_changed(old, new)]

    new = await c.update("leads", "Lead", lead["id"], convert, expected_version=None, events=converted)
    return ConvertLeadPayload(
        lead=Lead.from_doc(new),
        company=Company.from_doc(company) if company else None,
        contact=Contact.from_doc(contact) if contact else None,
        deal_id=new.get("deal_id"),
    )


async def _create_once(c: Context, coll: str, entity: str, body: dict, event) -> dict:
    """Create a record with a derived id; a retry finds it there and creates nothing."""
    existing = await c.store.get(coll, body["id"])
    if existing is not None:
        return existing
    try:
        return await c.create(coll, entity, body, events=[event({**body, "version": 1})])
    except DuplicateKeyError:
        existing = await c.store.get(coll, body["id"])
        if existing is None:
            raise
        return existing


async def _converted_payload(c: Context, lead: dict) -> ConvertLeadPayload:
    return ConvertLeadPayload(
        lead=Lead.from_doc(lead),
        company=await c.one("companies", lead.get("company_id"), Company.from_doc),
        contact=await c.one("contacts", lead.get("contact_id"), Contact.from_doc),
        deal_id=lead.get("deal_id"),
    )


# ---- activities -----------------------------------------------------------------------------------
async def _activity_links(c: Context, fields: dict) -> None:
    """Check the records an activity names (within the caller's scope) and fill the company from
    the contact, lead or deal; the partner that registered the company sees the activity too."""
    partner = None
    if fields.get("contact_id"):
        contact = await c.referenced("contacts", fields["contact_id"], "contact", "contactId")
        fields["company_id"] = fields.get("company_id") or contact.get("company_id")
    if fields.get("lead_id"):
        lead = await c.referenced("leads", fields["lead_id"], "lead", "leadId")
        fields["company_id"] = fields.get("company_id") or lead.get("company_id")
        partner = lead.get("partner_id")
    if fields.get("deal_id"):
        deal = await c.store.get("ref_deals", fields["deal_id"])
        if deal is not None:
            fields["company_id"] = fields.get("company_id") or deal.get("company_id")
    if fields.get("company_id"):
        company = await c.referenced("companies", fields["company_id"], "company", "companyId")
        partner = partner or company.get("partner_id")
    if c.principal.role == PARTNER:
        partner = c.principal.company
    fields["partner_id"] = partner
    for cid in fields.get("attendee_contact_ids") or []:
        await c.referenced("contacts", cid, "contact", "attendeeContactIds")


def _activity_fields(inp, creating: bool) -> dict:
    out: dict = {}
    if creating:
        out["kind"] = inp.kind.value
    if creating or inp.title is not None:
        out["title"] = clean_text(inp.title, "title", required=True)
    for f in ("notes", "outcome"):
        v = getattr(inp, f, None)
        if v is not None or creating:
            out[f] = clean_text(v, f, max_len=10_000) or None
    for f, name in (("due_at", "dueAt"), ("start_at", "startAt"), ("end_at", "endAt")):
        v = getattr(inp, f, None)
        if v is not None or creating:
            out[f] = ts_input(v, name)
    if inp.status is not None:
        out["status"] = inp.status.value
    if inp.direction is not None or creating:
        out["direction"] = inp.direction.value if inp.direction else None
    if inp.duration_minutes is not None or creating:
        out["duration_minutes"] = inp.duration_minutes
    if inp.place is not None or creating:
        out["place"] = clean_text(inp.place, "place") or None
    if inp.owner is not None:
        out["owner"] = clean_text(inp.owner, "owner", required=True)
    if creating:
        for f in ("company_id", "contact_id", "lead_id", "deal_id"):
            v = getattr(inp, f)
            out[f] = str(v) if v else None
        out["attendee_contact_ids"] = [str(x) for x in inp.attendee_contact_ids or []]
        out["attendee_staff"] = [clean_text(x, "attendeeStaff", required=True) for x in inp.attendee_staff or []]
    return out


def _settle_activity(d: dict) -> dict:
    """Derived fields: `when` (sort key), `held_at` when it became held."""
    d["when"] = day.activity_when(d)
    if d.get("status") == day.ActivityStatus.HELD.value and not d.get("held_at"):
        d["held_at"] = now_iso()
    day.check_activity(d)
    return d


# ---- my day ---------------------------------------------------------------------------------------
async def my_day(c: Context, days: int, now: dt.datetime) -> MyDay:
    store, me = c.store, c.principal.sub
    _, tomorrow = day.day_bounds(now)
    now_s = iso(now)
    mine = {"owner": me, "status": "planned"}
    # the 100 most recent overdue, and what is left of today: two bounded index range reads
    late = await store.find("activities", {**mine, "when": {"$lt": now_s}}, sort=[("when", -1)], first=100)
    later = await store.find(
        "activities", {**mine, "when": {"$gte": now_s, "$lt": tomorrow}}, sort=ACTIVITY_SORT, first=100
    )
    overdue, today = day.split_day([*late.items, *later.items], now)
    reminders = await store.find("notifications", {"recipient": me, "read": False}, sort=[("created_at", -1)], first=50)
    open_deals = await store.find_all("ref_deals", {"owner": me, "status": "open"})
    with_step: set[str] = set()
    ids = [d["id"] for d in open_deals]
    for i in range(0, len(ids), 200):
        rows = await store.find_all("activities", {"deal_id": {"$in": ids[i : i + 200]}, "status": "planned"})
        with_step |= {r["deal_id"] for r in rows}
    bare = day.deals_without_next_step(open_deals, with_step)
    new_leads = await store.find("leads", {"owner": me, "status": "new"}, sort=LEAD_SORT, first=50)
    hot = await store.find(
        "leads",
        {"owner": me, "status": {"$in": list(day.OPEN_LEAD)}, "score": {"$gte": day.HOT_SCORE}},
        sort=LEAD_SORT,
        first=50,
    )
    quiet = await store.find("companies", neglected_filter(me, now, days), sort=[("name_key", 1)], first=100)
    return MyDay(
        date=now.date(),
        overdue=[Activity.from_doc(a) for a in overdue],
        due_today=[Activity.from_doc(a) for a in today],
        reminders=[Notification.from_doc(n) for n in reminders.items],
        deals_without_next_step=[_deal_summary(d) for d in bare],
        new_leads=[Lead.from_doc(x) for x in new_leads.items],
        hot_leads=[Lead.from_doc(x) for x in hot.items],
        not_contacted=[Company.from_doc(x) for x in quiet.items],
        not_contacted_days=days,
    )


def neglected_filter(owner: str | None, now: dt.datetime, days: int) -> dict:
    """Clients (of `owner`, or everyone's) with no held contact since `days` ago."""
    cutoff = iso(now - dt.timedelta(days=days))
    return all_of(
        {"owner": owner} if owner else None,
        {"kind": domain.CompanyKind.CLIENT.value},
        {
            "$or": [
                {"last_contact_at": {"$exists": False}},
                {"last_contact_at": None},
                {"last_contact_at": {"$lt": cutoff}},
            ]
        },
    )


def _deal_summary(d: dict) -> DealSummary:
    return DealSummary(
        id=d["id"],
        title=d.get("title") or "",
        company_id=d.get("company_id"),
        stage_name=d.get("stage_name"),
        owner=d.get("owner"),
        amount=Money.from_minor(d.get("amount_minor"), d.get("currency")),
    )


def _thresholds(t: day.TierThresholds) -> TierThresholds:
    return TierThresholds(
        currency=t.currency,
        a_min=Money.from_minor(t.a_min, t.currency),
        b_min=Money.from_minor(t.b_min, t.currency),
        months=t.months,
    )


def _period(start: dt.datetime, end: dt.datetime) -> tuple[str, str]:
    a, b = ts_input(start, "from"), ts_input(end, "to")
    if a is None or b is None or b <= a:
        raise PublicError("`to` must be after `from`")
    return a, b


@strawberry.type
class DayQuery:
    @strawberry.field(description="Leads, newest first.", extensions=allow(LEAD_WORKERS, scoped=LEAD_SCOPED))
    async def leads(
        self, info: Info, first: int | None = None, after: str | None = None, filter: LeadFilter | None = None
    ) -> Connection[Lead] | None:
        return await info.context.page("leads", lead_filter(filter), LEAD_SORT, first, after, Lead.from_doc)

    @strawberry.field(extensions=allow(LEAD_WORKERS, scoped=LEAD_SCOPED))
    async def lead(self, info: Info, id: strawberry.ID) -> Lead | None:
        return await info.context.one("leads", id, Lead.from_doc)

    @strawberry.field(description="The managed list of reasons to disqualify a lead.", extensions=allow(LEAD_WORKERS))
    async def disqualify_reasons(self, info: Info) -> list[str] | None:
        return await day_events.disqualify_reasons(info.context.store)

    @strawberry.field(description="How new leads are assigned.", extensions=allow(STAFF))
    async def assignment_rules(self, info: Info) -> list[AssignmentRule] | None:
        rows = await info.context.store.find_all(day_events.SETTINGS, {"type": "assignment_rule"})
        return [AssignmentRule.from_doc(r) for r in sorted(rows, key=lambda r: (r.get("priority") or 0, r["id"]))]

    @strawberry.field(description="Activities by time.", extensions=allow(LEAD_WORKERS, scoped=LEAD_SCOPED))
    async def activities(
        self, info: Info, first: int | None = None, after: str | None = None, filter: ActivityFilter | None = None
    ) -> Connection[Activity] | None:
        f = filter
        flt = (
            all_of(
                {"kind": f.kind.value} if f.kind else None,
                {"status": f.status.value} if f.status else None,
                *equal(
                    [
                        ("owner", f.owner),
                        ("company_id", f.company_id),
                        ("contact_id", f.contact_id),
                        ("lead_id", f.lead_id),
                        ("deal_id", f.deal_id),
                    ]
                ),
            )
            if f
            else {}
        )
        return await info.context.page("activities", flt, ACTIVITY_SORT, first, after, Activity.from_doc)

    @strawberry.field(extensions=allow(LEAD_WORKERS, scoped=LEAD_SCOPED))
    async def activity(self, info: Info, id: strawberry.ID) -> Activity | None:
        return await info.context.one("activities", id, Activity.from_doc)

    @strawberry.field(
        description="My notifications, newest first.", extensions=allow(LEAD_WORKERS, scoped=LEAD_WORKERS)
    )
    async def my_notifications(
        self, info: Info, first: int | None = None, after: str | None = None, unread_only: bool = False
    ) -> Connection[Notification] | None:
        flt = {"read": False} if unread_only else {}
        return await info.context.page("notifications", flt, [("created_at", -1)], first, after, Notification.from_doc)

    @strawberry.field(
        description="The signed-in manager's day: overdue and today's activities, reminders, open deals "
        "without a next step, new and hot leads, clients not contacted for `notContactedDays`.",
        extensions=allow(STAFF),
    )
    async def my_day(self, info: Info, not_contacted_days: int = 30) -> MyDay | None:
        if not 1 <= not_contacted_days <= 3650:
            raise PublicError("notContactedDays must be between 1 and 3650")
        return await my_day(info.context, not_contacted_days, _utcnow())

    @strawberry.field(description="Won-revenue thresholds of the A/B/C tiers.", extensions=allow(STAFF))
    async def tier_thresholds(self, info: Info) -> TierThresholds | None:
        return _thresholds(await day_events.tier_thresholds(info.context.store))

    @strawberry.field(
        description="Per salesperson over [from, to): calls and meetings planned/held, leads worked, deals "
        "moved and won, revenue won, neglected accounts. Sales see their own row.",
        extensions=allow(ADMIN, SALES, scoped={SALES}),
    )
    async def activity_control(
        self,
        info: Info,
        from_: Annotated[dt.datetime, strawberry.argument(name="from")],
        to: dt.datetime,
        not_contacted_days: int = 30,
    ) -> list[ActivityControlRow] | None:
        c: Context = info.context
        a, b = _period(from_, to)
        only = c.principal.sub if c.principal.role == SALES else None
        mine = {"owner": only} if only else None
        store = c.store
        acts = await store.find_all("activities", all_of(mine, {"when": {"$gte": a, "$lt": b}}))
        leads = await store.find_all("leads", all_of(mine, {"updated_at": {"$gte": a, "$lt": b}}))
        mine_deals = {"by": only} if only else None
        rows_ = await store.find_all(
            "interactions", all_of(mine_deals, {"kind": "deal", "occurred_at": {"$gte": a, "$lt": b}})
        )
        log = [{**r, "owner": r.get("by")} for r in rows_]
        quiet = await store.group(
            "companies", ["owner"], flt=neglected_filter(only, dt.datetime.fromisoformat(b), not_contacted_days)
        )
        neglected = {g["key"].get("owner"): g["count"] for g in quiet if g["key"].get("owner")}
        rows = day.activity_control(acts, leads, log, neglected)
        return [
            ActivityControlRow(
                owner=r.owner,
                calls_planned=r.calls_planned,
                calls_held=r.calls_held,
                meetings_planned=r.meetings_planned,
                meetings_held=r.meetings_held,
                leads_worked=r.leads_worked,
                deals_moved=r.deals_moved,
                deals_won=r.deals_won,
                revenue_won=[Money.from_minor(v, k) for k, v in sorted(r.revenue_won.items())],
                neglected_accounts=r.neglected_accounts,
            )
            for r in rows
            if only is None or r.owner == only
        ]

    @strawberry.field(description="A hand-over of a book and its progress.", extensions=allow(ADMIN))
    async def transfer_job(self, info: Info, id: strawberry.ID) -> TransferJob | None:
        c: Context = info.context
        doc = await c.get("transfer_jobs", str(id))
        if doc is None:
            return None
        return TransferJob.from_doc({**doc, "moved": await handover.moved(c.store, doc["id"])})

    @strawberry.field(
        description="What a user leaving (deactivated) owns and needs a hand-over.", extensions=allow(ADMIN)
    )
    async def handover_needed(self, info: Info, user: str) -> HandoverNeeded | None:
        s = info.context.store
        counts = {
            "companies": await s.count("companies", {"owner": user}),
            "contacts": await s.count("contacts", {"owner": user}),
            "open_leads": await s.count("leads", {"owner": user, "status": {"$in": list(day.OPEN_LEAD)}}),
            "open_activities": await s.count("activities", {"owner": user, "status": "planned"}),
            "open_deals": await s.count("ref_deals", {"owner": user, "status": "open"}),
        }
        return HandoverNeeded(user=user, needed=any(counts.values()), **counts)


@strawberry.type
class DayMutation:
    # ---- leads -----------------------------------------------------------------------------------
    @strawberry.mutation(
        description="Register a lead; without an owner the assignment rules pick one. Partners register "
        "leads they bring (source partner).",
        extensions=allow(LEAD_WORKERS, scoped=LEAD_SCOPED),
    )
    @payload_errors(LeadPayload)
    async def create_lead(self, info: Info, input: CreateLeadInput) -> LeadPayload | None:
        c: Context = info.context
        p = c.principal
        fields = _lead_text(input, creating=True)
        if not any(fields.get(k) for k in ("first_name", "last_name", "company_name", "email")):
            raise InputError(ErrorCode.INVALID, "give a name, a company name or an e-mail", ["input", "lastName"])
        body = {
            "id": new_id(),
            "status": day.LeadStatus.NEW.value,
            "source": input.source.value,
            "campaign_id": str(input.campaign_id) if input.campaign_id else None,
            "bant": dict.fromkeys(day.BANT, False),
            "score": 0,
            "consent": False,
            **fields,
        }
        company = None
        if input.company_id:
            company = await c.referenced("companies", input.company_id, "company", "companyId")
            body["company_id"] = company["id"]
        body["partner_id"] = (company or {}).get("partner_id")
        owner = clean_text(input.owner, "owner")
        if p.role == PARTNER:
            body.update(await _partner_owner(c, (company or {}).get("owner"), owner))
            body["source"] = day.LeadSource.PARTNER.value
            body["rule_id"] = None
        elif owner:
            body["owner"], body["rule_id"] = owner, None
        else:
            body["owner"], body["rule_id"] = await day_events.assign(c.store, body)
            body["owner"] = body["owner"] or p.sub
        await day_events.lazy_indexes(c.store, "leads")
        doc = await c.create("leads", "Lead", body, events=[day_events.lead_created(body)])
        return LeadPayload(lead=Lead.from_doc(doc))

    @strawberry.mutation(
        description="Change a lead: contact details, owner, the BANT checklist (a new lead becomes working).",
        extensions=allow(LEAD_WORKERS, scoped=LEAD_SCOPED),
    )
    @payload_errors(LeadPayload)
    async def update_lead(self, info: Info, input: UpdateLeadInput) -> LeadPayload | None:
        c: Context = info.context
        changes = _lead_text(input, creating=False)
        if input.owner is not None:
            if c.principal.role == PARTNER:
                raise InputError(ErrorCode.NOT_ALLOWED, "the vendor assigns the owner", ["input", "owner"])
            changes["owner"] = clean_text(input.owner, "owner", required=True)
        if input.bant is not None:
            bant = {k: bool(getattr(input.bant, k)) for k in day.BANT}
            changes["bant"], changes["score"] = bant, day.bant_score(bant)

        def change(d: dict) -> dict:
            if d["status"] == day.LeadStatus.CONVERTED.value:
                raise InputError(ErrorCode.INVALID, "the lead is converted", ["input", "id"])
            new = {**d, **changes}
            if "bant" in changes and d["status"] == day.LeadStatus.NEW.value:
                new["status"] = day.LeadStatus.WORKING.value
            return new

        doc = await c.update(
            "leads", "Lead", input.id, change, expected_version=input.expected_version, events=day_events.lead_changed
        )
        return LeadPayload(lead=Lead.from_doc(doc))

    @strawberry.mutation(
        description="Move a lead to working, qualified or disqualified (with a reason from disqualifyReasons).",
        extensions=allow(LEAD_WORKERS, scoped=LEAD_SCOPED),
    )
    @payload_errors(LeadPayload)
    async def set_lead_status(self, info: Info, input: SetLeadStatusInput) -> LeadPayload | None:
        c: Context = info.context
        reasons = await day_events.disqualify_reasons(c.store)
        reason = clean_text(input.reason, "reason")
        to = day.LeadStatus(input.status.value)

        def change(d: dict) -> dict | None:
            ch = day.lead_status_change(d, to, reason, reasons)
            return {**d, **ch} if ch else None

        doc = await c.update(
            "leads", "Lead", input.id, change, expected_version=input.expected_version, events=day_events.lead_changed
        )
        return LeadPayload(lead=Lead.from_doc(doc))

    @strawberry.mutation(
        description="Convert a lead: create or link its company and contact and open a deal in deals, in one "
        "command. Idempotent: a retry creates nothing twice and answers the same links.",
        extensions=allow(LEAD_WORKERS, scoped=LEAD_SCOPED),
    )
    @payload_errors(ConvertLeadPayload)
    async def convert_lead(self, info: Info, input: ConvertLeadInput) -> ConvertLeadPayload | None:
        return await _convert(info.context, input)

    @strawberry.mutation(description="Set the managed list of disqualification reasons.", extensions=allow(ADMIN))
    @payload_errors(DisqualifyReasonsPayload)
    async def set_disqualify_reasons(
        self, info: Info, input: DisqualifyReasonsInput
    ) -> DisqualifyReasonsPayload | None:
        reasons = [clean_text(r, "reasons", required=True) for r in input.reasons]
        if not reasons:
            raise InputError(ErrorCode.INVALID, "give at least one reason", ["input", "reasons"])
        c: Context = info.context
        await c.store.mutate(
            day_events.SETTINGS,
            "disqualify_reasons",
            lambda d: {"reasons": reasons},
            create=True,
            events=[c.audit("updated", "DisqualifyReasons", "disqualify_reasons", {"reasons": {"to": reasons}})],
        )
        return DisqualifyReasonsPayload(reasons=reasons)

    @strawberry.mutation(
        description="Create or change an assignment rule (round robin within `team`).", extensions=allow(ADMIN)
    )
    @payload_errors(AssignmentRulePayload)
    async def save_assignment_rule(self, info: Info, input: AssignmentRuleInput) -> AssignmentRulePayload | None:
        c: Context = info.context
        team = [clean_text(t, "team", required=True) for t in input.team]
        if not team:
            raise InputError(ErrorCode.INVALID, "a rule needs a team", ["input", "team"])
        body = {
            "name": clean_text(input.name, "name", required=True),
            "team": team,
            "region": clean_text(input.region, "region") or None,
            "segment": clean_text(input.segment, "segment") or None,
            "source": input.source.value if input.source else None,
            "priority": input.priority,
            "active": input.active,
        }
        rid = str(input.id) if input.id else new_id()
        if input.id and (await c.store.get(day_events.SETTINGS, rid) or {}).get("type") != "assignment_rule":
            raise InputError(ErrorCode.NOT_FOUND, f"rule {rid} does not exist", ["input", "id"])
        doc = await c.store.mutate(
            day_events.SETTINGS,
            rid,
            lambda d: {**(d or {}), **body, "type": "assignment_rule"},
            create=True,
            events=lambda old, new: [c.audit("updated" if old else "created", "AssignmentRule", rid, body)],
        )
        return AssignmentRulePayload(rule=AssignmentRule.from_doc(doc))

    # ---- activities --------------------------------------------------------------------------------
    @strawberry.mutation(
        description="Plan or log a task, call, meeting or e-mail, linked to a company, contact, lead or deal.",
        extensions=allow(LEAD_WORKERS, scoped=LEAD_SCOPED),
    )
    @payload_errors(ActivityPayload)
    async def create_activity(self, info: Info, input: CreateActivityInput) -> ActivityPayload | None:
        c: Context = info.context
        fields = _activity_fields(input, creating=True)
        fields.setdefault("owner", c.principal.sub)
        if c.principal.role == PARTNER:
            fields["owner"] = c.principal.sub
        await _activity_links(c, fields)
        body = _settle_activity({"id": new_id(), **fields})
        now = now_iso()
        await day_events.lazy_indexes(c.store, "activities")
        doc = await c.create(
            "activities",
            "Activity",
            body,
            events=[day_events.activity_changed({**body, "version": 1, "created_at": now})],
        )
        return ActivityPayload(activity=Activity.from_doc(doc))

    @strawberry.mutation(
        description="Change an activity: mark it held (outcome), not held or cancelled, reschedule it.",
        extensions=allow(LEAD_WORKERS, scoped=LEAD_SCOPED),
    )
    @payload_errors(ActivityPayload)
    async def update_activity(self, info: Info, input: UpdateActivityInput) -> ActivityPayload | None:
        c: Context = info.context
        changes = _activity_fields(input, creating=False)
        if "owner" in changes and c.principal.role == PARTNER:
            raise InputError(ErrorCode.NOT_ALLOWED, "the vendor assigns the owner", ["input", "owner"])

        def change(d: dict) -> dict:
            return _settle_activity({**d, **changes})

        doc = await c.update(
            "activities",
            "Activity",
            input.id,
            change,
            expected_version=input.expected_version,
            events=lambda old, new: [day_events.activity_changed(new)],
        )
        return ActivityPayload(activity=Activity.from_doc(doc))

    # ---- personal dates, interests, reminders, notifications --------------------------------------
    @strawberry.mutation(
        description="A yearly date of a contact with its reminder (29 February: the 28th in other years).",
        extensions=allow(STAFF),
    )
    @payload_errors(PersonalDatePayload)
    async def add_personal_date(self, info: Info, input: AddPersonalDateInput) -> PersonalDatePayload | None:
        c: Context = info.context
        contact = await c.referenced("contacts", input.contact_id, "contact", "contactId")
        day.check_month_day(input.month, input.day)
        if not 0 <= input.days_before <= 60:
            raise InputError(ErrorCode.INVALID, "daysBefore must be 0-60", ["input", "daysBefore"])
        label = clean_text(input.label, "label") or None
        name = f"{contact['first_name']} {contact['last_name']}".strip()
        words = {"birthday": "Birthday", "child_birthday": "Child's birthday", "anniversary": "Anniversary"}
        title = f"{words.get(input.kind.value, 'Date')}: {label or name}" + (f" ({name})" if label else "")
        body = {
            "id": new_id(),
            "contact_id": contact["id"],
            "company_id": contact.get("company_id"),
            "kind": input.kind.value,
            "label": label,
            "month": input.month,
            "day": input.day,
            "year": input.year,
            "days_before": input.days_before,
            "owner": clean_text(input.owner, "owner") or contact.get("owner") or c.principal.sub,
            "title": title,
            "remind_at": day.next_reminder(input.month, input.day, input.days_before, _utcnow()),
        }
        await day_events.lazy_indexes(c.store, "reminders")
        doc = await c.create("reminders", "PersonalDate", {**body, "yearly": True})
        return PersonalDatePayload(personal_date=PersonalDate.from_doc(doc))

    @strawberry.mutation(description="Remove a personal date and its reminder.", extensions=allow(STAFF))
    @payload_errors(PersonalDatePayload)
    async def remove_personal_date(self, info: Info, input: RemovePersonalDateInput) -> PersonalDatePayload | None:
        c: Context = info.context
        doc = await c.store.get("reminders", str(input.id))
        if doc is None or not doc.get("yearly") or await c.get("contacts", doc["contact_id"]) is None:
            raise InputError(ErrorCode.NOT_FOUND, f"personal date {input.id} does not exist", ["input", "id"])
        await c.store.delete("reminders", doc["id"], events=[c.audit("deleted", "PersonalDate", doc["id"])])
        return PersonalDatePayload(personal_date=PersonalDate.from_doc(doc))

    @strawberry.mutation(
        description="The products and services (ids of deals' catalogue) a contact is interested in.",
        extensions=allow(STAFF, scoped={SALES}),
    )
    @payload_errors(ContactInterestsPayload)
    async def set_interests(self, info: Info, input: SetInterestsInput) -> ContactInterestsPayload | None:
        c: Context = info.context
        ids = sorted({clean_text(str(i), "productIds", required=True) for i in input.product_ids})
        if len(ids) > 100:
            raise InputError(ErrorCode.INVALID, "at most 100 products", ["input", "productIds"])
        doc = await c.update(
            "contacts",
            "Contact",
            input.contact_id,
            lambda d: {**d, "interested_in": ids},
            expected_version=None,
            events=events.contact_changed,
        )
        return ContactInterestsPayload(contact=Contact.from_doc(doc))

    @strawberry.mutation(description="Remind me at a moment (into myNotifications).", extensions=allow(STAFF))
    @payload_errors(ReminderPayload)
    async def create_reminder(self, info: Info, input: CreateReminderInput) -> ReminderPayload | None:
        c: Context = info.context
        at = ts_input(input.remind_at, "remindAt")
        if input.company_id:
            await c.referenced("companies", input.company_id, "company", "companyId")
        if input.contact_id:
            await c.referenced("contacts", input.contact_id, "contact", "contactId")
        body = {
            "id": new_id(),
            "title": clean_text(input.title, "title", required=True),
            "owner": c.principal.sub,
            "remind_at": at,
            "state": "pending",
            "ref_type": clean_text(input.ref_type, "refType") or None,
            "ref_id": str(input.ref_id) if input.ref_id else None,
            "company_id": str(input.company_id) if input.company_id else None,
            "contact_id": str(input.contact_id) if input.contact_id else None,
        }
        await day_events.lazy_indexes(c.store, "reminders")
        doc = await c.create("reminders", "Reminder", body)
        return ReminderPayload(reminder=Reminder.from_doc(doc))

    @strawberry.mutation(description="Mark my notifications read.", extensions=allow(LEAD_WORKERS, scoped=LEAD_WORKERS))
    @payload_errors(MarkReadPayload)
    async def mark_notifications_read(self, info: Info, input: MarkReadInput) -> MarkReadPayload | None:
        c: Context = info.context
        flt = {"read": False}
        if input.ids is not None:
            if not input.ids:
                raise InputError(ErrorCode.INVALID, "give the ids to mark, or leave ids out for all", ["input", "ids"])
            if len(input.ids) > 500:
                raise InputError(ErrorCode.INVALID, "at most 500 ids", ["input", "ids"])
            flt = {"read": False, "id": {"$in": [str(i) for i in input.ids]}}
        rows = await c.store.find_all("notifications", c.scoped("notifications", flt))
        for r in rows:
            await c.store.update("notifications", r["id"], {"read": True, "read_at": now_iso()})
        return MarkReadPayload(marked=len(rows))

    # ---- tiers --------------------------------------------------------------------------------------
    @strawberry.mutation(
        description="Set the tier thresholds (won revenue in the window) and recompute every tier.",
        extensions=allow(ADMIN),
    )
    @payload_errors(TierThresholdsPayload)
    async def set_tier_thresholds(self, info: Info, input: TierThresholdsInput) -> TierThresholdsPayload | None:
        c: Context = info.context
        a_min, currency = parse_money(input.a_min, input.currency, "aMin")
        b_min, _ = parse_money(input.b_min, input.currency, "bMin")
        if not 0 < b_min <= a_min:
            raise InputError(ErrorCode.INVALID, "need 0 < bMin ≤ aMin", ["input", "bMin"])
        if not 1 <= input.months <= 120:
            raise InputError(ErrorCode.INVALID, "months must be 1-120", ["input", "months"])
        t = {"currency": currency, "a_min": a_min, "b_min": b_min, "months": input.months}
        await c.store.mutate(
            day_events.SETTINGS,
            "tiers",
            lambda d: t,
            create=True,
            events=[c.audit("updated", "TierThresholds", "tiers", t)],
        )
        groups = await c.store.group("ref_deals", ["company_id"])
        for g in groups:
            if g["key"].get("company_id"):
                await day_events.recompute_tier(c.store, g["key"]["company_id"])
        return TierThresholdsPayload(thresholds=_thresholds(await day_events.tier_thresholds(c.store)))

    # ---- hand-over ----------------------------------------------------------------------------------
    @strawberry.mutation(
        description="Hand a salesperson's book (or some companies of it) to another: companies, contacts, "
        "open leads and activities here, open deals and tickets' account owner through events. One audited "
        "operation; running it again resumes the same job and moves nothing twice.",
        extensions=allow(ADMIN),
    )
    @payload_errors(TransferPayload)
    async def transfer_book(self, info: Info, input: TransferBookInput) -> TransferPayload | None:
        c: Context = info.context
        job = await handover.start(c, input)
        return TransferPayload(job=TransferJob.from_doc({**job, "moved": await handover.moved(c.store, job["id"])}))
