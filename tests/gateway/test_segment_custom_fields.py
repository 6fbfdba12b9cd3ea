"""Dynamic segments over contact custom fields through the real gateway, on both legs
(docs/marketing.md, CUSTOM_FIELD): an admin defines fields on contacts, values are set on a few
contacts, a segment "budget >= 50000 and sector in (Public, Retail)" is previewed and saved, a
contact whose value changes leaves it (and another enters) without a rebuild, an erased person
leaves it, and bad rules are typed errors that save nothing."""

from __future__ import annotations

import uuid

from tests.gateway.conftest import eventually

DEFINE = """mutation($i: DefineCustomFieldInput!) { defineCustomField(input: $i) {
  definition { id } errors { code message field } } }"""
SET = """mutation($i: SetCustomFieldsInput!) { setCustomFields(input: $i) {
  contact { id version } errors { code message field } } }"""
NEW_CONTACT = (
    "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } errors { code message } } }"
)
NEW_SEGMENT = """mutation($i: CreateSegmentInput!) { createSegment(input: $i) {
  segment { id memberCount conditions { field op values customField } } errors { code message field } } }"""
PREVIEW = "query($d: SegmentDefinitionInput!) { segmentPreview(definition: $d) { count sample { id } } }"
SEGMENT = """query($id: ID!) { segment(id: $id) { memberCount conditions { field customField }
  members(first: 100) { edges { node { contact { id } } } } } }"""
COUNT = "{ segments(first: 1) { totalCount } }"
ERASE = "mutation($i: ErasePersonInput!) { erasePerson(input: $i) { contact { id } errors { code message } } }"
EXPORT = "query($id: ID!) { exportPersonData(contactId: $id) { marketing } }"


async def call(gw, query: str, variables: dict, key: str) -> dict:
    d = (await gw.ok(query, variables))[key]
    assert not d["errors"], d["errors"]
    return d


async def test_a_segment_over_custom_fields_follows_value_changes_without_rebuild(gw, as_role):
    t = uuid.uuid4().hex[:8]
    budget, sector, owner = f"budget_{t}", f"sector_{t}", f"segcf.{t}"
    await call(
        gw,
        DEFINE,
        {"i": {"entity": "CONTACT", "key": budget, "label": "Budget", "kind": "NUMBER"}},
        "defineCustomField",
    )
    options = [{"value": "Public"}, {"value": "Retail"}, {"value": "Energy"}]
    await call(
        gw,
        DEFINE,
        {"i": {"entity": "CONTACT", "key": sector, "label": "Sector", "kind": "SELECT", "options": options}},
        "defineCustomField",
    )

    async def person(name: str, values: dict[str, str]) -> str:
        i = {"firstName": name, "lastName": owner, "owner": owner}
        cid = (await call(gw, NEW_CONTACT, {"i": i}, "createContact"))["contact"]["id"]
        if values:
            vals = [{"key": k, "value": v} for k, v in values.items()]
            await call(gw, SET, {"i": {"entity": "CONTACT", "id": cid, "values": vals}}, "setCustomFields")
        return cid

    a = await person("Ada", {budget: "80000", sector: "public"})  # in
    b = await person("Bo", {budget: "50000", sector: "Retail"})  # in: the bound is included
    c = await person("Cy", {budget: "90000", sector: "Energy"})  # out: sector
    d = await person("Di", {budget: "20000", sector: "Public"})  # out: budget
    await person("Ed", {})  # out: no values

    def rule(*conds: dict) -> dict:
        return {"conditions": [{"field": "OWNER", "op": "IN", "values": [owner]}, *conds]}

    definition = rule(
        {"field": "CUSTOM_FIELD", "customField": budget, "op": "GTE", "values": ["50000"]},
        {"field": "CUSTOM_FIELD", "customField": sector, "op": "IN", "values": ["Public", "retail"]},
    )

    async def previewed():  # marketing knows the definitions and the values once their events arrived
        p = (await gw.ok(PREVIEW, {"d": definition}))["segmentPreview"]
        assert p["count"] == 2 and {s["id"] for s in p["sample"]} == {a, b}, p

    await eventually(previewed, timeout=120)

    # bad rules: typed errors, nothing saved
    before = (await gw.ok(COUNT))["segments"]["totalCount"]
    for bad, code in [
        ({"field": "CUSTOM_FIELD", "customField": sector, "op": "GT", "values": ["Public"]}, "INVALID"),
        ({"field": "CUSTOM_FIELD", "customField": budget, "op": "GTE", "values": ["lots"]}, "INVALID"),
        ({"field": "CUSTOM_FIELD", "customField": budget, "op": "BETWEEN", "values": ["9"]}, "INVALID"),
        ({"field": "CUSTOM_FIELD", "customField": sector, "op": "IN", "values": ["Mining"]}, "INVALID"),
        ({"field": "CUSTOM_FIELD", "customField": f"nope_{t}", "op": "IS_SET"}, "UNKNOWN_REFERENCE"),
        ({"field": "CUSTOM_FIELD", "op": "IS_SET"}, "INVALID"),
    ]:
        got = (await gw.ok(NEW_SEGMENT, {"i": {"name": f"bad {t}", "definition": rule(bad)}}))["createSegment"]
        assert got["segment"] is None and [e["code"] for e in got["errors"]] == [code], (bad, got)
        assert got["errors"][0]["field"][:4] == ["input", "definition", "conditions", "1"], got
        body = await gw.body(PREVIEW, {"d": rule(bad)})
        assert body["data"]["segmentPreview"] is None and body["errors"], body
    assert (await gw.ok(COUNT))["segments"]["totalCount"] == before

    seg = (await call(gw, NEW_SEGMENT, {"i": {"name": f"Budget {t}", "definition": definition}}, "createSegment"))[
        "segment"
    ]
    assert seg["memberCount"] == 2
    assert seg["conditions"][1:] == [
        {"field": "CUSTOM_FIELD", "op": "GTE", "values": ["50000"], "customField": budget},
        {"field": "CUSTOM_FIELD", "op": "IN", "values": ["Public", "Retail"], "customField": sector},
    ]

    async def members_are(want: set[str]):
        async def check():
            s = (await gw.ok(SEGMENT, {"id": seg["id"]}))["segment"]
            got = {e["node"]["contact"]["id"] for e in s["members"]["edges"]}
            assert got == want and s["memberCount"] == len(want), (got, want)

        await eventually(check, timeout=60)

    await members_are({a, b})

    # a value changes: Ada leaves, Di enters, Cy's sector moves in — no rebuild, only events
    await call(
        gw, SET, {"i": {"entity": "CONTACT", "id": a, "values": [{"key": budget, "value": "10000"}]}}, "setCustomFields"
    )
    await members_are({b})
    await call(
        gw, SET, {"i": {"entity": "CONTACT", "id": d, "values": [{"key": budget, "value": "60000"}]}}, "setCustomFields"
    )
    await call(
        gw,
        SET,
        {"i": {"entity": "CONTACT", "id": c, "values": [{"key": sector, "value": "Retail"}]}},
        "setCustomFields",
    )
    await members_are({b, c, d})
    await call(
        gw, SET, {"i": {"entity": "CONTACT", "id": c, "values": [{"key": budget, "value": None}]}}, "setCustomFields"
    )
    await members_are({b, d})

    # staff read the rule, partners nothing of it
    sales = await as_role("sales", f"sales.{t}").ok(SEGMENT, {"id": seg["id"]})
    assert [x["customField"] for x in sales["segment"]["conditions"]] == [None, budget, sector]
    partner = await as_role("partner", f"p.{t}", company=f"co-{t}").body(SEGMENT, {"id": seg["id"]})
    assert partner["data"]["segment"] is None

    # an erased person leaves, and marketing's profile keeps none of the values
    await call(gw, ERASE, {"i": {"contactId": d}}, "erasePerson")
    await members_are({b})

    async def forgotten():
        profile = (await gw.ok(EXPORT, {"id": d}))["exportPersonData"]["marketing"]["profile"]
        assert not profile.get("custom"), profile

    await eventually(forgotten, timeout=60)
