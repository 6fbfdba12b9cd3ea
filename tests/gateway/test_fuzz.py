"""Generated hostile requests against the running gateway (hypothesis-graphql), with the tokens of
an admin, a partner and a customer: valid-by-schema queries and mutations with arbitrary values
(POSITIVE) and documents that break the schema (NEGATIVE).

For every generated request: no 5xx, a JSON answer, and — when the request was rejected (GraphQL
errors, a null result, or a payload with user errors) — nothing changed. "Changed" is measured by
the audit log, which records every write of every service through the outbox.

Besides schema-driven documents: the same queries rewritten into nested fragments or repeated under
many aliases, extreme dates and times, and requests sent straight to each subgraph.

The number of examples per case is TURNKEY_FUZZ_EXAMPLES (default 60); each test prints how many
requests it sent, how many were rejected and how many changed something (`pytest -s`).
`scripts/fuzz-large.sh` is the large run (about 10,800 requests)."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from dataclasses import replace  # graphql-core's AST nodes are frozen dataclasses

import httpx
import pytest
from graphql import (
    FieldNode,
    GraphQLError,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_client_schema,
    get_introspection_query,
    parse,
    print_ast,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from hypothesis_graphql import strategies as gql_st
from hypothesis_graphql._strategies.negative_sites import enumerate_violation_sites

from devtools.demo import seed
from devtools.stack import SERVICE_CLASSES, Stack, free_port
from tests.conftest import need_gateway
from tests.gateway.conftest import NO_RATE_LIMIT

EXAMPLES = int(os.environ.get("TURNKEY_FUZZ_EXAMPLES", "60"))
STRICT = os.environ.get("TURNKEY_FUZZ_STRICT") == "1"  # fail on masked internal errors (scripts/fuzz-large.sh)
FUZZ_TIMEOUT = max(600, EXAMPLES * 3)  # seconds per test; the large run (scripts/fuzz-large.sh) needs more
TALLY: Counter = Counter()


@pytest.fixture(scope="module")
async def fuzz_stack(tmp_path_factory):
    """A CRM of its own (embedded), so that what the fuzzer creates cannot disturb other tests."""
    need_gateway()
    stack = Stack(
        data_dir=tmp_path_factory.mktemp("fuzz"),
        ports={n: free_port() for n in SERVICE_CLASSES},
        gateway_port=free_port(),
        relay_interval=0.05,
        gateway_env=NO_RATE_LIMIT,
    )
    await stack.start()
    try:
        stack.ids = await seed(stack.gateway_url, stack.settle, stack.mint)
        async with httpx.AsyncClient(headers={"authorization": f"Bearer {stack.mint('admin', 'fuzz.admin')}"}) as c:
            r = await c.post(stack.gateway_url, json={"query": get_introspection_query()})
            stack.client_schema = build_client_schema(r.json()["data"])
        yield stack
    finally:
        await stack.stop()
        print(f"\ngenerated requests against the gateway: {dict(TALLY)}")


def hostile_text():
    return st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            [
                "",
                " ",
                "\x00",
                "' OR 1=1 --",
                '{"$gt": ""}',
                "$where",
                "../../etc/passwd",
                "NaN",
                "Infinity",
                "-0",
                "1e400",
                "9" * 40,
                "<script>alert(1)</script>",
                "\u202e",
                "😀" * 50,
                "01M8BQP9VNAZGQXHG5P5R9MA6C",
                "a" * 5000,
            ]
        ),
    )


# the extremes of the documented range and just outside it, and values that overflow when made UTC
EXTREME_TIMES = [
    "1900-01-01T00:00:00Z",
    "2999-12-31T23:59:59.999999Z",
    "1899-12-31T23:59:59Z",
    "3000-01-01T00:00:00Z",
    "0005-01-01T00:00:00Z",
    "0001-01-01T00:30:00+01:00",
    "9999-12-31T23:30:00-01:00",
]
EXTREME_DATES = ["1900-01-01", "2999-12-31", "0001-01-01", "9999-12-31", "0005-01-01"]
CUSTOM_SCALARS = {
    "Decimal": st.one_of(st.decimals(allow_nan=True, allow_infinity=True).map(str), hostile_text()).map(nodes.String),
    "Date": st.one_of(st.dates().map(str), st.sampled_from(EXTREME_DATES), hostile_text()).map(nodes.String),
    "DateTime": st.one_of(
        st.datetimes().map(lambda d: d.isoformat()), st.sampled_from(EXTREME_TIMES), hostile_text()
    ).map(nodes.String),
    "JSON": hostile_text().map(nodes.String),
}


def fragment_heavy(document: str, levels: int, fanout: int) -> str:
    """The operation's root selection moved into fragment R0 on the root type, and R_i spreading
    R_(i-1) `fanout` times: a document that grows fanout^levels when expanded."""
    try:
        doc = parse(document)
    except GraphQLError:
        return document
    op = next((d for d in doc.definitions if isinstance(d, OperationDefinitionNode)), None)
    if op is None:
        return document
    root = "Mutation" if op.operation.value == "mutation" else "Query"
    body = print_ast(op.selection_set)
    head = print_ast(replace(op, selection_set=SelectionSetNode(selections=())))
    spreads = [f"fragment R0 on {root} {body}"]
    spreads += [f"fragment R{i} on {root} {{ {' '.join([f'...R{i - 1}'] * fanout)} }}" for i in range(1, levels + 1)]
    return head.replace("{}", f"{{ ...R{levels} }}") + " " + " ".join(spreads)


def alias_heavy(document: str, copies: int) -> str:
    """Each root field asked `copies` times under aliases."""
    try:
        doc = parse(document)
    except GraphQLError:
        return document
    definitions = []
    for d in doc.definitions:
        if isinstance(d, OperationDefinitionNode):
            fields = [
                replace(sel, alias=NameNode(value=f"a{i}_{n}"))
                for n, sel in enumerate(d.selection_set.selections)
                for i in range(copies)
                if isinstance(sel, FieldNode)
            ]
            d = replace(d, selection_set=replace(d.selection_set, selections=tuple(fields)))
        definitions.append(d)
    return print_ast(replace(doc, definitions=tuple(definitions)))


def principals(stack) -> dict[str, str]:
    ids = stack.ids
    return {
        "admin": stack.mint("admin", "fuzz.admin"),
        "partner": stack.mint("partner", "fuzz@kestrel", company=ids["kestrel"]),
        "customer": stack.mint("customer", "fuzz@nordhaven", company=ids["nordhaven"], contact=ids["mats"]),
    }


def rejected(body: dict) -> bool:
    """Did the server refuse every root field of it? No data, or each root field null or a payload
    carrying user errors. (An error deeper in the result, e.g. a staff-only field selected on a
    payload, does not mean the mutation was refused.)"""
    data = body.get("data")
    if not data:
        return True
    return all(v is None or (isinstance(v, dict) and v.get("errors")) for v in data.values())


def with_errors(document: str) -> str:
    """Select `errors { code }` on every mutation payload, so that a rejection is visible."""
    try:
        doc = parse(document)
    except GraphQLError:
        return document  # invalid on purpose (NEGATIVE mode): send as generated
    extra = FieldNode(
        name=NameNode(value="errors"),
        arguments=(),
        directives=(),
        selection_set=SelectionSetNode(
            selections=(FieldNode(name=NameNode(value="code"), arguments=(), directives=()),)
        ),
    )

    def add(sel):
        if isinstance(sel, FieldNode) and sel.selection_set is not None:
            return replace(
                sel, selection_set=replace(sel.selection_set, selections=(*sel.selection_set.selections, extra))
            )
        return sel

    definitions = tuple(
        replace(d, selection_set=replace(d.selection_set, selections=tuple(add(x) for x in d.selection_set.selections)))
        if isinstance(d, OperationDefinitionNode)
        else d
        for d in doc.definitions
    )
    return print_ast(replace(doc, definitions=definitions))


def run_cases(
    stack,
    loop,
    role: str,
    kind: str,
    mode,
    shape: str = "plain",
    url: str | None = None,
    schema=None,
    examples: int = EXAMPLES,
) -> Counter:
    tokens = principals(stack)
    token, admin = tokens[role], tokens["admin"]
    schema = schema or stack.client_schema
    url = url or stack.gateway_url
    root = schema.mutation_type if kind == "mutation" else schema.query_type
    fields = sorted(f for f in root.fields if not f.startswith("_"))
    if mode is gql_st.Mode.NEGATIVE:
        # hypothesis-graphql (pinned) violates only the argument sites it enumerates, one path per type
        # over the whole root; a field none of whose sites it kept cannot be broken on its own and the
        # library refuses it. Ask the library itself which fields it can break.
        breakable = {site.path[0].field_name for site in enumerate_violation_sites(schema, root)}
        fields = [f for f in fields if f in breakable]
    make = gql_st.mutations if kind == "mutation" else gql_st.queries
    strategy = st.sampled_from(fields).flatmap(
        lambda f: make(schema, fields=[f], custom_scalars=CUSTOM_SCALARS, mode=mode)
    )
    if shape == "fragments":
        strategy = st.tuples(strategy, st.integers(1, 14), st.integers(1, 5)).map(lambda t: fragment_heavy(*t))
    elif shape == "aliases":
        strategy = st.tuples(strategy, st.integers(2, 200)).map(lambda t: alias_heavy(*t))
    tally: Counter = Counter()
    http = httpx.Client(timeout=30)

    def audit_count() -> int:
        asyncio.run_coroutine_threadsafe(stack.settle(), loop).result(60)
        r = http.post(
            stack.gateway_url,
            json={"query": "{ auditLog { totalCount } }"},
            headers={"authorization": f"Bearer {admin}"},
        )
        return r.json()["data"]["auditLog"]["totalCount"]

    before = [audit_count() if kind == "mutation" else 0]

    @settings(
        max_examples=examples, deadline=None, database=None, derandomize=False, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def case(document: str) -> None:
        if kind == "mutation":
            document = with_errors(document)
        r = http.post(url, json={"query": document}, headers={"authorization": f"Bearer {token}"})
        assert r.status_code < 500, (r.status_code, document, r.text[:500])
        body = r.json()
        assert isinstance(body, dict) and ("data" in body or "errors" in body), (document, body)
        assert "Traceback" not in r.text and "node_modules" not in r.text, r.text[:500]
        tally["requests"] += 1
        tally[f"http {r.status_code}"] += 1
        # a masked failure (a subgraph's resolver, or the gateway's "Unexpected error."): a defect. A
        # subgraph refusing a bad value is DOWNSTREAM_SERVICE_ERROR with the subgraph's message: fine.
        if "INTERNAL_SERVER_ERROR" in r.text or "Unexpected error." in r.text or "Internal error" in r.text:
            tally["internal errors"] += 1
            assert not STRICT, ("an internal error", document, r.text[:500])
        if rejected(body):
            tally["rejected"] += 1
        if kind == "mutation":
            now = audit_count()
            if rejected(body):
                assert now == before[0], ("a rejected mutation changed data", document, body)
            elif now != before[0]:
                tally["changed"] += 1
            before[0] = now

    try:
        case()
    finally:
        http.close()
    return tally


@pytest.mark.parametrize("role", ["admin", "partner", "customer"])
@pytest.mark.parametrize("kind", ["query", "mutation"])
@pytest.mark.parametrize("mode", [gql_st.Mode.POSITIVE, gql_st.Mode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.timeout(FUZZ_TIMEOUT)
async def test_generated_requests(fuzz_stack, role, kind, mode):
    loop = asyncio.get_running_loop()
    # hypothesis drives a synchronous client in a worker thread; the services run on this loop
    tally = await asyncio.to_thread(run_cases, fuzz_stack, loop, role, kind, mode)
    name = f"{role}/{kind}/{mode.name.lower()}"
    print(f"\n{name}: {dict(tally)}")
    TALLY["requests"] += tally["requests"]
    TALLY["rejected"] += tally["rejected"]
    TALLY["changed"] += tally["changed"]
    TALLY["internal errors"] += tally["internal errors"]
    assert tally["requests"] >= min(EXAMPLES, 10)


@pytest.mark.parametrize("role", ["admin", "partner"])
@pytest.mark.parametrize("shape", ["fragments", "aliases"])
@pytest.mark.timeout(FUZZ_TIMEOUT)
async def test_generated_fragment_and_alias_heavy_documents(fuzz_stack, role, shape):
    """Valid queries rewritten into nested fragments (up to 5^14 when expanded) or repeated under
    up to 200 aliases: refused or answered, never a 5xx, never slow enough to time out."""
    loop = asyncio.get_running_loop()
    tally = await asyncio.to_thread(
        run_cases, fuzz_stack, loop, role, "query", gql_st.Mode.POSITIVE, shape, examples=max(EXAMPLES // 2, 10)
    )
    print(f"\n{role}/{shape}: {dict(tally)}")
    TALLY["requests"] += tally["requests"]
    TALLY["rejected"] += tally["rejected"]
    assert tally["requests"] >= min(EXAMPLES // 2, 10)


@pytest.mark.parametrize("service", sorted(SERVICE_CLASSES))
@pytest.mark.parametrize("kind", ["query", "mutation"])
@pytest.mark.timeout(FUZZ_TIMEOUT)
async def test_generated_requests_straight_at_subgraphs(fuzz_stack, service, kind):
    """The same generated requests sent to a subgraph directly with a partner's valid token (the
    way the review reached them): every answer is JSON below 500, a rejected mutation changes
    nothing. Each subgraph is driven by its own schema (federation fields left out)."""
    loop = asyncio.get_running_loop()
    url = fuzz_stack.service_url(service)
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {fuzz_stack.mint('admin', 'fuzz.admin')}"}) as c:
        schema = build_client_schema((await c.post(url, json={"query": get_introspection_query()})).json()["data"])
    for mode in (gql_st.Mode.POSITIVE, gql_st.Mode.NEGATIVE):
        tally = await asyncio.to_thread(
            run_cases,
            fuzz_stack,
            loop,
            "partner",
            kind,
            mode,
            url=url,
            schema=schema,
            examples=max(EXAMPLES // 4, 10),
        )
        print(f"\n{service}/{kind}/{mode.name.lower()} (direct): {dict(tally)}")
        TALLY["requests"] += tally["requests"]
        TALLY["rejected"] += tally["rejected"]
        TALLY["changed"] += tally["changed"]
        assert tally["requests"] >= 1
