"""Opening a ticket, shared by `openTicket` and inbound e-mail: the SLA policy and calendar it runs
on, its queue and agent, its account owner (the client's owner, moved by the hand-over)."""

from __future__ import annotations

from services.common.ids import now_iso
from services.common.store import Store

from . import domain, escalation, partner_care

MAX_CONFIG = 500  # policies, calendars, queues, agents: configuration, read whole


async def all_of(store: Store, coll: str, flt: dict | None = None) -> list[dict]:
    return (await store.find(coll, flt or {}, sort=[("created_at", 1)], first=MAX_CONFIG)).items


async def prepared(store: Store, body: dict, *, now: str | None = None) -> dict:
    """`body` (company_id, priority, queue_id...) completed with the SLA snapshot, the account
    owner, the queue's agent and the first `sla_next_at`."""
    now = now or now_iso()
    company = await store.get("ref_companies", body["company_id"]) or {}
    policy = domain.pick_policy(
        await all_of(store, "sla_policies"),
        company_id=body["company_id"],
        tier=company.get("tier"),
        priority=body["priority"],
    )
    calendar = await store.get("sla_calendars", policy["calendar_id"]) if policy and policy.get("calendar_id") else None
    body = {
        **body,
        "account_owner": company.get("owner"),
        "partner_id": company.get("partner_id"),
        "partner_care": await partner_care.enabled(store, company.get("partner_id")),
        "sla": domain.sla_snapshot(policy, calendar, body["priority"]),
        "pauses": [],
        "sla_fired": [],
        "escalations": [],
        "assignments": [],
    }
    if not body.get("queue_id"):
        default = await all_of(store, "queues", {"is_default": True})
        body["queue_id"] = default[0]["id"] if default else None
    if body.get("queue_id") and not body.get("assignee"):
        agent = await next_agent(store, body["queue_id"])
        if agent:
            body["assignee"] = agent
            body["assignments"] = [{"agent": agent, "by": "auto", "reason": "queue assignment", "at": now}]
    body.setdefault("created_at", now)
    return escalation.with_next_alarm(body, now)


async def next_agent(store: Store, queue_id: str) -> str | None:
    """The queue's next agent (round robin or least loaded, available agents only); the round
    robin cursor moves in the queue's own write."""
    queue = await store.get("queues", queue_id)
    if not queue or not queue.get("members"):
        return None
    members = list(queue["members"])
    agents = await store.get_many("agents", members)
    available = {m for m in members if (agents.get(m) or {}).get("available")}
    if not available:
        return None
    if queue.get("strategy") == "least_loaded":
        rows = await store.group(
            "tickets",
            ["assignee"],
            flt={"$and": [{"assignee": {"$in": members}}, {"status": {"$in": domain.OPEN_STATUSES}}]},
        )
        load = {r["key"]["assignee"]: r["count"] for r in rows}
        agent, _ = domain.pick_agent("least_loaded", members, available, load, 0)
        return agent
    chosen: list[str | None] = []

    def advance(q: dict) -> dict:
        agent, cursor = domain.pick_agent("round_robin", list(q.get("members") or []), available, {}, q.get("rr", 0))
        chosen[:] = [agent]
        return {**q, "rr": cursor}

    await store.mutate("queues", queue_id, advance)
    return chosen[0] if chosen else None
