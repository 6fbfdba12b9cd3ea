"""Custom fields through the real gateway, on both legs (docs/customfields.md): defined by an admin,
filled by an import, filtered and sorted on, shown as a typed list, set by hand (validated,
audited), then an option removed and the field retired without touching stored values."""

from __future__ import annotations

import csv
import io

import pytest

from tests.gateway.conftest import audit_rows, eventually
from tests.gateway.test_imports import MAPPING, call, finished, uid, upload

DEFINE = """mutation($i: DefineCustomFieldInput!) { defineCustomField(input: $i) {
  definition { id key kind active options { value retired } default } errors { code message field } } }"""
UPDATE = """mutation($i: UpdateCustomFieldInput!) { updateCustomField(input: $i) {
  definition { id active options { value retired } } errors { code message field } } }"""
SET = """mutation($i: SetCustomFieldsInput!) { setCustomFields(input: $i) {
  contact { id version customFields { key value } } errors { code message field } } }"""
START = """mutation($i: StartImportInput!) { startImport(input: $i) { job { id } errors { code message } } }"""
LIST = """query($f: ContactFilter, $s: CustomFieldSort) { contacts(first: 100, filter: $f, sort: $s) { totalCount
  edges { node { id lastName customFields { key label kind value number boolean isDefault
  options { value label retired } } } } } }"""


def people(t: str, rows: list[tuple[str, str, str]]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Last name", "E-mail", "Tier", "Seats"])
    for i, (tier, seats, _) in enumerate(rows):
        w.writerow([f"Custom{i}", f"cf{i}.{t}@example.com", tier, seats])
    return out.getvalue()


def field(node: dict, key: str) -> dict | None:
    return next((f for f in node["customFields"] if f["key"] == key), None)


@pytest.mark.timeout(600)
async def test_custom_field_defined_imported_filtered_then_option_removed(crm, gw, as_role):
    t = uid()
    tier, seats, vip = f"tier_{t}", f"seats_{t}", f"vip_{t}"
    admin = crm.mint("admin", "test.admin")
    d = await call(
        gw,
        DEFINE,
        {
            "i": {
                "entity": "CONTACT",
                "key": tier,
                "label": "Tier",
                "kind": "SELECT",
                "options": [{"value": "gold", "label": "Gold"}, {"value": "silver"}, {"value": "bronze"}],
                "help": "Support tier",
            }
        },
        "defineCustomField",
    )
    assert d["definition"]["id"] == f"contact.{tier}"
    await call(
        gw, DEFINE, {"i": {"entity": "CONTACT", "key": seats, "label": "Seats", "kind": "NUMBER"}}, "defineCustomField"
    )
    await call(
        gw,
        DEFINE,
        {"i": {"entity": "CONTACT", "key": vip, "label": "VIP", "kind": "BOOLEAN", "default": "no"}},
        "defineCustomField",
    )
    # bad definitions: typed errors, nothing stored
    again = await gw.ok(DEFINE, {"i": {"entity": "CONTACT", "key": tier, "label": "x", "kind": "TEXT"}})
    assert again["defineCustomField"]["errors"][0]["code"] == "DUPLICATE"
    bad = await gw.ok(DEFINE, {"i": {"entity": "CONTACT", "key": "Bad Key", "label": "x", "kind": "TEXT"}})
    assert bad["defineCustomField"]["errors"][0]["code"] == "INVALID"
    bad = await gw.ok(DEFINE, {"i": {"entity": "DEAL", "key": f"m_{t}", "label": "x", "kind": "MONEY"}})
    assert bad["defineCustomField"]["errors"][0]["field"] == ["input", "currency"]
    # sales may not define fields
    sales = as_role("sales", f"sales.{t}")
    body = await sales.body(DEFINE, {"i": {"entity": "CONTACT", "key": f"x_{t}", "label": "x", "kind": "TEXT"}})
    assert body["data"]["defineCustomField"] is None

    # filled by an import: the mapping names the custom fields; a bad value fails its row only
    cols = [
        {"column": "Last name", "field": "last_name"},
        {"column": "E-mail", "field": "email"},
        {"column": "Tier", "field": f"custom.{tier}"},
        {"column": "Seats", "field": f"custom.{seats}"},
    ]
    m = await call(gw, MAPPING, {"i": {"name": f"CF {t}", "entity": "CONTACT", "columns": cols}}, "saveImportMapping")
    rows = [
        ("Gold", "12", ""),
        ("silver", "3", ""),
        ("gold", "40", ""),
        ("platinum", "1", ""),
        ("", "x", ""),
        ("bronze", "", ""),
    ]
    f = (await upload(crm, admin, people(t, rows))).json()
    job = (await call(gw, START, {"i": {"fileId": f["id"], "mappingId": m["mapping"]["id"]}}, "startImport"))["job"]
    j = await finished(gw, job["id"])
    assert (j["created"], j["failed"]) == (4, 2), j
    errors = {e["node"]["line"]: e["node"] for e in j["errors"]["edges"]}
    assert errors[5]["column"] == "Tier" and "platinum" in errors[5]["message"]
    assert errors[6]["column"] == "Seats"

    # filtered on, sorted by, shown typed
    gold = await gw.ok(LIST, {"f": {"customFields": [{"key": tier, "eq": "gold"}]}})
    assert gold["contacts"]["totalCount"] == 2
    node = gold["contacts"]["edges"][0]["node"]
    shown = field(node, tier)
    assert shown["value"] == "gold" and shown["options"] == [{"value": "gold", "label": "Gold", "retired": False}]
    assert field(node, vip)["boolean"] is False and field(node, vip)["isDefault"] is False  # filled at import
    big = await gw.ok(
        LIST, {"f": {"customFields": [{"key": seats, "gte": "10"}]}, "s": {"key": seats, "descending": True}}
    )
    assert [field(e["node"], seats)["number"] for e in big["contacts"]["edges"]] == [40, 12]
    bad = await gw.body(LIST, {"f": {"customFields": [{"key": seats, "gte": "many"}]}})
    assert bad["errors"] and bad["data"]["contacts"] is None
    unknown = await gw.body(LIST, {"f": {"customFields": [{"key": "nope", "eq": "1"}]}})
    assert unknown["errors"]

    # set by hand: validated, audited
    target = gold["contacts"]["edges"][0]["node"]["id"]
    refused = await gw.ok(SET, {"i": {"entity": "CONTACT", "id": target, "values": [{"key": seats, "value": "lots"}]}})
    assert refused["setCustomFields"]["errors"][0]["code"] == "INVALID"
    done = await call(
        gw,
        SET,
        {"i": {"entity": "CONTACT", "id": target, "values": [{"key": seats, "value": "41"}]}},
        "setCustomFields",
    )
    assert field(done["contact"], seats)["value"] == "41"

    async def audited():
        rows = await audit_rows(gw, target, first=5)
        changes = [r["changes"] for r in rows if r["action"].lower() == "updated"]
        assert any("custom" in c for c in changes), rows
        return changes

    await eventually(audited, timeout=60)

    # the option removed: stored values keep it (shown as retired, still filterable); new writes refuse it
    r = await call(
        gw, UPDATE, {"i": {"entity": "CONTACT", "key": tier, "removeOptions": ["gold"]}}, "updateCustomField"
    )
    assert {o["value"]: o["retired"] for o in r["definition"]["options"]} == {
        "gold": True,
        "silver": False,
        "bronze": False,
    }
    gold = await gw.ok(LIST, {"f": {"customFields": [{"key": tier, "eq": "gold"}]}})
    assert gold["contacts"]["totalCount"] == 2
    assert field(gold["contacts"]["edges"][0]["node"], tier)["options"][0]["retired"] is True
    other = [
        e["node"]["id"]
        for e in (await gw.ok(LIST, {"f": {"customFields": [{"key": tier, "eq": "silver"}]}}))["contacts"]["edges"]
    ]
    refused = await gw.ok(SET, {"i": {"entity": "CONTACT", "id": other[0], "values": [{"key": tier, "value": "gold"}]}})
    assert refused["setCustomFields"]["errors"][0]["code"] == "INVALID"

    # the field retired: hidden, values kept; restored: back as they were
    await call(gw, UPDATE, {"i": {"entity": "CONTACT", "key": seats, "active": False}}, "updateCustomField")
    hidden = await gw.ok(LIST, {"f": {"customFields": [{"key": tier, "eq": "gold"}]}})
    assert all(field(e["node"], seats) is None for e in hidden["contacts"]["edges"])
    assert await crm.services["contacts"].store.count("contacts", {f"custom.{seats}": 41}) == 1
    await call(gw, UPDATE, {"i": {"entity": "CONTACT", "key": seats, "active": True}}, "updateCustomField")
    back = await gw.ok(LIST, {"f": {"customFields": [{"key": seats, "eq": "41"}]}})
    assert back["contacts"]["totalCount"] == 1

    # a partner sees no other tenant's values; a customer gets no custom fields
    partner_company = next(v for k, v in crm.ids.items() if k.endswith("_client"))
    partner = as_role("partner", f"p.{t}", company=partner_company)
    seen = await partner.ok(LIST, {"f": {"customFields": [{"key": tier, "isSet": True}]}})
    assert seen["contacts"]["totalCount"] == 0
    body = await partner.body(SET, {"i": {"entity": "CONTACT", "id": target, "values": [{"key": seats, "value": "1"}]}})
    assert body["data"]["setCustomFields"] is None


@pytest.mark.timeout(600)
async def test_deal_and_ticket_custom_fields_from_contacts_definitions(crm, gw, as_role):
    """Definitions live in contacts and reach deals and support by events; each service validates,
    stores, filters and shows the values of its own records."""
    t = uid()
    phase, budget, sev = f"phase_{t}", f"budget_{t}", f"sev_{t}"
    opts = [{"value": "concept"}, {"value": "permits"}, {"value": "build"}]
    await call(
        gw,
        DEFINE,
        {"i": {"entity": "DEAL", "key": phase, "label": "Phase", "kind": "SELECT", "options": opts}},
        "defineCustomField",
    )
    await call(
        gw,
        DEFINE,
        {"i": {"entity": "DEAL", "key": budget, "label": "Budget", "kind": "MONEY", "currency": "EUR"}},
        "defineCustomField",
    )
    await call(
        gw, DEFINE, {"i": {"entity": "TICKET", "key": sev, "label": "Severity", "kind": "NUMBER"}}, "defineCustomField"
    )
    set_deal = """mutation($i: SetDealCustomFieldsInput!) { setDealCustomFields(input: $i) {
      deal { id customFields { key value money { amount currency } } } errors { code message } } }"""
    deal = crm.ids["hq"]

    async def set_it():
        return await call(
            gw,
            set_deal,
            {"i": {"id": deal, "values": [{"key": phase, "value": "permits"}, {"key": budget, "value": "1250.5"}]}},
            "setDealCustomFields",
        )

    done = await eventually(set_it, timeout=60)  # once deals has the definitions from contacts' events
    got = {f["key"]: f for f in done["deal"]["customFields"]}
    assert got[phase]["value"] == "permits" and got[budget]["money"] == {"amount": "1250.50", "currency": "EUR"}
    bad = await gw.ok(set_deal, {"i": {"id": deal, "values": [{"key": phase, "value": "demolition"}]}})
    assert bad["setDealCustomFields"]["errors"][0]["code"] == "INVALID"
    listed = await gw.ok(
        "query($f: DealFilter) { deals(first: 10, filter: $f) { totalCount edges { node { id } } } }",
        {"f": {"customFields": [{"key": phase, "eq": "permits"}]}},
    )
    assert [e["node"]["id"] for e in listed["deals"]["edges"]] == [deal]
    # an option removed in contacts: the deal keeps its value, shown as retired, once the event arrived
    await call(gw, UPDATE, {"i": {"entity": "DEAL", "key": phase, "removeOptions": ["permits"]}}, "updateCustomField")

    async def retired():
        d = await gw.ok(
            "query($id: ID!) { deal(id: $id) { customFields { key value options { retired } } } }", {"id": deal}
        )
        f = next(x for x in d["deal"]["customFields"] if x["key"] == phase)
        assert f["value"] == "permits" and f["options"] == [{"retired": True}], f
        return f

    await eventually(retired, timeout=60)

    ticket = crm.ids["bim"]
    set_ticket = """mutation($i: SetTicketCustomFieldsInput!) { setTicketCustomFields(input: $i) {
      ticket { id customFields { key value number } } errors { code message } } }"""

    async def set_sev():
        return await call(
            gw, set_ticket, {"i": {"id": ticket, "values": [{"key": sev, "value": "3"}]}}, "setTicketCustomFields"
        )

    done = await eventually(set_sev, timeout=60)
    assert next(f for f in done["ticket"]["customFields"] if f["key"] == sev)["number"] == 3
    listed = await gw.ok(
        "query($f: TicketFilter) { tickets(first: 10, filter: $f) { totalCount } }",
        {"f": {"customFields": [{"key": sev, "gte": "2"}]}},
    )
    assert listed["tickets"]["totalCount"] == 1
    # a customer may not set them, a salesperson may not set a ticket's
    customer_company = crm.ids.get("nordhaven")
    body = await as_role("customer", f"c.{t}", company=customer_company).body(
        set_ticket, {"i": {"id": ticket, "values": [{"key": sev, "value": "1"}]}}
    )
    assert body["data"]["setTicketCustomFields"] is None
    body = await as_role("sales", f"s.{t}").body(
        set_ticket, {"i": {"id": ticket, "values": [{"key": sev, "value": "1"}]}}
    )
    assert body["data"]["setTicketCustomFields"] is None


CREATE_CONTACT = "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } errors { code } } }"


async def test_multiselect_options_of_any_text_are_stored_and_filtered(crm, gw):
    """Option values are free text ("Gold Plus", "v1.2", "$where"): stored under safe keys on
    both stores, shown as given, and a filter on any of them finds exactly the records that have it."""
    t = uid()
    key = f"tags_{t}"
    options = ["Gold Plus", "v1.2", "$where", "1st"]
    await call(
        gw,
        DEFINE,
        {"i": {"entity": "CONTACT", "key": key, "label": "Tags", "kind": "MULTISELECT",
               "options": [{"value": o} for o in options]}},
        "defineCustomField",
    )  # fmt: skip
    ids = []
    for n, chosen in enumerate(["Gold Plus;v1.2", "$where", "1st;gold plus", ""]):
        c = await call(gw, CREATE_CONTACT, {"i": {"firstName": "Ada", "lastName": f"Tagged{n} {t}"}}, "createContact")
        ids.append(c["contact"]["id"])
        if chosen:
            values = [{"key": key, "value": chosen}]
            done = await call(gw, SET, {"i": {"entity": "CONTACT", "id": ids[-1], "values": values}}, "setCustomFields")
            assert field(done["contact"], key)["value"] == ";".join(
                o for o in options if o.casefold() in chosen.casefold().split(";")
            )

    async def having(*wanted: str) -> set[str]:
        data = await gw.ok(LIST, {"f": {"customFields": [{"key": key, "anyOf": list(wanted)}]}})
        return {e["node"]["id"] for e in data["contacts"]["edges"]}

    assert await having("gold plus") == {ids[0], ids[2]}
    assert await having("V1.2") == {ids[0]}
    assert await having("$where") == {ids[1]}
    assert await having("1st", "$where") == {ids[1], ids[2]}
    bad = await gw.body(LIST, {"f": {"customFields": [{"key": key, "anyOf": ["platinum"]}]}})
    assert bad["errors"] and bad["data"]["contacts"] is None
