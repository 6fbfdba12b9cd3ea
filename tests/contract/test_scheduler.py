"""The shared scheduler (services/common/scheduler.py) on both stores: a due document fires once,
with its event in the same write; across a restart nothing is missed or doubled; two schedulers
racing on one store fire each document exactly once."""

from __future__ import annotations

import asyncio

from services.common.envelope import Envelope
from services.common.scheduler import Scheduler, Timer

T0 = "2026-01-01T00:00:00.000000Z"
T1 = "2026-01-02T00:00:00.000000Z"
T2 = "2026-01-03T00:00:00.000000Z"


def reminder_timer(batch: int = 100) -> Timer:
    def fire(doc: dict, now: str):
        if doc.get("state") != "pending" or doc["due_at"] > now:
            return None, []
        return {"state": "fired", "fired_at": now}, [Envelope("test.reminder.due", doc["id"], {"n": doc["n"]})]

    return Timer(
        name="reminders",
        coll="reminders",
        due=lambda now: {"state": "pending", "due_at": {"$lte": now}},
        fire=fire,
        batch=batch,
    )


async def seed(store, n: int, due_at: str) -> None:
    for i in range(n):
        await store.insert("reminders", {"id": f"r{i:04d}", "n": i, "state": "pending", "due_at": due_at})


async def outbox_events(store) -> list[dict]:
    out = []
    for _coll, raw in await store.pending_outbox(10_000):
        out.extend(e for e in raw.get("_outbox") or [] if e["type"] == "test.reminder.due")
    return out


async def test_fires_when_due_and_once(store):
    await seed(store, 3, T1)
    s = Scheduler(store, [reminder_timer()])
    assert await s.run_once(now=T0) == 0  # not due yet
    assert await s.run_once(now=T1) == 3
    assert await s.run_once(now=T2) == 0  # fired already
    events = await outbox_events(store)
    assert sorted(e["data"]["n"] for e in events) == [0, 1, 2]
    doc = await store.get("reminders", "r0001")
    assert doc["state"] == "fired" and doc["fired_at"] == T1


async def test_restart_misses_nothing_and_doubles_nothing(store):
    """A scheduler stopped after part of the due documents (batch of 4 of 10), then a new one
    (the restarted process): all 10 fire, each once."""
    await seed(store, 10, T1)
    first = Scheduler(store, [reminder_timer(batch=4)])
    assert await first.run_timer(first.timers[0], T1) == 4
    second = Scheduler(store, [reminder_timer(batch=4)])
    while await second.run_once(now=T2):
        pass
    events = await outbox_events(store)
    assert sorted(e["data"]["n"] for e in events) == list(range(10))


async def test_two_replicas_fire_each_document_once(store):
    await seed(store, 40, T1)
    a, b = Scheduler(store, [reminder_timer(batch=7)]), Scheduler(store, [reminder_timer(batch=7)])

    async def drain(s: Scheduler) -> int:
        total = 0
        while n := await s.run_once(now=T1):
            total += n
        return total

    fired_a, fired_b = await asyncio.gather(drain(a), drain(b))
    assert fired_a + fired_b == 40
    events = await outbox_events(store)
    assert sorted(e["data"]["n"] for e in events) == list(range(40))


async def test_a_failing_timer_does_not_stop_the_others(store):
    def boom(doc, now):
        raise RuntimeError("rule bug")

    await seed(store, 1, T0)
    bad = Timer(name="bad", coll="reminders", due=lambda now: {"state": "pending"}, fire=boom)
    s = Scheduler(store, [bad, reminder_timer()])
    assert await s.run_once(now=T1) == 1
    assert "rule bug" in (s.last_error or "")


async def test_loop_fires_without_being_asked(store):
    await seed(store, 2, "2000-01-01T00:00:00.000000Z")
    s = Scheduler(store, [reminder_timer()], interval=0.05)
    s.start()
    try:
        for _ in range(100):
            if s.fired["reminders"] == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await s.stop()
    assert s.fired["reminders"] == 2
