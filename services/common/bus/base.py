"""The Bus port: publish envelopes to one topic exchange, subscribe durable named queues to
routing-key patterns (`*` one word, `#` zero or more words, AMQP topic semantics).

Delivery is at-least-once. A handler that raises gets the message again, up to the
subscription's delivery limit; then the message goes to the subscription's dead-letter queue and
the rest keep flowing. Make handlers idempotent (see outbox.idempotent)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache

from ..envelope import Envelope
from ..port import Port

Handler = Callable[[Envelope], Awaitable[None]]


@lru_cache(maxsize=4096)
def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching, word by word (the in-process bus must route as RabbitMQ does)."""
    p, k = pattern.split("."), routing_key.split(".")

    def match(i: int, j: int) -> bool:
        if i == len(p):
            return j == len(k)
        if p[i] == "#":
            return any(match(i + 1, jj) for jj in range(j, len(k) + 1))
        return j < len(k) and p[i] in ("*", k[j]) and match(i + 1, j + 1)

    return match(0, 0)


class Bus(Port):
    @abstractmethod
    async def publish(self, event: Envelope) -> None:
        """Returns once the broker has taken responsibility for the event (publisher confirm)."""

    @abstractmethod
    async def subscribe(self, name: str, patterns: Sequence[str], handler: Handler, *, max_deliveries: int = 5) -> None:
        """Attach `handler` to the durable queue `name` bound to `patterns`."""

    @abstractmethod
    async def unsubscribe(self, name: str) -> None:
        """Detach this process's consumer from queue `name`; the queue keeps collecting events
        (a stopped service catches up when it subscribes again)."""

    @abstractmethod
    async def drain_dead_letters(self, name: str) -> list[Envelope]:
        """Take every message out of `name`'s dead-letter queue (for operators and tests)."""
