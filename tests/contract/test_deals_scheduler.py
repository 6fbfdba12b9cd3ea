"""The payment-overdue timer of deals (services/deals/service.py) on the shared scheduler, on both
stores: across a restart no milestone is missed and none fires twice, and two replicas polling
one store at once fire each milestone exactly once (one `deals.payment.overdue` and one
notification per milestone)."""

from __future__ import annotations

import asyncio
import dataclasses

from services.common.scheduler import Scheduler
from services.common.settings import Settings
from services.deals.service import DealsService

NOW = "2026-04-10T08:00:00.000000Z"


def overdue_timer(batch: int | None = None):
    (timer,) = [t for t in DealsService(Settings(service="deals")).timers() if t.name == "payment-overdue"]
    return dataclasses.replace(timer, batch=batch) if batch else timer


async def seed(store, n: int) -> None:
    for i in range(n):
        await store.insert(
            "milestones",
            {
                "id": f"m{i:03d}",
                "deal_id": "d1",
                "company_id": "c1",
                "owner": "sales.anna",
                "title": f"Milestone {i}",
                "amount_minor": 1000 * (i + 1),
                "currency": "EUR",
                "due_date": "2026-03-31" if i % 5 else "2026-04-10",  # every fifth is due today: not overdue yet
                "status": "invoiced" if i % 2 else "planned",
            },
        )


async def events_of(store) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for _coll, raw in await store.pending_outbox(10_000):
        for e in raw.get("_outbox") or []:
            out.setdefault(e["type"], []).append(e["subject"])
    return out


async def test_restart_misses_nothing_and_doubles_nothing(store):
    await seed(store, 10)  # 8 overdue, 2 due today
    first = Scheduler(store, [overdue_timer(batch=3)])
    assert await first.run_timer(first.timers[0], NOW) == 3  # then the process dies
    restarted = Scheduler(store, [overdue_timer()])
    assert await restarted.run_once(now=NOW) == 5
    assert await restarted.run_once(now=NOW) == 0
    evs = await events_of(store)
    overdue = sorted(evs["deals.payment.overdue"])
    assert overdue == sorted(f"m{i:03d}" for i in range(10) if i % 5)
    assert sorted(evs["deals.notification.requested"]) == sorted(f"payment-overdue-{m}" for m in overdue)
    today = await store.get("milestones", "m005")
    assert today["status"] == "invoiced"  # due today: not overdue before tomorrow
    late = await store.get("milestones", "m001")
    assert late["status"] == "overdue" and late["overdue_at"] == NOW


async def test_two_replicas_fire_each_milestone_once(store):
    await seed(store, 10)
    a, b = Scheduler(store, [overdue_timer(batch=4)]), Scheduler(store, [overdue_timer(batch=4)])
    fired = 0
    for _ in range(4):
        fired += sum(await asyncio.gather(a.run_once(now=NOW), b.run_once(now=NOW)))
    assert fired == 8
    evs = await events_of(store)
    assert len(evs["deals.payment.overdue"]) == len(set(evs["deals.payment.overdue"])) == 8
    assert len(evs["deals.notification.requested"]) == 8


async def test_deals_written_before_the_forecast_fields_get_them_once(store):
    from services.deals import domain

    await store.insert("pipelines", domain.default_pipeline())
    await store.insert(
        "deals",
        {
            "id": "old",
            "pipeline_id": domain.DEFAULT_PIPELINE,
            "stage_id": "estimate",
            "status": "open",
            "amount_minor": 1000,
        },
    )
    svc = DealsService(Settings(service="deals"), store=store)
    await svc.backfill_forecast_fields()
    await svc.backfill_forecast_fields()
    d = await store.get("deals", "old")
    assert (d["probability"], d["weighted_minor"], d["forecast_category"], d["version"]) == (50, 500, "best_case", 2)
