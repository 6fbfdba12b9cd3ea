"""The ROI report: revenue (won deals, accepted estimates: `revenues`) credited to campaign touches
(responses) by the chosen attribution model, against campaign costs, per campaign, channel, client
or segment (docs/marketing.md).

Costs: a campaign's spend per period (`spends`, "YYYY-MM") when it has any — filtered by the
report's period — else its recorded total cost. Per client and per segment, a campaign's cost is
shared equally by its members (a client carries the share of its people; a segment that of its
members). Revenue in another currency than the report's is left out and counted apart."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from services.common.store import Store

from . import audience
from .attribution import Model, credit, roi_row, touches_before

RESPONDED = "responded"


async def _responses(store: Store, rev: dict) -> list[dict]:
    if rev.get("contact_id"):
        flt = {"contact_id": rev["contact_id"], "status": RESPONDED}
    elif rev.get("company_id"):
        flt = {"company_id": rev["company_id"], "status": RESPONDED}
    else:
        return []
    return await store.find_all("members", flt)


def _in_period(at: str, start: dt.date | None, end: dt.date | None) -> bool:
    day = at[:10]
    return (start is None or day >= start.isoformat()) and (end is None or day <= end.isoformat())


async def campaign_costs(store: Store, campaigns: dict[str, dict], currency: str, start, end) -> dict[str, int]:
    spends = await store.find_all("spends", {"currency": currency})
    by_campaign: dict[str, int] = defaultdict(int)
    has_spend = set()
    for s in spends:
        has_spend.add(s["campaign_id"])
        first_day = f"{s['period']}-01"
        if (start is None or s["period"] >= start.isoformat()[:7]) and (end is None or first_day <= end.isoformat()):
            by_campaign[s["campaign_id"]] += int(s["amount_minor"])
    for cid, c in campaigns.items():
        if cid not in has_spend and c.get("currency") == currency:
            by_campaign[cid] += int(c.get("cost_minor") or 0)
    return dict(by_campaign)


async def report(
    store: Store,
    *,
    model: Model,
    by: str,
    currency: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    segment_ids: list[str] | None = None,
    now: dt.datetime | None = None,
) -> dict:
    campaigns = {c["id"]: c for c in await store.find_all("campaigns")}
    costs = await campaign_costs(store, campaigns, currency, start, end)
    credits: list[tuple[dict, dict, int]] = []  # (revenue, touch, share)
    other_currency = 0
    unattributed = 0
    for rev in await store.find_all("revenues"):
        if not _in_period(rev["at"], start, end):
            continue
        if rev["currency"] != currency:
            other_currency += 1
            continue
        shares = credit(model, rev["amount_minor"], touches_before(await _responses(store, rev), rev["at"]))
        if not shares:
            unattributed += int(rev["amount_minor"])
        credits += [(rev, t, s) for t, s in shares]

    rows: dict[str, dict] = {}

    def add(key: str, label: str, revenue: int = 0, cost: int = 0) -> None:
        r = rows.setdefault(key, {"key": key, "label": label, "revenue_minor": 0, "cost_minor": 0})
        r["revenue_minor"] += revenue
        r["cost_minor"] += cost

    if by in ("campaign", "channel"):
        pick = (lambda c: c["id"]) if by == "campaign" else (lambda c: c["channel"])
        label = (lambda c: c["name"]) if by == "campaign" else (lambda c: c["channel"])
        for cid, cost in costs.items():
            if cid in campaigns:
                add(pick(campaigns[cid]), label(campaigns[cid]), cost=cost)
        for _rev, t, share in credits:
            c = campaigns.get(t["campaign_id"])
            if c:
                add(pick(c), label(c), revenue=share)
    else:
        # a campaign's cost shared by its members; clients and segments carry their members' shares
        per_member: dict[str, tuple[int, int]] = {}
        member_rows: dict[str, list[dict]] = {}
        for cid, cost in costs.items():
            ms = await store.find_all("members", {"campaign_id": cid})
            member_rows[cid] = ms
            per_member[cid] = (cost, len(ms))
        if by == "client":
            companies = {c["id"]: c for c in await store.find_all("ref_companies")}
            for cid, ms in member_rows.items():
                cost, n = per_member[cid]
                for m in ms:
                    if m.get("company_id") and n:
                        add(
                            m["company_id"],
                            (companies.get(m["company_id"]) or {}).get("name") or m["company_id"],
                            cost=cost // n,
                        )
            for rev, _t, share in credits:
                if rev.get("company_id"):
                    add(
                        rev["company_id"],
                        (companies.get(rev["company_id"]) or {}).get("name") or rev["company_id"],
                        revenue=share,
                    )
        else:  # segment
            segs = await store.find_all("segments", {"id": {"$in": segment_ids}} if segment_ids else None)
            for seg in segs:
                flt = await audience.member_filter(store, seg["definition"], seg["id"], now or dt.datetime.now(dt.UTC))
                members = {d["id"] for d in await store.find_all("ref_contacts", flt)}
                add(seg["id"], seg["name"])
                for cid, ms in member_rows.items():
                    cost, n = per_member[cid]
                    inside = sum(1 for m in ms if m["contact_id"] in members)
                    if n and inside:
                        add(seg["id"], seg["name"], cost=cost * inside // n)
                for _rev, t, share in credits:
                    if t.get("contact_id") in members:
                        add(seg["id"], seg["name"], revenue=share)
    out = [{**r, **roi_row(r["cost_minor"], r["revenue_minor"])} for r in rows.values()]
    out.sort(key=lambda r: (-r["revenue_minor"], r["label"]))
    return {"rows": out, "unattributed_minor": unattributed, "other_currency_revenues": other_currency}
