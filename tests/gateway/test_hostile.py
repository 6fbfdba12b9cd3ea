"""Hostile requests against the real gateway (and subgraphs reached directly): no token, limits
on depth, aliases, tokens, cost, batches, body size and page size; introspection and persisted
documents outside development; rate limits per identity; concurrent identical requests of two
partners. Every refusal is a clear GraphQL error, never a 5xx, and changes nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json

import httpx
import pytest

from devtools.stack import GATEWAY_DIR, free_port, kill_gateway
from tests.gateway.conftest import Client, codes


async def test_gateway_refuses_requests_without_a_valid_token(crm):
    async with httpx.AsyncClient(timeout=10) as c:
        for headers in (
            {},
            {"authorization": "Bearer nope"},
            {"x-role": "admin"},
            {"authorization": "Bearer " + crm.mint("admin", "x", ttl="-1m")},
        ):
            r = await c.post(crm.gateway_url, json={"query": "{ companies { totalCount } }"}, headers=headers)
            assert r.status_code == 401, (headers, r.text)
            body = r.json()
            assert codes(body) == ["UNAUTHENTICATED"] and body.get("data") is None, body
        # the development IDE page itself carries no data and needs no token
        r = await c.get(crm.gateway_url, headers={"accept": "text/html"})
        assert r.status_code == 200 and "<html" in r.text.lower()


def nested(depth: int) -> str:
    q = "id"
    for _ in range(depth):
        q = f"company {{ contacts(first: 1) {{ edges {{ node {{ {q} }} }} }} }}"
    return "{ contacts(first: 1) { edges { node { " + q + " } } } }"


async def test_document_limits(gw):
    cases = {
        "depth": nested(6),
        "aliases": "{ " + " ".join(f"a{i}: me {{ role }}" for i in range(31)) + " }",
        "directives": "{ me { role " + " ".join(["@include(if: true)"] * 21) + " } }",
        "tokens": "{ me { " + " ".join(["role"] * 2100) + " } }",
        "cost": "{ companies(first: 100) { edges { node { contacts(first: 100) { edges { node { deals(first: 100) "
        "{ edges { node { id } } } } } } } } } }",
    }
    for name, query in cases.items():
        r = await gw.raw(query)
        assert r.status_code < 500, (name, r.text)
        body = r.json()
        assert body.get("errors") and not body.get("data"), (name, body)
        assert "stack" not in json.dumps(body).lower(), (name, body)
    # a normal page with nested fields is well inside the limits
    await gw.ok(
        "{ companies(first: 100) { edges { node { name contacts(first: 10) { edges { node { name "
        "deals(first: 10) { totalCount } } } } } } } }"
    )


async def test_page_size_batches_and_body_size(gw):
    body = await gw.body("{ companies(first: 1000) { totalCount } }")
    assert body["data"]["companies"] is None and "between 0 and 100" in body["errors"][0]["message"]
    r = await gw.http.post(gw.url, json=[{"query": "{ me { role } }"}] * 2)
    assert r.status_code == 400 and "Batching" in r.text
    big = "{ me { role } }" + " " * 200_000
    r = await gw.http.post(gw.url, json={"query": big})
    assert r.status_code == 413


async def test_subgraphs_have_their_own_limits(crm):
    """Reached directly with a valid token, a subgraph still refuses what the gateway would."""
    token = crm.mint("admin", "x")
    async with httpx.AsyncClient(timeout=10, headers={"authorization": f"Bearer {token}"}) as c:
        for query in (
            nested(8),
            "{ " + " ".join(f"a{i}: me {{ role }}" for i in range(61)) + " }",
            "{ me { " + " ".join(["role"] * 5100) + " } }",
        ):
            r = await c.post(crm.service_url("contacts"), json={"query": query})
            assert r.status_code < 500 and r.json().get("errors") and not r.json().get("data"), r.text[:300]


@pytest.fixture
async def production_gateways(crm):
    """Two more gateways over the same subgraphs, configured as in production with low rate
    limits: the default (portal roles run persisted documents only) and one that lets portal
    roles send their own documents (so that the introspection rule itself is seen)."""
    prod = {
        "TURNKEY_ENV": "production",
        "TURNKEY_RATE_LIMIT": "40",
        "TURNKEY_PORTAL_RATE_LIMIT": "8",
        "TURNKEY_RATE_WINDOW_SECONDS": "60",
    }
    started = []
    try:
        for extra in ({}, {"TURNKEY_PORTAL_PERSISTED_ONLY": "false"}):
            port = free_port()
            started.append(await crm.spawn_gateway(port, {**prod, **extra}))
            started[-1] += (f"http://{crm.host}:{port}/graphql",)
        yield [url for _, _, url in started]
    finally:
        for proc, log, _ in started:
            await kill_gateway(proc, log)


INTROSPECT = "{ __schema { queryType { name } } }"


async def test_production_introspection_persisted_documents_and_rate_limits(crm, production_gateways):
    ids = crm.ids
    url, open_url = production_gateways
    staff = Client(url, crm.mint("support", "sam.prod"))
    partner = Client(url, crm.mint("partner", "tom.prod", company=ids["kestrel"]))
    customer = Client(url, crm.mint("customer", "mats.prod", company=ids["nordhaven"], contact=ids["mats"]))
    other = Client(url, crm.mint("customer", "ingrid.prod", company=ids["nordhaven"], contact=ids["ingrid"]))
    try:
        # introspection: staff yes, portal roles no
        assert (await staff.ok(INTROSPECT))["__schema"]["queryType"]["name"] == "Query"
        r = await partner.raw(INTROSPECT)
        assert r.status_code == 403 and codes(r.json()) == ["PERSISTED_QUERY_ONLY"]
        async with httpx.AsyncClient(headers={"authorization": f"Bearer {partner.token}"}) as p2:
            body = (await p2.post(open_url, json={"query": INTROSPECT})).json()
            assert not body.get("data") and "introspection" in body["errors"][0]["message"].lower(), body
            body = (await p2.post(open_url, json={"query": '{ __type(name: "Deal") { name } }'})).json()
            assert not body.get("data") and "introspection" in body["errors"][0]["message"].lower(), body
            assert (await p2.post(open_url, json={"query": "{ me { role } }"})).json() == {
                "data": {"me": {"role": "partner"}}
            }
        # no "did you mean" outside development
        body = (await staff.raw("{ companys { totalCount } }")).json()
        assert body["errors"] and "Did you mean" not in body["errors"][0]["message"]
        # portal roles run persisted documents only
        r = await customer.raw("{ tickets { totalCount } }")
        assert r.status_code == 403 and codes(r.json()) == ["PERSISTED_QUERY_ONLY"]
        docs = json.loads((GATEWAY_DIR / "persisted-documents.json").read_text())
        my_tickets = next(k for k, v in docs.items() if "MyTickets" in v)
        assert hashlib.sha256(docs[my_tickets].encode()).hexdigest() == my_tickets
        r = await customer.http.post(url, json={"documentId": my_tickets})
        assert r.status_code == 200, r.text
        # mats's own tickets: his BIM question and his remark on a drawing revision (demo_support)
        assert sorted(e["node"]["id"] for e in r.json()["data"]["tickets"]["edges"]) == sorted(
            [ids["bim"], ids["remark_s104"]]
        )
        r = await customer.http.post(url, json={"documentId": "constructor"})
        assert r.status_code == 400
        # rate limit per identity: the 9th request of one customer in the window is refused …
        statuses = [(await customer.http.post(url, json={"documentId": my_tickets})).status_code for _ in range(10)]
        assert 429 in statuses and statuses.count(200) <= 8 and all(s in (200, 429) for s in statuses)
        r = await customer.http.post(url, json={"documentId": my_tickets})
        assert r.status_code == 429 and codes(r.json()) == ["RATE_LIMITED"] and r.headers.get("retry-after")
        # … while another identity is unaffected
        r = await other.http.post(url, json={"documentId": my_tickets})
        assert r.status_code == 200
        assert [e["node"]["id"] for e in r.json()["data"]["tickets"]["edges"]] == [ids["invoice"]]  # hers only
    finally:
        for c in (staff, partner, customer, other):
            await c.http.aclose()


async def test_subgraph_introspection_is_off_for_portal_roles_outside_development(crm):
    svc = crm.services["deals"]
    saved = svc.settings
    svc.settings = dataclasses.replace(saved, env="production")
    try:
        partner = crm.mint("partner", "tom", company=crm.ids["kestrel"])
        async with httpx.AsyncClient(timeout=10) as c:
            for query in (INTROSPECT, "{ _service { sdl } }", '{ __type(name: "Deal") { fields { name } } }'):
                r = await c.post(
                    crm.service_url("deals"), json={"query": query}, headers={"authorization": f"Bearer {partner}"}
                )
                assert r.status_code < 500 and not r.json().get("data"), r.text[:200]
            r = await c.post(
                crm.service_url("deals"),
                json={"query": "{ _service { sdl } }"},
                headers={"authorization": f"Bearer {crm.mint('admin', 'x')}"},
            )
            assert "type Deal" in r.json()["data"]["_service"]["sdl"]
    finally:
        svc.settings = saved


async def test_concurrent_identical_requests_of_two_partners_are_not_shared(crm, as_role):
    """The gateway deduplicates identical in-flight subgraph requests; the key must include the
    caller's token, or one partner would receive the other's answer."""
    ids = crm.ids
    a = as_role("partner", "tom@kestrel", company=ids["kestrel"])
    b = as_role("partner", "sigrid@fjord", company=ids["fjord"])
    q = "{ deals { edges { node { id partnerId } } } }"
    results = await asyncio.gather(*[(a if i % 2 == 0 else b).ok(q) for i in range(40)])
    for i, data in enumerate(results):
        expected = ids["kestrel"] if i % 2 == 0 else ids["fjord"]
        assert {e["node"]["partnerId"] for e in data["deals"]["edges"]} == {expected}


async def test_gateway_refuses_the_same_forged_tokens_as_the_subgraphs(crm):
    """Every forgery of tests/unit/test_auth.py is stopped at the gateway already (401), so no
    subgraph is even asked."""
    from tests.unit.test_auth import bad_tokens

    async with httpx.AsyncClient(timeout=10) as c:
        for name, header in bad_tokens(crm.settings("contacts")).items():
            r = await c.post(
                crm.gateway_url, json={"query": "{ me { role } }"}, headers={"authorization": header} if header else {}
            )
            assert r.status_code == 401, (name, r.text)
            assert codes(r.json()) == ["UNAUTHENTICATED"], (name, r.text)
