"""The forecast management can trust (plain rules, no GraphQL import; unit-tested in
tests/unit/test_deals_planning.py): effective probability with a sticky per-deal override,
forecast by month or quarter from expected close dates, the cash curve from payment schedules,
historical win rates per stage, snapshots and their accuracy (MAPE by horizon).

**The probability rule** (docs/deals.md): a deal's effective probability is
- 100 when won and 0 when lost (a closed deal is a fact, whatever anyone typed);
- else its `probability_override` when one is set — an override is a person's judgement and a
  later stage move never overwrites or clears it; only `setDealForecast(clearProbabilityOverride:
  true)` (or a new override) does, and every stage move of an overridden deal carries both the
  override and the stage's configured probability in its event, so nobody is surprised;
- else the configured probability of its stage.

Every amount derived here is in minor units; a weighted amount is `amount × p // 100` (floored
per deal, then summed exactly)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum
from typing import Any

from services.common.errors import ErrorCode, InputError


class ForecastCategory(Enum):
    PIPELINE = "pipeline"
    BEST_CASE = "best_case"
    COMMIT = "commit"
    OMITTED = "omitted"


class Period(Enum):
    MONTH = "month"
    QUARTER = "quarter"


HORIZONS = (4, 8, 12)  # weeks before the start of a month the forecast is judged at


def effective_probability(deal: Mapping[str, Any], stage: Mapping[str, Any] | None) -> int:
    if deal.get("status") == "won":
        return 100
    if deal.get("status") == "lost":
        return 0
    if deal.get("probability_override") is not None:
        return int(deal["probability_override"])
    return int(stage["probability"]) if stage else 0


def check_probability(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= 100:
        raise InputError(ErrorCode.INVALID, "probability must lie between 0 and 100", ["input", "probabilityOverride"])
    return value


def derive(deal: dict, pipeline: Mapping[str, Any] | None) -> dict:
    """The deal with the fields the forecast groups and sums, recomputed on every write:
    `probability` (effective), `weighted_minor`, `close_month`, `won_month`, and
    `reached_position` (the furthest open stage the deal has been in)."""
    stages = (pipeline or {}).get("stages") or []
    pos = next((i for i, s in enumerate(stages) if s["id"] == deal.get("stage_id")), None)
    stage = stages[pos] if pos is not None else None
    p = effective_probability(deal, stage)
    reached = deal.get("reached_position")
    if stage is not None and stage["kind"] == "open":
        reached = pos if reached is None else max(reached, pos)
    amount = deal.get("amount_minor")
    return {
        **deal,
        "probability": p,
        "weighted_minor": (amount or 0) * p // 100,
        "close_month": (deal.get("expected_close_date") or "")[:7] or None,
        "won_month": (deal.get("won_at") or "")[:7] or None,
        "reached_position": reached,
        # a category someone chose stays; else it follows the probability (default_category)
        "forecast_category": deal.get("forecast_category_chosen") or default_category(p),
    }


def default_category(p: int) -> str:
    """Until someone picks one: commit from 90 %, best case from 50 %, else pipeline."""
    if p >= 90:
        return ForecastCategory.COMMIT.value
    if p >= 50:
        return ForecastCategory.BEST_CASE.value
    return ForecastCategory.PIPELINE.value


def period_of(month: str, period: Period) -> str:
    """ "2026-05" → "2026-05" (month) or "2026-Q2" (quarter)."""
    if period is Period.MONTH:
        return month
    return f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}"


def months_of(label: str) -> list[str]:
    """The months of a period label ("2026-05" or "2026-Q2")."""
    try:
        if "-Q" in label:
            year, q = label.split("-Q")
            first = (int(q) - 1) * 3 + 1
            if not 1 <= int(q) <= 4:
                raise ValueError
            months = [f"{int(year):04d}-{m:02d}" for m in range(first, first + 3)]
        else:
            dt.date.fromisoformat(label + "-01")
            months = [label]
        if not "1900" <= months[0][:4] <= "2999" or len(months[0]) != 7:
            raise ValueError
        return months
    except ValueError:
        raise InputError(
            ErrorCode.INVALID, 'period must be a month ("2026-05") or a quarter ("2026-Q2")', ["period"]
        ) from None


def forecast_by_period(rows: Iterable[Mapping[str, Any]], period: Period) -> list[dict]:
    """Buckets by period from open deals grouped by (close_month, forecast_category) with sums of
    amount_minor and weighted_minor. Omitted deals count nowhere but in `omitted_minor`; deals
    without an expected close date are in the bucket None."""
    out: dict[str | None, dict] = {}
    for r in rows:
        month = r["key"].get("close_month")
        label = period_of(month, period) if month else None
        b = out.setdefault(
            label,
            {
                "period": label,
                "deal_count": 0,
                "amount_minor": 0,
                "weighted_minor": 0,
                "commit_minor": 0,
                "best_case_minor": 0,
                "pipeline_minor": 0,
                "omitted_minor": 0,
            },
        )
        cat = r["key"].get("forecast_category") or "pipeline"
        amount, weighted = int(r["sum"]["amount_minor"]), int(r["sum"]["weighted_minor"])
        if cat == ForecastCategory.OMITTED.value:
            b["omitted_minor"] += amount
            continue
        b["deal_count"] += r["count"]
        b["amount_minor"] += amount
        b["weighted_minor"] += weighted
        b[f"{cat}_minor"] += amount
    # categories are cumulative as salespeople read them: best case includes commit
    for b in out.values():
        b["best_case_minor"] += b["commit_minor"]
    return sorted(out.values(), key=lambda b: (b["period"] is None, b["period"] or ""))


def cash_curve(rows: Iterable[Mapping[str, Any]], period: Period) -> list[dict]:
    """When the money is expected: unpaid milestones grouped by (due_month, deal_status) with sums
    of open_minor and weighted_open_minor. Won deals' milestones count in full (`committed`),
    open deals' weighted by their probability (`weighted_pipeline`); lost deals' not at all."""
    out: dict[str, dict] = {}
    for r in rows:
        month, status = r["key"].get("due_month"), r["key"].get("deal_status")
        if not month or status not in ("open", "won"):
            continue
        label = period_of(month, period)
        b = out.setdefault(
            label, {"period": label, "committed_minor": 0, "weighted_pipeline_minor": 0, "expected_minor": 0}
        )
        if status == "won":
            b["committed_minor"] += int(r["sum"]["open_minor"])
        else:
            b["weighted_pipeline_minor"] += int(r["sum"]["weighted_open_minor"])
        b["expected_minor"] = b["committed_minor"] + b["weighted_pipeline_minor"]
    return sorted(out.values(), key=lambda b: b["period"])


def win_rates(stages: list[Mapping[str, Any]], rows: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Historical win rate of each open stage: of the closed deals that reached it (their furthest
    open stage is at or past it), the share that was won. Rows: closed deals grouped by
    (reached_position, status)."""
    counts: dict[int, dict[str, int]] = {}
    for r in rows:
        pos = r["key"].get("reached_position")
        if pos is None:
            continue
        counts.setdefault(int(pos), {"won": 0, "lost": 0})[r["key"]["status"]] = r["count"]
    out = []
    for i, s in enumerate(stages):
        if s["kind"] != "open":
            continue
        closed = won = 0
        for pos, c in counts.items():
            if pos >= i:
                closed += c.get("won", 0) + c.get("lost", 0)
                won += c.get("won", 0)
        rate = (Decimal(won * 100) / closed).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN) if closed else None
        out.append({"stage": s, "position": i, "closed": closed, "won": won, "win_rate": rate})
    return out


# ---- snapshots and accuracy --------------------------------------------------------------------
def month_start(month: str) -> dt.date:
    return dt.date.fromisoformat(month + "-01")


def pick_snapshot(snapshots: list[Mapping[str, Any]], target: dt.date, tolerance_days: int = 7) -> Mapping | None:
    """The newest snapshot taken on or before `target` and not more than `tolerance_days` before it."""
    best = None
    for s in snapshots:
        taken = dt.date.fromisoformat(s["taken_on"])
        if target - dt.timedelta(days=tolerance_days) <= taken <= target and (
            best is None or s["taken_on"] > best["taken_on"]
        ):
            best = s
    return best


def ape(forecast: int, actual: int) -> Decimal | None:
    """Absolute percentage error; None when nothing actually happened (undefined)."""
    if actual == 0:
        return None
    return Decimal(abs(forecast - actual) * 100) / Decimal(actual)


def accuracy(
    months: list[str],
    snapshots: list[Mapping[str, Any]],
    won: Mapping[str, int],
    paid: Mapping[str, int],
    horizons: Iterable[int] = HORIZONS,
) -> list[dict]:
    """MAPE by horizon: for each month of the period and each horizon h (weeks), the snapshot taken
    h weeks before the month began (`pick_snapshot`) is compared with what was actually won
    (bookings: its weighted forecast of deals closing that month) and paid (cash: its cash curve
    for that month). MAPE = mean of the absolute percentage errors (two decimals, half even);
    months with nothing won/paid or no snapshot are left out and counted in `samples`."""
    out = []
    for h in horizons:
        errs_b, errs_c, used = [], [], 0
        for m in months:
            snap = pick_snapshot(snapshots, month_start(m) - dt.timedelta(weeks=h))
            if snap is None:
                continue
            used += 1
            e = ape(int((snap.get("bookings") or {}).get(m, 0)), int(won.get(m, 0)))
            if e is not None:
                errs_b.append(e)
            e = ape(int((snap.get("cash") or {}).get(m, 0)), int(paid.get(m, 0)))
            if e is not None:
                errs_c.append(e)
        out.append(
            {
                "weeks": h,
                "samples": used,
                "bookings_mape": _mean(errs_b),
                "cash_mape": _mean(errs_c),
            }
        )
    return out


def _mean(errs: list[Decimal]) -> Decimal | None:
    if not errs:
        return None
    return (sum(errs, Decimal(0)) / len(errs)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def snapshot_body(currency: str, taken_at: str, booking_rows, cash_rows) -> dict:
    """A snapshot: weighted bookings per expected close month (omitted deals left out) and the
    expected cash per due month, as they stood at `taken_at`."""
    bookings: dict[str, int] = {}
    for r in booking_rows:
        month, cat = r["key"].get("close_month"), r["key"].get("forecast_category")
        if month and cat != ForecastCategory.OMITTED.value:
            bookings[month] = bookings.get(month, 0) + int(r["sum"]["weighted_minor"])
    cash = {b["period"]: b["expected_minor"] for b in cash_curve(cash_rows, Period.MONTH)}
    return {
        "id": f"{currency}:{taken_at[:10]}",
        "currency": currency,
        "taken_at": taken_at,
        "taken_on": taken_at[:10],
        "bookings": bookings,
        "cash": cash,
    }


# ---- win/loss analysis ----------------------------------------------------------------------
CYCLE_BUCKETS = ((30, "≤ 30 days"), (90, "31–90 days"), (180, "91–180 days"), (None, "> 180 days"))


def cycle_bucket(days: int) -> str:
    for limit, label in CYCLE_BUCKETS:
        if limit is None or days <= limit:
            return label
    return CYCLE_BUCKETS[-1][1]


def win_loss(deals: Iterable[Mapping[str, Any]], stages: list[Mapping[str, Any]]) -> dict:
    """Counts and amounts of closed deals by lost reason, by the last (furthest open) stage reached,
    and by cycle length (created → closed)."""
    names = {i: s["name"] for i, s in enumerate(stages)}
    by_reason: dict[str, dict] = {}
    by_stage: dict[str, dict] = {}
    by_cycle: dict[str, dict] = {}

    def add(table: dict, key: str, d: Mapping[str, Any]) -> None:
        row = table.setdefault(key, {"key": key, "won": 0, "lost": 0, "won_minor": 0, "lost_minor": 0})
        row[d["status"]] += 1
        row[f"{d['status']}_minor"] += int(d.get("amount_minor") or 0)

    for d in deals:
        if d.get("status") not in ("won", "lost"):
            continue
        if d["status"] == "lost":
            add(by_reason, d.get("lost_reason") or "(none)", d)
        pos = d.get("reached_position")
        add(by_stage, names.get(pos, "(unknown)") if pos is not None else "(unknown)", d)
        closed_at = d.get("closed_at") or d.get("won_at") or d.get("updated_at")
        opened_at = d.get("opened_at") or d["created_at"]
        days = max((dt.date.fromisoformat(closed_at[:10]) - dt.date.fromisoformat(opened_at[:10])).days, 0)
        add(by_cycle, cycle_bucket(days), d)
    order = {label: i for i, (_, label) in enumerate(CYCLE_BUCKETS)}
    return {
        "by_reason": sorted(by_reason.values(), key=lambda r: -(r["lost"])),
        "by_stage": list(by_stage.values()),
        "by_cycle": sorted(by_cycle.values(), key=lambda r: order[r["key"]]),
    }
