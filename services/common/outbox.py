"""Outbox relay and idempotent consumers (docs/events.md: at-least-once, nothing lost, nothing
applied twice).

Write side: `Store.insert/mutate/delete(..., events=[...])` put the events into the changed
document in the same single-document write. The relay publishes them with publisher confirms and
only then removes them from the document. A crash anywhere leaves them in the document, and the
next relay run (this process after a restart, or another replica) publishes them again: consumers
must therefore tolerate duplicates.

Read side: `idempotent(store, name, handler)` remembers processed event ids in the consumer's own
store. A handler that changes one document should pass `event_id=event.id` to `Store.mutate` /
`update` / `insert`: the id is recorded in the same write, so even a crash between applying and
recording cannot apply an event twice.
"""

from __future__ import annotations

import asyncio
import logging
import time

from .bus.base import Bus, Handler
from .envelope import Envelope
from .errors import AlreadyApplied, DuplicateKeyError
from .store.base import Store

log = logging.getLogger(__name__)
PROCESSED = "processed_events"  # never carries events: Store.FULL_SCAN_SKIP


class OutboxRelay:
    def __init__(self, store: Store, bus: Bus, *, interval: float = 1.0, batch: int = 200):
        self.store, self.bus, self.interval, self.batch = store, bus, interval, batch
        self._task: asyncio.Task | None = None
        self.published = 0
        self.last_error: str | None = None

    async def run_once(self) -> int:
        """Publish what is pending now; returns how many events were published."""
        pending = await self.store.pending_outbox(self.batch)
        total, cleared, failed = 0, [], False
        try:
            for coll, raw in pending:
                events = raw.get("_outbox") or []
                done: set[str] = set()
                results = await asyncio.gather(
                    *(self.bus.publish(Envelope.from_dict(e)) for e in events), return_exceptions=True
                )
                for ev, res in zip(events, results, strict=True):
                    if isinstance(res, BaseException):
                        self.last_error = repr(res)
                    else:
                        done.add(ev["id"])
                if done:
                    cleared.append((coll, raw, done))
                    total += len(done)
                if len(done) < len(events):
                    failed = True
                    break
        finally:
            # what was published is cleared in one batch (one write per collection where the
            # store can: FerretDB scans its collection on every update); a crash before this
            # line only means those events are published again (consumers are idempotent)
            if cleared:
                await self.store.clear_outboxes(cleared)
        if failed:
            raise ConnectionError(f"publish failed: {self.last_error}")
        self.published += total
        return total

    async def _loop(self) -> None:
        backoff = self.interval
        while True:
            try:
                n = await self.run_once()
                backoff = self.interval
                if n >= self.batch:
                    continue  # more is waiting
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay: %s; retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self.store.outbox_signal.clear()
            try:
                await asyncio.wait_for(self.store.outbox_signal.wait(), self.interval)
            except TimeoutError:
                pass

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def drain(self, timeout: float = 10.0) -> None:
        """Publish until nothing is pending (tests and graceful shutdown)."""
        deadline = time.monotonic() + timeout
        while await self.store.pending_outbox(1):
            if time.monotonic() > deadline:
                raise TimeoutError("outbox not drained")
            try:
                await self.run_once()
            except Exception:
                await asyncio.sleep(0.2)


def idempotent(store: Store, name: str, handler: Handler) -> Handler:
    """Wrap a handler so that each event id is applied at most once for subscription `name`."""

    async def wrapped(event: Envelope) -> None:
        key = f"{name}:{event.id}"
        if await store.get(PROCESSED, key) is not None:
            return
        try:
            await handler(event)
        except AlreadyApplied:
            pass
        try:
            await store.insert(PROCESSED, {"id": key, "type": event.type, "subscription": name})
        except DuplicateKeyError:
            pass

    return wrapped


async def subscribe_idempotent(
    bus: Bus, store: Store, name: str, patterns: list[str], handler: Handler, *, max_deliveries: int = 5
) -> None:
    await bus.subscribe(name, patterns, idempotent(store, name, handler), max_deliveries=max_deliveries)
