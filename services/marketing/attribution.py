"""Campaign money: which campaigns a won deal's revenue is credited to, and their ROI (plain
rules, no strawberry import; the consumer stores one attribution row per deal and campaign).

Attribution rule (docs/events.md): when `deals.deal.won` arrives, the won amount is credited to
the campaigns the deal's contact responded to at or before the win — or, for a deal without a
contact, to the campaigns any contact of the deal's company responded to. With several such
campaigns the amount is split equally (in minor units; the remainder goes to the earliest
response), so campaign revenues add up to real revenue and nothing is counted twice. Revenue in
a currency other than the campaign's is shown in `revenueByCurrency` but not in `revenue`/`roi`
(no exchange rates yet)."""

from __future__ import annotations

from enum import Enum

from services.common.envelope import Envelope
from services.common.errors import AlreadyApplied, DuplicateKeyError
from services.common.store import Store

RULE = "equal-split"


def split_equally(amount_minor: int, campaign_ids: list[str]) -> list[tuple[str, int]]:
    """`amount_minor` split over the campaigns (earliest response first) so that the shares add
    up to the amount exactly; the remainder goes to the first."""
    if not campaign_ids:
        return []
    share, rest = divmod(int(amount_minor), len(campaign_ids))
    return [(cid, share + (rest if i == 0 else 0)) for i, cid in enumerate(campaign_ids)]


def credited_campaigns(responses: list[dict]) -> list[str]:
    """Distinct campaigns of the responses (sorted by response time), earliest first."""
    return list(dict.fromkeys(r["campaign_id"] for r in responses))


def roi(revenue_minor: int, cost_minor: int) -> float | None:
    """(revenue − cost) / cost; None while the campaign has no cost."""
    if not cost_minor:
        return None
    return round((revenue_minor - cost_minor) / cost_minor, 4)


def responders(deal: dict) -> tuple[str, str] | None:
    """Whose responses earn a won deal's revenue: its contact's, else its company's contacts'."""
    if deal.get("contact_id"):
        return "contact_id", deal["contact_id"]
    if deal.get("company_id"):
        return "company_id", deal["company_id"]
    return None


async def on_deal_won(store: Store, e: Envelope) -> None:
    d = e.data
    amount, currency = d.get("amount_minor"), d.get("currency")
    who = responders(d)
    if not amount or not currency or who is None:
        return
    won_at = d.get("won_at") or e.occurred_at
    key, value = who
    responses = await store.find_all(
        "members",
        {"$and": [{key: value}, {"status": "responded"}, {"responded_at": {"$lte": won_at}}]},
        sort=[("responded_at", 1)],
    )
    for cid, share in split_equally(int(amount), credited_campaigns(responses)):
        try:
            await store.insert(
                "attributions",
                {
                    "id": f"{d['id']}:{cid}",
                    "campaign_id": cid,
                    "deal_id": d["id"],
                    "currency": currency,
                    "amount_minor": share,
                    "won_at": won_at,
                    "rule": RULE,
                },
            )
        except DuplicateKeyError:
            pass  # redelivered event


# ---- attribution models, chosen per report (docs/marketing.md) ------------------------------------
class Model(Enum):
    LINEAR = "linear"  # today's rule (above): equal split, remainder to the earliest — the default
    FIRST_TOUCH = "first_touch"
    LAST_TOUCH = "last_touch"
    U_SHAPED = "u_shaped"  # 40 % first, 40 % last, 20 % shared by the touches between


DEFAULT_MODEL = Model.LINEAR


def touches_before(responses: list[dict], at: str) -> list[dict]:
    """The touches that count for revenue at `at`: one per campaign (its earliest response), at
    or before `at`, oldest first."""
    out: dict[str, dict] = {}
    for r in sorted(responses, key=lambda r: (r.get("responded_at") or "", r.get("contact_id") or "")):
        if r.get("responded_at") and r["responded_at"] <= at and r["campaign_id"] not in out:
            out[r["campaign_id"]] = r
    return list(out.values())


def credit(model: Model, amount_minor: int, touches: list[dict]) -> list[tuple[dict, int]]:
    """`amount_minor` split over the touches (oldest first) by the model; shares add up exactly."""
    n = len(touches)
    if n == 0:
        return []
    amount = int(amount_minor)
    if model is Model.FIRST_TOUCH or n == 1:
        return [(touches[0], amount)]
    if model is Model.LAST_TOUCH:
        return [(touches[-1], amount)]
    if model is Model.LINEAR or n == 2:
        return list(zip(touches, [s for _, s in split_equally(amount, [str(i) for i in range(n)])], strict=True))
    # U-shaped with 3 or more touches
    end = amount * 40 // 100
    middle = amount - 2 * end
    shares = [end] + [s for _, s in split_equally(middle, [str(i) for i in range(n - 2)])] + [end]
    return list(zip(touches, shares, strict=True))


def revenue_record(kind: str, d: dict, at: str) -> dict | None:
    """The revenue a deal brings (one record per deal): its accepted estimate until it is won,
    then the won amount (so the two never add up)."""
    if not d.get("amount_minor") or not d.get("currency"):
        return None
    deal_id = d.get("deal_id") if kind == "estimate" else d.get("id")
    if not deal_id:
        return None
    return {
        "id": f"deal:{deal_id}",
        "deal_id": deal_id,
        "kind": kind,
        "amount_minor": int(d["amount_minor"]),
        "currency": d["currency"],
        "contact_id": d.get("contact_id"),
        "company_id": d.get("company_id"),
        "at": at,
    }


def roi_row(cost_minor: int, revenue_minor: int) -> dict:
    return {
        "cost_minor": cost_minor,
        "revenue_minor": revenue_minor,
        "profit_minor": revenue_minor - cost_minor,
        "roi": roi(revenue_minor, cost_minor),
    }


async def on_revenue(store: Store, e: Envelope) -> None:
    """`deals.deal.won` and `deals.estimate.accepted` → the deal's revenue record."""
    kind = "won" if e.type == "deals.deal.won" else "estimate"
    rec = revenue_record(kind, e.data, e.data.get("won_at") or e.occurred_at)
    if rec is None:
        return

    def fn(cur):
        if cur and cur.get("kind") == "won" and kind == "estimate":
            return None  # a won deal's amount is final
        return {**(cur or {}), **rec}

    try:
        await store.mutate("revenues", rec["id"], fn, create=True, event_id=e.id)
    except AlreadyApplied:
        pass
