"""GraphQL types, inputs and payloads of the manager's day (docs/day.md): leads, assignment rules,
activities, personal dates, notifications and reminders, my day, activity control, the hand-over
of a book. The rules are in day.py."""

from __future__ import annotations

import datetime as dt
import decimal

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from services.common.authz import EVERYONE, allow
from services.common.graphql import FromDoc, Money, UserError, payload

from . import day
from .policy import OWN_ROWS
from .types import Company, Contact

LeadSource = strawberry.enum(day.LeadSource)
LeadStatus = strawberry.enum(day.LeadStatus)
ActivityKind = strawberry.enum(day.ActivityKind)
ActivityStatus = strawberry.enum(day.ActivityStatus)
CallDirection = strawberry.enum(day.CallDirection)
PersonalDateKind = strawberry.enum(day.PersonalDateKind)


# ---- leads ----------------------------------------------------------------------------------------
@strawberry.type(description="Budget, authority, need, timing: the qualification checklist.")
class Bant:
    budget: bool
    authority: bool
    need: bool
    timing: bool


@strawberry.type(description="Someone who may become a client: before a company and contact exist.")
class Lead(FromDoc):
    id: strawberry.ID
    status: LeadStatus
    source: LeadSource
    first_name: str | None
    last_name: str | None
    company_name: str | None
    email: str | None
    phone: str | None
    notes: str | None
    region: str | None
    segment: str | None
    campaign_id: strawberry.ID | None
    form_id: strawberry.ID | None
    utm: JSON | None = strawberry.field(description="{source, medium, campaign, term, content} of a web lead.")
    referrer: str | None
    consent: bool
    owner: str | None
    rule_id: strawberry.ID | None = strawberry.field(description="The assignment rule that picked the owner.")
    disqualify_reason: str | None
    score: int = strawberry.field(description="0-100: 25 per BANT criterion met.")
    bant: Bant
    partner_id: strawberry.ID | None
    company_id: strawberry.ID | None = strawberry.field(description="The company it is about or became.")
    contact_id: strawberry.ID | None = strawberry.field(description="The contact it is about or became.")
    deal_id: strawberry.ID | None = strawberry.field(description="The deal opened when it was converted.")
    converted_at: dt.datetime | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        b = doc.get("bant") or {}
        return {"bant": Bant(**{k: bool(b.get(k)) for k in day.BANT}), "score": int(doc.get("score") or 0)}

    @strawberry.field(description="Score ≥ 75 and still open.", extensions=allow(EVERYONE))
    def hot(self) -> bool:
        return self.status in (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED) and self.score >= day.HOT_SCORE

    @strawberry.field(extensions=allow(EVERYONE, scoped=OWN_ROWS))
    async def company(self, info: Info) -> Company | None:
        return await info.context.one("companies", self.company_id, Company.from_doc)

    @strawberry.field(extensions=allow(EVERYONE, scoped=OWN_ROWS))
    async def contact(self, info: Info) -> Contact | None:
        return await info.context.one("contacts", self.contact_id, Contact.from_doc)


@strawberry.type(description="Who gets new leads: round robin within a team, for a region, segment or source.")
class AssignmentRule(FromDoc):
    id: strawberry.ID
    name: str
    team: list[str]
    region: str | None
    segment: str | None
    source: LeadSource | None
    priority: int
    active: bool
    version: int


@strawberry.input
class LeadFilter:
    status: LeadStatus | None = None
    source: LeadSource | None = None
    owner: str | None = None
    campaign_id: strawberry.ID | None = None
    form_id: strawberry.ID | None = None
    company_id: strawberry.ID | None = None
    hot: bool | None = strawberry.field(default=None, description="Only hot (true) leads.")


@strawberry.input
class BantInput:
    budget: bool = False
    authority: bool = False
    need: bool = False
    timing: bool = False


@strawberry.input
class CreateLeadInput:
    source: LeadSource
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    email: str | None = None
    phone: str | None = None
    notes: str | None = None
    region: str | None = None
    segment: str | None = None
    campaign_id: strawberry.ID | None = None
    company_id: strawberry.ID | None = strawberry.field(default=None, description="An existing company it is about.")
    owner: str | None = strawberry.field(default=None, description="Default: the assignment rules pick one.")


@strawberry.input
class UpdateLeadInput:
    id: strawberry.ID
    expected_version: int
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    email: str | None = None
    phone: str | None = None
    notes: str | None = None
    region: str | None = None
    segment: str | None = None
    owner: str | None = None
    bant: BantInput | None = None


@strawberry.input
class SetLeadStatusInput:
    id: strawberry.ID
    expected_version: int
    status: LeadStatus
    reason: str | None = strawberry.field(default=None, description="Required to disqualify: one of disqualifyReasons.")


@strawberry.input
class ConvertLeadInput:
    id: strawberry.ID
    company_id: strawberry.ID | None = strawberry.field(default=None, description="Link an existing company.")
    contact_id: strawberry.ID | None = strawberry.field(default=None, description="Link an existing contact.")
    deal_title: str | None = strawberry.field(default=None, description="Open a deal with this title (optional).")
    amount: decimal.Decimal | None = None
    currency: str | None = None


@strawberry.input
class AssignmentRuleInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Give to change an existing rule.")
    name: str
    team: list[str]
    region: str | None = None
    segment: str | None = None
    source: LeadSource | None = None
    priority: int = 0
    active: bool = True


@strawberry.input
class DisqualifyReasonsInput:
    reasons: list[str]


@strawberry.type
class ConvertLeadPayload:
    lead: Lead | None = None
    company: Company | None = None
    contact: Contact | None = None
    deal_id: strawberry.ID | None = strawberry.field(default=None, description="The deal opened in deals (by event).")
    errors: list[UserError] = strawberry.field(default_factory=list)


# ---- activities -----------------------------------------------------------------------------------
@strawberry.type(description="A task, call, meeting or e-mail: planned, then held, not held or cancelled.")
class Activity(FromDoc):
    id: strawberry.ID
    kind: ActivityKind
    status: ActivityStatus
    title: str
    notes: str | None
    owner: str | None
    due_at: dt.datetime | None
    start_at: dt.datetime | None
    end_at: dt.datetime | None
    held_at: dt.datetime | None
    company_id: strawberry.ID | None
    contact_id: strawberry.ID | None
    lead_id: strawberry.ID | None
    deal_id: strawberry.ID | None
    direction: CallDirection | None = strawberry.field(description="Calls.")
    outcome: str | None
    duration_minutes: int | None
    place: str | None = strawberry.field(description="Meetings.")
    attendee_contact_ids: list[strawberry.ID]
    attendee_staff: list[str]
    partner_id: strawberry.ID | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {
            "attendee_contact_ids": doc.get("attendee_contact_ids") or [],
            "attendee_staff": doc.get("attendee_staff") or [],
        }

    @strawberry.field(extensions=allow(EVERYONE, scoped=OWN_ROWS))
    async def company(self, info: Info) -> Company | None:
        return await info.context.one("companies", self.company_id, Company.from_doc)


@strawberry.input
class ActivityFilter:
    owner: str | None = None
    kind: ActivityKind | None = None
    status: ActivityStatus | None = None
    company_id: strawberry.ID | None = None
    contact_id: strawberry.ID | None = None
    lead_id: strawberry.ID | None = None
    deal_id: strawberry.ID | None = None


@strawberry.input
class CreateActivityInput:
    kind: ActivityKind
    title: str
    status: ActivityStatus = ActivityStatus.PLANNED
    notes: str | None = None
    owner: str | None = None
    due_at: dt.datetime | None = None
    start_at: dt.datetime | None = None
    end_at: dt.datetime | None = None
    company_id: strawberry.ID | None = None
    contact_id: strawberry.ID | None = None
    lead_id: strawberry.ID | None = None
    deal_id: strawberry.ID | None = None
    direction: CallDirection | None = None
    outcome: str | None = None
    duration_minutes: int | None = None
    place: str | None = None
    attendee_contact_ids: list[strawberry.ID] | None = None
    attendee_staff: list[str] | None = None


@strawberry.input
class UpdateActivityInput:
    id: strawberry.ID
    expected_version: int
    status: ActivityStatus | None = None
    title: str | None = None
    notes: str | None = None
    owner: str | None = None
    due_at: dt.datetime | None = None
    start_at: dt.datetime | None = None
    end_at: dt.datetime | None = None
    outcome: str | None = None
    duration_minutes: int | None = None
    place: str | None = None
    direction: CallDirection | None = None


# ---- personal dates, interests, reminders, notifications ----------------------------------------
@strawberry.type(description="A yearly date of a contact (birthday, a child's birthday, an anniversary).")
class PersonalDate(FromDoc):
    id: strawberry.ID
    contact_id: strawberry.ID
    kind: PersonalDateKind
    label: str | None
    month: int
    day: int
    year: int | None
    days_before: int
    owner: str = strawberry.field(description="Who is reminded.")
    remind_at: dt.datetime = strawberry.field(description="Next reminder.")
    version: int


@strawberry.input
class AddPersonalDateInput:
    contact_id: strawberry.ID
    kind: PersonalDateKind
    month: int
    day: int
    year: int | None = None
    label: str | None = strawberry.field(default=None, description='e.g. "Emma (daughter)".')
    days_before: int = 0
    owner: str | None = strawberry.field(default=None, description="Who is reminded (default: you).")


@strawberry.input
class RemovePersonalDateInput:
    id: strawberry.ID


@strawberry.input
class SetInterestsInput:
    contact_id: strawberry.ID
    product_ids: list[strawberry.ID]


@strawberry.type(description="A reminder: fires once at `remindAt` into the owner's notifications.")
class Reminder(FromDoc):
    id: strawberry.ID
    title: str
    owner: str
    remind_at: dt.datetime
    state: str = strawberry.field(description="pending or fired.")
    ref_type: str | None
    ref_id: strawberry.ID | None
    company_id: strawberry.ID | None
    contact_id: strawberry.ID | None


@strawberry.input
class CreateReminderInput:
    title: str
    remind_at: dt.datetime
    company_id: strawberry.ID | None = None
    contact_id: strawberry.ID | None = None
    ref_type: str | None = None
    ref_id: strawberry.ID | None = None


@strawberry.type(description="Something a user should know: a reminder, an overdue payment, an escalation...")
class Notification(FromDoc):
    id: strawberry.ID
    kind: str
    title: str
    body: str | None
    ref_type: str | None
    ref_id: strawberry.ID | None
    company_id: strawberry.ID | None
    read: bool
    source: str
    created_at: dt.datetime


@strawberry.input
class MarkReadInput:
    ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Default: all of mine.")


@strawberry.type
class MarkReadPayload:
    marked: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)


# ---- my day, tiers, control ---------------------------------------------------------------------
@strawberry.type(description="An open deal (contacts' replica of deals' events).")
class DealSummary:
    id: strawberry.ID
    title: str
    company_id: strawberry.ID | None
    stage_name: str | None
    owner: str | None
    amount: Money | None


@strawberry.type(description="The signed-in manager's day.")
class MyDay:
    date: dt.date
    overdue: list[Activity]
    due_today: list[Activity]
    reminders: list[Notification] = strawberry.field(description="Unread reminders and notifications.")
    deals_without_next_step: list[DealSummary]
    new_leads: list[Lead]
    hot_leads: list[Lead]
    not_contacted: list[Company] = strawberry.field(description="My clients with no contact for N days.")
    not_contacted_days: int


@strawberry.type(description="Won-revenue thresholds of the value tiers.")
class TierThresholds:
    currency: str
    a_min: Money
    b_min: Money
    months: int


@strawberry.input
class TierThresholdsInput:
    currency: str
    a_min: decimal.Decimal
    b_min: decimal.Decimal
    months: int = 24


@strawberry.type(description="One salesperson's work over a period.")
class ActivityControlRow:
    owner: str
    calls_planned: int
    calls_held: int
    meetings_planned: int
    meetings_held: int
    leads_worked: int
    deals_moved: int
    deals_won: int
    revenue_won: list[Money]
    neglected_accounts: int


# ---- hand-over --------------------------------------------------------------------------------------
@strawberry.type
class MovedCount:
    service: str
    entity: str
    count: int


@strawberry.type(description="A hand-over of a book: one audited operation, resumable.")
class TransferJob(FromDoc):
    id: strawberry.ID
    from_owner: str
    to_owner: str
    state: str = strawberry.field(description="running or done.")
    total: int = strawberry.field(description="Companies in scope.")
    done: int = strawberry.field(description="Companies handled.")
    include_deals: bool
    include_activities: bool
    include_tickets: bool
    moved: list[MovedCount]
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        moved = doc.get("moved") or {}
        return {
            "moved": [
                MovedCount(service=k.split(".")[0], entity=k.split(".")[1], count=v) for k, v in sorted(moved.items())
            ]
        }


@strawberry.input
class TransferBookInput:
    from_owner: str
    to_owner: str
    company_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Default: the whole book.")
    include_deals: bool = True
    include_activities: bool = True
    include_tickets: bool = True


@strawberry.type(description="What a user leaving would leave behind.")
class HandoverNeeded:
    user: str
    companies: int
    contacts: int
    open_leads: int
    open_activities: int
    open_deals: int
    needed: bool


# the payloads
LeadPayload = payload("LeadPayload", lead=Lead)
AssignmentRulePayload = payload("AssignmentRulePayload", rule=AssignmentRule)
ActivityPayload = payload("ActivityPayload", activity=Activity)
PersonalDatePayload = payload("PersonalDatePayload", personal_date=PersonalDate)
ContactInterestsPayload = payload("ContactInterestsPayload", contact=Contact)
ReminderPayload = payload("ReminderPayload", reminder=Reminder)
TierThresholdsPayload = payload("TierThresholdsPayload", thresholds=TierThresholds)
TransferPayload = payload("TransferPayload", job=TransferJob)
DisqualifyReasonsPayload = payload("DisqualifyReasonsPayload", reasons=list[str])
