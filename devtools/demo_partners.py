"""Demo data of partners as a channel (issue #16, docs/partners.md): three tiers, Kestrel
Engineering's programme (silver, an agreement for Western Norway, its users), a standard
configuration, and one registration by Kestrel, approved — what the README's partner example reads."""

from __future__ import annotations

import datetime as dt

import httpx

TIER = "mutation($i: SaveTierDefInput!) { savePartnerTier(input: $i) { tier { id } errors { code message } } }"
PROGRAMME = """mutation($i: SavePartnerProgrammeInput!) { savePartnerProgramme(input: $i) {
  programme { companyId } errors { code message } } }"""
BUNDLE = "mutation($i: SaveBundleInput!) { saveBundle(input: $i) { bundle { id } errors { code message } } }"
SUBMIT = """mutation($i: SubmitRegistrationInput!) { submitDealRegistration(input: $i) {
  registration { id } errors { code message } } }"""
DECIDE = """mutation($i: DecideRegistrationInput!) { decideDealRegistration(input: $i) {
  registration { id } errors { code message } } }"""


async def seed_partners(url: str, settle, mint, ids: dict[str, str]) -> None:
    from .demo import _call

    admin = mint("admin", "demo.admin")
    kestrel = mint("partner", "tom@kestrel", company=ids["kestrel"])
    async with httpx.AsyncClient(timeout=30) as c:
        for key, name, rank, discount, revenue, deals, certified in [
            ("registered", "Registered", 0, "0", "0", 0, 0),
            ("silver", "Silver", 1, "5", "250000", 2, 1),
            ("gold", "Gold", 2, "12", "1000000", 6, 3),
        ]:
            i = {"id": key, "name": name, "rank": rank, "maxDiscountPercent": discount, "minRevenue": revenue}
            await _call(
                c, url, TIER, {"i": {**i, "minDeals": deals, "minCertified": certified}}, "savePartnerTier", admin
            )
        programme = {
            "companyId": ids["kestrel"],
            "tier": "silver",
            # the agreement runs from January of this year to December two years on (a fixed date
            # would end it, and with it the demo partner's registrations, on the day it passed)
            "agreementStart": f"{dt.date.today().year}-01-01",
            "agreementEnd": agreement_end(),
            "regions": ["Vestland", "Rogaland"],
            "industries": ["timber", "energy"],
            "users": [
                {"sub": "tom@kestrel", "name": "Tom Reid", "portalRole": "manager", "certified": True},
                {"sub": "ines@kestrel", "name": "Ines Park", "portalRole": "sales"},
            ],
            "reason": "onboarding",
        }
        await _call(c, url, PROGRAMME, {"i": programme}, "savePartnerProgramme", admin)
        await _call(
            c, url, PROGRAMME, {"i": {"companyId": ids["fjord"], "tier": "registered"}}, "savePartnerProgramme", admin
        )
        work = [
            {"stage": "concept", "discipline": "architect", "hours": "24"},
            {"stage": "design", "discipline": "architect", "hours": "40"},
            {"stage": "approvals", "discipline": "architect", "hours": "12"},
        ]
        items = [{"productId": ids["product_SURVEY"], "stage": "survey", "quantity": "1"}]
        bundle = {"name": "Small office fit-out, concept to permits", "work": work, "items": items}
        await _call(c, url, BUNDLE, {"i": bundle}, "saveBundle", admin)
        reg = {
            "clientName": "Solvik Timber AS",
            "clientWebsite": "https://solvik.example",
            "clientEmail": "eirik@solvik.example",
            "companyId": ids["kestrel_client"],
            "project": "Sawmill extension",
            "estimatedValue": "420000",
            "currency": "EUR",
            "expectedClose": "2026-12-15",
        }
        r = await _call(c, url, SUBMIT, {"i": reg}, "submitDealRegistration", kestrel)
        ids["kestrel_registration"] = r["registration"]["id"]
        await _call(
            c, url, DECIDE, {"i": {"id": ids["kestrel_registration"], "approve": True}}, "decideDealRegistration", admin
        )


def agreement_end(today: dt.date | None = None) -> str:
    """The demo partner agreement's last day: 31 December two years after `today`'s year."""
    return f"{(today or dt.date.today()).year + 2}-12-31"
