"""Marketing's mutations: input → domain rule → store, with events and audit in the same write."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from services.common.audit import diff
from services.common.authz import ADMIN, MARKETING, SALES, allow
from services.common.errors import DuplicateKeyError, ErrorCode, InputError
from services.common.graphql import payload_errors
from services.common.ids import new_id, now_iso
from services.common.money import parse_money
from services.common.values import clean_text, ts_input

from . import domain, events
from .api_calls import CallMutations
from .api_forms import FormMutations
from .api_mailing import MailingMutations
from .api_roi import RoiMutations
from .api_segments import SegmentMutations
from .inputs import (
    AddCampaignMembersInput,
    AddMembersPayload,
    CampaignPayload,
    CreateCampaignInput,
    RecordCampaignCostInput,
    RecordResponseInput,
    ResponsePayload,
)
from .types import Campaign, CampaignMember


@strawberry.type
class Mutation(SegmentMutations, MailingMutations, CallMutations, FormMutations, RoiMutations):
    @strawberry.mutation(extensions=allow(ADMIN, MARKETING))
    @payload_errors(CampaignPayload)
    async def create_campaign(self, info: Info, input: CreateCampaignInput) -> CampaignPayload | None:
        c = info.context
        body = {
            "id": new_id(),
            **domain.new_campaign(
                name=input.name,
                channel=input.channel,
                currency=input.currency,
                budget=input.budget,
                cost=input.cost,
                starts_on=input.starts_on,
                ends_on=input.ends_on,
            ),
        }
        doc = await c.create("campaigns", "Campaign", body, events=[events.campaign_created(body)])
        return CampaignPayload(campaign=Campaign.from_doc(doc))

    @strawberry.mutation(extensions=allow(ADMIN, MARKETING))
    @payload_errors(CampaignPayload)
    async def record_campaign_cost(self, info: Info, input: RecordCampaignCostInput) -> CampaignPayload | None:
        c = info.context
        current = await c.referenced("campaigns", input.id, "campaign", "id", code=ErrorCode.NOT_FOUND)
        cost, _ = parse_money(input.cost, current["currency"], "cost")
        doc = await c.update(
            "campaigns",
            "Campaign",
            input.id,
            lambda d: {**d, "cost_minor": cost},
            expected_version=input.expected_version,
        )
        return CampaignPayload(campaign=Campaign.from_doc(doc))

    @strawberry.mutation(extensions=allow(ADMIN, MARKETING))
    @payload_errors(AddMembersPayload)
    async def add_campaign_members(self, info: Info, input: AddCampaignMembersInput) -> AddMembersPayload | None:
        c = info.context
        campaign = await c.referenced("campaigns", input.campaign_id, "campaign", "campaignId")
        ids = domain.member_ids(input.contact_ids)
        known = {i: d for i, d in (await c.store.get_many("ref_contacts", ids)).items() if c.visible("ref_contacts", d)}
        missing = [i for i in ids if i not in known]
        if missing:
            raise InputError(
                ErrorCode.UNKNOWN_REFERENCE, f"unknown contacts: {', '.join(missing[:10])}", ["input", "contactIds"]
            )
        added = 0
        for cid in ids:
            try:
                await c.create("members", "CampaignMember", domain.targeted(campaign["id"], known[cid]))
                added += 1
            except DuplicateKeyError:
                pass  # already a member
        return AddMembersPayload(campaign=Campaign.from_doc(campaign), added=added)

    @strawberry.mutation(
        description="A contact responded (replied, registered, filled in a form...). Adds them as a member if needed.",
        extensions=allow(ADMIN, MARKETING, SALES),
    )
    @payload_errors(ResponsePayload)
    async def record_response(self, info: Info, input: RecordResponseInput) -> ResponsePayload | None:
        c = info.context
        campaign = await c.referenced("campaigns", input.campaign_id, "campaign", "campaignId")
        contact = await c.referenced("ref_contacts", input.contact_id, "contact", "contactId")
        response = clean_text(input.response, "response", max_len=2000)
        at = ts_input(input.responded_at, "respondedAt") or now_iso()
        domain.check_response_time(at, now_iso())
        mid = domain.member_id(campaign["id"], contact["id"])
        doc = await c.store.mutate(
            "members",
            mid,
            lambda d: domain.responded(d, campaign_id=campaign["id"], contact=contact, response=response, at=at),
            create=True,
            events=lambda old, new: [
                events.member_responded(campaign, mid, new),
                c.audit("updated" if old else "created", "CampaignMember", mid, diff(old, new)),
            ],
        )
        return ResponsePayload(member=CampaignMember.from_doc(doc))
