"""RabbitMQ adapter (aio-pika), docs/events.md.

- one durable topic exchange (`turnkey`), persistent messages, publisher confirms: `publish`
  returns only once the broker has confirmed the message;
- per subscription a durable *quorum* queue `<name>` bound to its patterns, with a delivery limit
  and at-least-once dead-lettering into `<name>.dlq` through the direct exchange `turnkey.dlx`;
- manual acks after the handler succeeded; a failing handler nacks with requeue, so the quorum
  queue counts the delivery and dead-letters the message past the limit; an undecodable message
  is rejected straight to the dead-letter queue;
- `connect_robust`: after a broker restart the connection, channels, queues, bindings and
  consumers are restored; publishes during the outage fail and the outbox relay retries them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from ..envelope import Envelope
from .base import Bus, Handler

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT = 10.0


class RabbitBus(Bus):
    def __init__(self, url: str, exchange: str = "turnkey", prefetch: int = 32):
        self.url, self.exchange_name, self.prefetch = url, exchange, prefetch
        self.conn: aio_pika.abc.AbstractRobustConnection | None = None
        self._pub_channel = None
        self._exchange = None
        self._dlx = None
        self._consumers: dict[str, tuple] = {}
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        self.conn = await aio_pika.connect_robust(self.url, reconnect_interval=1.0, fail_fast=True)
        self._pub_channel = await self.conn.channel(publisher_confirms=True)
        self._exchange = await self._pub_channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self._dlx = await self._pub_channel.declare_exchange(
            f"{self.exchange_name}.dlx", aio_pika.ExchangeType.DIRECT, durable=True
        )

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()
            self.conn = None

    async def ping(self) -> bool:
        return (
            self.conn is not None
            and not self.conn.is_closed
            and self._pub_channel is not None
            and not self._pub_channel.is_closed
        )

    async def publish(self, event: Envelope) -> None:
        if self._exchange is None:
            raise ConnectionError("bus is not connected")
        message = aio_pika.Message(
            event.to_json(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=event.id,
            type=event.type,
        )
        await asyncio.wait_for(self._exchange.publish(message, routing_key=event.routing_key), PUBLISH_TIMEOUT)

    async def _declare(self, channel, name: str, max_deliveries: int):
        dlx = await channel.declare_exchange(f"{self.exchange_name}.dlx", aio_pika.ExchangeType.DIRECT, durable=True)
        dlq = await channel.declare_queue(f"{name}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
        await dlq.bind(dlx, routing_key=name)
        queue = await channel.declare_queue(
            name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": max_deliveries,
                "x-dead-letter-exchange": f"{self.exchange_name}.dlx",
                "x-dead-letter-routing-key": name,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        return queue, dlq

    async def subscribe(self, name: str, patterns: Sequence[str], handler: Handler, *, max_deliveries: int = 5) -> None:
        assert self.conn is not None, "connect() first"
        channel = await self.conn.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        exchange = await channel.declare_exchange(self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
        # RabbitMQ counts x-delivery-limit in *redeliveries*: limit N means N+1 attempts.
        queue, _ = await self._declare(channel, name, max(max_deliveries - 1, 0))
        for pattern in patterns:
            await queue.bind(exchange, routing_key=pattern)
        # aio-pika runs each delivery in its own task; one subscription applies its events one at
        # a time, in queue order, as the in-process bus does (consumers rely on order per queue).
        serial = asyncio.Lock()

        async def on_message(message: AbstractIncomingMessage) -> None:
            try:
                event = Envelope.from_json(message.body)
            except Exception:
                log.error("undecodable message on %s dead-lettered", name)
                await message.reject(requeue=False)
                return
            try:
                async with serial:
                    await handler(event)
            except Exception:
                log.warning("handler failed for event=%s type=%s queue=%s", event.id, event.type, name, exc_info=True)
                try:
                    await message.nack(requeue=True)
                except Exception:
                    pass  # channel gone: the broker redelivers anyway
                return
            try:
                await message.ack()
            except Exception:
                log.info("ack lost for event=%s (connection dropped); it will be redelivered", event.id)

        tag = await queue.consume(on_message, no_ack=False)
        self._consumers[name] = (channel, queue, tag)

    async def unsubscribe(self, name: str) -> None:
        entry = self._consumers.pop(name, None)
        if entry is None:
            return
        channel, queue, tag = entry
        try:
            await queue.cancel(tag)
        finally:
            await channel.close()  # unacked deliveries go back to the queue

    async def drain_dead_letters(self, name: str) -> list[Envelope]:
        assert self.conn is not None
        channel = await self.conn.channel()
        try:
            dlq = await channel.declare_queue(f"{name}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
            out = []
            while True:
                msg = await dlq.get(no_ack=False, fail=False, timeout=5)
                if msg is None:
                    return out
                out.append(Envelope.from_json(msg.body))
                await msg.ack()
        finally:
            await channel.close()
