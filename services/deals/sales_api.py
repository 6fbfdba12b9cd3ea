"""Root fields of price lists, estimates, payment schedules, the offer guard, the forecast by
period, the cash curve, win rates, snapshots and accuracy, pipelines admin, lost reasons and
win/loss analysis. `SalesQuery` and `SalesMutation` are mixed into deals' Query and Mutation.
The rules are plain functions in estimates.py, payments.py and planning.py."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, CUSTOMER, PARTNER, SALES, STAFF, allow
from services.common.envelope import Envelope
from services.common.errors import DuplicateKeyError, ErrorCode, InputError, PublicError
from services.common.graphql import Connection, paginate, payload, payload_errors, user_errors
from services.common.ids import new_id, now_iso
from services.common.money import parse_currency, parse_money
from services.common.values import all_of, clean_text, date_input, ts_input

from . import domain, events
from . import estimates as E
from . import payments as P
from . import planning as F
from .sales_types import (
    ADMIN_SALES,
    ESTIMATE_READERS,
    PAYMENT_READERS,
    AccountingBatchInput,
    AccountingBatchPayload,
    AccountingRecordInput,
    AccountingRecordPayload,
    AddMilestoneInput,
    CashBucket,
    CreateEstimateInput,
    CreateLostReasonInput,
    CreatePipelineInput,
    CreatePriceListInput,
    Estimate,
    EstimateActionInput,
    EstimateComparison,
    EstimateLineInput,
    EstimatePayload,
    EstimateStatus,
    ForecastAccuracy,
    ForecastBucket,
    ForecastSnapshot,
    ForecastSnapshotPayload,
    HorizonAccuracy,
    LostReason,
    LostReasonPayload,
    MilestonePayload,
    MilestoneStatus,
    PartnerTier,
    PartnerTierPayload,
    PaymentMilestone,
    Period,
    PriceList,
    PriceListPayload,
    SetPartnerTierInput,
    StageWinRate,
    UpdateEstimateInput,
    UpdateLostReasonInput,
    UpdatePipelineInput,
    UpdatePriceListInput,
    WinLossAnalysis,
    comparison,
)
from .types import Pipeline

PipelinePayload = payload("PipelinePayload", pipeline=Pipeline)


# ---- shared helpers -----------------------------------------------------------------------------
async def health_of(c, company_id: str) -> domain.Health:
    """The client's health (tickets and overdue money), read unscoped: the guard needs it for
    every role, and only staff ever see its details."""
    tickets = await c.by_id("account_health").load(company_id)
    late = await overdue_loader(c).load(company_id)
    cfg = c.service.config
    return domain.account_health(tickets, P.overdue_summary(late, now_iso()), cfg.overdue_critical_days)


def overdue_loader(c):
    """Overdue milestones per company, batched per request (a list of companies' health is one query)."""
    from strawberry.dataloader import DataLoader

    async def load(ids: list[str]) -> list[list[dict]]:
        # one page (up to 500 overdue milestones for the companies of one request) is one round trip
        flt = {"company_id": {"$in": ids}, "status": P.MilestoneStatus.OVERDUE.value}
        docs = (await c.store.find("milestones", flt, first=500)).items
        return [[d for d in docs if d["company_id"] == i] for i in ids]

    return c.loader("overdue-milestones", lambda: DataLoader(load_fn=load))


def may_override(c) -> bool:
    p = c.principal
    return p.role == ADMIN or (p.role == SALES and p.sub in c.service.config.sales_managers)


async def offer_guard(c, company_id: str, override_reason: str | None) -> tuple[bool, list[str], domain.Health]:
    """OFFER_BLOCKED unless the client's health allows a new offer or an allowed role overrides
    with a reason. Returns (overridden, reasons, health)."""
    health = await health_of(c, company_id)
    reasons = P.guard_reasons(health.level.value, health.warnings, staff=c.principal.is_staff)
    reason = clean_text(override_reason, "overrideReason", max_len=500) or None
    used = P.check_offer(reasons, override_reason=reason, may_override=may_override(c))
    return used, reasons, health


def override_events(c, *, entity: str, entity_id: str, doc: dict, reason: str, reasons: list[str]) -> list[Envelope]:
    """An override of the offer guard: audited, and on the client's timeline."""
    data = {
        "company_id": doc.get("company_id"),
        "contact_id": doc.get("contact_id"),
        "deal_id": doc.get("deal_id") or (doc["id"] if entity == "Deal" else None),
        "estimate_id": doc["id"] if entity == "Estimate" else None,
        "entity": entity,
        "reason": reason,
        "reasons": reasons,
        "by": c.principal.sub,
    }
    return [
        Envelope(events.OFFER_OVERRIDDEN, entity_id, data),
        # an existing audit action (the log's enum): the change is the guard passed, with why and despite what
        c.audit("updated", entity, entity_id, {"offer_guard_override": {"from": "; ".join(reasons), "to": reason}}),
    ]


def _cur(c, currency: str) -> str:
    try:
        return parse_currency(currency)
    except InputError as exc:
        raise PublicError(exc.message) from None


async def _pipeline(c, pipeline_id) -> dict:
    pid = str(pipeline_id or domain.DEFAULT_PIPELINE)
    pipeline = await c.get("pipelines", pid)
    if pipeline is None:
        raise PublicError(f"pipeline {pid} does not exist")
    return pipeline


# ---- price lists -----------------------------------------------------------------------------
async def _price_list_body(c, inp, currency: str) -> dict:
    body: dict[str, Any] = {}
    if inp.rates is not None:
        entries = []
        for i, r in enumerate(inp.rates):
            rate, _ = parse_money(r.rate, currency, f"rates.{i}.rate")
            cost, _ = parse_money(r.cost_rate, currency, f"rates.{i}.costRate")
            entries.append({"discipline": r.discipline, "rate_minor": rate, "cost_minor": cost})
        body["rates"] = E.rate_card(entries)
    if inp.products is not None:
        ids = [str(p.product_id) for p in inp.products]
        found = await c.store.get_many("products", ids)
        items = []
        for i, p in enumerate(inp.products):
            prod = found.get(str(p.product_id))
            if prod is None:
                raise InputError(
                    ErrorCode.UNKNOWN_REFERENCE, f"product {p.product_id} does not exist", ["input", "products", str(i)]
                )
            price, _ = parse_money(p.price, currency, f"products.{i}.price")
            items.append(
                {
                    "product_id": prod["id"],
                    "sku": prod["sku"],
                    "name": prod["name"],
                    "unit": prod.get("unit"),
                    "price_minor": price,
                }
            )
        body["products"] = items
    return body


def _validity(body: dict) -> dict:
    E.check_validity(body.get("valid_from"), body.get("valid_to"))
    return {**body, "from_key": body.get("valid_from") or "0000-00-00", "to_key": body.get("valid_to") or "9999-99-99"}


# ---- estimates --------------------------------------------------------------------------------
async def build_lines(c, pl: dict, inputs: list[EstimateLineInput]) -> list[dict]:
    """Lines priced from the price list `pl`: rates and list prices are copied onto each line."""
    product_ids = [str(x.product_id) for x in inputs if x.product_id]
    products = await c.store.get_many("products", product_ids) if product_ids else {}
    lines = []
    for i, x in enumerate(inputs):
        at = ["input", "lines", str(i)]
        stage = clean_text(x.stage, "stage", required=True, max_len=64).lower()
        desc = clean_text(x.description, "description", max_len=300) or None
        if x.kind.value == E.LineKind.WORK.value:
            discipline = (clean_text(x.discipline, "discipline", required=True, max_len=64) or "").lower()
            if x.hours is None:
                raise InputError(ErrorCode.INVALID, "a work line needs hours", [*at, "hours"])
            rate = E.find_rate(pl, discipline)
            if rate is None:
                raise InputError(
                    ErrorCode.UNKNOWN_REFERENCE, f"the price list has no rate for {discipline}", [*at, "discipline"]
                )
            lines.append(E.work_line(stage, discipline, E.hours(x.hours, [*at, "hours"]), rate, desc))
        else:
            if not x.product_id:
                raise InputError(ErrorCode.INVALID, "a catalogue line needs a product", [*at, "productId"])
            prod = products.get(str(x.product_id))
            price = E.find_price(pl, str(x.product_id))
            if prod is None or price is None:
                raise InputError(
                    ErrorCode.UNKNOWN_REFERENCE, f"product {x.product_id} is not in the price list", [*at, "productId"]
                )
            qty = E.quantity(x.quantity if x.quantity is not None else 1, [*at, "quantity"])
            disc = E.percent(x.discount_percent or 0, [*at, "discountPercent"])
            lines.append(E.item_line(stage, prod, qty, price["price_minor"], disc, desc))
    return lines


def _priced(est: dict) -> dict:
    disc = decimal.Decimal(est.get("discount_pct") or "0")
    return {**est, "totals": E.totals(est["lines"], disc, est.get("taxes") or [])}


def estimate_event(kind: str, est: dict, deal: dict | None = None) -> Envelope:
    d = deal or {}
    data = {
        "deal_id": est["deal_id"],
        "estimate_id": est["id"],
        "version": est["revision"],
        "company_id": est["company_id"],
        "contact_id": est.get("contact_id"),
        "partner_id": est.get("partner_id"),
        "title": est.get("title") or d.get("title"),
        "amount_minor": est["totals"]["total_minor"],
        "currency": est["currency"],
        "owner": est.get("owner"),
    }
    return Envelope(f"deals.estimate.{kind}", est["id"], data)


async def apply_acceptance(store, est: dict) -> None:
    """What accepting `est` does to the rest (idempotent; also run by the consumer of
    `deals.estimate.accepted`, so a crash between the writes is repaired): the deal's amount and
    project baseline, and the other draft or sent versions superseded."""
    pipeline_cache: dict = {}

    async def fn(deal: dict):
        if deal.get("accepted_estimate_id") == est["id"]:
            return None
        pid = deal["pipeline_id"]
        if pid not in pipeline_cache:
            pipeline_cache[pid] = await store.get("pipelines", pid)
        new = {
            **deal,
            "amount_minor": est["totals"]["total_minor"],
            "currency": est["currency"],
            "accepted_estimate_id": est["id"],
            "baseline": {"estimate_id": est["id"], "revision": est["revision"], "cells": E.baseline(est["lines"])},
        }
        return F.derive(new, pipeline_cache[pid])

    def evs(old, new):
        stage = domain.find_stage(pipeline_cache.get(new["pipeline_id"]), new["stage_id"]) or {
            "name": None,
            "probability": None,
        }
        return [Envelope(events.DEAL_UPDATED, new["id"], events.deal_snapshot(new, stage))]

    await store.mutate("deals", est["deal_id"], fn, events=evs)
    for other in await store.find_all("estimates", {"deal_id": est["deal_id"]}):
        if other["id"] != est["id"] and other["status"] in (E.EstimateStatus.DRAFT.value, E.EstimateStatus.SENT.value):

            def sup(d: dict) -> dict | None:
                if d["status"] not in (E.EstimateStatus.DRAFT.value, E.EstimateStatus.SENT.value):
                    return None
                return {**d, "status": E.EstimateStatus.SUPERSEDED.value, "superseded_by": est["id"]}

            await store.mutate("estimates", other["id"], sup)


async def _next_revision(c, deal_id: str) -> int:
    latest = await c.store.find("estimates", {"deal_id": deal_id}, sort=[("revision", -1)], first=1)
    return (latest.items[0]["revision"] if latest.items else 0) + 1


async def _insert_estimate(c, body: dict) -> dict:
    try:
        return await c.create("estimates", "Estimate", body)
    except DuplicateKeyError:
        raise InputError(
            ErrorCode.CONFLICT, "another version of this estimate was just created; retry", ["input", "dealId"]
        ) from None


# ---- payments ---------------------------------------------------------------------------------
def payment_event(kind: str, m: dict, now: str) -> Envelope:
    data = {
        "deal_id": m["deal_id"],
        "milestone_id": m["id"],
        "company_id": m["company_id"],
        "contact_id": m.get("contact_id"),
        "title": m["title"],
        "amount_minor": m["amount_minor"],
        "currency": m["currency"],
        "due_date": m["due_date"],
        "days_overdue": P.days_overdue(m, now),
    }
    return Envelope(f"deals.payment.{kind}", m["id"], data)


async def record(c, kind: str, milestone_id: str, external_id: str, amount, at) -> AccountingRecordPayload:
    """One accounting record (invoice or payment) keyed by the accounting system's id: a replay
    changes nothing and answers `applied: false`."""
    m = await c.referenced("milestones", milestone_id, "milestone", "milestoneId")
    ext = clean_text(external_id, "externalId", required=True, max_len=128)
    amount_minor, _ = parse_money(amount, m["currency"], "amount")
    when = ts_input(at, "at") or now_iso()
    key = f"{kind}:{ext}"
    try:
        await c.store.insert("accounting_records", {"id": key, "milestone_id": m["id"]})
    except DuplicateKeyError:
        prior = await c.store.get("accounting_records", key)
        if prior and prior["milestone_id"] != m["id"]:
            raise InputError(
                ErrorCode.DUPLICATE, f"{kind} {ext} was recorded for another milestone", ["input", "externalId"]
            ) from None
    applied = False

    def change(d: dict) -> dict | None:
        nonlocal applied
        new = P.apply_record(d, kind, ext, amount_minor, when)
        applied = new is not None
        return new

    def evs(old: dict, new: dict) -> list[Envelope]:
        if kind == "invoice":
            return [payment_event("invoiced", new, when)]
        if new["status"] == P.MilestoneStatus.PAID.value and old["status"] != new["status"]:
            return [payment_event("paid", new, when)]
        return []

    doc = await c.update("milestones", "PaymentMilestone", m["id"], change, expected_version=None, events=evs)
    return AccountingRecordPayload(milestone=PaymentMilestone.from_doc(doc), applied=applied)


def overdue_due(now: str) -> dict:
    return P.overdue_filter(now)


def overdue_fire(doc: dict, now: str) -> tuple[dict | None, list[Envelope]]:
    """The scheduler's action on a milestone found due: overdue, with `deals.payment.overdue` and a
    notification to the deal's owner (one per milestone: the subject is deterministic)."""
    if not P.is_overdue_now(doc, now):
        return None, []
    new = {**doc, "status": P.MilestoneStatus.OVERDUE.value, "overdue_at": now}
    ev = payment_event("overdue", new, now)
    note = Envelope(
        events.NOTIFICATION_REQUESTED,
        f"payment-overdue-{doc['id']}",
        {
            "recipients": [doc["owner"]] if doc.get("owner") else [],
            "title": f"Payment overdue: {doc['title']}",
            "body": f"{ev.data['amount_minor']} {doc['currency']} (minor units) was due on {doc['due_date']}",
            "ref_type": "Deal",
            "ref_id": doc["deal_id"],
            "company_id": doc["company_id"],
            "kind": "payment_overdue",
        },
    )
    return {"status": new["status"], "overdue_at": now}, [ev, note]


# ---- forecast snapshots -----------------------------------------------------------------------
async def take_snapshot(
    store, currency: str, now: str, flt_deals: dict | None = None, flt_ms: dict | None = None
) -> dict:
    booking_rows = await store.group(
        "deals",
        ["close_month", "forecast_category"],
        sums=["amount_minor", "weighted_minor"],
        flt=all_of({"status": "open"}, {"currency": currency}, flt_deals),
    )
    cash_rows = await store.group(
        "milestones",
        ["due_month", "deal_status"],
        sums=["open_minor", "weighted_open_minor"],
        flt=all_of({"currency": currency}, {"unpaid": True}, flt_ms),
    )
    body = F.snapshot_body(currency, now, booking_rows, cash_rows)
    return await store.mutate("forecast_snapshots", body["id"], lambda d: {**body}, create=True)


async def on_snapshot_requested(store, e: Envelope, default_currency: str) -> None:
    rows = await store.group("deals", ["currency"], flt={"status": "open"})
    currencies = sorted({r["key"]["currency"] for r in rows if r["key"].get("currency")}) or [default_currency]
    for cur in currencies:
        await take_snapshot(store, cur, e.data.get("at") or e.occurred_at)


def snapshot_fire(doc: dict, now: str, every_days: int) -> tuple[dict | None, list[Envelope]]:
    if (doc.get("next_at") or "") > now:
        return None, []
    nxt = (dt.datetime.fromisoformat(now) + dt.timedelta(days=every_days)).astimezone(dt.UTC)
    from services.common.ids import iso

    ev = Envelope(events.SNAPSHOT_REQUESTED, f"weekly-{now[:10]}", {"at": now})
    return {"next_at": iso(nxt)}, [ev]


# ---- GraphQL ------------------------------------------------------------------------------------
@strawberry.type
class SalesQuery:
    @strawberry.field(
        description="Price lists. Partners read only the active list of their tier (setPartnerTier).",
        extensions=allow(STAFF | {PARTNER}, scoped={PARTNER}),
    )
    async def price_lists(
        self, info: Info, first: int | None = None, after: str | None = None, active_only: bool = False
    ) -> Connection[PriceList] | None:
        c = info.context
        today = now_iso()[:10]
        active = all_of({"active": True}, {"from_key": {"$lte": today}}, {"to_key": {"$gte": today}})
        if c.principal.role == PARTNER:
            tier = (
                (await c.store.get("partner_tiers", c.principal.company) or {}).get("tier")
                if c.principal.company
                else None
            )
            flt = all_of(active, {"tier_key": tier or ""})
            return await paginate(c.store, "price_lists", flt, [("name", 1)], first, after, PriceList.from_doc)
        return await c.page(
            "price_lists", active if active_only else {}, [("name", 1)], first, after, PriceList.from_doc
        )

    @strawberry.field(extensions=allow(ESTIMATE_READERS, scoped={SALES, PARTNER, CUSTOMER}))
    async def estimate(self, info: Info, id: strawberry.ID) -> Estimate | None:
        return await info.context.one("estimates", id, Estimate.from_doc)

    @strawberry.field(
        description="Estimates, newest first. Customers see those sent to their company; "
        "partners those of deals they registered.",
        extensions=allow(ESTIMATE_READERS, scoped={SALES, PARTNER, CUSTOMER}),
    )
    async def estimates(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        deal_id: strawberry.ID | None = None,
        status: EstimateStatus | None = None,
    ) -> Connection[Estimate] | None:
        flt = all_of({"deal_id": str(deal_id)} if deal_id else None, {"status": status.value} if status else None)
        return await info.context.page("estimates", flt, [("created_at", -1)], first, after, Estimate.from_doc)

    @strawberry.field(
        description="Line-level and total differences from estimate a to estimate b.",
        extensions=allow(ESTIMATE_READERS, scoped={SALES, PARTNER, CUSTOMER}),
    )
    async def compare_estimates(self, info: Info, a: strawberry.ID, b: strawberry.ID) -> EstimateComparison | None:
        c = info.context
        ea, eb = await c.get("estimates", str(a)), await c.get("estimates", str(b))
        if ea is None or eb is None:
            return None
        if ea["currency"] != eb["currency"]:
            raise PublicError("the estimates are in different currencies")
        return comparison(ea, eb)

    @strawberry.field(
        description="Payment milestones. Customers see their company's payments due.",
        extensions=allow(PAYMENT_READERS, scoped={SALES, CUSTOMER}),
    )
    async def payment_milestones(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        deal_id: strawberry.ID | None = None,
        company_id: strawberry.ID | None = None,
        status: MilestoneStatus | None = None,
    ) -> Connection[PaymentMilestone] | None:
        flt = all_of(
            {"deal_id": str(deal_id)} if deal_id else None,
            {"company_id": str(company_id)} if company_id else None,
            {"status": status.value} if status else None,
        )
        return await info.context.page("milestones", flt, [("due_date", 1)], first, after, PaymentMilestone.from_doc)

    @strawberry.field(
        description="Open deals by expected close month or quarter: amount, weighted (effective "
        "probability), categories.",
        extensions=allow(ADMIN_SALES, scoped={SALES}),
    )
    async def forecast_by_period(
        self, info: Info, currency: str, period: Period = Period.MONTH, pipeline_id: strawberry.ID | None = None
    ) -> list[ForecastBucket] | None:
        c = info.context
        cur = _cur(c, currency)
        flt = all_of({"status": "open"}, {"currency": cur}, {"pipeline_id": str(pipeline_id)} if pipeline_id else None)
        rows = await c.store.group(
            "deals",
            ["close_month", "forecast_category"],
            sums=["amount_minor", "weighted_minor"],
            flt=c.scoped("deals", flt),
        )
        return [ForecastBucket.of(b, cur) for b in F.forecast_by_period(rows, F.Period(period.value))]

    @strawberry.field(
        description="When the money is expected: unpaid milestones of won deals plus those of "
        "open deals × probability.",
        extensions=allow(ADMIN_SALES, scoped={SALES}),
    )
    async def cash_curve(self, info: Info, currency: str, period: Period = Period.MONTH) -> list[CashBucket] | None:
        c = info.context
        cur = _cur(c, currency)
        flt = all_of({"currency": cur}, {"unpaid": True})
        rows = await c.store.group(
            "milestones",
            ["due_month", "deal_status"],
            sums=["open_minor", "weighted_open_minor"],
            flt=c.scoped("milestones", flt),
        )
        return [CashBucket.of(b, cur) for b in F.cash_curve(rows, F.Period(period.value))]

    @strawberry.field(
        description="Each open stage's configured probability beside its historical win rate from closed deals.",
        extensions=allow(ADMIN_SALES, scoped={SALES}),
    )
    async def stage_win_rates(self, info: Info, pipeline_id: strawberry.ID | None = None) -> list[StageWinRate] | None:
        c = info.context
        pipeline = await _pipeline(c, pipeline_id)
        flt = all_of({"pipeline_id": pipeline["id"]}, {"status": {"$in": ["won", "lost"]}})
        rows = await c.store.group("deals", ["reached_position", "status"], flt=c.scoped("deals", flt))
        return [
            StageWinRate(
                stage_id=r["stage"]["id"],
                stage_name=r["stage"]["name"],
                configured_probability=r["stage"]["probability"],
                closed_deals=r["closed"],
                won_deals=r["won"],
                win_rate=r["win_rate"],
            )
            for r in F.win_rates(pipeline["stages"], rows)
        ]

    @strawberry.field(extensions=allow(ADMIN_SALES))
    async def forecast_snapshots(
        self, info: Info, currency: str, first: int | None = None, after: str | None = None
    ) -> Connection[ForecastSnapshot] | None:
        c = info.context
        cur = _cur(c, currency)
        return await c.page(
            "forecast_snapshots", {"currency": cur}, [("taken_at", -1)], first, after, ForecastSnapshot.from_doc
        )

    @strawberry.field(
        description="MAPE of the snapshots taken 4, 8 and 12 weeks before each month of `period` "
        '("2026-05" or "2026-Q2") against what was won and paid.',
        extensions=allow(ADMIN_SALES),
    )
    async def forecast_accuracy(self, info: Info, period: str, currency: str) -> ForecastAccuracy | None:
        c = info.context
        cur = _cur(c, currency)
        try:
            months = F.months_of(period)
        except InputError as exc:
            raise PublicError(exc.message) from None
        first = F.month_start(months[0]) - dt.timedelta(weeks=max(F.HORIZONS), days=7)
        last = F.month_start(months[-1])
        snaps = await c.store.find_all(
            "forecast_snapshots",
            all_of(
                {"currency": cur}, {"taken_on": {"$gte": first.isoformat()}}, {"taken_on": {"$lte": last.isoformat()}}
            ),
        )
        won_rows = await c.store.group(
            "deals",
            ["won_month"],
            sums=["amount_minor"],
            flt={"status": "won", "currency": cur, "won_month": {"$in": months}},
        )
        paid_rows = await c.store.group(
            "milestones",
            ["paid_month"],
            sums=["paid_minor"],
            flt={"status": "paid", "currency": cur, "paid_month": {"$in": months}},
        )
        won = {r["key"]["won_month"]: int(r["sum"]["amount_minor"]) for r in won_rows}
        paid = {r["key"]["paid_month"]: int(r["sum"]["paid_minor"]) for r in paid_rows}
        rows = F.accuracy(months, snaps, won, paid)
        return ForecastAccuracy(
            period=period,
            currency=cur,
            horizons=[
                HorizonAccuracy(
                    weeks=r["weeks"], samples=r["samples"], bookings_mape=r["bookings_mape"], cash_mape=r["cash_mape"]
                )
                for r in rows
            ],
        )

    @strawberry.field(description="The managed list of reasons a deal is lost.", extensions=allow(STAFF | {PARTNER}))
    async def lost_reasons(self, info: Info, active_only: bool = True) -> list[LostReason] | None:
        c = info.context
        docs = await c.store.find_all(
            "lost_reasons", c.scoped("lost_reasons", {"active": True} if active_only else None), sort=[("name", 1)]
        )
        return [LostReason.from_doc(d) for d in docs]

    @strawberry.field(
        description="Closed deals by lost reason, by last stage reached and by cycle length.",
        extensions=allow(ADMIN_SALES, scoped={SALES}),
    )
    async def win_loss_analysis(
        self, info: Info, currency: str, pipeline_id: strawberry.ID | None = None
    ) -> WinLossAnalysis | None:
        c = info.context
        cur = _cur(c, currency)
        pipeline = await _pipeline(c, pipeline_id)
        flt = all_of({"pipeline_id": pipeline["id"]}, {"currency": cur}, {"status": {"$in": ["won", "lost"]}})
        deals = await c.store.find_all("deals", c.scoped("deals", flt))
        return WinLossAnalysis.of(F.win_loss(deals, pipeline["stages"]), cur)


@strawberry.type
class SalesMutation:
    # ---- price lists ----
    @strawberry.mutation(description="A price list with its rate card.", extensions=allow(ADMIN_SALES))
    @payload_errors(PriceListPayload)
    async def create_price_list(self, info: Info, input: CreatePriceListInput) -> PriceListPayload | None:
        c = info.context
        cur = parse_currency(input.currency)
        tier = clean_text(input.partner_tier, "partnerTier", max_len=32) or None
        body = {
            "id": new_id(),
            "name": clean_text(input.name, "name", required=True),
            "currency": cur,
            "valid_from": date_input(input.valid_from, "validFrom"),
            "valid_to": date_input(input.valid_to, "validTo"),
            "partner_tier": tier,
            "tier_key": tier or "",
            "active": True,
            **await _price_list_body(c, input, cur),
        }
        doc = await c.create("price_lists", "PriceList", _validity(body))
        return PriceListPayload(price_list=PriceList.from_doc(doc))

    @strawberry.mutation(
        description="Change a price list. Estimates already sent keep the prices they were sent with.",
        extensions=allow(ADMIN_SALES),
    )
    @payload_errors(PriceListPayload)
    async def update_price_list(self, info: Info, input: UpdatePriceListInput) -> PriceListPayload | None:
        c = info.context
        current = await c.referenced("price_lists", input.id, "price list", "id", code=ErrorCode.NOT_FOUND)
        changes = await _price_list_body(c, input, current["currency"])
        if input.name is not None:
            changes["name"] = clean_text(input.name, "name", required=True)
        if input.valid_from is not None:
            changes["valid_from"] = date_input(input.valid_from, "validFrom")
        if input.valid_to is not None:
            changes["valid_to"] = date_input(input.valid_to, "validTo")
        if input.active is not None:
            changes["active"] = input.active
        doc = await c.update(
            "price_lists",
            "PriceList",
            input.id,
            lambda d: _validity({**d, **changes}),
            expected_version=input.expected_version,
        )
        return PriceListPayload(price_list=PriceList.from_doc(doc))

    @strawberry.mutation(
        description="The partner tier of a partner company (which price list its users read).", extensions=allow(ADMIN)
    )
    @payload_errors(PartnerTierPayload)
    async def set_partner_tier(self, info: Info, input: SetPartnerTierInput) -> PartnerTierPayload | None:
        c = info.context
        company = await c.referenced("ref_companies", input.company_id, "company", "companyId")
        tier = clean_text(input.tier, "tier", max_len=32) or None
        audit = c.audit("updated", "PartnerTier", company["id"], {"tier": tier})
        await c.store.mutate(
            "partner_tiers", company["id"], lambda d: {**(d or {}), "tier": tier}, create=True, events=[audit]
        )
        return PartnerTierPayload(partner_tier=PartnerTier(company_id=company["id"], tier=tier))

    # ---- estimates ----
    @strawberry.mutation(
        description="A draft estimate (version n+1 of the deal's estimates), priced from a price list.",
        extensions=allow(ADMIN_SALES, scoped={SALES}),
    )
    @payload_errors(EstimatePayload)
    async def create_estimate(self, info: Info, input: CreateEstimateInput) -> EstimatePayload | None:
        c = info.context
        deal = await c.referenced("deals", input.deal_id, "deal", "dealId")
        if deal["status"] != domain.DealStatus.OPEN.value:
            raise InputError(ErrorCode.INVALID, f"the deal is {deal['status']}", ["input", "dealId"])
        pl = await c.referenced("price_lists", input.price_list_id, "price list", "priceListId")
        if not E.price_list_active(pl, now_iso()[:10]):
            raise InputError(ErrorCode.INVALID, "the price list is not active today", ["input", "priceListId"])
        if deal.get("currency") and deal["currency"] != pl["currency"]:
            raise InputError(
                ErrorCode.INVALID,
                f"the deal is in {deal['currency']}, the price list in {pl['currency']}",
                ["input", "priceListId"],
            )
        body = {
            "id": new_id(),
            "deal_id": deal["id"],
            "company_id": deal["company_id"],
            "contact_id": deal.get("contact_id"),
            "partner_id": deal.get("partner_id"),
            "owner": deal.get("owner"),
            "revision": await _next_revision(c, deal["id"]),
            "status": E.EstimateStatus.DRAFT.value,
            "title": clean_text(input.title, "title") or deal["title"],
            "currency": pl["currency"],
            "price_list_id": pl["id"],
            "valid_until": date_input(input.valid_until, "validUntil"),
            "discount_pct": str(E.percent(input.discount_percent or 0, ["input", "discountPercent"])),
            "taxes": E.tax_rates({"name": t.name, "percent": t.percent} for t in input.tax_rates),
            "lines": await build_lines(c, pl, input.lines),
        }
        doc = await _insert_estimate(c, _priced(body))
        return EstimatePayload(estimate=Estimate.from_doc(doc))

    @strawberry.mutation(
        description="Change a draft (lines are priced again from its price list). Sent estimates are immutable.",
        extensions=allow(ADMIN_SALES, scoped={SALES}),
    )
    @payload_errors(EstimatePayload)
    async def update_estimate(self, info: Info, input: UpdateEstimateInput) -> EstimatePayload | None:
        c = info.context
        current = await c.referenced("estimates", input.id, "estimate", "id", code=ErrorCode.NOT_FOUND)
        E.require_status(current, E.EstimateStatus.DRAFT, action="changed")
        changes: dict[str, Any] = {}
        if input.lines is not None:
            pl = await c.referenced("price_lists", current["price_list_id"], "price list", "id")
            changes["lines"] = await build_lines(c, pl, input.lines)
        if input.title is not None:
            changes["title"] = clean_text(input.title, "title", required=True)
        if input.valid_until is not None:
            changes["valid_until"] = date_input(input.valid_until, "validUntil")
        if input.discount_percent is not None:
            changes["discount_pct"] = str(E.percent(input.discount_percent, ["input", "discountPercent"]))
        if input.tax_rates is not None:
            changes["taxes"] = E.tax_rates({"name": t.name, "percent": t.percent} for t in input.tax_rates)

        def change(d: dict) -> dict:
            E.require_status(d, E.EstimateStatus.DRAFT, action="changed")
            return _priced({**d, **changes})

        doc = await c.update("estimates", "Estimate", input.id, change, expected_version=input.expected_version)
        return EstimatePayload(estimate=Estimate.from_doc(doc))

    @strawberry.mutation(
        description="Send a draft to the client: immutable from now on. Refused with OFFER_BLOCKED for a client in "
        "CRITICAL health unless an admin or a configured sales manager gives an override reason "
        "(audited, on the timeline).",
        extensions=allow(ADMIN_SALES, scoped={SALES}),
    )
    @payload_errors(EstimatePayload)
    async def send_estimate(self, info: Info, input: EstimateActionInput) -> EstimatePayload | None:
        c = info.context
        current = await c.referenced("estimates", input.id, "estimate", "id", code=ErrorCode.NOT_FOUND)
        E.require_status(current, E.EstimateStatus.DRAFT, action="sent")
        if not current["lines"]:
            raise InputError(ErrorCode.INVALID, "an estimate without lines cannot be sent", ["input", "id"])
        overridden, reasons, _ = await offer_guard(c, current["company_id"], input.override_reason)
        now = now_iso()

        def change(d: dict) -> dict:
            E.require_status(d, E.EstimateStatus.DRAFT, action="sent")
            return {
                **d,
                "status": E.EstimateStatus.SENT.value,
                "sent_at": now,
                "override_reason": input.override_reason if overridden else None,
            }

        def evs(old: dict, new: dict) -> list[Envelope]:
            out = [estimate_event("sent", new)]
            if overridden:
                out += override_events(
                    c, entity="Estimate", entity_id=new["id"], doc=new, reason=input.override_reason, reasons=reasons
                )
            return out

        doc = await c.update(
            "estimates", "Estimate", input.id, change, expected_version=input.expected_version, events=evs
        )
        return EstimatePayload(estimate=Estimate.from_doc(doc))

    @strawberry.mutation(
        description="A new draft copying the deal's latest estimate version.",
        extensions=allow(ADMIN_SALES, scoped={SALES}),
    )
    @payload_errors(EstimatePayload)
    async def revise_estimate(self, info: Info, input: EstimateActionInput) -> EstimatePayload | None:
        c = info.context
        current = await c.referenced("estimates", input.id, "estimate", "id", code=ErrorCode.NOT_FOUND)
        latest = (
            await c.store.find("estimates", {"deal_id": current["deal_id"]}, sort=[("revision", -1)], first=1)
        ).items[0]
        if latest["version"] != input.expected_version and latest["id"] == current["id"]:
            raise InputError(
                ErrorCode.CONFLICT,
                "the estimate changed since you read it; reload and retry",
                ["input", "expectedVersion"],
            )
        if latest["status"] == E.EstimateStatus.ACCEPTED.value:
            raise InputError(ErrorCode.INVALID, "the latest version is accepted already", ["input", "id"])
        keep = (
            "deal_id",
            "company_id",
            "contact_id",
            "partner_id",
            "owner",
            "title",
            "currency",
            "price_list_id",
            "valid_until",
            "discount_pct",
            "taxes",
            "lines",
        )
        body = {k: latest.get(k) for k in keep}
        body.update(
            id=new_id(), revision=latest["revision"] + 1, status=E.EstimateStatus.DRAFT.value, revised_from=latest["id"]
        )
        doc = await _insert_estimate(c, _priced(body))
        return EstimatePayload(estimate=Estimate.from_doc(doc))

    @strawberry.mutation(
        description="The client accepted this sent version: sets the deal's amount, stores the "
        "project baseline, supersedes the other versions.",
        extensions=allow(ADMIN_SALES, scoped={SALES}),
    )
    @payload_errors(EstimatePayload)
    async def accept_estimate(self, info: Info, input: EstimateActionInput) -> EstimatePayload | None:
        c = info.context
        now = now_iso()

        def change(d: dict) -> dict:
            E.require_status(d, E.EstimateStatus.SENT, action="accepted")
            if E.effective_status(d, now[:10]) == E.EstimateStatus.EXPIRED.value:
                raise InputError(ErrorCode.INVALID, "the estimate expired; revise it and send again", ["input", "id"])
            return {**d, "status": E.EstimateStatus.ACCEPTED.value, "accepted_at": now}

        doc = await c.update(
            "estimates",
            "Estimate",
            input.id,
            change,
            expected_version=input.expected_version,
            events=lambda o, n: [estimate_event("accepted", n)],
        )
        await apply_acceptance(c.store, doc)
        return EstimatePayload(estimate=Estimate.from_doc(doc))

    @strawberry.mutation(
        description="The client rejected this sent version.", extensions=allow(ADMIN_SALES, scoped={SALES})
    )
    @payload_errors(EstimatePayload)
    async def reject_estimate(self, info: Info, input: EstimateActionInput) -> EstimatePayload | None:
        c = info.context
        now = now_iso()

        def change(d: dict) -> dict:
            E.require_status(d, E.EstimateStatus.SENT, action="rejected")
            return {**d, "status": E.EstimateStatus.REJECTED.value, "rejected_at": now}

        doc = await c.update(
            "estimates",
            "Estimate",
            input.id,
            change,
            expected_version=input.expected_version,
            events=lambda o, n: [estimate_event("rejected", n)],
        )
        return EstimatePayload(estimate=Estimate.from_doc(doc))

    # ---- payment schedule ----
    @strawberry.mutation(
        description="A payment milestone of a deal: an amount, or a percent of the accepted estimate.",
        extensions=allow(ADMIN_SALES, scoped={SALES}),
    )
    @payload_errors(MilestonePayload)
    async def add_payment_milestone(self, info: Info, input: AddMilestoneInput) -> MilestonePayload | None:
        c = info.context
        deal = await c.referenced("deals", input.deal_id, "deal", "dealId")
        if not deal.get("currency"):
            raise InputError(
                ErrorCode.INVALID,
                "the deal has no currency yet (give it an amount or accept an estimate)",
                ["input", "dealId"],
            )
        amount_minor, _ = parse_money(input.amount, deal["currency"], "amount")
        pct = E.percent(input.percent, ["input", "percent"]) if input.percent is not None else None
        accepted = deal["amount_minor"] if deal.get("accepted_estimate_id") else None
        due = date_input(input.due_date, "dueDate")
        body = {
            "id": new_id(),
            "deal_id": deal["id"],
            "company_id": deal["company_id"],
            "contact_id": deal.get("contact_id"),
            "owner": deal.get("owner"),
            "title": clean_text(input.title, "title", required=True),
            "amount_minor": P.milestone_amount(amount_minor, pct, accepted),
            "percent": str(pct) if pct is not None else None,
            "currency": deal["currency"],
            "due_date": due,
            "due_month": due[:7],
            "status": P.MilestoneStatus.PLANNED.value,
            "paid_minor": 0,
            "external_ids": [],
            "weight": deal.get("probability", 0),
            "deal_status": deal["status"],
            "deal_version": deal["version"],
        }
        doc = await c.create("milestones", "PaymentMilestone", P.with_open(body))
        return MilestonePayload(milestone=PaymentMilestone.from_doc(doc))

    @strawberry.mutation(
        description="Accounting: an invoice issued for a milestone, keyed by the accounting system's id (idempotent).",
        extensions=allow(ADMIN_SALES, scoped={SALES}),
    )
    @payload_errors(AccountingRecordPayload)
    async def record_invoice(self, info: Info, input: AccountingRecordInput) -> AccountingRecordPayload | None:
        return await record(info.context, "invoice", str(input.milestone_id), input.external_id, None, input.at)

    @strawberry.mutation(
        description="Accounting: a payment received for a milestone, keyed by the accounting system's id (idempotent).",
        extensions=allow(ADMIN_SALES, scoped={SALES}),
    )
    @payload_errors(AccountingRecordPayload)
    async def record_payment(self, info: Info, input: AccountingRecordInput) -> AccountingRecordPayload | None:
        return await record(info.context, "payment", str(input.milestone_id), input.external_id, input.amount, input.at)

    @strawberry.mutation(
        description="Accounting: a batch of invoices and payments (at most 500). Each record is idempotent by its "
        "external id, so a replayed batch changes nothing; each record's errors are its own.",
        extensions=allow(ADMIN_SALES, scoped={SALES}),
    )
    @payload_errors(AccountingBatchPayload)
    async def record_accounting_batch(self, info: Info, input: AccountingBatchInput) -> AccountingBatchPayload | None:
        if not 0 < len(input.records) <= 500:
            raise InputError(ErrorCode.INVALID, "a batch holds 1 to 500 records", ["input", "records"])
        out = AccountingBatchPayload()
        for item in input.records:
            try:
                res = await record(
                    info.context, item.kind.value, str(item.milestone_id), item.external_id, item.amount, item.at
                )
            except Exception as exc:
                res = AccountingRecordPayload(errors=user_errors(exc))
            out.results.append(res)
            if res.applied:
                out.applied += 1
            elif not res.errors:
                out.duplicates += 1
        return out

    # ---- forecast ----
    @strawberry.mutation(
        description="Take a forecast snapshot now (also taken on a schedule).", extensions=allow(ADMIN_SALES)
    )
    @payload_errors(ForecastSnapshotPayload)
    async def take_forecast_snapshot(self, info: Info, currency: str) -> ForecastSnapshotPayload | None:
        c = info.context
        doc = await take_snapshot(c.store, parse_currency(currency), now_iso())
        return ForecastSnapshotPayload(snapshot=ForecastSnapshot.from_doc(doc))

    # ---- lost reasons ----
    @strawberry.mutation(description="Add a reason to the managed list of lost reasons.", extensions=allow(ADMIN))
    @payload_errors(LostReasonPayload)
    async def create_lost_reason(self, info: Info, input: CreateLostReasonInput) -> LostReasonPayload | None:
        c = info.context
        name = clean_text(input.name, "name", required=True, max_len=100)
        try:
            doc = await c.create(
                "lost_reasons",
                "LostReason",
                {"id": new_id(), "name": name, "name_key": name.casefold(), "active": True},
            )
        except DuplicateKeyError:
            raise InputError(ErrorCode.DUPLICATE, f"lost reason {name} exists already", ["input", "name"]) from None
        return LostReasonPayload(lost_reason=LostReason.from_doc(doc))

    @strawberry.mutation(description="Rename or retire a lost reason.", extensions=allow(ADMIN))
    @payload_errors(LostReasonPayload)
    async def update_lost_reason(self, info: Info, input: UpdateLostReasonInput) -> LostReasonPayload | None:
        c = info.context
        changes: dict[str, Any] = {}
        if input.name is not None:
            name = clean_text(input.name, "name", required=True, max_len=100)
            changes.update(name=name, name_key=name.casefold())
        if input.active is not None:
            changes["active"] = input.active
        try:
            doc = await c.update(
                "lost_reasons",
                "LostReason",
                input.id,
                lambda d: {**d, **changes},
                expected_version=input.expected_version,
            )
        except DuplicateKeyError:
            raise InputError(
                ErrorCode.DUPLICATE, "a lost reason with this name exists already", ["input", "name"]
            ) from None
        return LostReasonPayload(lost_reason=LostReason.from_doc(doc))

    # ---- pipelines ----
    @strawberry.mutation(description="A new pipeline with its stages.", extensions=allow(ADMIN))
    @payload_errors(PipelinePayload)
    async def create_pipeline(self, info: Info, input: CreatePipelineInput) -> PipelinePayload | None:
        c = info.context
        stages = domain.validate_stages([_stage(s) for s in input.stages])
        pid = clean_text(str(input.id), "id", required=True, max_len=64) if input.id else new_id()
        body = {"id": pid, "name": clean_text(input.name, "name", required=True), "stages": stages}
        try:
            doc = await c.create("pipelines", "Pipeline", body)
        except DuplicateKeyError:
            raise InputError(ErrorCode.DUPLICATE, f"pipeline {pid} exists already", ["input", "id"]) from None
        return PipelinePayload(pipeline=Pipeline.from_doc(doc))

    @strawberry.mutation(
        description="Rename a pipeline or change its stages (order, probability, kind). "
        "A stage with open deals cannot be removed.",
        extensions=allow(ADMIN),
    )
    @payload_errors(PipelinePayload)
    async def update_pipeline(self, info: Info, input: UpdatePipelineInput) -> PipelinePayload | None:
        c = info.context
        current = await c.referenced("pipelines", input.id, "pipeline", "id", code=ErrorCode.NOT_FOUND)
        changes: dict[str, Any] = {}
        if input.name is not None:
            changes["name"] = clean_text(input.name, "name", required=True)
        if input.stages is not None:
            stages = domain.validate_stages([_stage(s) for s in input.stages])
            removed = {s["id"] for s in current["stages"]} - {s["id"] for s in stages}
            if removed:
                n = await c.store.count(
                    "deals", {"pipeline_id": current["id"], "stage_id": {"$in": sorted(removed)}, "status": "open"}
                )
                if n:
                    raise InputError(
                        ErrorCode.INVALID, f"{n} open deals are in the stages removed", ["input", "stages"]
                    )
            changes["stages"] = stages
        doc = await c.update(
            "pipelines", "Pipeline", input.id, lambda d: {**d, **changes}, expected_version=input.expected_version
        )
        return PipelinePayload(pipeline=Pipeline.from_doc(doc))


def _stage(s) -> dict:
    return {"id": str(s.id), "name": s.name, "probability": s.probability, "kind": s.kind}
