"""Support's stored shapes and timer on both stores (SQLite; FerretDB with MONGODB_URL): the
escalation fires once with two scheduler instances and after a "restart" (a new instance on the
same store), e-mail threading, survey answers reopening a ticket. The same flows run through the
gateway in tests/gateway/test_support_wave.py."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from email.message import EmailMessage

from services.common.bus.memory import InMemoryBus
from services.common.ids import iso
from services.common.scheduler import Scheduler
from services.common.settings import Settings
from services.support import domain, mail, survey, tickets
from services.support.service import SupportService

ALWAYS = {
    "id": "cal",
    "name": "24/7",
    "time_zone": "Europe/Berlin",
    "hours": {d: [{"start": "00:00", "end": "24:00"}] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "holidays": ["2026-12-25"],
}


async def service_on(store, tmp_path) -> SupportService:
    settings = dataclasses.replace(
        Settings.from_env("support"), data_dir=tmp_path, scheduler_enabled=False, mail_from="support@turnkey.test"
    )
    svc = SupportService(settings, store=store, bus=InMemoryBus())
    await svc.start()
    return svc


async def test_escalation_fires_once_across_instances_and_restart(store, tmp_path):
    svc = await service_on(store, tmp_path)
    try:
        await store.insert("sla_calendars", dict(ALWAYS))
        await store.insert(
            "sla_policies",
            {
                "id": "p",
                "name": "Gold",
                "calendar_id": "cal",
                "targets": {"normal": {"first_response_minutes": 60, "resolution_minutes": 120}},
                "warn_percent": 50,
                "escalation": {"notify": ["account_manager"], "raise_priority": True},
            },
        )
        await store.insert("ref_companies", {"id": "C1", "name": "Acme", "owner": "sales.anna"})
        start = dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC)
        body = await tickets.prepared(
            store,
            {
                "id": "T1",
                "company_id": "C1",
                "subject": "Leak",
                "priority": "normal",
                "status": "open",
                "received_at": iso(start),
            },
            now=iso(start),
        )
        await store.insert("tickets", body)
        assert body["sla"]["calendar"]["time_zone"] == "Europe/Berlin"  # the calendar travels with the ticket

        def instances(n):
            return [Scheduler(store, svc.timers()) for _ in range(n)]

        warn = iso(start + dt.timedelta(minutes=31))
        results = await asyncio.gather(*(s.run_once(now=warn) for s in instances(2)))
        assert sum(results) == 1  # two replicas, one fire
        await svc.stop()
        svc = await service_on(store, tmp_path)  # a restart
        assert sum([await s.run_once(now=warn) for s in instances(2)]) == 0
        late = iso(start + dt.timedelta(hours=5))
        results = await asyncio.gather(*(s.run_once(now=late) for s in instances(2)))
        assert sum(results) == 1
        t = await store.get("tickets", "T1")
        assert [e["alarm"] for e in t["escalations"]] == [
            "first_response.warning",
            "first_response.breached",
            "resolution.breached",
        ]
        assert t["priority"] == "critical" and t["sla_next_at"] is None
        raw = await store.pending_outbox(100)
        types = [e["type"] for _, doc in raw for e in doc.get("_outbox") or []]
        assert types.count("support.notification.requested") == 3
        assert types.count("support.ticket.escalated") == 2
    finally:
        await svc.stop()


def letter(sender: str, subject: str, text: str, **headers) -> EmailMessage:
    from services.common.mail import make_message

    return make_message(
        sender=sender, to="support@turnkey.test", subject=subject, text=text,
        headers={k.replace("_", "-"): v for k, v in headers.items()},
    )  # fmt: skip


async def test_mail_threads_and_survey_reopen_on_the_store(store, tmp_path):
    svc = await service_on(store, tmp_path)
    try:
        await store.insert("ref_companies", {"id": "C1", "name": "Acme", "owner": "sales.anna"})
        await store.insert("ref_contacts", {"id": "K1", "name": "Kari", "company_id": "C1", "email": "kari@acme.test"})
        first = letter("Kari <kari@acme.test>", "Printer", "Broken")
        first.add_attachment(b"x" * 10, maintype="image", subtype="png", filename="a.png")
        opened = await mail.ingest(svc, first, "kari@acme.test")
        tid = opened.split(":")[1]
        second = letter("kari@acme.test", "Re: Printer", "Still", In_Reply_To=first["Message-ID"])
        assert await mail.ingest(svc, second, "kari@acme.test") == f"appended:{tid}"
        auto = letter("kari@acme.test", "Out of office", "Away", Auto_Submitted="auto-replied")
        assert (await mail.ingest(svc, auto, "kari@acme.test")).startswith("ignored")
        by_token = letter("kari@acme.test", f"Another thing [#{tid}]", "Also this")
        assert await mail.ingest(svc, by_token, "kari@acme.test") == f"appended:{tid}"
        assert await mail.ingest(svc, by_token, "kari@acme.test") == "duplicate"
        assert await store.count("ticket_comments", {"ticket_id": tid}) == 2
        t = await store.get("tickets", tid)
        assert t["contact_id"] == "K1" and t["channel"] == "email" and t["attachments"][0]["stored"]

        resolved = domain.resolved(t, "fixed", "2026-03-03T10:00:00.000000Z")
        await store.update("tickets", tid, {k: resolved[k] for k in ("status", "resolution", "resolved_at", "pauses")})
        await survey.record(svc, tid, 1, 2, "meh")
        t = await store.get("tickets", tid)
        assert t["status"] == "open" and t["reopen_reason"].startswith("low satisfaction score 2/5")
        assert [p["end"] is not None for p in t["pauses"]] == [True]
    finally:
        await svc.stop()
