"""The e-mail send job on both stores (SQLite and MongoDB/FerretDB) with a real SMTP server on
loopback: two replicas sending one campaign never send one recipient twice; a sender that dies
during the SMTP transaction leaves that recipient UNKNOWN (not resent) until an operator requeues
it, and the copy sent again carries the same Message-ID."""

from __future__ import annotations

import asyncio
import collections
import dataclasses

from services.common.bus.memory import InMemoryBus
from services.common.ids import now_iso
from services.common.settings import Settings
from services.marketing.service import MarketingService


async def _replica(store, tmp_path, smtp_url: str) -> MarketingService:
    settings = dataclasses.replace(
        Settings(service="marketing"), data_dir=tmp_path, smtp_url=smtp_url, scheduler_enabled=False
    )
    bus = InMemoryBus()
    await bus.connect()
    svc = MarketingService(settings, store=store, bus=bus)
    svc._store = store  # the sender works on the store; no HTTP, no consumers needed here
    svc.sender.rate = 0
    return svc


async def _campaign(store, n: int, *, consent_for: int) -> dict:
    await store.insert("campaigns", {"id": "camp", "name": "Spring", "channel": "email", "currency": "EUR"})
    for i in range(n):
        email = f"p{i:03d}@example.com"
        await store.insert("ref_contacts", {"id": f"c{i:03d}", "name": f"P {i}", "email": email, "owner": "o"})
        await store.insert(
            "members", {"id": f"camp:c{i:03d}", "campaign_id": "camp", "contact_id": f"c{i:03d}", "status": "targeted"}
        )
        if i < consent_for:
            await store.insert(
                "consents",
                {"id": f"email:{email}", "channel": "email", "status": "granted", "source": "import", "address": email},
            )
    return await store.insert(
        "sends",
        {
            "id": "send1",
            "campaign_id": "camp",
            "segment_id": None,
            "subject": "Hi {{ contact.first_name }}",
            "text": "Hello",
            "html": None,
            "state": "preparing",
            "open": True,
        },
    )


async def _until_done(*replicas, rounds: int = 200) -> None:
    for _ in range(rounds):
        await asyncio.gather(*(r.sender.tick() for r in replicas))
        send = await replicas[0].store.get("sends", "send1")
        if send["state"] == "done":
            return
    raise AssertionError("the send did not finish")


async def _second_connection(store):
    """Another replica has its own connection to the same database (SQLite file / MongoDB)."""
    from services.common.store.sqlite import SqliteStore

    other = SqliteStore(store.path) if isinstance(store, SqliteStore) else type(store)(store.url, store.db_name)
    await other.connect()
    return other


async def test_two_replicas_never_send_one_recipient_twice(store, tmp_path, smtp_server):
    await _campaign(store, 60, consent_for=55)
    a = await _replica(store, tmp_path, smtp_server.url)
    await a.sender.prepare(await store.get("sends", "send1"))  # (SQLite learns its tables at connect)
    other = await _second_connection(store)
    try:
        b = await _replica(other, tmp_path, smtp_server.url)
        await _until_done(a, b)
    finally:
        await other.close()
    got = collections.Counter(str(m["To"]) for m in smtp_server.messages)
    assert len(got) == 55 and max(got.values()) == 1
    assert a.sender.sent + b.sender.sent == 55 and a.sender.sent and b.sender.sent  # both worked
    skipped = await store.find_all("deliveries", {"status": "skipped"})
    assert {d["reason"] for d in skipped} == {"no_consent"} and len(skipped) == 5


async def test_a_sender_dying_mid_send_leaves_unknown_not_a_second_copy(store, tmp_path, smtp_server):
    await _campaign(store, 5, consent_for=5)
    a = await _replica(store, tmp_path, smtp_server.url)
    await a.sender.prepare(await store.get("sends", "send1"))
    # a sender claimed p000 and died during the SMTP transaction (the server did accept it)
    d = (await store.find("deliveries", {"status": "queued"}, sort=[("id", 1)], first=1)).items[0]
    claimed = await a.sender.claim(d)
    send = await store.get("sends", "send1")
    msg = a.sender.build(send, {"name": "Spring"}, claimed, {"name": "P 0"}, None)
    from services.common.mail import Mailer

    await Mailer(smtp_server.url).send(msg)  # ... and the process died before recording SENT
    await store.mutate("deliveries", claimed["id"], lambda x: {**x, "lease_until": "2000-01-01T00:00:00.000000Z"})
    b = await _replica(store, tmp_path, smtp_server.url)  # the restarted process
    await _until_done(b)
    after = await store.get("deliveries", claimed["id"])
    assert after["status"] == "unknown"
    got = collections.Counter(str(m["To"]) for m in smtp_server.messages)
    assert len(smtp_server.messages) == 5 and max(got.values()) == 1  # no second copy
    # an operator chooses to resend the UNKNOWN one: same Message-ID as the first copy
    await store.mutate("deliveries", claimed["id"], lambda x: {**x, "status": "queued", "next_at": now_iso()})
    await store.mutate("sends", "send1", lambda x: {**x, "state": "running"})
    await _until_done(b)
    copies = [m for m in smtp_server.messages if str(m["To"]) == claimed["email"]]
    assert len(copies) == 2 and copies[0]["Message-ID"] == copies[1]["Message-ID"] == msg["Message-ID"]


async def test_a_paused_send_sends_nothing_until_resumed(store, tmp_path, smtp_server):
    await _campaign(store, 4, consent_for=4)
    a = await _replica(store, tmp_path, smtp_server.url)
    await a.sender.prepare(await store.get("sends", "send1"))
    await store.mutate("sends", "send1", lambda x: {**x, "state": "paused"})
    for _ in range(3):
        await a.sender.tick()
    assert smtp_server.messages == []
    await store.mutate("sends", "send1", lambda x: {**x, "state": "running"})
    await _until_done(a)
    assert len(smtp_server.messages) == 4
