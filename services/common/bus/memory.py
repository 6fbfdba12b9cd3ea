"""In-process bus: the embedded default when all services share one process. Same contract as
the RabbitMQ adapter: topic patterns, one queue per named subscription, redelivery up to the
delivery limit, then a dead-letter list. Not durable across process restarts (the outbox is:
events not yet handed to the bus are republished after a restart)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence

from ..envelope import Envelope
from .base import Bus, Handler, topic_matches

log = logging.getLogger(__name__)


class _Subscription:
    def __init__(self, name: str, patterns: Sequence[str], max_deliveries: int):
        self.name, self.patterns, self.max_deliveries = name, list(patterns), max_deliveries
        self.queue: asyncio.Queue[tuple[Envelope, int]] = asyncio.Queue()
        self.handlers: list[Handler] = []
        self.tasks: list[asyncio.Task] = []
        self.busy = 0


class InMemoryBus(Bus):
    def __init__(self) -> None:
        self.subs: dict[str, _Subscription] = {}
        self.dead: dict[str, list[Envelope]] = defaultdict(list)
        self.connected = False

    async def connect(self) -> None:
        self.connected = True

    async def close(self) -> None:
        for sub in self.subs.values():
            for t in sub.tasks:
                t.cancel()
            await asyncio.gather(*sub.tasks, return_exceptions=True)
            sub.tasks.clear()
        self.connected = False

    async def ping(self) -> bool:
        return self.connected

    async def publish(self, event: Envelope) -> None:
        if not self.connected:
            raise ConnectionError("bus is closed")
        # a fresh copy per queue, as a broker would deliver
        for sub in self.subs.values():
            if any(topic_matches(p, event.type) for p in sub.patterns):
                sub.queue.put_nowait((Envelope.from_dict(event.to_dict()), 1))

    async def subscribe(self, name: str, patterns: Sequence[str], handler: Handler, *, max_deliveries: int = 5) -> None:
        sub = self.subs.get(name)
        if sub is None:
            sub = self.subs[name] = _Subscription(name, patterns, max_deliveries)
        else:
            sub.patterns = sorted(set(sub.patterns) | set(patterns))
        for t in sub.tasks:  # a restarted consumer takes over its queue
            t.cancel()
        sub.handlers, sub.tasks = [handler], []
        sub.tasks.append(asyncio.create_task(self._worker(sub, handler), name=f"bus:{name}"))

    async def _worker(self, sub: _Subscription, handler: Handler) -> None:
        while True:
            event, attempt = await sub.queue.get()
            sub.busy += 1
            try:
                await handler(event)
            except asyncio.CancelledError:
                sub.queue.put_nowait((event, attempt))  # not acked: stays queued for the next consumer
                raise
            except Exception:
                if attempt >= sub.max_deliveries:
                    log.warning("dead-lettered event=%s type=%s queue=%s", event.id, event.type, sub.name)
                    self.dead[sub.name].append(event)
                else:
                    log.info("redelivering event=%s attempt=%d queue=%s", event.id, attempt + 1, sub.name)
                    sub.queue.put_nowait((event, attempt + 1))
            finally:
                sub.busy -= 1

    async def unsubscribe(self, name: str) -> None:
        """Stop consuming; the queue keeps collecting events until the consumer returns."""
        sub = self.subs.get(name)
        if sub is None:
            return
        for t in sub.tasks:
            t.cancel()
        await asyncio.gather(*sub.tasks, return_exceptions=True)
        sub.tasks.clear()

    def idle(self) -> bool:
        return all(s.queue.empty() and s.busy == 0 for s in self.subs.values())

    async def drain_dead_letters(self, name: str) -> list[Envelope]:
        out, self.dead[name] = self.dead[name], []
        return out
