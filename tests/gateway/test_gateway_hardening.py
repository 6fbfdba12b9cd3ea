"""Regression tests for the outside attack review's findings at the gateway (the subgraphs' are in
test_review_findings.py), through the real gateway: nested fragments refused before validation,
no "Did you mean" outside development, CORS only for configured origins, and one token rule for
the gateway and the subgraphs (the shared table tests/token_cases.json). Then graphql-cop's
findings (test_graphql_cop.py): aliases of __typename counted, a limit on copies of one field in a
selection set, and only JSON POSTs (no form-encoded, multipart or text/plain CSRF)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from graphql import get_introspection_query

from devtools.demo import QUERY_360
from devtools.hostile import fragment_bomb
from devtools.stack import free_port, kill_gateway
from tests.gateway.conftest import NO_RATE_LIMIT, codes
from tests.unit.test_auth import TOKEN_CASES, token_case_header

ME = "{ me { role } }"


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
    typenames = " ".join(f"t{i}: __typename" for i in range(30))
    assert (await gw.ok("{ me { role " + typenames + " } }"))["me"]["role"] == "admin"  # 30: the limit itself
    body = await gw.body("{ me { role x: __typename " + typenames + " } }")  # __typename aliases count too
    assert body["errors"][0]["message"] == "Aliases limit of 30 exceeded, found 31." and not body.get("data")
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


# ---- 5. graphql-cop: alias overloading, field duplication, CSRF ---------------------------------
async def test_aliases_of_typename_and_introspection_fields_count(crm, production, gw):
    """graphql-cop's alias overloading: 101 aliases of __typename were answered (graphql-armor's
    rule let them go free); every alias counts now, introspection fields' too."""
    partner = crm.mint("partner", "tom@kestrel", company=crm.ids["kestrel"])
    overloaded = "{ " + " ".join(f"a{i}: __typename" for i in range(101)) + " }"
    for url in (production["open"], crm.gateway_url):
        r = await post(url, partner, overloaded)
        assert r.status_code == 200 and codes(r.json()) == ["GRAPHQL_VALIDATION_FAILED"], r.text[:300]
        assert r.json()["errors"][0]["message"] == "Aliases limit of 30 exceeded, found 101."
        assert not r.json().get("data")
    types = " ".join(f't{i}: __type(name: "Query") {{ name }}' for i in range(31))
    body = await gw.body("{ " + types + " }")
    assert body["errors"][0]["message"] == "Aliases limit of 30 exceeded, found 31." and not body.get("data")
    body = await gw.body("{ s: __schema { queryType { n: name } } }")  # two aliases: answered
    assert body == {"data": {"s": {"queryType": {"n": "Query"}}}}


async def test_copies_of_one_field_in_a_selection_set_are_limited(crm, production, gw):
    """graphql-cop's field duplication: `{ __typename × 500 }` was answered. At most
    TURNKEY_MAX_DUPLICATE_FIELDS (5) copies of one response key per selection set as written;
    the same key from several fragments or inline fragments is not a duplicate."""
    partner = crm.mint("partner", "tom@kestrel", company=crm.ids["kestrel"])
    five_hundred = "{ " + " ".join(["__typename"] * 500) + " }"
    for url in (production["open"], crm.gateway_url):
        r = await post(url, partner, five_hundred)
        assert r.status_code == 200 and codes(r.json()) == ["GRAPHQL_VALIDATION_FAILED"], r.text[:300]
        assert r.json()["errors"][0]["message"] == (
            "Field duplication limit of 5 exceeded: `__typename` appears 500 times in one selection set."
        )
        assert not r.json().get("data")
    assert await gw.ok("{ " + " ".join(["__typename"] * 5) + " }") == {"__typename": "Query"}

    async def duplicated(query: str) -> str:
        body = await gw.body(query)
        assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"] and not body.get("data"), body
        return body["errors"][0]["message"]

    six = " ".join(["role"] * 6)
    assert "`role` appears 6 times" in await duplicated("{ me { " + six + " } }")
    assert "`r` appears 6 times" in await duplicated("{ me { " + " ".join(["r: role"] * 6) + " } }")  # the alias
    assert "`role` appears 6 times" in await duplicated("{ me { ...on Me { " + six + " } } }")
    assert "`role` appears 6 times" in await duplicated("{ me { ...R ...R } } fragment R on Me { " + six + " }")
    two = "query A { me { role } } query B { " + " ".join(["x: me { role }"] * 6) + " }"
    body = (await gw.http.post(gw.url, json={"query": two, "operationName": "A"})).json()
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"] and not body.get("data"), body
    assert "`x` appears 6 times" in body["errors"][0]["message"]  # every operation: validation reads them all
    # per selection set as written: overlapping fragments and inline fragments are not duplicates
    letters = "ABCDEFGH"
    fragments = " ".join(f"fragment {x} on Me {{ role sub }}" for x in letters)
    spreads = " ".join(f"...{x}" for x in letters)
    assert await gw.ok("{ me { role " + spreads + " } } " + fragments) == {"me": {"role": "admin", "sub": "test.admin"}}
    inline = " ".join(["... on Me { role }"] * 8)
    assert await gw.ok("{ me { role " + inline + " } }") == {"me": {"role": "admin"}}
    # the 360° query has no duplicated key
    assert (await gw.ok(QUERY_360))["companies"]["edges"]


async def test_duplicate_field_limit_is_configurable(crm):
    """TURNKEY_MAX_DUPLICATE_FIELDS=0 turns the limit off; an invalid value stops the gateway."""
    port = free_port()
    proc, log = await crm.spawn_gateway(port, {**PRODUCTION, "TURNKEY_MAX_DUPLICATE_FIELDS": "0"})
    try:
        url = f"http://{crm.host}:{port}/graphql"
        r = await post(url, crm.mint("admin", "dup"), "{ " + " ".join(["__typename"] * 500) + " }")
        assert r.json() == {"data": {"__typename": "Query"}}, r.text[:300]
    finally:
        await kill_gateway(proc, log)
    port = free_port()
    with pytest.raises(RuntimeError, match="gateway exited with 1"):
        await crm.spawn_gateway(port, {**PRODUCTION, "TURNKEY_MAX_DUPLICATE_FIELDS": "five"})
    log = (crm.data_dir / f"gateway-{port}.log").read_text()
    assert "gateway: TURNKEY_MAX_DUPLICATE_FIELDS must be a non-negative integer" in log


async def test_the_javascript_planner_answers_as_the_default_rust_one(crm, gw):
    """TURNKEY_GATEWAY_PLANNER=js (the fallback to the default Rust planner) plans the 360° query
    to the same answer; any other value stops the gateway."""
    port = free_port()
    proc, log = await crm.spawn_gateway(port, {**PRODUCTION, "TURNKEY_GATEWAY_PLANNER": "js"})
    try:
        r = await post(f"http://{crm.host}:{port}/graphql", crm.mint("admin", "planner"), QUERY_360)
        assert r.json() == {"data": await gw.ok(QUERY_360)}, r.text[:300]
    finally:
        await kill_gateway(proc, log)
    port = free_port()
    with pytest.raises(RuntimeError, match="gateway exited with 1"):
        await crm.spawn_gateway(port, {**PRODUCTION, "TURNKEY_GATEWAY_PLANNER": "fast"})
    log = (crm.data_dir / f"gateway-{port}.log").read_text()
    assert 'gateway: TURNKEY_GATEWAY_PLANNER must be rust or js, got "fast"' in log


CREATE = 'mutation { createCompany(input: {name: "CSRF Ltd"}) { company { id } } }'
COUNT = "{ companies { totalCount } }"


async def company_count(url: str, token: str) -> int:
    r = await post(url, token, COUNT)
    return r.json()["data"]["companies"]["totalCount"]


# what a page of another origin can make a browser POST without a preflight, and other non-JSON
NON_JSON_POSTS = {
    "urlencoded": {"data": {"query": CREATE}},
    "multipart": {"data": {"operations": json.dumps({"query": CREATE})}, "files": {"map": (None, "{}")}},
    "text/plain": {"content": json.dumps({"query": CREATE}), "headers": {"content-type": "text/plain"}},
    "text/plain naming json": {
        "content": json.dumps({"query": CREATE}),
        "headers": {"content-type": "text/plain; charset=utf-8; x=application/json"},
    },
    "application/graphql": {"content": CREATE, "headers": {"content-type": "application/graphql"}},
    "no content type": {"content": json.dumps({"query": CREATE})},
    "json with a suffix": {"content": json.dumps({"query": CREATE}), "headers": {"content-type": "application/jsonx"}},
    "a list of types": {  # not a media type (Yoga would read the first)
        "content": json.dumps({"query": CREATE}),
        "headers": {"content-type": "application/json, text/plain"},
    },
}


@pytest.mark.parametrize("form", NON_JSON_POSTS)
async def test_only_json_posts_are_accepted(crm, production, form):
    """graphql-cop's CSRF check: Yoga executed form-encoded (and application/graphql) POSTs,
    mutations included. Every POST that is not JSON is refused with 415 UNSUPPORTED_MEDIA_TYPE
    before the token or the body is read (without a token too), and nothing is created."""
    admin = crm.mint("admin", "csrf.admin")
    before = await company_count(crm.gateway_url, admin)
    for url in (production["open"], production["web"], crm.gateway_url):
        for token in (admin, None):
            kw = dict(NON_JSON_POSTS[form])
            headers = httpx.Headers(kw.pop("headers", None))
            if token:
                headers["authorization"] = f"Bearer {token}"
            if form == "no content type":
                headers.pop("content-type", None)
            async with httpx.AsyncClient(timeout=10) as c:
                request = c.build_request("POST", url, headers=headers, **kw)
                if form == "no content type":
                    request.headers.pop("content-type", None)
                r = await c.send(request)
            assert r.status_code == 415, (url, form, r.status_code, r.text[:300])
            assert r.headers["content-type"].startswith("application/json") and not r.json().get("data")
            assert codes(r.json()) == ["UNSUPPORTED_MEDIA_TYPE"], r.text
    assert await company_count(crm.gateway_url, admin) == before


async def test_json_posts_in_every_spelling_are_served(crm, production):
    """The JSON media types are compared by essence (case-insensitive, parameters allowed);
    those Yoga's own prefix match misses are parsed as JSON all the same."""
    token = crm.mint("admin", "json.admin")
    for content_type in (
        "application/json",
        "application/json; charset=utf-8",
        "application/json ; charset=UTF-8",
        "Application/JSON",
        "application/graphql-response+json",
        "application/graphql-response+json; charset=utf-8",
    ):
        for url in (production["open"], crm.gateway_url):
            r = await post(url, token, ME, headers={"content-type": content_type})
            assert r.json() == {"data": {"me": {"role": "admin"}}}, (content_type, r.status_code, r.text[:300])
        r = await post(production["open"], None, ME, headers={"content-type": content_type})
        assert r.status_code == 401 and codes(r.json()) == ["UNAUTHENTICATED"], (content_type, r.text)
    async with httpx.AsyncClient(timeout=10) as c:
        headers = {"authorization": f"Bearer {token}", "content-type": "application/graphql-response+json"}
        for body, status in (("{", 400), ("null", 400), ("[]", 400), ('"x"', 400)):
            r = await c.post(production["open"], content=body, headers=headers)
            assert r.status_code == status and r.json().get("errors"), (body, r.status_code, r.text)
        big = json.dumps({"query": ME, "pad": "x" * 200_000}).encode()
        r = await c.post(production["open"], content=big, headers=headers)
        assert r.status_code == 413 and codes(r.json()) == ["REQUEST_ENTITY_TOO_LARGE"], r.text[:300]

        async def chunked():  # no Content-Length: the bytes read are counted
            for i in range(0, len(big), 16384):
                yield big[i : i + 16384]

        r = await c.post(production["open"], content=chunked(), headers=headers)
        assert r.status_code == 413 and codes(r.json()) == ["REQUEST_ENTITY_TOO_LARGE"], r.text[:300]


async def test_mutations_over_get_are_refused(crm, production):
    """GET stays as Yoga has it: queries are served, a mutation is refused (405) and not run."""
    admin = crm.mint("admin", "get.admin")
    before = await company_count(crm.gateway_url, admin)
    async with httpx.AsyncClient(timeout=10, headers={"authorization": f"Bearer {admin}"}) as c:
        for url in (production["open"], crm.gateway_url):
            r = await c.get(url, params={"query": ME})
            assert r.status_code == 200 and r.json() == {"data": {"me": {"role": "admin"}}}, r.text
            r = await c.get(url, params={"query": CREATE})
            assert r.status_code == 405 and r.json().get("errors") and not r.json().get("data"), r.text
            assert "POST" in r.headers.get("allow", ""), r.headers
    assert await company_count(crm.gateway_url, admin) == before
