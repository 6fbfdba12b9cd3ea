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

from services.common.envelope import Envelope
from services.common.errors import DuplicateKeyError
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
