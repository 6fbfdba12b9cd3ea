"""ROI by attribution model in GraphQL, and campaign spend per period (report.py, attribution.py)."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from enum import Enum

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, MARKETING, STAFF, allow
from services.common.errors import ErrorCode, InputError, PublicError
from services.common.graphql import Money, payload, payload_errors
from services.common.money import parse_money

from . import attribution, report
from .types import Campaign

AttributionModel = strawberry.enum(
    attribution.Model, name="AttributionModel", description="How revenue is credited to campaign touches."
)
PERIOD_RE = re.compile(r"^(19|2\d)\d\d-(0[1-9]|1[0-2])$")


@strawberry.enum
class RoiDimension(Enum):
    CAMPAIGN = "campaign"
    CHANNEL = "channel"
    CLIENT = "client"
    SEGMENT = "segment"


@strawberry.type
class RoiRow:
    key: str
    label: str
    cost: Money
    revenue: Money
    profit: Money
    roi: float | None = strawberry.field(description="(revenue − cost) / cost; null without cost.")


@strawberry.type
class RoiReport:
    model: AttributionModel
    dimension: RoiDimension
    currency: str
    rows: list[RoiRow]
    unattributed: Money = strawberry.field(description="Revenue with no campaign touch before it.")
    other_currency_revenues: int = strawberry.field(description="Revenues left out: another currency.")


@strawberry.type
class CampaignSpend:
    campaign_id: strawberry.ID
    period: str
    amount: Money


@strawberry.input
class RecordCampaignSpendInput:
    campaign_id: strawberry.ID
    period: str = strawberry.field(description='A month, "YYYY-MM".')
    amount: decimal.Decimal = strawberry.field(description="The campaign's spend in that month (replaces it).")


CampaignSpendPayload = payload("CampaignSpendPayload", spend=CampaignSpend, campaign=Campaign)


@strawberry.type
class RoiQueries:
    @strawberry.field(
        description="Cost, revenue, profit and ROI per campaign, channel, client or segment, under an attribution "
        "model (default LINEAR: today's equal split).",
        extensions=allow(STAFF),
    )
    async def roi_report(
        self,
        info: Info,
        currency: str,
        by: RoiDimension = RoiDimension.CAMPAIGN,
        model: AttributionModel = attribution.DEFAULT_MODEL,
        start: dt.date | None = None,
        end: dt.date | None = None,
        segment_ids: list[strawberry.ID] | None = None,
    ) -> RoiReport | None:
        cur = currency.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", cur):
            raise PublicError("currency must be an ISO 4217 code")
        if start and end and end < start:
            raise PublicError("end is before start")
        out = await report.report(
            info.context.store,
            model=model,
            by=by.value,
            currency=cur,
            start=start,
            end=end,
            segment_ids=[str(s) for s in segment_ids] if segment_ids else None,
        )

        def m(v: int) -> Money:
            return Money.from_minor(v, cur)

        return RoiReport(
            model=model,
            dimension=by,
            currency=cur,
            rows=[
                RoiRow(
                    key=r["key"],
                    label=r["label"],
                    cost=m(r["cost_minor"]),
                    revenue=m(r["revenue_minor"]),
                    profit=m(r["profit_minor"]),
                    roi=r["roi"],
                )
                for r in out["rows"]
            ],
            unattributed=m(out["unattributed_minor"]),
            other_currency_revenues=out["other_currency_revenues"],
        )


@strawberry.type
class RoiMutations:
    @strawberry.mutation(description="Record a campaign's spend for one month.", extensions=allow(ADMIN, MARKETING))
    @payload_errors(CampaignSpendPayload)
    async def record_campaign_spend(self, info: Info, input: RecordCampaignSpendInput) -> CampaignSpendPayload | None:
        c = info.context
        campaign = await c.referenced("campaigns", input.campaign_id, "campaign", "campaignId")
        if not PERIOD_RE.match(input.period or ""):
            raise InputError(ErrorCode.INVALID, 'period must be a month "YYYY-MM"', ["input", "period"])
        amount, cur = parse_money(input.amount, campaign["currency"], "amount")
        sid = f"{campaign['id']}:{input.period}"
        body = {"campaign_id": campaign["id"], "period": input.period, "amount_minor": amount, "currency": cur}
        await c.store.mutate(
            "spends",
            sid,
            lambda d: {**(d or {}), **body},
            create=True,
            events=lambda old, new: [
                c.audit("updated" if old else "created", "CampaignSpend", sid, {"amount_minor": amount})
            ],
        )
        return CampaignSpendPayload(
            spend=CampaignSpend(campaign_id=campaign["id"], period=input.period, amount=Money.from_minor(amount, cur)),
            campaign=Campaign.from_doc(campaign),
        )
