"""Marketing's inputs and payloads."""

from __future__ import annotations

import datetime as dt
import decimal

import strawberry

from services.common.graphql import UserError, payload

from .types import Campaign, CampaignMember, Channel


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
    cost: decimal.Decimal = strawberry.field(
        description="The campaign's total cost so far (replaces the previous figure)."
    )


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


CampaignPayload = payload("CampaignPayload", campaign=Campaign)


@strawberry.type
class AddMembersPayload:
    campaign: Campaign | None = None
    added: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)


ResponsePayload = payload("ResponsePayload", member=CampaignMember)
