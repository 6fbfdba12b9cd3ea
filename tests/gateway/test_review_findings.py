"""Regression tests for the outside attack review's findings at the subgraphs (the gateway's own
are in test_gateway_hardening.py). Each reproduces the finding as it was reported — through the
real gateway, or straight at a subgraph with a valid token — and checks what it must become."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest

from devtools.hostile import fragment_bomb
from tests.gateway.conftest import codes, settings_of

SERVICES = ("contacts", "deals", "marketing", "support")


async def direct(
    crm,
    service: str,
    token: str | None,
    body: dict | bytes,
    headers: dict | None = None,
    method: str = "POST",
    params: dict | None = None,
    timeout: float = 30,
) -> httpx.Response:
    h = {"content-type": "application/json", **(headers or {})}
    if token:
        h["authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(timeout=timeout) as c:
        if method == "GET":
            return await c.get(crm.service_url(service), params=params, headers=h)
        data = body if isinstance(body, bytes) else None
        return await c.post(crm.service_url(service), json=None if data else body, content=data, headers=h)


# ---- 1. nested fragments ------------------------------------------------------------------------
async def test_a_fragment_bomb_is_refused_at_every_subgraph_while_others_are_served(crm):
    token = crm.mint("partner", "tom@kestrel", company=crm.ids["kestrel"])
    admin = crm.mint("admin", "ops")
    for service in SERVICES:
        t0 = time.perf_counter()
        r, other = await asyncio.gather(
            direct(crm, service, token, {"query": fragment_bomb(13)}),
            direct(crm, service, admin, {"query": "{ __typename }"}),
        )
        elapsed = time.perf_counter() - t0
        print(f"4^13 fragment document refused by {service} in {elapsed * 1000:.1f} ms")
        assert r.status_code == 200 and codes(r.json()) == ["GRAPHQL_VALIDATION_FAILED"], r.text[:300]
        assert "expanding fragments" in r.json()["errors"][0]["message"] and not r.json().get("data")
        assert other.json() == {"data": {"__typename": "Query"}}


# ---- 2. a cost cap, a body limit and a timeout at every subgraph --------------------------------
async def test_subgraphs_estimate_cost_and_limit_body_and_time(crm):
    ids, token = crm.ids, crm.mint("partner", "tom@kestrel", company=crm.ids["kestrel"])
    level = "contacts(first: 100) { edges { node { name company { %s } } } }"
    deep = "query($id: ID!) { company(id: $id) { " + level % (level % (level % "name")) + " } }"
    r = await direct(crm, "contacts", token, {"query": deep, "variables": {"id": ids["kestrel"]}})
    assert codes(r.json()) == ["COST_ESTIMATED_TOO_EXPENSIVE"] and not r.json().get("data"), r.text[:300]

    big = {"query": "{ __typename }", "variables": {"pad": "x" * (2 * 1024 * 1024)}}
    r = await direct(crm, "contacts", token, big)
    assert r.status_code == 413 and codes(r.json()) == ["PAYLOAD_TOO_LARGE"]

    with settings_of(crm, ["deals"], request_timeout=0.000001):
        r = await direct(crm, "deals", token, {"query": "{ pipelines { id } }"})
    assert r.status_code == 503 and codes(r.json()) == ["TIMEOUT"]
    r = await direct(crm, "deals", token, {"query": "{ pipelines { id } }"})
    assert r.status_code == 200 and r.json()["data"]["pipelines"]


# ---- 3. dates and times in range, stored sortable, never breaking a read ------------------------
LOG = (
    "mutation($i: LogInteractionInput!) { logInteraction(input: $i) { interaction { id occurredAt } "
    "errors { code field message } } }"
)
TIMELINE = "query($id: ID!) { company(id: $id) { timeline(first: 50) { totalCount edges { node { occurredAt } } } } }"


async def test_dates_and_times_are_validated_to_a_range_and_never_break_a_read(crm, gw, as_role):
    company = crm.ids["harbour"]
    before = (await gw.ok(TIMELINE, {"id": company}))["company"]["timeline"]["totalCount"]
    for bad in ("0005-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "1899-12-31T23:59:59Z", "3000-01-01T00:00:00Z"):
        d = await gw.ok(LOG, {"i": {"kind": "NOTE", "title": "x", "companyId": company, "occurredAt": bad}})
        (err,) = d["logInteraction"]["errors"]
        assert err["code"] == "INVALID" and err["field"] == ["input", "occurredAt"] and "1900" in err["message"], bad
    assert (await gw.ok(TIMELINE, {"id": company}))["company"]["timeline"]["totalCount"] == before  # nothing stored

    extremes = ["1900-01-01T00:00:00Z", "2999-12-31T23:59:59.999999Z", "2999-12-31T23:30:00+01:00"]
    for at in extremes:
        d = await gw.ok(LOG, {"i": {"kind": "NOTE", "title": "edge", "companyId": company, "occurredAt": at}})
        assert not d["logInteraction"]["errors"], d
    # the extremes are stored fixed-width and sort: newest and oldest read back for every role that may
    for role in ("admin", "sales", "marketing", "support"):
        rows = (await as_role(role).ok(TIMELINE, {"id": company}))["company"]["timeline"]["edges"]
        stamps = [e["node"]["occurredAt"] for e in rows]
        assert stamps == sorted(stamps, reverse=True)
        assert stamps[0].startswith("2999-12-31") and stamps[-1].startswith("1900-01-01"), stamps

    rr = "mutation($i: RecordResponseInput!) { recordResponse(input: $i) { errors { code field message } } }"
    d = await gw.ok(
        rr,
        {"i": {"campaignId": crm.ids["webinar"], "contactId": crm.ids["lena"], "respondedAt": "0005-01-01T00:00:00Z"}},
    )
    assert d["recordResponse"]["errors"][0]["field"] == ["input", "respondedAt"]
    assert "future" not in d["recordResponse"]["errors"][0]["message"]

    cc = "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { campaign { id startsOn endsOn } errors { code field } } }"
    d = await gw.ok(cc, {"i": {"name": "x", "channel": "EMAIL", "currency": "EUR", "startsOn": "0005-01-01"}})
    assert d["createCampaign"]["errors"][0]["field"] == ["input", "startsOn"]
    d = await gw.ok(
        cc,
        {
            "i": {
                "name": "Long",
                "channel": "EMAIL",
                "currency": "EUR",
                "startsOn": "1900-01-01",
                "endsOn": "2999-12-31",
            }
        },
    )
    assert d["createCampaign"]["campaign"]["startsOn"] == "1900-01-01"
    listed = await gw.ok("{ campaigns(first: 100) { edges { node { startsOn endsOn } } } }")
    assert {"startsOn": "1900-01-01", "endsOn": "2999-12-31"} in [e["node"] for e in listed["campaigns"]["edges"]]


# ---- 4. and 5. the own-book scope is checked first, for conflicts and duplicates ---------------
UPDATE_COMPANY = (
    'mutation($id: ID!) { updateCompany(input: {id: $id, expectedVersion: 999, city: "x"}) '
    "{ errors { code message field } } }"
)


async def test_own_book_scope_is_checked_before_the_version_and_the_duplicate(crm, as_role):
    with settings_of(crm, list(SERVICES), sales_own_book=True):
        bob = as_role("sales", "sales.bob")
        foreign = (await bob.ok(UPDATE_COMPANY, {"id": crm.ids["harbour"]}))["updateCompany"]["errors"]
        made_up = (await bob.ok(UPDATE_COMPANY, {"id": "01JNOSUCHCOMPANY000000000"}))["updateCompany"]["errors"]
        assert [e["code"] for e in foreign] == [e["code"] for e in made_up] == ["NOT_FOUND"]
        assert foreign[0]["message"] == made_up[0]["message"].replace("01JNOSUCHCOMPANY000000000", crm.ids["harbour"])
        assert "companie " not in made_up[0]["message"]

        cc = "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id owner } errors { code } } }"
        d = await bob.ok(cc, {"i": {"firstName": "Lena", "lastName": "V", "email": "lena.vogel@harbour.example"}})
        assert d["createContact"]["errors"] == [] and d["createContact"]["contact"]["owner"] == "sales.bob"


# ---- 6. GET on a subgraph --------------------------------------------------------------------------
async def test_get_on_a_subgraph_never_crashes(crm, caplog):
    for service in SERVICES:
        for headers, params in (({"accept": "application/json"}, {"variables": "{}"}), ({}, {"variables": "{}"})):
            r = await direct(crm, service, None, {}, headers=headers, method="GET", params=params)
            assert r.status_code == 401 and codes(r.json()) == ["UNAUTHENTICATED"], (service, r.status_code, r.text)
        with settings_of(crm, [service], env="production"):
            r = await direct(crm, service, None, {}, headers={"accept": "text/html"}, method="GET")
            assert r.status_code == 401, (service, r.text)  # no GraphiQL outside development
    assert "Traceback" not in caplog.text and "KeyError" not in caplog.text


# ---- 7. no suggestions outside development -----------------------------------------------------
async def test_subgraphs_make_no_suggestions_in_production(crm):
    token = crm.mint("partner", "tom@kestrel", company=crm.ids["kestrel"])
    documents = {
        "contacts": ("{ compnies { totalCount } }", None),
        "deals": ("query($s: DealStatus) { deals(filter: {status: $s}) { totalCount } }", {"s": "WONN"}),
        "support": ("{ tickets(filter: {status: OPN}) { totalCount } }", None),
    }
    for service, (query, variables) in documents.items():
        r = await direct(crm, service, token, {"query": query, "variables": variables or {}})
        assert "Did you mean" in r.text, (service, r.text)  # development keeps them
        with settings_of(crm, [service], env="production"):
            r = await direct(crm, service, token, {"query": query, "variables": variables or {}})
        assert r.json().get("errors") and "Did you mean" not in r.text, (service, r.text)


# ---- 10. bad references and text that is not text get typed errors, no traceback ---------------
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"


@pytest.mark.parametrize(
    "service, rep",
    [
        ("contacts", {"__typename": "Company", "id": "x", "extra": 1}),
        ("contacts", {"__typename": "Company"}),
        ("contacts", {"__typename": "Company", "id": 5}),
        ("deals", {"__typename": "Pipeline", "id": "turnkey-design-project"}),
        ("deals", {"__typename": "Query", "id": "x"}),
        ("support", {"__typename": "NoSuchType", "id": "x"}),
    ],
)
async def test_bad_entity_representations_are_typed_errors(crm, caplog, service, rep):
    caplog.set_level(logging.ERROR)
    r = await direct(crm, service, crm.mint("admin", "ops"), {"query": ENTITIES, "variables": {"r": [rep]}})
    assert r.status_code == 200 and codes(r.json()) == ["BAD_USER_INPUT"], r.text
    assert "representations[0]" in r.json()["errors"][0]["message"]
    assert "resolver failed" not in caplog.text and "Traceback" not in caplog.text


async def test_a_lone_surrogate_is_refused_with_a_typed_error(crm, caplog):
    caplog.set_level(logging.ERROR)
    body = b'{"query": "query($n: String) { companies(filter: {name: $n}) { totalCount } }", "variables": {"n": "a\\ud800"}}'
    r = await direct(crm, "contacts", crm.mint("admin", "ops"), body)
    assert r.status_code == 400 and codes(r.json()) == ["BAD_USER_INPUT"], r.text
    assert "Traceback" not in caplog.text and "resolver failed" not in caplog.text


# ---- 11. hostile text --------------------------------------------------------------------------
CREATE_COMPANY = (
    "mutation($i: CreateCompanyInput!) { createCompany(input: $i) { company { id name } errors { code field } } }"
)


async def test_hostile_text_is_refused_and_names_are_normalised(gw):
    total = (await gw.ok("{ companies { totalCount } }"))["companies"]["totalCount"]
    for name in ("Acme\x00", "Acme\x1b[31m", "Acme\u202e", "Ac\u200bme", "Ac\ufeffme"):
        d = await gw.ok(CREATE_COMPANY, {"i": {"name": name}})
        assert d["createCompany"]["errors"] == [{"code": "INVALID", "field": ["input", "name"]}], repr(name)
    assert (await gw.ok("{ companies { totalCount } }"))["companies"]["totalCount"] == total
    d = await gw.ok(CREATE_COMPANY, {"i": {"name": "Cafe\u0301 Design"}})
    assert d["createCompany"]["company"]["name"] == "Caf\u00e9 Design"  # NFC

    cc = "mutation($i: CreateContactInput!) { createContact(input: $i) { errors { code field } } }"
    for email in ("ada@", "ada@exa mple.org", "ad\u202ea@example.org", "ada@@example.org"):
        d = await gw.ok(cc, {"i": {"firstName": "Ada", "lastName": "L", "email": email}})
        assert d["createContact"]["errors"][0]["code"] == "INVALID", email
    camp = "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { errors { code field } } }"
    d = await gw.ok(camp, {"i": {"name": "x", "channel": "EMAIL", "currency": "ÄÖÜ"}})
    assert d["createCampaign"]["errors"] == [{"code": "INVALID", "field": ["input", "currency"]}]
    d = await gw.ok(camp, {"i": {"name": "x", "channel": "EMAIL", "currency": "XYZ"}})
    assert d["createCampaign"]["errors"] == [{"code": "INVALID", "field": ["input", "currency"]}]


# ---- 12. out-of-scope records nested in visible ones are null, not errors ----------------------
async def test_own_book_sales_see_null_for_clients_outside_the_book(crm, as_role):
    with settings_of(crm, list(SERVICES), sales_own_book=True):
        bob = as_role("sales", "sales.bob")
        body = await bob.body("{ tickets(first: 5) { edges { node { subject company { name } contact { name } } } } }")
        assert not body.get("errors"), body
        nodes = [e["node"] for e in body["data"]["tickets"]["edges"]]
        assert nodes and all(n["company"] is None and n["contact"] is None for n in nodes)
        body = await bob.body(
            "{ campaigns(first: 5) { edges { node { members(first: 10) { edges { node { contact { name } } } } } } } }"
        )
        assert not body.get("errors"), body
        anna = as_role("sales", "sales.anna")  # her demo clients' tickets (the newest tickets may be other tests')
        body = await anna.body(
            "query($c: ID!) { tickets(first: 5, filter: {companyId: $c}) { edges { node { company { name } } } } }",
            {"c": crm.ids["nordhaven"]},
        )
        assert not body.get("errors") and any(e["node"]["company"] for e in body["data"]["tickets"]["edges"]), body


# ---- the large generated run found these: bad arguments of queries are typed errors ------------
async def test_bad_query_arguments_are_typed_errors_not_internal_ones(crm, gw, caplog):
    caplog.set_level(logging.ERROR)
    for query in (
        '{ forecast(currency: "") { total { amount } weightedTotal { amount } } }',
        '{ forecast(currency: "ÄÖÜ") { total { amount } } }',
        '{ auditLog(filter: {since: "0005-01-01T00:00:00Z"}) { totalCount } }',
        'query($id: ID!) { company(id: $id) { timeline(filter: {since: "3000-01-01T00:00:00Z"}) { totalCount } } }',
    ):
        body = await gw.body(query, {"id": crm.ids["nordhaven"]} if "$id" in query else None)
        assert codes(body) == ["BAD_USER_INPUT"], (query, body)
    assert "resolver failed" not in caplog.text
