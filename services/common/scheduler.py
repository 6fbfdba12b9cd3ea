"""The scheduler: time-driven transitions of stored documents, fired once (docs/events.md).

A `Timer` names a collection, a store filter of the documents that are due at a given time, and a
`fire(doc, now)` rule that returns the document's changes and the events they cause. The runtime
polls each timer and applies `fire` inside a version-conditional write of the due document
(`Store.mutate`): the changes and the events are one single-document write (the events ride in the
outbox), so

- a fire survives a crash: until the write lands, the document is still due and the next poll (of
  this process after a restart, or of another replica) fires it; once it lands, the relay publishes
  its events, even after a crash;
- two replicas never fire one document twice: both may read it, only one conditional write wins;
  the loser re-reads and `fire` sees a document that is no longer due and returns nothing.

So `fire` must re-check that the document is still due and return `(None, [])` otherwise, and its
changes must move the document out of the `due` filter (a state, or the next due time for a
recurring reminder). There is no lock and no leader: correctness comes from the store's
conditional write, the same mechanism as every other concurrent change.

Time is an ISO-8601 UTC string (`ids.iso`), the form every timestamp is stored in, so due filters
compare stored strings (`{"due_at": {"$lte": now}}`). Tests call `run_once(now=...)` with a chosen
time instead of waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .envelope import Envelope
from .errors import ConflictError, NotFoundError
from .ids import now_iso
from .store.base import Store

log = logging.getLogger(__name__)

Doc = dict
Fire = Callable[[Doc, str], tuple[Doc | None, Iterable[Envelope]]]


@dataclass(frozen=True)
class Timer:
    """A kind of scheduled transition (see the module docstring).

    name: for logs and metrics; coll: the collection; due(now) -> store filter of due documents;
    fire(doc, now) -> (changes | None, events); sort: the order due documents are taken in;
    batch: documents taken per poll (the rest wait for the next, which comes at once)."""

    name: str
    coll: str
    due: Callable[[str], dict]
    fire: Fire
    sort: tuple[tuple[str, int], ...] = (("id", 1),)
    batch: int = 100


class Scheduler:
    def __init__(self, store: Store, timers: Iterable[Timer], *, interval: float = 1.0):
        self.store, self.timers, self.interval = store, list(timers), interval
        self._task: asyncio.Task | None = None
        self.fired: dict[str, int] = {t.name: 0 for t in self.timers}
        self.last_error: str | None = None

    async def fire_one(self, timer: Timer, doc_id: str, now: str) -> bool:
        """Fire one document if it is still due; True when this call fired it."""
        fired: list[bool] = []

        def apply(doc: Doc | None) -> Doc | None:
            fired.clear()
            if doc is None:
                return None
            changes, events = timer.fire(dict(doc), now)
            if changes is None:
                return None
            evs = list(events)
            fired.append(True)
            apply.events = evs  # type: ignore[attr-defined]
            return {**doc, **changes}

        apply.events = []  # type: ignore[attr-defined]
        try:
            await self.store.mutate(timer.coll, doc_id, apply, events=lambda _old, _new: apply.events)
        except NotFoundError:
            return False
        except ConflictError:  # lost every retry to concurrent writers: the next poll sees it
            return False
        if fired:
            self.fired[timer.name] += 1
        return bool(fired)

    async def run_timer(self, timer: Timer, now: str) -> int:
        page = await self.store.find(timer.coll, timer.due(now), sort=list(timer.sort), first=timer.batch)
        n = 0
        for doc in page.items:
            if await self.fire_one(timer, doc["id"], now):
                n += 1
        return n

    async def run_once(self, now: str | None = None) -> int:
        """One poll of every timer at `now` (default: the current time); returns how many fired."""
        at = now or now_iso()
        total = 0
        for timer in self.timers:
            try:
                total += await self.run_timer(timer, at)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one failing timer must not stop the others
                self.last_error = f"{timer.name}: {exc!r}"
                log.warning("scheduler timer=%s failed: %r", timer.name, exc)
        return total

    async def _loop(self) -> None:
        while True:
            try:
                n = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # pragma: no cover - run_once already isolates timers
                log.warning("scheduler: %r", exc)
                n = 0
            if n == 0:
                await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None and self.timers:
            self._task = asyncio.create_task(self._loop(), name="scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
