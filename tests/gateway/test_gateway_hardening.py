"""Regression tests for the outside attack review's findings at the gateway (the subgraphs' are in
test_review_findings.py), through the real gateway: nested fragments refused before validation,
no "Did you mean" outside development, CORS only for configured origins, and one token rule for
the gateway and the subgraphs (the shared table tests/token_cases.json)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from graphql import get_introspection_query

from devtools.demo import QUERY_360
from devtools.stack import free_port, kill_gateway
from tests.gateway.conftest import NO_RATE_LIMIT, codes
from tests.unit.test_auth import TOKEN_CASES, token_case_header

ME = "{ me { role } }"


def fragment_bomb(levels: int) -> str:
    """`{ me { ...Fn } }` where each fragment spreads the one below four times: 4^n fields."""
    parts = [f"{{ me {{ ...F{levels} }} }}", "fragment F0 on Me { sub }"]
    parts += [f"fragment F{i} on Me {{ {' '.join([f'...F{i - 1}'] * 4)} }}" for i in range(1, levels + 1)]
    return " ".join(parts)


async def post(url: str, token: str | None, query: str, variables: dict | None = None, **kw) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    headers.update(kw.pop("headers", {}))
    async with httpx.AsyncClient(timeout=60) as c:
        return await c.post(url, json={"query": query, "variables": variables or {}}, headers=headers, **kw)


PRODUCTION = {"TURNKEY_ENV": "production", **NO_RATE_LIMIT}
WEB_ORIGINS = ("https://crm.turnkey.example", "http://localhost:5173")


@pytest.fixture(scope="module")
async def production(crm):
    """Two more gateways over the same subgraphs, configured as in production: `open` lets
    partner and customer tokens send their own documents (so that validation errors are seen),
    `web` has TURNKEY_CORS_ORIGINS set to WEB_ORIGINS."""
    started = {}
    try:
        for name, extra in (
            ("open", {"TURNKEY_PORTAL_PERSISTED_ONLY": "false"}),
            ("web", {"TURNKEY_CORS_ORIGINS": ", ".join(WEB_ORIGINS)}),
        ):
            port = free_port()
            proc, log = await crm.spawn_gateway(port, {**PRODUCTION, **extra})
            started[name] = (proc, log, f"http://{crm.host}:{port}/graphql")
        yield {name: url for name, (_, _, url) in started.items()}
    finally:
        for proc, log, _ in started.values():
            await kill_gateway(proc, log)


# ---- 1. nested fragments ------------------------------------------------------------------------
async def test_a_fragment_bomb_is_refused_before_validation_while_others_are_served(crm):
    """4^13 fields through nested fragments: measured once per fragment and refused before the
    graphql-js rules, the cost estimate and the query planner see it; a concurrent request of
    another user is answered meanwhile."""
    partner = crm.mint("partner", "tom@kestrel", company=crm.ids["kestrel"])
    other = crm.mint("support", "sam")
    async with httpx.AsyncClient(timeout=60) as c:

        async def timed(token: str, query: str) -> tuple[httpx.Response, float]:
            t0 = time.perf_counter()
            r = await c.post(crm.gateway_url, json={"query": query}, headers={"authorization": f"Bearer {token}"})
            return r, time.perf_counter() - t0

        await timed(other, ME)  # a warm connection: the figure below is the gateway's
        for levels in (11, 13):
            (bomb, elapsed), (normal, _) = await asyncio.gather(timed(partner, fragment_bomb(levels)), timed(other, ME))
            print(f"4^{levels} fragment document refused by the gateway in {elapsed * 1000:.1f} ms")
            assert bomb.status_code < 500 and codes(bomb.json()) == ["GRAPHQL_VALIDATION_FAILED"], bomb.text[:300]
            (error,) = bomb.json()["errors"]
            assert (
                error["message"] == f"Fields limit of 2000 exceeded after expanding fragments, found {4**levels + 1}."
            )
            assert not bomb.json().get("data") and "serviceName" not in error["extensions"]  # not a subgraph's answer
            assert normal.json() == {"data": {"me": {"role": "support"}}}
    # the same fragments within the limit are answered: the limit is on the expanded size
    r = await post(crm.gateway_url, partner, fragment_bomb(5))  # 1025 fields
    assert r.json() == {"data": {"me": {"sub": "tom@kestrel"}}}, r.text[:300]


async def test_depth_aliases_and_directives_are_measured_through_fragments(crm, gw):
    """The walker that replaced graphql-armor's max-depth/-aliases/-directives answers as they
    did: fragments add no level; aliases and directives count once per use of a fragment."""
    level = "company {{ contacts(first: 1) {{ edges {{ node {{ {} }} }} }} }}"
    deep = "id"
    for _ in range(3):
        deep = level.format(deep)
    fragments = "fragment Deep on Contact { " + deep + " } fragment Deeper on Contact { ...Deep }"
    body = await gw.body("{ contacts(first: 1) { edges { node { ...Deeper } } } } " + fragments)
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"] and not body.get("data"), body
    assert body["errors"][0]["message"] == "Query depth limit of 12 exceeded, found 16."
    sixteen = " ".join(f"a{i}: role" for i in range(16))
    body = await gw.body("{ x: me { ...A } y: me { ...A } } fragment A on Me { " + sixteen + " }")
    assert body["errors"][0]["message"] == "Aliases limit of 30 exceeded, found 34."
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    free = " ".join(f"t{i}: __typename" for i in range(40))
    assert (await gw.ok("{ me { role " + free + " } }"))["me"]["role"] == "admin"  # __typename aliases are free
    eleven = " ".join(["@include(if: true)"] * 11)
    body = await gw.body("{ me { ...D ...D } } fragment D on Me { role " + eleven + " }")
    assert body["errors"][0]["message"] == "Directives limit of 20 exceeded, found 22."
    # introspection (deep type references, `__schema` not counted) and the 360° query pass
    assert (await gw.ok(get_introspection_query()))["__schema"]["queryType"]["name"] == "Query"
    assert (await gw.ok(QUERY_360))["companies"]["edges"]


# ---- 2. no suggestions outside development -----------------------------------------------------
SUGGESTING = {
    "field": ("{ compnies { totalCount } }", None),
    "argument": ("{ companies(frist: 1) { totalCount } }", None),
    "input field": ('{ companies(filter: {nam: "x"}) { totalCount } }', None),
    "enum value": ("{ companies(filter: {kind: CLIENTT}) { totalCount } }", None),
    "type": ("query($f: CompanyFiltr) { companies(filter: $f) { totalCount } }", None),
    "variable": ("query($s: DealStatus) { deals(filter: {status: $s}) { totalCount } }", {"s": "WONN"}),
}


async def test_no_suggestions_outside_development(crm, production):
    partner = crm.mint("partner", "tom@kestrel", company=crm.ids["kestrel"])
    for form, (query, variables) in SUGGESTING.items():
        r = await post(crm.gateway_url, partner, query, variables)
        assert "Did you mean" in r.text, (form, r.text)  # development keeps them: the document does suggest
        r = await post(production["open"], partner, query, variables)
        assert r.status_code < 500 and r.json().get("errors") and not r.json().get("data"), (form, r.text)
        assert "Did you mean" not in r.text, (form, r.text)


# ---- 3. CORS ------------------------------------------------------------------------------------
def allow_headers(r: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in r.headers.items() if k.lower().startswith("access-control-allow")}


async def cors_exchange(url: str, token: str, origin: str) -> tuple[httpx.Response, httpx.Response]:
    """A browser's preflight and actual request from `origin`."""
    async with httpx.AsyncClient(timeout=10) as c:
        preflight = await c.options(
            url,
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )
        actual = await c.post(url, json={"query": ME}, headers={"origin": origin, "authorization": f"Bearer {token}"})
    return preflight, actual


async def test_cors_is_off_outside_development_without_a_list(crm, production):
    token = crm.mint("admin", "web.user")
    for origin in ("https://evil.example", "null", WEB_ORIGINS[0]):
        preflight, actual = await cors_exchange(production["open"], token, origin)
        assert preflight.status_code < 500 and not allow_headers(preflight), (origin, preflight.headers)
        assert actual.status_code == 200 and not allow_headers(actual), (origin, actual.headers)


async def test_cors_allows_exactly_the_configured_origins(crm, production):
    token = crm.mint("admin", "web.user")
    for origin in WEB_ORIGINS:
        preflight, actual = await cors_exchange(production["web"], token, origin)
        assert preflight.status_code == 204, preflight.text
        assert preflight.headers["access-control-allow-origin"] == origin
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in preflight.headers  # the token is a header, not a cookie
        assert actual.headers["access-control-allow-origin"] == origin and "Origin" in actual.headers["vary"]
        assert actual.json() == {"data": {"me": {"role": "admin"}}}
    for origin in ("https://evil.example", "null", "http://crm.turnkey.example", "https://crm.turnkey.example:8443"):
        preflight, actual = await cors_exchange(production["web"], token, origin)
        assert not allow_headers(preflight) and not allow_headers(actual), (origin, preflight.headers, actual.headers)
        assert "Origin" in actual.headers["vary"]


async def test_development_cors_stays_permissive_and_bad_lists_stop_the_gateway(crm):
    preflight, actual = await cors_exchange(crm.gateway_url, crm.mint("admin", "dev"), "http://localhost:3000")
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert actual.headers["access-control-allow-origin"] == "http://localhost:3000"
    for bad in ("https://crm.turnkey.example/", "*", "null", "https://*.turnkey.example"):
        port = free_port()
        with pytest.raises(RuntimeError, match="gateway exited with 1"):
            await crm.spawn_gateway(port, {**PRODUCTION, "TURNKEY_CORS_ORIGINS": bad})
        assert "gateway: TURNKEY_CORS_ORIGINS" in (crm.data_dir / f"gateway-{port}.log").read_text(), bad


# ---- 4. one token rule --------------------------------------------------------------------------
async def test_gateway_and_subgraph_apply_the_same_token_rule(crm):
    """Every case of tests/token_cases.json through the gateway: accepted means the subgraph behind
    it accepts too (the data comes back), refused means 401 UNAUTHENTICATED at the gateway. The
    same header straight at a subgraph gets the same verdict."""
    settings = crm.settings("contacts")
    wrong = []
    async with httpx.AsyncClient(timeout=10) as c:
        for case in TOKEN_CASES:
            header = token_case_header(settings, case)
            headers = {"authorization": header} if header is not None else {}
            via_gateway = await c.post(crm.gateway_url, json={"query": ME}, headers=headers)
            direct = await c.post(crm.service_url("contacts"), json={"query": ME}, headers=headers)
            if case["expect"] == "accept":
                role = case.get("claims", {}).get("role", "admin")
                ok = via_gateway.status_code == 200 and via_gateway.json() == {"data": {"me": {"role": role}}}
                ok = ok and direct.status_code == 200
            else:
                ok = via_gateway.status_code == 401 and codes(via_gateway.json()) == ["UNAUTHENTICATED"]
                ok = ok and not via_gateway.json().get("data") and direct.status_code == 401
            if not ok:
                wrong.append((case["name"], via_gateway.status_code, via_gateway.text[:200], direct.status_code))
    assert not wrong, wrong
