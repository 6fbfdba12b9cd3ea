"""The checks graphql-cop makes, written as tests against production mode: the gateway as
configured in production (portal roles may send their own documents here, so that the rules
themselves are seen) and every subgraph switched to production.

alias overloading, batch arrays, field duplication, directive overloading, circular fragments,
introspection, GET and url-encoded mutations (CSRF), trace and debug output, suggestions, GraphiQL."""

from __future__ import annotations

import contextlib

import httpx
import pytest

from devtools.stack import free_port, kill_gateway
from tests.gateway.conftest import codes, settings_of

SERVICES = ("contacts", "deals", "marketing", "support")


@pytest.fixture(scope="module")
async def production(crm):
    """A production gateway over the test stack's subgraphs, and the subgraphs in production."""
    port = free_port()
    env = {
        "TURNKEY_ENV": "production",
        "TURNKEY_PORTAL_PERSISTED_ONLY": "false",
        "TURNKEY_RATE_LIMIT": "0",
        "TURNKEY_PORTAL_RATE_LIMIT": "0",
    }
    proc, log = await crm.spawn_gateway(port, env)
    try:
        with settings_of(crm, SERVICES, env="production"):
            yield f"http://{crm.host}:{port}/graphql"
    finally:
        await kill_gateway(proc, log)


@contextlib.asynccontextmanager
async def client(crm, role: str = "partner"):
    ids = crm.ids
    kw = {"company": ids["kestrel"]} if role == "partner" else {}
    token = crm.mint(role, f"cop.{role}", **kw)
    async with httpx.AsyncClient(timeout=30, headers={"authorization": f"Bearer {token}"}) as c:
        yield c


def targets(crm, gateway: str) -> list[str]:
    return [gateway, *(crm.service_url(n) for n in SERVICES)]


def refused(r: httpx.Response) -> bool:
    """Refused without executing: an error status, or errors and no data."""
    if r.status_code >= 400:
        return r.status_code < 500
    body = r.json()
    return bool(body.get("errors")) and not body.get("data")


async def test_alias_overloading(crm, production):
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(101)) + " }"
    async with client(crm) as c:
        for url in targets(crm, production):
            assert refused(await c.post(url, json={"query": query})), url


async def test_batch_arrays(crm, production):
    async with client(crm) as c:
        r = await c.post(production, json=[{"query": "{ __typename }"}] * 10)
        assert r.status_code == 400 and "Batching" in r.text
        for service in SERVICES:
            r = await c.post(crm.service_url(service), json=[{"query": "{ __typename }"}] * 10)
            assert 400 <= r.status_code < 500, (service, r.status_code)


async def test_field_duplication(crm, production):
    """500 copies of one field: graphql-cop flags a server that answers it."""
    query = "{ " + " ".join(["__typename"] * 500) + " }"
    async with client(crm) as c:
        for url in targets(crm, production):
            assert refused(await c.post(url, json={"query": query})), url


async def test_directive_overloading(crm, production):
    query = "{ __typename " + " ".join(["@include(if: true)"] * 60) + " }"
    async with client(crm) as c:
        for url in targets(crm, production):
            r = await c.post(url, json={"query": query})
            assert refused(r), url
            assert len(r.json().get("errors", [])) <= 5, (url, "one error per directive is an amplifier")


async def test_circular_fragments(crm, production):
    query = "query { ...A } fragment A on Query { ...B __typename } fragment B on Query { ...A }"
    async with client(crm) as c:
        for url in targets(crm, production):
            assert refused(await c.post(url, json={"query": query})), url


async def test_introspection_is_refused_for_portal_roles(crm, production):
    async with client(crm) as c:
        for url in targets(crm, production):
            r = await c.post(url, json={"query": "{ __schema { types { name } } }"})
            assert refused(r), url


@pytest.mark.parametrize("how", ["get", "urlencoded", "text/plain"])
async def test_mutations_need_a_json_post(crm, production, how):
    """GET and form-encoded (or text/plain) requests are what a cross-site page can send without a
    preflight: no mutation runs that way (and every request needs the bearer token anyway)."""
    mutation = 'mutation { createCompany(input: {name: "CSRF Ltd"}) { company { id } } }'
    async with client(crm, "admin") as c:
        before = (await c.post(production, json={"query": "{ companies { totalCount } }"})).json()
        for url in targets(crm, production)[:2]:
            if how == "get":
                r = await c.get(url, params={"query": mutation})
            elif how == "urlencoded":
                r = await c.post(url, data={"query": mutation})
            else:
                r = await c.post(url, content=f'{{"query": "{mutation}"}}', headers={"content-type": "text/plain"})
            assert r.status_code >= 400 or codes(r.json()), (url, how, r.status_code, r.text[:200])
        after = (await c.post(production, json={"query": "{ companies { totalCount } }"})).json()
        assert after == before


async def test_no_trace_or_debug_output(crm, production):
    async with client(crm, "admin") as c:
        for url in targets(crm, production):
            for query in ("{ __typename", "{ nosuchfield }", 'query { company(id: "\\u0000") { name } }'):
                r = await c.post(url, json={"query": query})
                text = r.text.lower()
                assert r.status_code < 500, (url, query)
                for leak in ("traceback", "stacktrace", "node_modules", "exception", '"tracing"', 'file "/'):
                    assert leak not in text, (url, query, r.text[:300])


async def test_no_suggestions(crm, production):
    async with client(crm) as c:
        for url in targets(crm, production):
            r = await c.post(url, json={"query": "{ compnies { totalCount } }"})
            assert r.json().get("errors") and "did you mean" not in r.text.lower(), (url, r.text)


async def test_no_graphiql(crm, production):
    async with httpx.AsyncClient(timeout=30) as c:
        for url in targets(crm, production):
            r = await c.get(url, headers={"accept": "text/html"})
            assert r.status_code >= 400 and "graphiql" not in r.text.lower(), (url, r.status_code)
    async with client(crm, "admin") as c:  # with a token too
        for url in targets(crm, production):
            r = await c.get(url, headers={"accept": "text/html"})
            assert "graphiql" not in r.text.lower(), (url, r.status_code)
