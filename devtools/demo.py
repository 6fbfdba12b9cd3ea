"""Demo data for `make run`: a handful of design-project clients with people, deals, a campaign
and tickets, created through the gateway exactly as a user would (so every event flows)."""

from __future__ import annotations

import httpx

QUERY_360 = """\
query Customer360 {
  companies(first: 1, filter: { name: "Nordhaven Architects" }) {
    edges {
      node {
        name
        kind
        health { level warnings openCriticalTickets }
        openTicketCount
        contacts(first: 10) {
          edges { node { name email lifecycle
            campaigns(first: 5) { edges { node { status campaign { name channel roi revenue { amount currency } } } } }
          } }
        }
        deals(first: 10) {
          edges { node { title status amount { amount currency } stage { name probability } } }
        }
        tickets(first: 10) {
          edges { node { subject priority status } }
        }
        timeline(first: 20) {
          edges { node { occurredAt kind source title } }
        }
      }
    }
  }
}
"""


class SeedError(RuntimeError):
    pass


async def _call(
    client: httpx.AsyncClient, url: str, query: str, variables: dict, key: str, token: str | None = None
) -> dict:
    r = await client.post(
        url,
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"} if token else None,
    )
    body = r.json()
    if body.get("errors"):
        raise SeedError(f"{key}: {body['errors']}")
    payload = body["data"][key]
    if payload.get("errors"):
        raise SeedError(f"{key}: {payload['errors']}")
    return payload


CREATE_COMPANY = (
    "mutation($i: CreateCompanyInput!) { createCompany(input: $i) { company { id } errors { code message } } }"
)
CREATE_CONTACT = (
    "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } errors { code message } } }"
)
CREATE_CAMPAIGN = (
    "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { campaign { id } errors { code message } } }"
)
ADD_MEMBERS = (
    "mutation($i: AddCampaignMembersInput!) { addCampaignMembers(input: $i) { added errors { code message } } }"
)
RESPOND = (
    "mutation($i: RecordResponseInput!) { recordResponse(input: $i) { member { status } errors { code message } } }"
)
CREATE_DEAL = (
    "mutation($i: CreateDealInput!) { createDeal(input: $i) { deal { id version } warnings errors { code message } } }"
)
MOVE = (
    "mutation($i: MoveDealStageInput!) "
    "{ moveDealStage(input: $i) { deal { id version status } errors { code message } } }"
)
OPEN_TICKET = (
    "mutation($i: OpenTicketInput!) { openTicket(input: $i) { ticket { id version } errors { code message } } }"
)
RESOLVE = "mutation($i: ResolveTicketInput!) { resolveTicket(input: $i) { ticket { id } errors { code message } } }"
COMMENT = (
    "mutation($i: AddTicketCommentInput!) { addTicketComment(input: $i) { comment { id } errors { code message } } }"
)
CREATE_PRODUCT = (
    "mutation($i: CreateProductInput!) { createProduct(input: $i) { product { id } errors { code message } } }"
)


async def seed(url: str, settle, mint) -> dict[str, str]:
    """Create the demo records through the gateway at `url`, each with the token of the person who
    would do it (`mint(role, sub, company=None, contact=None)` makes one); `settle()` waits for
    events. Two partners register a prospect, a lead and a deal each; a customer comments on its
    ticket and support adds an internal note — the data the security tests try to leak."""
    ids: dict[str, str] = {}
    admin = mint("admin", "admin.demo")
    sales = mint("sales", "sales.anna")
    marketing = mint("marketing", "marketing.olga")
    support = mint("support", "support.sam")
    async with httpx.AsyncClient(timeout=30, headers={"authorization": f"Bearer {admin}"}) as c:
        for key, name, kind, city in [
            ("nordhaven", "Nordhaven Architects", "CLIENT", "Bergen"),
            ("baltic", "Baltic Steelworks", "PROSPECT", "Gdańsk"),
            ("harbour", "Harbour Logistics GmbH", "PROSPECT", "Hamburg"),
            ("kestrel", "Kestrel Engineering", "PARTNER", "Leeds"),
            ("fjord", "Fjord Build Partners", "PARTNER", "Trondheim"),
        ]:
            p = await _call(
                c,
                url,
                CREATE_COMPANY,
                {
                    "i": {
                        "name": name,
                        "kind": kind,
                        "city": city,
                        "industry": "Design & construction",
                        "owner": "sales.anna",
                    }
                },
                "createCompany",
            )
            ids[key] = p["company"]["id"]
        for key, first, last, email, company, title in [
            ("ingrid", "Ingrid", "Solberg", "ingrid.solberg@nordhaven.example", "nordhaven", "Managing partner"),
            ("mats", "Mats", "Berg", "mats.berg@nordhaven.example", "nordhaven", "Project architect"),
            ("anna", "Anna", "Kowalska", "anna.kowalska@balticsteel.example", "baltic", "Plant director"),
            ("lena", "Lena", "Vogel", "lena.vogel@harbour.example", "harbour", "Head of facilities"),
            ("tom", "Tom", "Reid", "tom.reid@kestrel.example", "kestrel", "Partner manager"),
            ("sigrid", "Sigrid", "Lie", "sigrid.lie@fjordbuild.example", "fjord", "Sales director"),
        ]:
            p = await _call(
                c,
                url,
                CREATE_CONTACT,
                {
                    "i": {
                        "firstName": first,
                        "lastName": last,
                        "email": email,
                        "companyId": ids[company],
                        "jobTitle": title,
                        "lifecycle": "PROSPECT",
                        "owner": "sales.anna",
                    }
                },
                "createContact",
            )
            ids[key] = p["contact"]["id"]
        await settle()
        p = await _call(
            c,
            url,
            CREATE_CAMPAIGN,
            {
                "i": {
                    "name": "Turnkey factory design webinar",
                    "channel": "EVENT",
                    "currency": "EUR",
                    "budget": "5000",
                    "cost": "4000",
                    "startsOn": "2026-09-01",
                    "endsOn": "2026-09-30",
                }
            },
            "createCampaign",
            marketing,
        )
        ids["webinar"] = p["campaign"]["id"]
        await _call(
            c,
            url,
            ADD_MEMBERS,
            {"i": {"campaignId": ids["webinar"], "contactIds": [ids["ingrid"], ids["anna"], ids["lena"]]}},
            "addCampaignMembers",
            marketing,
        )
        for who, text in [
            ("ingrid", "Registered and attended; asked for a site visit"),
            ("anna", "Downloaded the slides"),
        ]:
            await _call(
                c,
                url,
                RESPOND,
                {"i": {"campaignId": ids["webinar"], "contactId": ids[who], "response": text}},
                "recordResponse",
                marketing,
            )
        deals = {}
        for key, title, company, contact, amount, stage in [
            ("hq", "Nordhaven HQ extension: concept to permits", "nordhaven", "ingrid", "240000", "qualified"),
            ("mill", "Rolling mill hall, turnkey design", "baltic", "anna", "1800000", "concept"),
            ("cold", "Cold-storage warehouse", "harbour", "lena", "650000", "qualified"),
        ]:
            p = await _call(
                c,
                url,
                CREATE_DEAL,
                {
                    "i": {
                        "title": title,
                        "companyId": ids[company],
                        "contactId": ids[contact],
                        "amount": amount,
                        "currency": "EUR",
                        "stageId": stage,
                        "owner": "sales.anna",
                        "expectedCloseDate": "2027-03-31",
                    }
                },
                "createDeal",
                sales,
            )
            deals[key] = p["deal"]
            ids[key] = p["deal"]["id"]
        hq = deals["hq"]
        for stage in ("estimate", "won"):
            p = await _call(
                c,
                url,
                MOVE,
                {"i": {"id": hq["id"], "expectedVersion": hq["version"], "stageId": stage}},
                "moveDealStage",
                sales,
            )
            hq = p["deal"]
        for key, company, contact, subject, prio in [
            ("bim", "nordhaven", "mats", "BIM model export fails for the structural package", "CRITICAL"),
            ("invoice", "nordhaven", "ingrid", "Change of invoice address", "LOW"),
            ("survey", "baltic", "anna", "Site survey report missing from the portal", "HIGH"),
        ]:
            p = await _call(
                c,
                url,
                OPEN_TICKET,
                {"i": {"companyId": ids[company], "contactId": ids[contact], "subject": subject, "priority": prio}},
                "openTicket",
                support,
            )
            ids[key] = p["ticket"]["id"]
            if key == "invoice":
                await _call(
                    c,
                    url,
                    RESOLVE,
                    {
                        "i": {
                            "id": ids[key],
                            "expectedVersion": p["ticket"]["version"],
                            "resolution": "Address updated in the billing system",
                        }
                    },
                    "resolveTicket",
                    support,
                )
        mats = mint("customer", "mats@nordhaven", company=ids["nordhaven"], contact=ids["mats"])
        await _call(
            c,
            url,
            COMMENT,
            {"i": {"ticketId": ids["bim"], "body": "It fails for every export since Monday."}},
            "addTicketComment",
            mats,
        )
        await _call(
            c,
            url,
            COMMENT,
            {
                "i": {
                    "ticketId": ids["bim"],
                    "internal": True,
                    "body": "Known regression in the IFC exporter; fix planned for 3.2.",
                }
            },
            "addTicketComment",
            support,
        )
        for sku, name, price, unit in [
            ("SURVEY", "Site survey and brief", "4800", "project"),
            ("CONCEPT", "Concept design", "95", "m²"),
            ("BIM-COORD", "BIM coordination", "120", "hour"),
        ]:
            p = await _call(
                c,
                url,
                CREATE_PRODUCT,
                {"i": {"sku": sku, "name": name, "listPrice": price, "currency": "EUR", "unit": unit}},
                "createProduct",
                admin,
            )
            ids[f"product_{sku}"] = p["product"]["id"]
        await settle()
        # deal registration by two partners: each must only ever see its own
        for partner, user, client, city, lead, email, deal, amount in [
            (
                "kestrel",
                "tom@kestrel",
                "Solvik Timber AS",
                "Bergen",
                ("Eirik", "Solvik"),
                "eirik@solvik.example",
                "Sawmill extension",
                "420000",
            ),
            (
                "fjord",
                "sigrid@fjord",
                "Aurland Hydro",
                "Aurland",
                ("Kari", "Aurland"),
                "kari@aurlandhydro.example",
                "Turbine hall refurbishment",
                "910000",
            ),
        ]:
            token = mint("partner", user, company=ids[partner])
            p = await _call(c, url, CREATE_COMPANY, {"i": {"name": client, "city": city}}, "createCompany", token)
            ids[f"{partner}_client"] = p["company"]["id"]
            p = await _call(
                c,
                url,
                CREATE_CONTACT,
                {
                    "i": {
                        "firstName": lead[0],
                        "lastName": lead[1],
                        "email": email,
                        "companyId": ids[f"{partner}_client"],
                    }
                },
                "createContact",
                token,
            )
            ids[f"{partner}_lead"] = p["contact"]["id"]
            await settle()
            p = await _call(
                c,
                url,
                CREATE_DEAL,
                {
                    "i": {
                        "title": deal,
                        "companyId": ids[f"{partner}_client"],
                        "contactId": ids[f"{partner}_lead"],
                        "amount": amount,
                        "currency": "EUR",
                    }
                },
                "createDeal",
                token,
            )
            ids[f"{partner}_deal"] = p["deal"]["id"]
        await settle()
        await __import__("devtools.demo_marketing", fromlist=["seed_marketing"]).seed_marketing(
            c, url, ids, mint, settle
        )
        await __import__("devtools.demo_support", fromlist=["x"]).seed_support(c, url, ids, mint)
    ids.update(await __import__("devtools.demo_deals").demo_deals.seed_deals(url, settle, mint, ids))  # deals (#11)
    await __import__("devtools.demo_day", fromlist=["seed_day"]).seed_day(url, settle, mint, ids)
    await __import__("devtools.demo_partners", fromlist=["seed_partners"]).seed_partners(url, settle, mint, ids)  # #16
    return ids
