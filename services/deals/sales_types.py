"""GraphQL types and inputs of price lists, estimates, payment schedules, the forecast by period,
the cash curve, win rates, accuracy and win/loss analysis (the plain rules are in estimates.py,
payments.py and planning.py)."""

from __future__ import annotations

import base64
import datetime as dt
import decimal

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, CUSTOMER, PARTNER, SALES, STAFF, allow
from services.common.graphql import FromDoc, Money, UserError, payload

from . import estimates as est_rules
from . import payments as pay_rules
from . import planning

EstimateStatus = strawberry.enum(est_rules.EstimateStatus)
LineKind = strawberry.enum(est_rules.LineKind)
MilestoneStatus = strawberry.enum(pay_rules.MilestoneStatus)
ForecastCategory = strawberry.enum(planning.ForecastCategory)
Period = strawberry.enum(planning.Period)

ESTIMATE_READERS = STAFF | {PARTNER, CUSTOMER}
PAYMENT_READERS = STAFF | {CUSTOMER}
ADMIN_SALES = {ADMIN, SALES}


def _m(minor: int | None, cur: str | None) -> Money | None:
    return Money.from_minor(minor, cur)


def _dec(v: str | None) -> decimal.Decimal | None:
    return None if v is None else decimal.Decimal(v)


# ---- price lists ------------------------------------------------------------------------------
@strawberry.type(description="An hourly rate of one discipline.")
class RateCardEntry:
    discipline: str
    currency: strawberry.Private[str]
    rate_minor: strawberry.Private[int]
    cost_minor: strawberry.Private[int | None]

    @strawberry.field(description="Hourly rate billed to the client.", extensions=allow(STAFF | {PARTNER}))
    def rate(self) -> Money | None:
        return _m(self.rate_minor, self.currency)

    @strawberry.field(description="Internal cost per hour (staff only).", extensions=allow(STAFF))
    def cost_rate(self) -> Money | None:
        return _m(self.cost_minor, self.currency)


@strawberry.type
class PriceListProduct:
    product_id: strawberry.ID
    sku: str | None
    name: str | None
    currency: strawberry.Private[str]
    price_minor: strawberry.Private[int]

    @strawberry.field(extensions=allow(STAFF | {PARTNER}))
    def price(self) -> Money | None:
        return _m(self.price_minor, self.currency)


@strawberry.type(description="Prices of catalogue products and hourly rates per discipline, in one currency.")
class PriceList(FromDoc):
    id: strawberry.ID
    name: str
    currency: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    partner_tier: str | None = strawberry.field(
        description="Partners of this tier read this list; null: the general list."
    )
    active: bool
    version: int
    doc: strawberry.Private[dict]

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"doc": doc}

    @strawberry.field(extensions=allow(STAFF | {PARTNER}))
    def rates(self) -> list[RateCardEntry] | None:
        return [
            RateCardEntry(
                discipline=r["discipline"],
                currency=self.currency,
                rate_minor=r["rate_minor"],
                cost_minor=r.get("cost_minor"),
            )
            for r in self.doc.get("rates") or []
        ]

    @strawberry.field(extensions=allow(STAFF | {PARTNER}))
    def products(self) -> list[PriceListProduct] | None:
        return [
            PriceListProduct(
                product_id=p["product_id"],
                sku=p.get("sku"),
                name=p.get("name"),
                currency=self.currency,
                price_minor=p["price_minor"],
            )
            for p in self.doc.get("products") or []
        ]


@strawberry.input
class RateInput:
    discipline: str
    rate: decimal.Decimal
    cost_rate: decimal.Decimal | None = None


@strawberry.input
class PriceInput:
    product_id: strawberry.ID
    price: decimal.Decimal


@strawberry.input
class CreatePriceListInput:
    name: str
    currency: str
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    partner_tier: str | None = None
    rates: list[RateInput] = strawberry.field(default_factory=list)
    products: list[PriceInput] = strawberry.field(default_factory=list)


@strawberry.input
class UpdatePriceListInput:
    id: strawberry.ID
    expected_version: int
    name: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    rates: list[RateInput] | None = None
    products: list[PriceInput] | None = None
    active: bool | None = None


@strawberry.input
class SetPartnerTierInput:
    company_id: strawberry.ID
    tier: str | None = None


PriceListPayload = payload("PriceListPayload", price_list=PriceList)


@strawberry.type
class PartnerTier:
    company_id: strawberry.ID
    tier: str | None


PartnerTierPayload = payload("PartnerTierPayload", partner_tier=PartnerTier)


# ---- estimates --------------------------------------------------------------------------------
@strawberry.type
class EstimateLine:
    kind: LineKind
    stage: str
    discipline: str | None
    description: str | None
    product_id: strawberry.ID | None
    sku: str | None
    unit: str | None
    hours: decimal.Decimal | None
    quantity: decimal.Decimal | None
    discount_percent: decimal.Decimal | None
    currency: strawberry.Private[str]
    d: strawberry.Private[dict]

    @staticmethod
    def of(d: dict, currency: str) -> EstimateLine:
        return EstimateLine(
            kind=LineKind(d["kind"]),
            stage=d["stage"],
            discipline=d.get("discipline"),
            description=d.get("description"),
            product_id=d.get("product_id"),
            sku=d.get("sku"),
            unit=d.get("unit"),
            hours=_dec(d.get("hours")),
            quantity=_dec(d.get("quantity")),
            discount_percent=_dec(d.get("discount_pct")),
            currency=currency,
            d=d,
        )

    @strawberry.field(
        description="Hourly rate (work) or unit list price (item), as priced.", extensions=allow(ESTIMATE_READERS)
    )
    def rate(self) -> Money | None:
        return _m(self.d.get("rate_minor", self.d.get("unit_price_minor")), self.currency)

    @strawberry.field(extensions=allow(ESTIMATE_READERS))
    def amount(self) -> Money | None:
        return _m(self.d["amount_minor"], self.currency)

    @strawberry.field(description="Internal cost rate (staff only).", extensions=allow(STAFF))
    def cost_rate(self) -> Money | None:
        return _m(self.d.get("cost_rate_minor"), self.currency)


@strawberry.type
class StageTotal:
    stage: str
    amount: Money


@strawberry.type
class TaxLine:
    name: str
    percent: decimal.Decimal
    amount: Money


@strawberry.type
class EstimateTotals:
    stages: list[StageTotal]
    subtotal: Money
    discount: Money
    taxable: Money
    taxes: list[TaxLine]
    total: Money

    @staticmethod
    def of(t: dict, cur: str) -> EstimateTotals:
        return EstimateTotals(
            stages=[StageTotal(stage=s["stage"], amount=_m(s["amount_minor"], cur)) for s in t["stages"]],
            subtotal=_m(t["subtotal_minor"], cur),
            discount=_m(t["discount_minor"], cur),
            taxable=_m(t["taxable_minor"], cur),
            taxes=[
                TaxLine(name=x["name"], percent=decimal.Decimal(x["percent"]), amount=_m(x["amount_minor"], cur))
                for x in t["taxes"]
            ],
            total=_m(t["total_minor"], cur),
        )


@strawberry.type(description="Hours and money of one stage × discipline of an accepted estimate.")
class BaselineCell:
    stage: str
    discipline: str | None
    hours: decimal.Decimal
    amount: Money


@strawberry.type(description="A versioned cost estimate (quote) of a deal.")
class Estimate(FromDoc):
    id: strawberry.ID
    deal_id: strawberry.ID
    company_id: strawberry.ID
    revision: int = strawberry.field(description="Version number of the estimate within its deal (1, 2, ...).")
    title: str | None
    currency: str
    valid_until: dt.date | None
    discount_percent: decimal.Decimal | None
    sent_at: dt.datetime | None
    accepted_at: dt.datetime | None
    rejected_at: dt.datetime | None
    version: int
    created_at: dt.datetime
    doc: strawberry.Private[dict]

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"doc": doc, "discount_percent": _dec(doc.get("discount_pct"))}

    @strawberry.field(
        description="Sent estimates past their validity date read EXPIRED.", extensions=allow(ESTIMATE_READERS)
    )
    def status(self) -> EstimateStatus | None:
        from services.common.ids import now_iso

        return EstimateStatus(est_rules.effective_status(self.doc, now_iso()[:10]))

    @strawberry.field(extensions=allow(ESTIMATE_READERS))
    def lines(self) -> list[EstimateLine] | None:
        return [EstimateLine.of(x, self.currency) for x in self.doc["lines"]]

    @strawberry.field(extensions=allow(ESTIMATE_READERS))
    def totals(self) -> EstimateTotals | None:
        return EstimateTotals.of(self.doc["totals"], self.currency)

    @strawberry.field(description="Internal cost of the work lines (staff only).", extensions=allow(STAFF))
    def cost(self) -> Money | None:
        return _m(sum(x.get("cost_minor") or 0 for x in self.doc["lines"]), self.currency)

    @strawberry.field(description="The estimate as a PDF document, base64-encoded.", extensions=allow(ESTIMATE_READERS))
    async def pdf_base64(self, info: Info) -> str | None:
        from .pdf import render

        c = info.context
        company = await c.store.get("ref_companies", self.doc["company_id"])
        deal = await c.store.get("deals", self.doc["deal_id"])
        data = render(
            self.doc,
            firm=c.service.config.firm_name,
            client=(company or {}).get("name") or self.doc["company_id"],
            deal_title=(deal or {}).get("title") or "",
        )
        return base64.b64encode(data).decode()


@strawberry.input
class EstimateLineInput:
    kind: LineKind
    stage: str
    discipline: str | None = None
    hours: decimal.Decimal | None = None
    product_id: strawberry.ID | None = None
    quantity: decimal.Decimal | None = None
    discount_percent: decimal.Decimal | None = None
    description: str | None = None


@strawberry.input
class TaxRateInput:
    name: str
    percent: decimal.Decimal


@strawberry.input
class CreateEstimateInput:
    deal_id: strawberry.ID
    price_list_id: strawberry.ID
    title: str | None = None
    valid_until: dt.date | None = None
    discount_percent: decimal.Decimal | None = None
    tax_rates: list[TaxRateInput] = strawberry.field(default_factory=list)
    lines: list[EstimateLineInput] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateEstimateInput:
    id: strawberry.ID
    expected_version: int
    title: str | None = None
    valid_until: dt.date | None = None
    discount_percent: decimal.Decimal | None = None
    tax_rates: list[TaxRateInput] | None = None
    lines: list[EstimateLineInput] | None = None


@strawberry.input
class EstimateActionInput:
    id: strawberry.ID
    expected_version: int
    override_reason: str | None = strawberry.field(
        default=None,
        description="sendEstimate: admins and configured sales managers may pass the offer guard with a reason.",
    )


EstimatePayload = payload("EstimatePayload", estimate=Estimate)


@strawberry.type
class LineDifference:
    stage: str
    kind: LineKind
    discipline: str | None
    product_id: strawberry.ID | None
    change: str = strawberry.field(description="added | removed | changed | same")
    hours_a: decimal.Decimal | None
    hours_b: decimal.Decimal | None
    amount_a: Money
    amount_b: Money
    delta: Money = strawberry.field(description="b − a (may be negative).")


@strawberry.type
class EstimateComparison:
    a: Estimate
    b: Estimate
    lines: list[LineDifference]
    subtotal_delta: Money
    discount_delta: Money
    total_delta: Money


def _signed(minor: int, cur: str) -> Money:
    from services.common import money

    return Money(amount=-money.from_minor(-minor, cur) if minor < 0 else money.from_minor(minor, cur), currency=cur)


def comparison(a: dict, b: dict) -> EstimateComparison:
    d = est_rules.compare(a, b)
    cur = b["currency"]
    return EstimateComparison(
        a=Estimate.from_doc(a),
        b=Estimate.from_doc(b),
        lines=[
            LineDifference(
                stage=r["stage"],
                kind=LineKind(r["kind"]),
                discipline=r["discipline"],
                product_id=r["product_id"],
                change=r["change"],
                hours_a=_dec(r["hours_a"]),
                hours_b=_dec(r["hours_b"]),
                amount_a=_m(r["amount_a_minor"], cur),
                amount_b=_m(r["amount_b_minor"], cur),
                delta=_signed(r["delta_minor"], cur),
            )
            for r in d["lines"]
        ],
        subtotal_delta=_signed(d["subtotal_delta_minor"], cur),
        discount_delta=_signed(d["discount_delta_minor"], cur),
        total_delta=_signed(d["total_delta_minor"], cur),
    )


# ---- payment schedule -------------------------------------------------------------------------
@strawberry.type(description="One payment of a deal's schedule.")
class PaymentMilestone(FromDoc):
    id: strawberry.ID
    deal_id: strawberry.ID
    company_id: strawberry.ID
    title: str
    due_date: dt.date
    status: MilestoneStatus
    percent: decimal.Decimal | None
    invoice_id: str | None = strawberry.field(description="The accounting system's invoice id.")
    invoiced_at: dt.datetime | None
    paid_at: dt.datetime | None
    version: int
    amount_minor: strawberry.Private[int]
    paid_minor: strawberry.Private[int | None]
    currency: strawberry.Private[str]

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"percent": _dec(doc.get("percent"))}

    @strawberry.field(extensions=allow(PAYMENT_READERS))
    def amount(self) -> Money | None:
        return _m(self.amount_minor, self.currency)

    @strawberry.field(extensions=allow(PAYMENT_READERS))
    def paid(self) -> Money | None:
        return _m(self.paid_minor or 0, self.currency)


@strawberry.input
class AddMilestoneInput:
    deal_id: strawberry.ID
    title: str
    due_date: dt.date
    amount: decimal.Decimal | None = None
    percent: decimal.Decimal | None = strawberry.field(
        default=None, description="Percent of the accepted estimate's total."
    )


AccountingKind = strawberry.enum(pay_rules.AccountingKind)


@strawberry.input
class AccountingRecordInput:
    milestone_id: strawberry.ID
    external_id: str = strawberry.field(
        description="The accounting system's id of the invoice or payment (idempotency key)."
    )
    amount: decimal.Decimal | None = strawberry.field(
        default=None, description="Payments: the amount paid (default: what is open)."
    )
    at: dt.datetime | None = None


@strawberry.input
class AccountingBatchItem:
    kind: AccountingKind
    milestone_id: strawberry.ID
    external_id: str
    amount: decimal.Decimal | None = None
    at: dt.datetime | None = None


@strawberry.input
class AccountingBatchInput:
    records: list[AccountingBatchItem]


MilestonePayload = payload("MilestonePayload", milestone=PaymentMilestone)


@strawberry.type
class AccountingRecordPayload:
    milestone: PaymentMilestone | None = None
    applied: bool = strawberry.field(
        default=False, description="False: this external id was recorded before; nothing changed."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AccountingBatchPayload:
    results: list[AccountingRecordPayload] = strawberry.field(default_factory=list)
    applied: int = 0
    duplicates: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)


# ---- forecast -----------------------------------------------------------------------------------
@strawberry.type(description="Open deals expected to close in one period (month or quarter).")
class ForecastBucket:
    period: str | None = strawberry.field(description='"2026-05" or "2026-Q2"; null: no expected close date.')
    deal_count: int
    amount: Money
    weighted: Money
    commit: Money
    best_case: Money = strawberry.field(description="Best case includes commit.")
    pipeline: Money
    omitted: Money

    @staticmethod
    def of(b: dict, cur: str) -> ForecastBucket:
        return ForecastBucket(
            period=b["period"],
            deal_count=b["deal_count"],
            **{
                k: _m(b[f"{k}_minor"], cur)
                for k in ("amount", "weighted", "commit", "best_case", "pipeline", "omitted")
            },
        )


@strawberry.type(description="Money expected in one period from payment schedules.")
class CashBucket:
    period: str
    committed: Money = strawberry.field(description="Unpaid milestones of won deals.")
    weighted_pipeline: Money = strawberry.field(description="Milestones of open deals × their probability.")
    expected: Money

    @staticmethod
    def of(b: dict, cur: str) -> CashBucket:
        return CashBucket(
            period=b["period"], **{k: _m(b[f"{k}_minor"], cur) for k in ("committed", "weighted_pipeline", "expected")}
        )


@strawberry.type(description="Configured probability of a stage beside its historical win rate.")
class StageWinRate:
    stage_id: strawberry.ID
    stage_name: str
    configured_probability: int
    closed_deals: int
    won_deals: int
    win_rate: decimal.Decimal | None = strawberry.field(
        description="Percent of closed deals that reached this stage and were won."
    )


@strawberry.type
class HorizonAccuracy:
    weeks: int
    samples: int = strawberry.field(description="Months of the period with a snapshot at this horizon.")
    bookings_mape: decimal.Decimal | None = strawberry.field(
        description="Mean absolute % error of weighted bookings vs won."
    )
    cash_mape: decimal.Decimal | None = strawberry.field(description="Mean absolute % error of the cash curve vs paid.")


@strawberry.type
class ForecastAccuracy:
    period: str
    currency: str
    horizons: list[HorizonAccuracy]


@strawberry.type
class ForecastPoint:
    period: str
    amount: Money


@strawberry.type
class ForecastSnapshot(FromDoc):
    id: strawberry.ID
    currency: str
    taken_at: dt.datetime
    doc: strawberry.Private[dict]

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"doc": doc}

    @strawberry.field(description="Weighted bookings by expected close month.", extensions=allow(ADMIN_SALES))
    def bookings(self) -> list[ForecastPoint] | None:
        return [ForecastPoint(period=k, amount=_m(v, self.currency)) for k, v in sorted(self.doc["bookings"].items())]

    @strawberry.field(description="Expected cash by due month.", extensions=allow(ADMIN_SALES))
    def cash(self) -> list[ForecastPoint] | None:
        return [ForecastPoint(period=k, amount=_m(v, self.currency)) for k, v in sorted(self.doc["cash"].items())]


ForecastSnapshotPayload = payload("ForecastSnapshotPayload", snapshot=ForecastSnapshot)


@strawberry.input
class SetDealForecastInput:
    id: strawberry.ID
    expected_version: int
    probability_override: int | None = None
    clear_probability_override: bool = False
    forecast_category: ForecastCategory | None = None
    expected_close_date: dt.date | None = None


# ---- pipelines admin, lost reasons, win/loss ------------------------------------------------------
@strawberry.input
class StageInput:
    id: strawberry.ID
    name: str
    probability: int
    kind: str = strawberry.field(description="open | won | lost")


@strawberry.input
class CreatePipelineInput:
    name: str
    stages: list[StageInput]
    id: strawberry.ID | None = None


@strawberry.input
class UpdatePipelineInput:
    id: strawberry.ID
    expected_version: int
    name: str | None = None
    stages: list[StageInput] | None = None


@strawberry.type
class LostReason(FromDoc):
    id: strawberry.ID
    name: str
    active: bool
    version: int


@strawberry.input
class CreateLostReasonInput:
    name: str


@strawberry.input
class UpdateLostReasonInput:
    id: strawberry.ID
    expected_version: int
    name: str | None = None
    active: bool | None = None


LostReasonPayload = payload("LostReasonPayload", lost_reason=LostReason)


@strawberry.type
class WinLossRow:
    key: str
    won: int
    lost: int
    won_amount: Money
    lost_amount: Money


@strawberry.type
class WinLossAnalysis:
    currency: str
    by_reason: list[WinLossRow]
    by_last_stage: list[WinLossRow]
    by_cycle_length: list[WinLossRow]

    @staticmethod
    def of(w: dict, cur: str) -> WinLossAnalysis:
        def rows(items):
            return [
                WinLossRow(
                    key=r["key"],
                    won=r["won"],
                    lost=r["lost"],
                    won_amount=_m(r["won_minor"], cur),
                    lost_amount=_m(r["lost_minor"], cur),
                )
                for r in items
            ]

        return WinLossAnalysis(
            currency=cur,
            by_reason=rows(w["by_reason"]),
            by_last_stage=rows(w["by_stage"]),
            by_cycle_length=rows(w["by_cycle"]),
        )
