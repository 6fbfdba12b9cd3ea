"""The two sides of event delivery measured separately (`python -m bench.events [-n 2000]`), so the
slow one is visible:

- relay publish rate: `n` documents each written with one event (as a mutation writes them), then
  the outbox relay publishes the backlog to RabbitMQ (publisher confirms) and clears the outbox;
- consumer apply rate: `n` `support.ticket.opened|resolved` events for five companies waiting in a
  durable queue, then deals' real account-health consumer (idempotent, exactly once) drains them.

On SQLite (a fresh file) and, with MONGODB_URL, on the MongoDB-wire server; RabbitMQ at AMQP_URL
with a unique exchange (the in-process bus without it)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from pathlib import Path

from services.common.bus import open_bus
from services.common.bus.memory import InMemoryBus
from services.common.envelope import Envelope
from services.common.outbox import OutboxRelay, subscribe_idempotent
from services.common.settings import Settings
from services.common.store import open_store


def _settings(tag: str, amqp_url: str | None, mongodb_url: str | None, data: Path) -> Settings:
    import dataclasses

    return dataclasses.replace(
        Settings(service="deals"),
        data_dir=data,
        amqp_url=amqp_url,
        mongodb_url=mongodb_url,
        exchange=tag,
        db_prefix=tag,
    )


async def one(n: int, amqp_url: str | None, mongodb_url: str | None) -> tuple[float, float]:
    """(relay events/s, consumer events/s)."""
    from services.deals.events import on_ticket

    tag = f"benchev{os.getpid()}x{int(time.time() * 1000) % 10**7}"
    data = Path(tempfile.mkdtemp(prefix="turnkey-bench-events-"))
    s = _settings(tag, amqp_url, mongodb_url, data)
    store = await open_store(s)
    bus = await open_bus(s) if amqp_url else InMemoryBus()
    if isinstance(bus, InMemoryBus):
        await bus.connect()
    queue = f"{tag}.deals.health"
    applied = 0
    done = asyncio.Event()

    async def handler(e: Envelope) -> None:
        nonlocal applied
        await on_ticket(store, e)
        applied += 1
        if applied >= n:
            done.set()

    try:
        # the queue exists (bound) before anything is published, without a consumer
        await subscribe_idempotent(bus, store, queue, ["support.ticket.*"], handler)
        await bus.unsubscribe(queue)
        companies = [f"company{i}" for i in range(5)]
        for i in range(n):
            verb = "resolved" if i % 3 == 2 else "opened"
            ticket = f"t{i // 3 * 3}"
            ev = Envelope(
                f"support.ticket.{verb}",
                ticket,
                {
                    "company_id": companies[i % 5],
                    "status": "resolved" if verb == "resolved" else "open",
                    "priority": "high" if i % 7 == 0 else "normal",
                },
            )
            await store.insert("tickets", {"subject": f"t{i}"}, events=[ev])
        relay = OutboxRelay(store, bus, interval=0.05)
        t0 = time.perf_counter()
        while await store.pending_outbox(1):
            await relay.run_once()
        relay_rate = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        await subscribe_idempotent(bus, store, queue, ["support.ticket.*"], handler)
        await asyncio.wait_for(done.wait(), 600)
        consumer_rate = n / (time.perf_counter() - t0)
        await bus.unsubscribe(queue)
        return relay_rate, consumer_rate
    finally:
        if not isinstance(bus, InMemoryBus):
            with contextlib.suppress(Exception):
                ch = await bus.conn.channel()
                for q in (queue, queue + ".dlq"):
                    await ch.queue_delete(q)
                for ex in (tag, tag + ".dlx"):
                    await ch.exchange_delete(ex)
            await bus.close()
        if mongodb_url:
            with contextlib.suppress(Exception):
                await store.client.drop_database(s.db_name)
        await store.close()


async def rates(n: int, amqp_url: str | None, mongodb_url: str | None) -> None:
    bus = "RabbitMQ" if amqp_url else "in-process bus"
    print(f"event delivery, a backlog of {n} events ({bus}):")
    for label, mongo in (("SQLite", None), ("MongoDB-wire", mongodb_url)):
        if label != "SQLite" and not mongo:
            continue
        relay, consumer = await one(n, amqp_url, mongo)
        print(
            f"  {label:<13} relay publishes {relay:7.0f} events/s; deals' health consumer applies {consumer:7.0f} events/s"
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000)
    a = ap.parse_args()
    asyncio.run(rates(a.n, os.environ.get("AMQP_URL"), os.environ.get("MONGODB_URL")))
