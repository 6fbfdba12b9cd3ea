"""The whole CRM through the real Hive Gateway: four services (real HTTP servers) and the gateway
process, with demo data. Two legs: embedded (SQLite + in-process bus) and servers (FerretDB +
RabbitMQ; fails under CI=true when they are missing)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid

import httpx
import pytest

from devtools.demo import seed
from devtools.stack import SERVICE_CLASSES, Stack, free_port
from tests.conftest import delete_rabbit_objects, need, need_gateway


@pytest.fixture(scope="session", params=["embedded", "servers"])
async def crm(request, tmp_path_factory):
    need_gateway()
    kw: dict = {}
    if request.param == "servers":
        kw["amqp_url"] = need("AMQP_URL", "RabbitMQ")
        kw["mongodb_url"] = need("MONGODB_URL", "MongoDB-wire server")
        kw["exchange"] = f"test.{uuid.uuid4().hex[:8]}"
        kw["db_prefix"] = f"test_{uuid.uuid4().hex[:8]}"
    stack = Stack(
        data_dir=tmp_path_factory.mktemp(f"crm-{request.param}"),
        ports={n: free_port() for n in SERVICE_CLASSES},
        gateway_port=free_port(),
        relay_interval=0.05,
        gateway_env=NO_RATE_LIMIT,
        **kw,
    )
    await stack.start()
    try:
        stack.ids = await seed(stack.gateway_url, stack.settle, stack.mint)
        stack.leg = request.param
        yield stack
    finally:
        queues = [svc.queue_name(sub) for svc in stack.services.values() for sub in svc.subscriptions()]
        await stack.stop()
        if request.param == "servers":
            await _cleanup_servers(stack, queues)


async def _cleanup_servers(stack: Stack, queues: list[str]) -> None:
    from pymongo import AsyncMongoClient

    from services.common.bus.rabbit import RabbitBus

    client = AsyncMongoClient(stack.mongodb_url)
    for name in SERVICE_CLASSES:
        await client.drop_database(f"{stack.db_prefix}_{name}")
    await client.close()
    bus = RabbitBus(stack.amqp_url, stack.exchange)
    await bus.connect()
    await delete_rabbit_objects(bus.conn, stack.exchange, queues)
    await bus.close()


# the rate limit is exercised by its own gateway in test_security.py; here it would only get in the way
NO_RATE_LIMIT = {"TURNKEY_RATE_LIMIT": "0", "TURNKEY_PORTAL_RATE_LIMIT": "0"}


class Client:
    def __init__(self, url: str, token: str | None = None):
        self.url = url
        self.token = token
        self.http = httpx.AsyncClient(timeout=30, headers={"authorization": f"Bearer {token}"} if token else None)

    async def raw(self, query: str, variables: dict | None = None) -> httpx.Response:
        return await self.http.post(self.url, json={"query": query, "variables": variables or {}})

    async def body(self, query: str, variables: dict | None = None) -> dict:
        """The response body of a request that must not fail at the HTTP level."""
        r = await self.raw(query, variables)
        assert r.status_code == 200, r.text
        return r.json()

    async def ok(self, query: str, variables: dict | None = None) -> dict:
        r = await self.raw(query, variables)
        assert r.status_code == 200, r.text
        body = r.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]


def codes(body: dict) -> list[str]:
    """The `extensions.code` of each error of a GraphQL response body."""
    return [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]


@pytest.fixture
async def gw(crm):
    c = Client(crm.gateway_url, crm.mint("admin", "test.admin"))
    yield c
    await c.http.aclose()


@pytest.fixture
async def as_role(crm):
    """`await as_role("partner", company=id)` → a gateway Client with that identity."""
    made: list[Client] = []

    def make(
        role: str,
        sub: str | None = None,
        *,
        company: str | None = None,
        contact: str | None = None,
        url: str | None = None,
    ) -> Client:
        c = Client(url or crm.gateway_url, crm.mint(role, sub, company=company, contact=contact))
        made.append(c)
        return c

    yield make
    for c in made:
        await c.http.aclose()


async def eventually(check, timeout: float = 20.0, interval: float = 0.1):
    """Poll `check` (async, returns a value or raises AssertionError) until it passes. A check
    that indexes into what it read (`edges[0]`) may also meet a result still being filled in: a
    page and its total are two reads, and a row can land between them; that is retried too."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await check()
        except (AssertionError, IndexError, KeyError, TypeError):
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(interval)


AUDIT = """query($id: ID, $entity: String, $first: Int) { auditLog(first: $first, filter: {entityId: $id, entity: $entity}) {
  totalCount edges { node { action entity entityId actorSub changes } } } }"""


async def audit_rows(gw, entity_id: str, entity: str | None = None, first: int = 50) -> list[dict]:
    """The audit rows of one record, newest first, asserting that the page and its total agree
    (the rows arrive by event: call it inside `eventually`)."""
    log = (await gw.ok(AUDIT, {"id": entity_id, "entity": entity, "first": first}))["auditLog"]
    rows = [e["node"] for e in log["edges"]]
    assert len(rows) == min(log["totalCount"], first), log
    return rows


@contextlib.contextmanager
def settings_of(crm, names, **changes):
    """The running services' settings changed for the block (they are read per request)."""
    saved = {n: crm.services[n].settings for n in names}
    for n in names:
        crm.services[n].settings = dataclasses.replace(saved[n], **changes)
    try:
        yield
    finally:
        for n, s in saved.items():
            crm.services[n].settings = s


# Tests that leave the session's stack with large collections (thousands of records and their
# replicas in every service) run last in their leg: on FerretDB 1.24 every later update of those
# collections would cost a scan of them (docs/ferretdb.md), slowing every later test of the leg.
HEAVY_LAST = ("tests/gateway/test_imports.py",)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Within each run of consecutive tests on one leg of the session's stack (after pytest has
    grouped them by leg), move the HEAVY_LAST tests to the end, keeping every other order."""

    def leg(item: pytest.Item) -> str | None:
        spec = getattr(item, "callspec", None)
        return spec.params.get("crm") if spec is not None and "crm" in item.fixturenames else None

    out: list[pytest.Item] = []
    i = 0
    while i < len(items):
        j = i
        while j < len(items) and leg(items[j]) is not None and leg(items[j]) == leg(items[i]):
            j += 1
        if j == i:
            out.append(items[i])
            i += 1
            continue
        block = items[i:j]
        heavy = [it for it in block if it.nodeid.split("::")[0] in HEAVY_LAST]
        out += [it for it in block if it not in heavy] + heavy
        i = j
    items[:] = out
