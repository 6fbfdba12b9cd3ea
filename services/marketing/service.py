"""Marketing: campaigns on every channel, their members (contacts) and responses, and the money:
cost against the revenue the campaign produced.

Attribution rule (docs/events.md): when `deals.deal.won` arrives, the won amount is credited to
the campaigns the deal's contact responded to at or before the win — or, for a deal without a
contact, to the campaigns any contact of the deal's company responded to. With several such
campaigns the amount is split equally (in minor units; the remainder goes to the earliest
response), so campaign revenues add up to real revenue and nothing is counted twice. Revenue in
a currency other than the campaign's is shown in `revenueByCurrency` but not in `revenue`/`roi`
(no exchange rates yet)."""
from __future__ import annotations

import datetime as dt
import decimal
from enum import Enum

import strawberry
from strawberry.types import Info

from services.common.auth import Principal
from services.common.authz import ADMIN, ALL_ROWS, MARKETING, NO_ROWS, SALES, STAFF, allow
from services.common.envelope import Envelope
from services.common.errors import DuplicateKeyError
from services.common.graphql import (
    Connection,
    ErrorCode,
    InputError,
    Money,
    UserError,
    clean_text,
    paginate,
    parse_money,
    user_errors,
)
from services.common.ids import new_id, now_iso
from services.common.replica import apply_snapshot
from services.common.service import Service, Subscription, build_schema, diff
from services.common.types import parse_ts, ts_input

MAX_MEMBERS_PER_CALL = 500


@strawberry.enum
class Channel(Enum):
    EMAIL = "email"
    TELEMARKETING = "telemarketing"
    EVENT = "event"
    WEB_FORM = "web_form"
    ADS = "ads"


@strawberry.enum
class MemberStatus(Enum):
    TARGETED = "targeted"
    RESPONDED = "responded"


@strawberry.federation.type(keys=["id"])
class Campaign:
    id: strawberry.ID
    name: str
    channel: Channel
    currency: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    version: int
    created_at: dt.datetime
    budget_minor: strawberry.Private[int | None]
    cost_minor: strawberry.Private[int]

    @strawberry.field(extensions=allow(STAFF))
    def budget(self) -> Money | None:
        return Money.from_minor(self.budget_minor, self.currency)

    @strawberry.field(description="What the campaign has cost so far.", extensions=allow(STAFF))
    def cost(self) -> Money | None:
        return Money.from_minor(self.cost_minor, self.currency)  # type: ignore[return-value]

    async def _revenue_rows(self, info: Info) -> dict[str, int]:
        rows = await info.context.store.group("attributions", ["currency"], sums=["amount_minor"],
                                              flt={"campaign_id": str(self.id)})
        return {r["key"]["currency"]: int(r["sum"]["amount_minor"]) for r in rows}

    @strawberry.field(description="Won-deal revenue attributed to this campaign, in the campaign's currency.", extensions=allow(STAFF))
    async def revenue(self, info: Info) -> Money | None:
        return Money.from_minor((await self._revenue_rows(info)).get(self.currency, 0), self.currency)  # type: ignore[return-value]

    @strawberry.field(extensions=allow(STAFF))
    async def revenue_by_currency(self, info: Info) -> list[Money] | None:
        return [Money.from_minor(v, k) for k, v in sorted((await self._revenue_rows(info)).items())]  # type: ignore[misc]

    @strawberry.field(description="(revenue − cost) / cost; null while the campaign has no cost.", extensions=allow(STAFF))
    async def roi(self, info: Info) -> float | None:
        if not self.cost_minor:
            return None
        rev = (await self._revenue_rows(info)).get(self.currency, 0)
        return round((rev - self.cost_minor) / self.cost_minor, 4)

    @strawberry.field(extensions=allow(STAFF))
    async def members(self, info: Info, first: int | None = None, after: str | None = None,
                      status: MemberStatus | None = None) -> "Connection[CampaignMember] | None":
        flt: dict = {"campaign_id": str(self.id)}
        if status:
            flt = {"$and": [flt, {"status": status.value}]}
        return await paginate(info.context.store, "members", flt, [("created_at", 1)], first, after, CampaignMember.from_doc)

    @strawberry.field(extensions=allow(STAFF))
    async def response_count(self, info: Info) -> int | None:
        return await info.context.store.count("members", {"$and": [{"campaign_id": str(self.id)}, {"status": "responded"}]})

    @staticmethod
    def from_doc(d: dict) -> "Campaign":
        return Campaign(
            id=d["id"], name=d["name"], channel=Channel(d["channel"]), currency=d["currency"],
            starts_on=dt.date.fromisoformat(d["starts_on"]) if d.get("starts_on") else None,
            ends_on=dt.date.fromisoformat(d["ends_on"]) if d.get("ends_on") else None,
            version=d["version"], created_at=parse_ts(d["created_at"]),
            budget_minor=d.get("budget_minor"), cost_minor=d.get("cost_minor") or 0,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> "Campaign | None":
        doc = await info.context.get("campaigns", str(id))
        return cls.from_doc(doc) if doc else None


@strawberry.type(description="A contact's place in a campaign.")
class CampaignMember:
    status: MemberStatus
    responded_at: dt.datetime | None
    response: str | None
    campaign_id: strawberry.ID
    contact_id: strawberry.ID

    @strawberry.field(extensions=allow(STAFF))
    async def campaign(self, info: Info) -> Campaign | None:
        doc = await info.context.store.get("campaigns", str(self.campaign_id))
        return Campaign.from_doc(doc) if doc else None

    @strawberry.field(extensions=allow(STAFF))
    def contact(self) -> "Contact | None":
        return Contact(id=self.contact_id)

    @staticmethod
    def from_doc(d: dict) -> "CampaignMember":
        return CampaignMember(status=MemberStatus(d["status"]), responded_at=parse_ts(d.get("responded_at")),
                              response=d.get("response"), campaign_id=d["campaign_id"], contact_id=d["contact_id"])


@strawberry.federation.type(keys=["id"])
class Contact:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "Contact":
        return cls(id=id)

    @strawberry.field(description="Campaigns this person was targeted by or responded to.", extensions=allow(STAFF))
    async def campaigns(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[CampaignMember] | None:
        return await paginate(info.context.store, "members", {"contact_id": str(self.id)}, [("created_at", -1)],
                              first, after, CampaignMember.from_doc)


@strawberry.input
class CreateCampaignInput:
    name: str
    channel: Channel
    currency: str
    budget: decimal.Decimal | None = None
    cost: decimal.Decimal | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


@strawberry.input
class RecordCampaignCostInput:
    id: strawberry.ID
    expected_version: int
    cost: decimal.Decimal = strawberry.field(description="The campaign's total cost so far (replaces the previous figure).")


@strawberry.input
class AddCampaignMembersInput:
    campaign_id: strawberry.ID
    contact_ids: list[strawberry.ID]


@strawberry.input
class RecordResponseInput:
    campaign_id: strawberry.ID
    contact_id: strawberry.ID
    response: str | None = None
    responded_at: dt.datetime | None = strawberry.field(default=None, description="Defaults to now.")


@strawberry.type
class CampaignPayload:
    campaign: Campaign | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AddMembersPayload:
    campaign: Campaign | None = None
    added: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ResponsePayload:
    member: CampaignMember | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _campaign(store, campaign_id) -> dict:
    doc = await store.get("campaigns", str(campaign_id))
    if doc is None:
        raise InputError(ErrorCode.UNKNOWN_REFERENCE, f"campaign {campaign_id} does not exist", ["input", "campaignId"])
    return doc


@strawberry.type
class Query:
    @strawberry.field(extensions=allow(STAFF))
    async def campaign(self, info: Info, id: strawberry.ID) -> Campaign | None:
        doc = await info.context.get("campaigns", str(id))
        return Campaign.from_doc(doc) if doc else None

    @strawberry.field(extensions=allow(STAFF))
    async def campaigns(self, info: Info, first: int | None = None, after: str | None = None,
                        channel: Channel | None = None) -> Connection[Campaign] | None:
        c = info.context
        return await paginate(c.store, "campaigns", c.scoped("campaigns", {"channel": channel.value} if channel else {}),
                              [("created_at", -1)], first, after, Campaign.from_doc)


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=allow(ADMIN, MARKETING))
    async def create_campaign(self, info: Info, input: CreateCampaignInput) -> CampaignPayload | None:
        store = info.context.store
        try:
            name = clean_text(input.name, "name", required=True)
            budget, currency = parse_money(input.budget, input.currency, "budget") if input.budget is not None else (None, None)
            cost, currency2 = parse_money(input.cost or decimal.Decimal(0), input.currency, "cost")
            if input.starts_on and input.ends_on and input.ends_on < input.starts_on:
                raise InputError(ErrorCode.INVALID, "endsOn is before startsOn", ["input", "endsOn"])
            body = {"id": new_id(), "name": name, "channel": input.channel.value, "currency": currency or currency2,
                    "budget_minor": budget, "cost_minor": cost,
                    "starts_on": input.starts_on.isoformat() if input.starts_on else None,
                    "ends_on": input.ends_on.isoformat() if input.ends_on else None}
            doc = await store.insert("campaigns", body, events=[Envelope("marketing.campaign.created", body["id"],
                                                                          {"id": body["id"], "version": 1, "name": name,
                                                                           "channel": body["channel"]}),
                                                           info.context.audit("created", "Campaign", body["id"], diff(None, body))])
            return CampaignPayload(campaign=Campaign.from_doc(doc))
        except Exception as exc:
            return CampaignPayload(errors=user_errors(exc))

    @strawberry.mutation(extensions=allow(ADMIN, MARKETING))
    async def record_campaign_cost(self, info: Info, input: RecordCampaignCostInput) -> CampaignPayload | None:
        store = info.context.store
        try:
            current = await store.get("campaigns", str(input.id))
            if current is None:
                raise InputError(ErrorCode.NOT_FOUND, f"campaign {input.id} does not exist", ["input", "id"])
            cost, _ = parse_money(input.cost, current["currency"], "cost")
            doc = await store.mutate("campaigns", str(input.id), lambda d: {**d, "cost_minor": cost},
                                     expected_version=input.expected_version,
                                     events=lambda old, new: [info.context.audit("updated", "Campaign", new["id"], diff(old, new))])
            return CampaignPayload(campaign=Campaign.from_doc(doc))
        except Exception as exc:
            return CampaignPayload(errors=user_errors(exc))

    @strawberry.mutation(extensions=allow(ADMIN, MARKETING))
    async def add_campaign_members(self, info: Info, input: AddCampaignMembersInput) -> AddMembersPayload | None:
        store = info.context.store
        try:
            campaign = await _campaign(store, input.campaign_id)
            ids = list(dict.fromkeys(str(i) for i in input.contact_ids))
            if len(ids) > MAX_MEMBERS_PER_CALL:
                raise InputError(ErrorCode.INVALID, f"at most {MAX_MEMBERS_PER_CALL} contacts per call", ["input", "contactIds"])
            known = await store.get_many("ref_contacts", ids)
            missing = [i for i in ids if i not in known]
            if missing:
                raise InputError(ErrorCode.UNKNOWN_REFERENCE, f"unknown contacts: {', '.join(missing[:10])}",
                                 ["input", "contactIds"])
            added = 0
            for cid in ids:
                try:
                    member = {"id": f"{campaign['id']}:{cid}", "campaign_id": campaign["id"],
                              "contact_id": cid, "company_id": known[cid].get("company_id"), "status": "targeted"}
                    await store.insert("members", member, events=[
                        info.context.audit("created", "CampaignMember", member["id"], diff(None, member))])
                    added += 1
                except DuplicateKeyError:
                    pass  # already a member
            return AddMembersPayload(campaign=Campaign.from_doc(campaign), added=added)
        except Exception as exc:
            return AddMembersPayload(errors=user_errors(exc))

    @strawberry.mutation(description="A contact responded (replied, registered, filled in a form...). Adds them as a member if needed.",
                         extensions=allow(ADMIN, MARKETING, SALES))
    async def record_response(self, info: Info, input: RecordResponseInput) -> ResponsePayload | None:
        store = info.context.store
        try:
            campaign = await _campaign(store, input.campaign_id)
            contact = await store.get("ref_contacts", str(input.contact_id))
            if contact is None:
                raise InputError(ErrorCode.UNKNOWN_REFERENCE, f"contact {input.contact_id} does not exist", ["input", "contactId"])
            response = clean_text(input.response, "response", max_len=2000)
            at = ts_input(input.responded_at, "respondedAt") or now_iso()
            if at > now_iso():
                raise InputError(ErrorCode.INVALID, "respondedAt is in the future", ["input", "respondedAt"])
            mid = f"{campaign['id']}:{contact['id']}"

            def change(d):
                if d and d.get("status") == "responded":
                    raise InputError(ErrorCode.DUPLICATE, "this contact has responded to this campaign already",
                                     ["input", "contactId"])
                return {**(d or {}), "campaign_id": campaign["id"], "contact_id": contact["id"],
                        "company_id": contact.get("company_id"), "status": "responded", "responded_at": at,
                        "response": response}

            doc = await store.mutate("members", mid, change, create=True, events=lambda old, new: [
                Envelope("marketing.member.responded", mid, {
                    "id": mid, "campaign_id": campaign["id"], "campaign_name": campaign["name"],
                    "channel": campaign["channel"], "contact_id": contact["id"], "company_id": contact.get("company_id"),
                    "response": response, "responded_at": at}),
                info.context.audit("updated" if old else "created", "CampaignMember", mid, diff(old, new))])
            return ResponsePayload(member=CampaignMember.from_doc(doc))
        except Exception as exc:
            return ResponsePayload(errors=user_errors(exc))


class MarketingService(Service):
    name = "marketing"

    def schema(self):
        return build_schema(Query, Mutation, types=[Campaign, Contact], settings=self.settings)

    def row_scope(self, p: Principal, coll: str) -> dict:
        return ALL_ROWS if p.role in STAFF else NO_ROWS  # marketing is staff work, all of it

    async def setup(self) -> None:
        s = self.store
        await s.ensure_index("members", [("campaign_id", 1), ("created_at", 1)])
        await s.ensure_index("members", [("contact_id", 1), ("created_at", -1)])
        await s.ensure_index("members", [("company_id", 1)])
        await s.ensure_index("attributions", [("campaign_id", 1)])

    def subscriptions(self) -> list[Subscription]:
        return [
            Subscription("contacts", ["contacts.contact.created", "contacts.contact.updated"],
                         lambda e: apply_snapshot(self.store, "ref_contacts", e, ["name", "company_id"])),
            Subscription("attribution", ["deals.deal.won"], self.on_deal_won),
        ]

    async def on_deal_won(self, e: Envelope) -> None:
        d = e.data
        amount, currency = d.get("amount_minor"), d.get("currency")
        if not amount or not currency:
            return
        won_at = d.get("won_at") or e.occurred_at
        key, value = ("contact_id", d["contact_id"]) if d.get("contact_id") else ("company_id", d.get("company_id"))
        if not value:
            return
        responses = await self.store.find_all(
            "members", {"$and": [{key: value}, {"status": "responded"}, {"responded_at": {"$lte": won_at}}]},
            sort=[("responded_at", 1)])
        campaigns = list(dict.fromkeys(r["campaign_id"] for r in responses))
        if not campaigns:
            return
        share, rest = divmod(int(amount), len(campaigns))
        for i, cid in enumerate(campaigns):
            try:
                await self.store.insert("attributions", {
                    "id": f"{d['id']}:{cid}", "campaign_id": cid, "deal_id": d["id"], "currency": currency,
                    "amount_minor": share + (rest if i == 0 else 0), "won_at": won_at, "rule": "equal-split"})
            except DuplicateKeyError:
                pass  # redelivered event
