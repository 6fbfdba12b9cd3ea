"""Clean data through the real gateway, on both legs (docs/data.md): duplicates found and two
contacts with deals, tickets and campaign memberships merged (everything points at the survivor,
the old id still resolves); out-of-scope merges refused; a person's data exported and erased in
all four services (read back from the stores themselves); search."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.gateway.conftest import Client, audit_rows, codes, eventually, settings_of

# the first test of a leg also starts and seeds the whole CRM (minutes on a loaded machine)
pytestmark = pytest.mark.timeout(600)


def uid() -> str:
    return uuid.uuid4().hex[:8]


async def call(client, query: str, variables: dict, key: str) -> dict:
    data = await client.ok(query, variables)
    payload = data[key]
    assert not payload.get("errors"), payload["errors"]
    return payload


async def call_once_known(client, query: str, variables: dict, key: str) -> dict:
    """`call`, retried while the service's replica has not yet seen the company or contact the
    input names (the short window after their creation events; docs/architecture.md)."""

    async def attempt():
        data = await client.ok(query, variables)
        payload = data[key]
        assert not payload.get("errors"), payload["errors"]
        return payload

    return await eventually(attempt, timeout=60, interval=0.5)


CREATE_COMPANY = """mutation($i: CreateCompanyInput!) { createCompany(input: $i) {
  company { id } possibleDuplicates { id score reasons } errors { code message } } }"""
CREATE_CONTACT = """mutation($i: CreateContactInput!) { createContact(input: $i) {
  contact { id } possibleDuplicates { id score reasons contact { id email } } errors { code message } } }"""
CREATE_DEAL = "mutation($i: CreateDealInput!) { createDeal(input: $i) { deal { id } errors { code message } } }"
OPEN_TICKET = "mutation($i: OpenTicketInput!) { openTicket(input: $i) { ticket { id } errors { code message } } }"
CREATE_CAMPAIGN = (
    "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { campaign { id } errors { code message } } }"
)
ADD_MEMBERS = (
    "mutation($i: AddCampaignMembersInput!) { addCampaignMembers(input: $i) { added errors { code message } } }"
)
RESPOND = (
    "mutation($i: RecordResponseInput!) { recordResponse(input: $i) { member { status } errors { code message } } }"
)
LOG = "mutation($i: LogInteractionInput!) { logInteraction(input: $i) { interaction { id } errors { code message } } }"
MERGE_CONTACTS = """mutation($i: MergeInput!) { mergeContacts(input: $i) {
  contact { id email phone firstName } errors { code message } } }"""
MERGE_COMPANIES = (
    "mutation($i: MergeInput!) { mergeCompanies(input: $i) { company { id name website } errors { code message } } }"
)
FIND = "query($k: RecordKind!, $id: ID) { findDuplicates(kind: $k, id: $id) { id duplicateOf score reasons } }"
CONTACT_360 = """query($id: ID!) { contact(id: $id) { id email phone
  deals { totalCount edges { node { id contact { id } } } }
  tickets { totalCount edges { node { id contact { id } } } }
  campaigns { totalCount } } }"""
SEARCH = "query($t: String!) { search(text: $t) { kind id score matched contact { id } company { id } } }"
EXPORT = "query($id: ID!) { exportPersonData(contactId: $id) { id contacts deals support marketing } }"
ERASE = "mutation($i: ErasePersonInput!) { erasePerson(input: $i) { contact { id firstName email } errors { code message } } }"


async def _company(gw, name: str, website: str | None = None) -> str:
    p = await call(gw, CREATE_COMPANY, {"i": {"name": name, "kind": "CLIENT", "website": website}}, "createCompany")
    return p["company"]["id"]


async def _contact(gw, company: str, first: str, last: str, email: str | None, phone: str | None = None) -> dict:
    i = {"firstName": first, "lastName": last, "companyId": company, "email": email, "phone": phone}
    return await call(gw, CREATE_CONTACT, {"i": i}, "createContact")


async def _campaign(gw, name: str) -> str:
    i = {"name": name, "channel": "EVENT", "currency": "EUR"}
    return (await call(gw, CREATE_CAMPAIGN, {"i": i}, "createCampaign"))["campaign"]["id"]


async def _deal(gw, company: str, contact: str, title: str) -> str:
    i = {
        "title": title,
        "companyId": company,
        "contactId": contact,
        "amount": "1000",
        "currency": "EUR",
        "stageId": "qualified",
    }
    return (await call_once_known(gw, CREATE_DEAL, {"i": i}, "createDeal"))["deal"]["id"]


async def _ticket(gw, company: str, contact: str, subject: str) -> str:
    i = {"companyId": company, "contactId": contact, "subject": subject, "priority": "HIGH"}
    return (await call_once_known(gw, OPEN_TICKET, {"i": i}, "openTicket"))["ticket"]["id"]


async def raw_documents(store) -> list[tuple[str, dict]]:
    """Every stored document of a service's store, internal fields (the outbox) included."""
    out = []
    for coll in await store.collections():
        out += [(coll, d) for d in await store._find(coll, {}, [("_id", 1)], 10**6)]
    return out


async def test_find_and_merge_contacts_everything_follows_the_survivor(crm, gw):
    u = uid()
    company = await _company(gw, f"Merge Works {u}", f"merge-{u}.example")
    a = await _contact(gw, company, "Ingrid", f"Lindqvist{u}", f"ingrid.{u}@merge-{u}.example", "+46 8 555 01 01")
    assert a["possibleDuplicates"] == []
    b = await _contact(gw, company, "Ingrid", f"Lindkvist{u}", f"i.l.{u}@merge-{u}.example", "+46 8 555 02 02")
    a_id, b_id = a["contact"]["id"], b["contact"]["id"]
    dup = {m["id"]: m for m in b["possibleDuplicates"]}
    assert a_id in dup and dup[a_id]["score"] >= 60, b["possibleDuplicates"]
    assert any(r.startswith("similar name") for r in dup[a_id]["reasons"])
    found = (await gw.ok(FIND, {"k": "CONTACT", "id": a_id}))["findDuplicates"]
    assert [m["id"] for m in found] == [b_id]
    await crm.settle()

    deals = [await _deal(gw, company, who, f"Deal {n} {u}") for n, who in enumerate((a_id, b_id))]
    tickets = [await _ticket(gw, company, who, f"Ticket {n} {u}") for n, who in enumerate((a_id, b_id))]
    shared, only_b = await _campaign(gw, f"Shared {u}"), await _campaign(gw, f"Only B {u}")
    await call_once_known(
        gw, ADD_MEMBERS, {"i": {"campaignId": shared, "contactIds": [a_id, b_id]}}, "addCampaignMembers"
    )
    await call_once_known(gw, ADD_MEMBERS, {"i": {"campaignId": only_b, "contactIds": [b_id]}}, "addCampaignMembers")
    await call(gw, RESPOND, {"i": {"campaignId": shared, "contactId": b_id, "response": "came"}}, "recordResponse")
    await crm.settle()

    choices = [{"field": "phone", "fromId": b_id}]
    p = await call(
        gw, MERGE_CONTACTS, {"i": {"survivorId": a_id, "mergedIds": [b_id], "choices": choices}}, "mergeContacts"
    )
    assert p["contact"]["id"] == a_id and p["contact"]["phone"] == "+46 8 555 02 02"
    assert p["contact"]["email"] == f"ingrid.{u}@merge-{u}.example"

    async def repointed():
        c = (await gw.ok(CONTACT_360, {"id": a_id}))["contact"]
        assert c["deals"]["totalCount"] == 2 and {e["node"]["id"] for e in c["deals"]["edges"]} == set(deals)
        assert c["tickets"]["totalCount"] == 2 and {e["node"]["id"] for e in c["tickets"]["edges"]} == set(tickets)
        assert c["campaigns"]["totalCount"] == 2  # the shared campaign once, plus B's own
        assert {e["node"]["contact"]["id"] for e in c["deals"]["edges"] + c["tickets"]["edges"]} == {a_id}
        return c

    await eventually(repointed, timeout=60)
    await crm.settle()
    # the old id still resolves, by query and through `_entities` (the ticket's and deal's contact)
    old = (await gw.ok("query($id: ID!) { contact(id: $id) { id firstName } }", {"id": b_id}))["contact"]
    assert old["id"] == a_id
    sub = Client(crm.service_url("contacts"), crm.mint("admin", "test.admin"))
    try:
        ents = await sub.ok(
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Contact { id } } }",
            {"r": [{"__typename": "Contact", "id": b_id}]},
        )
    finally:
        await sub.http.aclose()
    assert ents["_entities"] == [{"id": a_id}]
    deal = (await gw.ok("query($id: ID!) { deal(id: $id) { contact { id name } } }", {"id": deals[1]}))["deal"]
    assert deal["contact"]["id"] == a_id
    # every store: nothing names the merged id any more (except the alias and the audit trail)
    for name in ("deals", "support", "marketing"):
        for coll, doc in await raw_documents(crm.services[name].store):
            if coll.startswith("_") or coll in ("outbox",):
                continue
            assert b_id not in json.dumps({k: v for k, v in doc.items() if not k.startswith("_")}), (name, coll, doc)
    members = await crm.services["marketing"].store.find_all("members", {"campaign_id": shared})
    assert [(m["contact_id"], m["status"]) for m in members] == [(a_id, "responded")]

    async def merged_audited():  # the audit row arrives by event
        rows = await audit_rows(gw, a_id)
        assert "MERGED" in {r["action"] for r in rows}, rows

    await eventually(merged_audited, timeout=60)


async def test_merge_companies_and_refusals(crm, gw, as_role):
    u = uid()
    a = await _company(gw, f"Nordlys Bygg {u} AS", f"nordlys-{u}.example")
    b_payload = await call(
        gw,
        CREATE_COMPANY,
        {"i": {"name": f"Nordlys Bygg {u}", "kind": "CLIENT", "website": f"https://www.nordlys-{u}.example"}},
        "createCompany",
    )
    b = b_payload["company"]["id"]
    assert {m["id"] for m in b_payload["possibleDuplicates"]} == {a}
    person = (await _contact(gw, b, "Per", f"Aas{u}", None))["contact"]["id"]
    await crm.settle()
    deal = await _deal(gw, b, person, f"Hall {u}")
    await crm.settle()

    # a partner may not merge at all; a salesperson with a private book only within it
    partner = as_role("partner", "tom@kestrel", company=crm.ids["kestrel"])
    body = await partner.body(MERGE_COMPANIES, {"i": {"survivorId": a, "mergedIds": [b]}})
    assert body["data"]["mergeCompanies"] is None and "FORBIDDEN" in codes(body)
    body = await partner.body(MERGE_CONTACTS, {"i": {"survivorId": person, "mergedIds": [crm.ids["kestrel_lead"]]}})
    assert body["data"]["mergeContacts"] is None and "FORBIDDEN" in codes(body)
    with settings_of(crm, ["contacts"], sales_own_book=True):
        sales = as_role("sales", f"sales.{u}")
        p = (await sales.ok(MERGE_COMPANIES, {"i": {"survivorId": a, "mergedIds": [b]}}))["mergeCompanies"]
        assert [e["code"] for e in p["errors"]] == ["NOT_FOUND"]
    bad = (await gw.ok(MERGE_COMPANIES, {"i": {"survivorId": a, "mergedIds": []}}))["mergeCompanies"]
    assert [e["code"] for e in bad["errors"]] == ["INVALID"]
    assert (await gw.ok("query($id: ID!) { company(id: $id) { id } }", {"id": b}))["company"]["id"] == b

    p = await call(
        gw,
        MERGE_COMPANIES,
        {"i": {"survivorId": a, "mergedIds": [b], "choices": [{"field": "name", "fromId": b}]}},
        "mergeCompanies",
    )
    assert p["company"]["name"] == f"Nordlys Bygg {u}"

    async def moved():
        c = (
            await gw.ok(
                "query($id: ID!) { company(id: $id) { id contacts { totalCount } deals { totalCount } } }", {"id": b}
            )
        )["company"]
        assert c["id"] == a and c["contacts"]["totalCount"] == 1 and c["deals"]["totalCount"] == 1
        d = (await gw.ok("query($id: ID!) { deal(id: $id) { company { id } } }", {"id": deal}))["deal"]
        assert d["company"]["id"] == a
        for svc in ("deals", "support", "marketing"):  # the person's replica follows the company
            assert (await crm.services[svc].store.get("ref_contacts", person))["company_id"] == a

    await eventually(moved, timeout=60)


async def test_export_and_erasure_across_all_four_services(crm, gw):
    u = uid()
    name, last, mail, phone = "Zephyrine", f"Quillfeather{u}", f"zq.{u}@erase-{u}.example", f"+47 22 {u[:2]} 00 11"
    secret = f"allergic-to-concrete-{u}"
    company = await _company(gw, f"Erase Co {u}")
    person = (await _contact(gw, company, name, last, mail, phone))["contact"]["id"]
    await crm.settle()
    await _deal(gw, company, person, f"Warehouse {u}")
    await _ticket(gw, company, person, f"{name} {last} reports: {secret}")
    campaign = await _campaign(gw, f"Expo {u}")
    await call_once_known(
        gw, ADD_MEMBERS, {"i": {"campaignId": campaign, "contactIds": [person]}}, "addCampaignMembers"
    )
    await call(
        gw,
        RESPOND,
        {"i": {"campaignId": campaign, "contactId": person, "response": f"{name} says {secret}"}},
        "recordResponse",
    )
    await call(
        gw,
        LOG,
        {"i": {"kind": "CALL", "title": f"Call with {name}", "contactId": person, "detail": secret}},
        "logInteraction",
    )
    await crm.settle()

    export = (await gw.ok(EXPORT, {"id": person}))["exportPersonData"]
    assert export["contacts"]["contact"]["email"] == mail
    assert any(secret in (i.get("detail") or "") for i in export["contacts"]["interactions"])
    assert [d["contact_id"] for d in export["deals"]["deals"]] == [person]
    assert secret in export["support"]["tickets"][0]["subject"]
    assert export["marketing"]["members"][0]["campaign_id"] == campaign
    assert export["marketing"]["profile"]["email"] == mail

    p = await call(gw, ERASE, {"i": {"contactId": person}}, "erasePerson")
    assert p["contact"] == {"id": person, "firstName": "Erased", "email": None}

    needles = [last, mail, phone, secret, last.casefold()]

    async def gone():
        await crm.settle()
        for svc in ("contacts", "deals", "support", "marketing"):
            for coll, doc in await raw_documents(crm.services[svc].store):
                text = json.dumps(doc, ensure_ascii=False)
                for n in needles:
                    assert n not in text, (svc, coll, n, doc)

    await eventually(gone, timeout=60)
    # figures and history stay: the deal, the ticket and the membership still count for the company
    c = (await gw.ok(CONTACT_360, {"id": person}))["contact"]
    assert c["deals"]["totalCount"] == 1 and c["tickets"]["totalCount"] == 1 and c["campaigns"]["totalCount"] == 1

    async def erasure_audited():  # the audit rows arrive by event
        actions = [r["action"] for r in await audit_rows(gw, person)]
        assert "ERASED" in actions and "EXPORTED" in actions, actions

    await eventually(erasure_audited, timeout=60)


async def test_search_by_name_email_phone_domain_scoped(crm, gw, as_role):
    u = uid()
    company = await _company(gw, f"Ångström Arkitekter {u}", f"angstrom-{u}.example")
    person = (await _contact(gw, company, "Åsa", f"Ström{u}", f"asa.{u}@angstrom-{u}.example", "+46 31 700 12 34"))[
        "contact"
    ]["id"]

    async def hits(client, text):
        return [(h["kind"], h["id"]) for h in (await client.ok(SEARCH, {"t": text}))["search"]]

    assert ("CONTACT", person) in await hits(gw, f"STROM{u}")
    assert (await hits(gw, f"asa ström{u[:3]}"))[0] == ("CONTACT", person)
    assert ("COMPANY", company) in await hits(gw, f"angstrom arkitekter {u}")
    assert (await hits(gw, f"ASA.{u}@angstrom"))[0] == ("CONTACT", person)
    assert ("CONTACT", person) in await hits(gw, "+46 31 700 12 34")
    assert ("COMPANY", company) in await hits(gw, f"angstrom-{u}.example")
    partner = as_role("partner", "tom@kestrel", company=crm.ids["kestrel"])
    assert await hits(partner, f"ström{u}") == []
    body = await gw.body(SEARCH, {"t": "   "})
    assert body["data"]["search"] is None and body["errors"]
