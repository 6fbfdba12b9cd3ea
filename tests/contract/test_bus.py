"""Bus contract and outbox/idempotency fault cases: every test runs on the in-process bus and on
a real RabbitMQ."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.common.bus import topic_matches
from services.common.envelope import Envelope
from services.common.outbox import OutboxRelay, idempotent
from services.common.store.sqlite import SqliteStore
from tests.conftest import qname


async def wait_for(cond, timeout=15.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        await asyncio.sleep(interval)
    return cond()


def ev(type_="deals.deal.won", subject="d1", **data):
    return Envelope(type=type_, subject=subject, data=data)


def test_topic_patterns():
    assert topic_matches("deals.deal.won", "deals.deal.won")
    assert topic_matches("deals.*.won", "deals.deal.won")
    assert topic_matches("deals.#", "deals.deal.won")
    assert topic_matches("#", "a.b.c")
    assert topic_matches("#.won", "deals.deal.won")
    assert topic_matches("deals.#.won", "deals.won")
    assert not topic_matches("deals.*", "deals.deal.won")
    assert not topic_matches("support.#", "deals.deal.won")
    assert not topic_matches("*.deal.lost", "deals.deal.won")


def test_envelope_roundtrip_ignores_unknown_fields():
    e = ev(amount=5)
    raw = e.to_dict() | {"future_field": 1}
    back = Envelope.from_dict(raw)
    assert back == e and back.producer == "deals" and back.routing_key == "deals.deal.won"
    with pytest.raises(ValueError):
        Envelope(type="nodots", subject="x", data={})


async def test_publish_routes_by_pattern(bus):
    got_a, got_b = [], []

    async def a(e):
        got_a.append(e.type)

    async def b(e):
        got_b.append(e.type)

    await bus.subscribe(qname(bus, "a"), ["deals.deal.*"], a)
    await bus.subscribe(qname(bus, "b"), ["support.#", "deals.deal.won"], b)
    for t in ["deals.deal.won", "deals.deal.lost", "support.ticket.opened", "marketing.x.y"]:
        await bus.publish(ev(t))
    assert await wait_for(lambda: len(got_a) == 2 and len(got_b) == 2)
    await asyncio.sleep(0.2)
    assert sorted(got_a) == ["deals.deal.lost", "deals.deal.won"]
    assert sorted(got_b) == ["deals.deal.won", "support.ticket.opened"]
    assert await bus.ping()


async def test_failing_handler_dead_letters_and_others_keep_flowing(bus):
    attempts: dict[str, int] = {}
    ok: list[str] = []
    name = qname(bus, "poison")

    async def handler(e):
        attempts[e.id] = attempts.get(e.id, 0) + 1
        if e.data.get("poison"):
            raise RuntimeError("cannot apply")
        ok.append(e.id)

    await bus.subscribe(name, ["deals.#"], handler, max_deliveries=3)
    poison = ev(poison=True)
    await bus.publish(poison)
    good = [ev(n=i) for i in range(5)]
    for g in good:
        await bus.publish(g)
    assert await wait_for(lambda: len(ok) == 5)
    dead: list = []

    async def collect():
        dead.extend(await bus.drain_dead_letters(name))
        return bool(dead)

    deadline = time.monotonic() + 15
    while not await collect() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert [d.id for d in dead] == [poison.id]
    assert attempts[poison.id] == 3
    assert sorted(ok) == sorted(g.id for g in good)


async def test_duplicate_delivery_applied_once(bus, tmp_path):
    store = SqliteStore(tmp_path / "consumer.sqlite3")
    await store.connect()
    applied = []
    name = qname(bus, "idem")

    async def handler(e):
        applied.append(e.id)
        await store.mutate(
            "totals", "won", lambda d: {"sum": (d or {}).get("sum", 0) + e.data["amount"]}, event_id=e.id, create=True
        )

    await bus.subscribe(name, ["deals.deal.won"], idempotent(store, name, handler))
    e1, e2 = ev(amount=100), ev(amount=50)
    for e in (e1, e1, e2, e1):
        await bus.publish(e)
    assert await wait_for(lambda: len(applied) >= 2)
    await asyncio.sleep(0.5)
    assert (await store.get("totals", "won"))["sum"] == 150
    assert sorted(set(applied)) == sorted([e1.id, e2.id]) and len(applied) == 2
    await store.close()


async def test_crash_between_apply_and_record_applies_once(tmp_path):
    """The handler changed the document, then the process died before the processed-id record
    was written: the redelivered event finds its id in the document and changes nothing."""
    store = SqliteStore(tmp_path / "c.sqlite3")
    await store.connect()
    e = ev(amount=70)

    async def apply(event):
        await store.mutate(
            "totals",
            "won",
            lambda d: {"sum": (d or {}).get("sum", 0) + event.data["amount"]},
            event_id=event.id,
            create=True,
        )

    await apply(e)  # applied; "crash" before idempotent() recorded it
    await idempotent(store, "s", apply)(e)  # redelivery
    await idempotent(store, "s", apply)(e)
    assert (await store.get("totals", "won"))["sum"] == 70
    await store.close()


async def test_relay_stopped_after_write_then_restarted_delivers_once(bus, tmp_path):
    producer = SqliteStore(tmp_path / "producer.sqlite3")
    await producer.connect()
    got: list[str] = []
    name = qname(bus, "relay")

    async def handler(e):
        got.append(e.id)

    await bus.subscribe(name, ["deals.#"], handler)
    e = ev()
    await producer.insert("deals", {"id": "d1", "title": "T"}, events=[e])
    # no relay ran: nothing published, the event waits in the document
    await asyncio.sleep(0.3)
    assert got == []
    # "restart": a new store object on the same file and a new relay
    await producer.close()
    producer = SqliteStore(tmp_path / "producer.sqlite3")
    await producer.connect()
    relay = OutboxRelay(producer, bus, interval=0.05)
    relay.start()
    assert await wait_for(lambda: got == [e.id])
    await asyncio.sleep(0.3)
    await relay.stop()
    assert got == [e.id] and await producer.pending_outbox() == []
    await producer.close()


async def test_crash_after_publish_before_clear_redelivers_and_consumer_dedups(bus, tmp_path):
    producer = SqliteStore(tmp_path / "p.sqlite3")
    consumer = SqliteStore(tmp_path / "c.sqlite3")
    await producer.connect()
    await consumer.connect()
    applied = []
    name = qname(bus, "dedup")

    async def handler(e):
        applied.append(e.id)

    await bus.subscribe(name, ["deals.#"], idempotent(consumer, name, handler))
    e = ev()
    await producer.insert("deals", {"id": "d1"}, events=[e])
    # the relay published but crashed before clearing the outbox
    ((_coll, raw),) = await producer.pending_outbox()
    await bus.publish(Envelope.from_dict(raw["_outbox"][0]))
    relay = OutboxRelay(producer, bus, interval=0.05)
    await relay.drain()
    assert await wait_for(lambda: len(applied) == 1)
    await asyncio.sleep(0.5)
    assert applied == [e.id]
    assert await consumer.count("processed_events") == 1
    await producer.close()
    await consumer.close()


async def test_rabbitmq_restarted_mid_stream_loses_nothing(tmp_path):
    """Stop the broker application while the relay streams events, write more while it is down,
    start it again: every event arrives, each applied once (publisher confirms + outbox retries,
    connect_robust restores the consumer, durable quorum queues keep what was confirmed)."""
    import os
    import shlex
    import subprocess
    import uuid

    from services.common.bus.rabbit import RabbitBus
    from tests.conftest import delete_rabbit_objects, need

    url = need("AMQP_URL", "RabbitMQ")
    ctl = os.environ.get("TURNKEY_RABBITMQCTL")
    if not ctl:
        need("TURNKEY_RABBITMQCTL", "rabbitmqctl for the server the test run started")

    def rabbitmqctl(*args: str) -> None:
        subprocess.run([*shlex.split(ctl), *args], check=True, capture_output=True, timeout=120)

    bus = RabbitBus(url, exchange=f"test.{uuid.uuid4().hex[:10]}")
    await bus.connect()
    bus.test_queues = []
    producer = SqliteStore(tmp_path / "p.sqlite3")
    consumer = SqliteStore(tmp_path / "c.sqlite3")
    await producer.connect()
    await consumer.connect()
    got: list[str] = []
    name = qname(bus, "restart")

    async def handler(e):
        got.append(e.id)

    await bus.subscribe(name, ["deals.#"], idempotent(consumer, name, handler))
    relay = OutboxRelay(producer, bus, interval=0.05)
    relay.start()
    sent: list[str] = []
    try:
        for i in range(20):
            e = ev(subject=f"d{i}", n=i)
            sent.append(e.id)
            await producer.insert("deals", {"id": f"d{i}"}, events=[e])
        assert await wait_for(lambda: len(got) >= 5)
        await asyncio.to_thread(rabbitmqctl, "stop_app")
        for i in range(20, 40):
            e = ev(subject=f"d{i}", n=i)
            sent.append(e.id)
            await producer.insert("deals", {"id": f"d{i}"}, events=[e])
        await asyncio.sleep(1.0)
        await asyncio.to_thread(rabbitmqctl, "start_app")
        await asyncio.to_thread(rabbitmqctl, "await_startup")
        assert await wait_for(lambda: set(got) == set(sent), timeout=60), (
            f"{len(set(sent) - set(got))} events lost after the broker restart"
        )
        await asyncio.sleep(0.5)
        assert sorted(got) == sorted(sent)  # each applied once
        assert await producer.pending_outbox() == []
    finally:
        await relay.stop()
        await delete_rabbit_objects(bus.conn, bus.exchange_name, bus.test_queues)
        await bus.close()
        await producer.close()
        await consumer.close()
