"""Shared fixtures. Server-backed legs read MONGODB_URL / AMQP_URL. Without them a leg skips
with a reason, except under CI=true, where a missing server fails the test (nothing may pass by
skipping in CI)."""
from __future__ import annotations

import os
import uuid

import pytest

from services.common.bus.memory import InMemoryBus
from services.common.store.sqlite import SqliteStore

IN_CI = os.environ.get("CI", "").lower() == "true"


def need(env: str, what: str) -> str:
    url = os.environ.get(env)
    if not url:
        msg = f"{what} not available: set {env}"
        if IN_CI:
            pytest.fail(f"{msg} (CI=true: server legs must run)")
        pytest.skip(msg)
    return url


@pytest.fixture(params=["sqlite", "mongo"])
async def store(request, tmp_path):
    if request.param == "sqlite":
        s = SqliteStore(tmp_path / "store.sqlite3")
        await s.connect()
        yield s
        await s.close()
    else:
        url = need("MONGODB_URL", "MongoDB-wire server")
        from services.common.store.mongo import MongoStore

        s = MongoStore(url, f"test_{uuid.uuid4().hex[:12]}")
        await s.connect()
        yield s
        await s.client.drop_database(s.db_name)
        await s.close()


@pytest.fixture(params=["memory", "rabbit"])
async def bus(request):
    if request.param == "memory":
        b = InMemoryBus()
        await b.connect()
        yield b
        await b.close()
    else:
        url = need("AMQP_URL", "RabbitMQ")
        from services.common.bus.rabbit import RabbitBus

        b = RabbitBus(url, exchange=f"test.{uuid.uuid4().hex[:10]}")
        await b.connect()
        b.test_queues = []  # type: ignore[attr-defined]
        yield b
        await _delete_rabbit_objects(b)
        await b.close()


async def _delete_rabbit_objects(b) -> None:
    ch = await b.conn.channel()
    for name in getattr(b, "test_queues", []):
        for q in (name, f"{name}.dlq"):
            try:
                await ch.queue_delete(q)
            except Exception:
                ch = await b.conn.channel()
    for ex in (b.exchange_name, f"{b.exchange_name}.dlx"):
        try:
            await ch.exchange_delete(ex)
        except Exception:
            ch = await b.conn.channel()
    await ch.close()


def qname(bus, base: str) -> str:
    """A queue name unique to this test run, remembered for clean-up on RabbitMQ."""
    name = f"t.{base}.{uuid.uuid4().hex[:8]}"
    if hasattr(bus, "test_queues"):
        bus.test_queues.append(name)
    return name
