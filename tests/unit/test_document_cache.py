"""A subgraph parses, measures and validates each distinct document once (services/common/schema.py
DocumentCache): the limits still refuse on the first sight and on every later one, a measure that
depends on a page size or the number of representations is taken per value, a validation passed
with one role's rules does not serve another's, and a flood of distinct documents keeps the cache
within its bounds. No servers."""

from __future__ import annotations

import dataclasses
import tracemalloc
from types import SimpleNamespace

import pytest
import strawberry
import strawberry.schema.schema as strawberry_schema

from services.common.auth import Principal
from services.common.authz import EVERYONE, allow
from services.common.schema import DocumentCache, build_schema
from services.common.settings import Settings


@strawberry.type
class Item:
    id: int
    name: str


@strawberry.type
class ItemPage:
    items: list[Item]


@strawberry.type
class Query:
    @strawberry.field(extensions=allow(EVERYONE))
    def items(self) -> list[Item]:
        return [Item(id=i, name=f"item {i}") for i in range(3)]

    @strawberry.field(extensions=allow(EVERYONE))
    def page(self, first: int | None = None) -> ItemPage:
        return ItemPage(items=[Item(id=i, name=f"item {i}") for i in range(min(first or 3, 3))])


SETTINGS = dataclasses.replace(Settings(service="test"), env="production", max_cost=200, max_depth=4)


def context(role: str = "admin", settings: Settings = SETTINGS):
    return SimpleNamespace(principal=Principal(sub="t", role=role), settings=settings)


@pytest.fixture
def schema():
    return build_schema(Query, settings=SETTINGS)


@pytest.fixture
def validations(monkeypatch):
    """How many times graphql-core validates a document."""
    calls = []
    original = strawberry_schema.validate_document

    def counting(*args):
        calls.append(args[1])
        return original(*args)

    monkeypatch.setattr(strawberry_schema, "validate_document", counting)
    return calls


async def test_a_document_is_parsed_and_validated_once(schema, validations, monkeypatch):
    parses = []
    original = strawberry_schema.parse
    monkeypatch.setattr(strawberry_schema, "parse", lambda *a, **k: parses.append(1) or original(*a, **k))
    q = "{ items { id name } }"
    for _ in range(5):
        r = await schema.execute(q, context_value=context())
        assert r.errors is None and len(r.data["items"]) == 3
    assert len(parses) == 1 and len(validations) == 1
    assert schema.document_cache.hits == 4


async def test_an_invalid_document_is_refused_every_time(schema, validations):
    for _ in range(3):
        r = await schema.execute("{ items { nope } }", context_value=context())
        assert r.errors and "nope" in r.errors[0].message
    assert len(validations) == 3  # failures are not kept: each answer is built afresh


async def test_limits_refuse_on_first_and_every_later_sight(schema):
    deep = "query($n: Int) { page(first: $n) { items { id } } }"
    # cost per page size: 3 items fine, 500 over the cost limit (200), then fine again
    for n, refused in ((3, False), (500, True), (3, False), (500, True)):
        r = await schema.execute(deep, variable_values={"n": n}, context_value=context())
        assert bool(r.errors) is refused, (n, r.errors)
        if refused:
            assert r.errors[0].extensions["code"] == "COST_ESTIMATED_TOO_EXPENSIVE"
    # the same cached document under tighter settings of another request is refused
    tight = dataclasses.replace(SETTINGS, max_cost=2)
    r = await schema.execute(deep, variable_values={"n": 3}, context_value=context(settings=tight))
    assert r.errors and r.errors[0].extensions["code"] == "COST_ESTIMATED_TOO_EXPENSIVE"


async def test_a_validation_passed_by_staff_does_not_serve_a_portal_role(schema):
    q = "{ __schema { types { name } } }"
    r = await schema.execute(q, context_value=context("admin"))
    assert r.errors is None
    r = await schema.execute(q, context_value=context("partner"))
    assert r.errors and "introspection" in r.errors[0].message.lower()
    r = await schema.execute(q, context_value=context("admin"))
    assert r.errors is None


async def test_entities_cost_follows_the_number_of_representations():
    from services.deals.service import DealsService

    settings = dataclasses.replace(Settings(service="deals"), max_cost=60)
    svc = DealsService(settings)
    schema = svc.graphql_schema
    q = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Company { health { level } } } }"
    few = [{"__typename": "Company", "id": str(i)} for i in range(2)]
    many = [{"__typename": "Company", "id": str(i)} for i in range(40)]
    m1 = schema.document_cache
    r = await schema.execute(q, variable_values={"r": many}, context_value=context(settings=settings))
    assert r.errors and r.errors[0].extensions["code"] == "COST_ESTIMATED_TOO_EXPENSIVE"  # 40 x 2 > 60
    entry = m1.get(q)
    assert entry is not None
    assert entry.measure(schema._schema, None, {"r": few}).cost < entry.measure(schema._schema, None, {"r": many}).cost


def test_a_flood_of_distinct_documents_stays_within_bounds():
    from graphql import parse

    cache = DocumentCache(max_entries=100, max_chars=20_000, max_doc_chars=1_000)
    # only what the parser, the cache and this test allocate is counted: in a full session other
    # threads (database drivers' monitors, a test SMTP server) allocate meanwhile
    mine = [tracemalloc.Filter(True, f"*{part}*") for part in ("graphql", "schema.py", "test_document_cache.py")]

    def held() -> int:
        return sum(s.size for s in tracemalloc.take_snapshot().filter_traces(mine).statistics("filename"))

    tracemalloc.start()
    for i in range(200):
        cache.put(f"{{ items {{ id name a{i}: name }} }}", parse(f"{{ items {{ id name a{i}: name }} }}"))
    warm = held()
    for i in range(200, 20_000):
        q = f"{{ items {{ id name a{i}: name }} }}"
        cache.put(q, parse(q))
        assert len(cache) <= 100 and cache.chars <= 20_000
    after = held()
    tracemalloc.stop()
    assert after - warm < 2_000_000, f"memory grew by {after - warm} bytes under the flood"
    big = "{ items { id } }" + " " * 2_000
    assert cache.put(big, parse(big)) is None and cache.get(big) is None  # too long to keep
    # the byte bound holds on its own too
    small = DocumentCache(max_entries=10_000, max_chars=5_000)
    for i in range(1_000):
        q = f"{{ items {{ id name a{i}: name }} }}"
        small.put(q, parse(q))
    assert small.chars <= 5_000 and len(small) < 1_000
