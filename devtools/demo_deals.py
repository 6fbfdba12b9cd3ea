"""Demo data of deals (issue #11), seeded through the gateway after devtools/demo.py's records:
a price list with its rate card (and a partner-tier list for Kestrel), two estimate versions on
the Baltic rolling-mill deal (the second accepted, so the deal has its amount and baseline), its
payment schedule with one overdue milestone (the scheduler marks it), and half a year of closed
deals at a client of their own so that win rates, win/loss analysis and the forecast show
something real, with a forecast snapshot."""

from __future__ import annotations

import datetime as dt

import httpx

from devtools.demo import _call

PRICE_LIST = (
    "mutation($i: CreatePriceListInput!) { createPriceList(input: $i) { priceList { id } errors { code message } } }"
)
TIER = (
    "mutation($i: SetPartnerTierInput!) { setPartnerTier(input: $i) { partnerTier { tier } errors { code message } } }"
)
EST = "estimate { id version revision } errors { code message }"
CREATE_EST = f"mutation($i: CreateEstimateInput!) {{ createEstimate(input: $i) {{ {EST} }} }}"
UPDATE_EST = f"mutation($i: UpdateEstimateInput!) {{ updateEstimate(input: $i) {{ {EST} }} }}"
SEND = f"mutation($i: EstimateActionInput!) {{ sendEstimate(input: $i) {{ {EST} }} }}"
REVISE = f"mutation($i: EstimateActionInput!) {{ reviseEstimate(input: $i) {{ {EST} }} }}"
ACCEPT = f"mutation($i: EstimateActionInput!) {{ acceptEstimate(input: $i) {{ {EST} }} }}"
MILESTONE = (
    "mutation($i: AddMilestoneInput!) { addPaymentMilestone(input: $i) { milestone { id } errors { code message } } }"
)
RECORD = "mutation($i: AccountingBatchInput!) { recordAccountingBatch(input: $i) { applied errors { code message } } }"
COMPANY = "mutation($i: CreateCompanyInput!) { createCompany(input: $i) { company { id } errors { code message } } }"
DEAL = "mutation($i: CreateDealInput!) { createDeal(input: $i) { deal { id version } errors { code message } } }"
MOVE = "mutation($i: MoveDealStageInput!) { moveDealStage(input: $i) { deal { id version } errors { code message } } }"
SNAPSHOT = 'mutation { takeForecastSnapshot(currency: "EUR") { snapshot { id } errors { code message } } }'

RATES = [
    ("architect", "95.00", "48.00"),
    ("structural", "90.00", "46.00"),
    ("mep", "85.00", "44.00"),
    ("bim", "80.00", "39.00"),
]


async def seed_deals(url: str, settle, mint, ids: dict[str, str]) -> dict[str, str]:
    admin, sales = mint("admin", "admin.demo"), mint("sales", "sales.anna")
    out: dict[str, str] = {}
    today = dt.date.today()
    async with httpx.AsyncClient(timeout=30) as c:
        products = [
            {"productId": ids["product_SURVEY"], "price": "4800.00"},
            {"productId": ids["product_BIM-COORD"], "price": "120.00"},
        ]
        for key, name, tier, factor in [
            ("price_list", "Standard rates", None, 1),
            ("gold_list", "Partner rates (gold)", "gold", 0.9),
        ]:
            rates = [{"discipline": d, "rate": f"{float(r) * factor:.2f}", "costRate": cost} for d, r, cost in RATES]
            p = await _call(
                c,
                url,
                PRICE_LIST,
                {
                    "i": {
                        "name": name,
                        "currency": "EUR",
                        "validFrom": f"{today.year}-01-01",
                        "partnerTier": tier,
                        "rates": rates,
                        "products": products,
                    }
                },
                "createPriceList",
                admin,
            )
            out[key] = p["priceList"]["id"]
        await _call(c, url, TIER, {"i": {"companyId": ids["kestrel"], "tier": "gold"}}, "setPartnerTier", admin)

        # two versions of the rolling-mill estimate; the second is accepted
        lines = [
            {"kind": "ITEM", "stage": "survey", "productId": ids["product_SURVEY"], "quantity": "1"},
            {"kind": "WORK", "stage": "concept", "discipline": "architect", "hours": "320"},
            {"kind": "WORK", "stage": "design", "discipline": "structural", "hours": "540"},
            {"kind": "WORK", "stage": "design", "discipline": "mep", "hours": "260"},
            {"kind": "WORK", "stage": "approvals", "discipline": "architect", "hours": "80"},
            {"kind": "WORK", "stage": "supervision", "discipline": "architect", "hours": "120"},
        ]
        v1 = (
            await _call(
                c,
                url,
                CREATE_EST,
                {
                    "i": {
                        "dealId": ids["mill"],
                        "priceListId": out["price_list"],
                        "lines": lines,
                        "taxRates": [{"name": "VAT", "percent": "23"}],
                    }
                },
                "createEstimate",
                sales,
            )
        )["estimate"]
        v1 = (
            await _call(c, url, SEND, {"i": {"id": v1["id"], "expectedVersion": v1["version"]}}, "sendEstimate", sales)
        )["estimate"]
        v2 = (
            await _call(
                c, url, REVISE, {"i": {"id": v1["id"], "expectedVersion": v1["version"]}}, "reviseEstimate", sales
            )
        )["estimate"]
        lines2 = [
            *lines,
            {
                "kind": "ITEM",
                "stage": "design",
                "productId": ids["product_BIM-COORD"],
                "quantity": "150",
                "discountPercent": "10",
            },
        ]
        v2 = (
            await _call(
                c,
                url,
                UPDATE_EST,
                {"i": {"id": v2["id"], "expectedVersion": v2["version"], "lines": lines2, "discountPercent": "5"}},
                "updateEstimate",
                sales,
            )
        )["estimate"]
        v2 = (
            await _call(c, url, SEND, {"i": {"id": v2["id"], "expectedVersion": v2["version"]}}, "sendEstimate", sales)
        )["estimate"]
        v2 = (
            await _call(
                c, url, ACCEPT, {"i": {"id": v2["id"], "expectedVersion": v2["version"]}}, "acceptEstimate", sales
            )
        )["estimate"]
        out["mill_estimate_v1"], out["mill_estimate_v2"] = v1["id"], v2["id"]

        # its payment schedule: an advance now 10 days overdue, then per stage
        schedule = [
            ("Advance 30 %", "30", -10),
            ("Concept approved", "20", 45),
            ("Design delivered", "35", 120),
            ("Permits", "15", 200),
        ]
        for i, (title, pct, days) in enumerate(schedule):
            due = (today + dt.timedelta(days=days)).isoformat()
            p = await _call(
                c,
                url,
                MILESTONE,
                {"i": {"dealId": ids["mill"], "title": title, "percent": pct, "dueDate": due}},
                "addPaymentMilestone",
                sales,
            )
            out[f"mill_milestone_{i}"] = p["milestone"]["id"]
        await _call(
            c,
            url,
            RECORD,
            {
                "i": {
                    "records": [
                        {"kind": "INVOICE", "milestoneId": out["mill_milestone_0"], "externalId": "1C-INV-2026-0001"}
                    ]
                }
            },
            "recordAccountingBatch",
            admin,
        )

        # half a year of closed deals at a client of their own (win rates, win/loss, accuracy)
        p = await _call(
            c,
            url,
            COMPANY,
            {"i": {"name": "Vestland Property Group", "kind": "CLIENT", "city": "Bergen", "owner": "sales.anna"}},
            "createCompany",
            admin,
        )
        out["vestland"] = p["company"]["id"]
        await settle()
        history = [
            ("Office fit-out, Bryggen", "85000", ["qualified", "brief", "concept", "estimate"], "won", None, 170, 120),
            ("Parking structure", "240000", ["qualified", "brief"], "lost", "Price", 165, 140),
            (
                "School extension",
                "410000",
                ["qualified", "brief", "concept", "estimate", "negotiation"],
                "won",
                None,
                160,
                70,
            ),
            ("Warehouse retrofit", "130000", ["qualified"], "lost", "No budget", 150, 135),
            ("Hotel lobby", "60000", ["qualified", "brief", "concept"], "lost", "Lost to a competitor", 140, 90),
            ("Clinic renovation", "190000", ["qualified", "brief", "concept", "estimate"], "won", None, 120, 40),
            (
                "Data hall",
                "720000",
                ["qualified", "brief", "concept", "estimate", "negotiation"],
                "lost",
                "Lost to a competitor",
                110,
                20,
            ),
            (
                "Quay offices",
                "150000",
                ["qualified", "brief", "concept", "estimate", "negotiation"],
                "won",
                None,
                90,
                15,
            ),
        ]
        for title, amount, path, end, reason, opened_days_ago, closed_days_ago in history:
            opened = dt.datetime.combine(today - dt.timedelta(days=opened_days_ago), dt.time(9), dt.UTC).isoformat()
            closed = dt.datetime.combine(today - dt.timedelta(days=closed_days_ago), dt.time(15), dt.UTC).isoformat()
            d = (
                await _call(
                    c,
                    url,
                    DEAL,
                    {
                        "i": {
                            "title": title,
                            "companyId": out["vestland"],
                            "amount": amount,
                            "currency": "EUR",
                            "stageId": path[0],
                            "openedAt": opened,
                            "owner": "sales.anna",
                        }
                    },
                    "createDeal",
                    admin,
                )
            )["deal"]
            for stage in [*path[1:], end]:
                move = {"id": d["id"], "expectedVersion": d["version"], "stageId": stage}
                if stage == end:
                    move.update(closedAt=closed, lostReason=reason)
                d = (await _call(c, url, MOVE, {"i": move}, "moveDealStage", admin))["deal"]
        await settle()
        await _call(c, url, SNAPSHOT, {}, "takeForecastSnapshot", admin)
    return out
