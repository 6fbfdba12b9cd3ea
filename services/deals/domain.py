"""Deals: pipelines with ordered stages and probabilities, deals moving through them, a weighted
forecast, and account health (a read model of support's tickets) so that a salesperson sees
"2 open critical tickets" before a new offer goes out.

Companies and contacts are owned by the contacts service; deals keeps replicas of the fields it
needs (`ref_companies`, `ref_contacts`) from contacts' events, to validate references without
calling another service.

This module holds the plain rules (no GraphQL import): unit-tested in tests/unit/test_deals_domain.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from services.common import money
from services.common.errors import ErrorCode, InputError
from services.common.money import parse_money
from services.common.values import clean_text


class DealStatus(Enum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


# a stage's kind is the status a deal in it has (`move_to_stage`): one set of values
StageKind = Enum("StageKind", {s.name: s.value for s in DealStatus})


class HealthLevel(Enum):
    OK = "ok"
    ATTENTION = "attention"
    CRITICAL = "critical"


# ---- pipelines and stages ---------------------------------------------------------------------
DEFAULT_PIPELINE = "turnkey-design-project"
DEFAULT_PIPELINE_NAME = "Turnkey design project"
DEFAULT_STAGES = [
    ("qualified", "Lead qualified", 10, "open"),
    ("brief", "Site survey & brief", 20, "open"),
    ("concept", "Concept design", 35, "open"),
    ("estimate", "Cost estimate & proposal", 50, "open"),
    ("negotiation", "Negotiation", 70, "open"),
    ("won", "Contract signed", 100, "won"),
    ("lost", "Lost", 0, "lost"),
]


def default_pipeline() -> dict:
    """The pipeline document seeded at start-up."""
    return {
        "id": DEFAULT_PIPELINE,
        "name": DEFAULT_PIPELINE_NAME,
        "stages": [{"id": i, "name": n, "probability": p, "kind": k} for i, n, p, k in DEFAULT_STAGES],
    }


def validate_stages(stages: list[dict]) -> list[dict]:
    """A pipeline's stages as admins give them: unique ids, names, probability 0..100, kind
    open/won/lost; at least one open stage, one won (probability 100) and one lost (probability 0)."""
    seen, out = set(), []
    for i, s in enumerate(stages):
        at = ["input", "stages", str(i)]
        sid = clean_text(s["id"], "id", required=True, max_len=64)
        if sid in seen:
            raise InputError(ErrorCode.INVALID, f"stage {sid} is listed twice", [*at, "id"])
        seen.add(sid)
        kind = (s["kind"] or "").lower()
        if kind not in {k.value for k in StageKind}:
            raise InputError(ErrorCode.INVALID, "kind must be open, won or lost", [*at, "kind"])
        p = s["probability"]
        if not 0 <= p <= 100:
            raise InputError(ErrorCode.INVALID, "probability must lie between 0 and 100", [*at, "probability"])
        if (kind == "won" and p != 100) or (kind == "lost" and p != 0):
            raise InputError(ErrorCode.INVALID, "a won stage has probability 100, a lost stage 0", [*at, "probability"])
        out.append(
            {
                "id": sid,
                "name": clean_text(s["name"], "name", required=True, max_len=100),
                "probability": p,
                "kind": kind,
            }
        )
    kinds = [s["kind"] for s in out]
    if not ("open" in kinds and "won" in kinds and "lost" in kinds):
        raise InputError(ErrorCode.INVALID, "a pipeline needs an open, a won and a lost stage", ["input", "stages"])
    return out


DEFAULT_LOST_REASONS = ("Price", "Lost to a competitor", "No budget", "Project cancelled", "No decision")


def find_stage(pipeline: dict | None, stage_id: str) -> dict | None:
    """The stage `stage_id` of `pipeline`, or None."""
    if not pipeline:
        return None
    return next((s for s in pipeline["stages"] if s["id"] == stage_id), None)


def starting_stage(pipeline: dict, stage_id: str | None) -> dict:
    """The stage a new deal starts in: the one asked for, else the pipeline's first; an open one."""
    stage = find_stage(pipeline, stage_id) if stage_id else pipeline["stages"][0]
    if stage is None or stage["kind"] != StageKind.OPEN.value:
        raise InputError(ErrorCode.INVALID, "a new deal starts in an open stage of its pipeline", ["input", "stageId"])
    return stage


def target_stage(pipeline: dict | None, stage_id: str) -> dict:
    """The stage a deal is moved to: it must be in the deal's pipeline."""
    stage = find_stage(pipeline, stage_id)
    if stage is None:
        raise InputError(
            ErrorCode.UNKNOWN_REFERENCE, f"stage {stage_id} is not in the deal's pipeline", ["input", "stageId"]
        )
    return stage


def move_to_stage(deal: dict, stage: dict, *, lost_reason: str | None, now: str) -> dict:
    """The deal in `stage`: only an open deal moves, and not to its current stage; a won stage
    records when (`now`), a lost stage records why."""
    if deal["status"] != DealStatus.OPEN.value:
        raise InputError(ErrorCode.INVALID, f"the deal is {deal['status']} already", ["input", "id"])
    if deal["stage_id"] == stage["id"]:
        raise InputError(ErrorCode.INVALID, "the deal is in this stage already", ["input", "stageId"])
    new = {**deal, "stage_id": stage["id"], "status": stage["kind"]}
    if stage["kind"] == StageKind.WON.value:
        new["won_at"] = now
    if stage["kind"] == StageKind.LOST.value:
        new["lost_reason"] = lost_reason
    return new


# ---- amounts and the forecast -----------------------------------------------------------------
def weighted(amount_minor: int, probability: int) -> int:
    """Amount × stage probability (percent), in minor units, rounded down."""
    return amount_minor * probability // 100


def weighted_amount(amount_minor: int | None, stage: dict | None) -> int | None:
    """A deal's weighted amount, None without an amount or a stage."""
    if amount_minor is None or stage is None:
        return None
    return weighted(amount_minor, stage["probability"])


@dataclass(frozen=True)
class ForecastLine:
    stage: dict
    position: int
    deal_count: int
    amount_minor: int
    weighted_minor: int


@dataclass(frozen=True)
class Forecast:
    lines: tuple[ForecastLine, ...]
    total_minor: int
    weighted_minor: int


def forecast(stages: list[dict], rows: Iterable[Mapping[str, Any]]) -> Forecast:
    """Forecast lines in pipeline order from the open deals' sums grouped by stage (rows of
    `store.group(..., ["stage_id"], sums=["amount_minor", "weighted_minor"])`); stages without deals
    are left out. The weighted amount is the sum of the deals' own weighted amounts (effective
    probability, planning.py) when the rows carry it, else amount × the stage's probability."""
    by_stage = {r["key"]["stage_id"]: r for r in rows}
    lines, total, weighted_total = [], 0, 0
    for position, st in enumerate(stages):
        r = by_stage.get(st["id"])
        if not r:
            continue
        amt = int(r["sum"]["amount_minor"])
        w = int(r["sum"]["weighted_minor"]) if "weighted_minor" in r["sum"] else weighted(amt, st["probability"])
        total, weighted_total = total + amt, weighted_total + w
        lines.append(
            ForecastLine(stage=st, position=position, deal_count=r["count"], amount_minor=amt, weighted_minor=w)
        )
    return Forecast(lines=tuple(lines), total_minor=total, weighted_minor=weighted_total)


# ---- account health (read model of support's tickets) -----------------------------------------
CRITICAL = "critical"
HIGH = "high"


@dataclass(frozen=True)
class Health:
    level: HealthLevel
    open_tickets: int
    open_critical_tickets: int
    warnings: tuple[str, ...] = ()
    overdue_payments: int = 0
    overdue_amounts: tuple[tuple[str, int], ...] = ()  # (currency, minor units still owed)
    max_days_overdue: int = 0


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def account_health(doc: dict | None, overdue: Any = None, critical_days: int = 30) -> Health:
    """How worried a salesperson should be: critical with an open critical ticket or a payment
    overdue more than `critical_days` days; attention with an open high-priority ticket, three
    open tickets or any overdue payment; else ok; with human-readable warnings. `overdue` is a
    `payments.Overdue` summary (None: nothing overdue)."""
    tickets = (doc or {}).get("tickets") or {}
    open_ = [t for t in tickets.values() if t["status"] == "open"]
    critical = [t for t in open_ if t["priority"] == CRITICAL]
    high = [t for t in open_ if t["priority"] == HIGH]
    warnings = []
    if critical:
        warnings.append(_count(len(critical), "open critical ticket"))
    if high:
        warnings.append(_count(len(high), "open high-priority ticket"))
    late = overdue is not None and overdue.count > 0
    late_critical = late and overdue.max_days > critical_days
    level = (
        HealthLevel.CRITICAL
        if (critical or late_critical)
        else HealthLevel.ATTENTION
        if (high or len(open_) >= 3 or late)
        else HealthLevel.OK
    )
    if len(open_) >= 3 and not high and not critical:
        warnings.append(f"{len(open_)} open tickets")
    if late:
        owed = ", ".join(money.label(m, c) for c, m in overdue.amounts)
        warnings.append(f"{_count(overdue.count, 'overdue payment')} ({owed}), up to {overdue.max_days} days late")
    return Health(
        level=level,
        open_tickets=len(open_),
        open_critical_tickets=len(critical),
        warnings=tuple(warnings),
        overdue_payments=overdue.count if late else 0,
        overdue_amounts=overdue.amounts if late else (),
        max_days_overdue=overdue.max_days if late else 0,
    )


KEEP_RESOLVED = 100  # resolved tickets a health document remembers (to ignore their late older events)


def apply_ticket(doc: dict | None, ticket_id: str, data: Mapping[str, Any], occurred_at: str) -> dict | None:
    """Fold one `support.ticket.*` event into a company's health document: the ticket's priority
    and whether it is open. None (no change) for an event older than the one already applied.
    The document is bounded: every open ticket, and only the KEEP_RESOLVED most recently resolved
    ones, so an event costs the same for a client with 100,000 past tickets as for one with 10."""
    status = "resolved" if data["status"] in ("resolved", "closed") else "open"
    tickets = dict((doc or {}).get("tickets") or {})
    known = tickets.get(ticket_id)
    if known and known["at"] > occurred_at:
        return None  # an older event arriving late
    tickets[ticket_id] = {"priority": data.get("priority"), "status": status, "at": occurred_at}
    resolved = [t for t, v in tickets.items() if v["status"] == "resolved"]
    if len(resolved) > KEEP_RESOLVED:
        resolved.sort(key=lambda t: tickets[t]["at"])
        for t in resolved[: len(resolved) - KEEP_RESOLVED]:
            del tickets[t]
    return {"tickets": tickets}


# ---- the catalogue ----------------------------------------------------------------------------
def product_fields(inp: Any, *, creating: bool) -> dict:
    """The stored fields of a product from a create or update input (duck-typed on the input's
    attributes; on update, None or absent means "unchanged")."""

    def get(name: str) -> Any:
        return getattr(inp, name, None)

    out: dict = {}
    if creating:
        sku = clean_text(get("sku"), "sku", required=True, max_len=64)
        out["sku"] = sku.upper()
    if creating or get("name") is not None:
        out["name"] = clean_text(get("name"), "name", required=True)
    for f, n in (("description", 5000), ("unit", 32)):
        v = get(f)
        if v is not None:
            out[f] = clean_text(v, f, max_len=n) or None
    if creating or get("list_price") is not None:
        out["price_minor"], out["currency"] = parse_money(get("list_price"), get("currency"), "listPrice")
    if not creating and get("active") is not None:
        out["active"] = get("active")
    return out
