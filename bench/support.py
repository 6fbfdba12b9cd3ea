"""Support figures (`python -m bench.support [--tickets 100000] [--mails 500]`):

1. SLA evaluation of N open tickets: the state of both clocks (`escalation.evaluate`) on a
   Europe/Berlin Mon–Fri 09:00–17:00 calendar with holidays, a quarter of the tickets with a pause,
   opened over the last 30 days; and the time to compute each ticket's next alarm.
2. Inbound mail throughput: messages sent over SMTP (aiosmtplib) to the real inbound endpoint
   (aiosmtpd) of a support service on an embedded SQLite store, a third of them replies threaded
   onto earlier tickets; messages per second until every ticket/comment is stored.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import tempfile
import time
from pathlib import Path

from services.common.ids import iso
from services.support import escalation

CAL = {
    "id": "cal",
    "name": "Berlin office",
    "time_zone": "Europe/Berlin",
    "hours": {d: [{"start": "09:00", "end": "17:00"}] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2026-12-24", "2026-12-25", "2026-12-26", "2027-01-01"],
}


def tickets(n: int, now: dt.datetime) -> list[dict]:
    rnd = random.Random(7)
    out = []
    for i in range(n):
        opened = now - dt.timedelta(minutes=rnd.randint(0, 30 * 24 * 60))
        t = {
            "id": f"T{i}",
            "status": "open",
            "priority": "normal",
            "created_at": iso(opened),
            "sla": {
                "policy_id": "p",
                "first_response_minutes": rnd.choice([60, 240, 480]),
                "resolution_minutes": rnd.choice([480, 960, 2400]),
                "warn_percent": 80,
                "calendar": CAL,
            },
            "pauses": [],
            "sla_fired": [],
        }
        if i % 4 == 0:
            a = opened + dt.timedelta(hours=rnd.randint(1, 48))
            if a < now:
                end = a + dt.timedelta(hours=rnd.randint(1, 24))
                t["pauses"] = [{"start": iso(a), "end": iso(end) if end < now else None}]
        if i % 3 == 0:
            t["first_response_at"] = iso(opened + dt.timedelta(minutes=rnd.randint(5, 600)))
        out.append(t)
    return out


def bench_sla(n: int) -> None:
    now = dt.datetime(2026, 12, 15, 10, tzinfo=dt.UTC)
    docs = tickets(n, now)
    t0, c0 = time.perf_counter(), time.process_time()
    breached = 0
    for d in docs:
        fr, res = escalation.evaluate(d, now)
        breached += fr.breached or res.breached
    t1, c1 = time.perf_counter(), time.process_time()
    for d in docs:
        escalation.with_next_alarm(d, iso(now))
    t2, c2 = time.perf_counter(), time.process_time()
    print(
        f"SLA evaluation: {n} open tickets in {t1 - t0:.2f} s wall, {c1 - c0:.2f} s CPU "
        f"({n / (c1 - c0):,.0f} tickets per CPU-second, {(c1 - c0) / n * 1e6:.0f} µs each); {breached} breached"
    )
    print(f"next alarm: {n} tickets in {t2 - t1:.2f} s wall, {c2 - c1:.2f} s CPU ({n / (c2 - c1):,.0f} per CPU-second)")


async def bench_mail(count: int) -> None:
    import aiosmtplib

    from devtools.stack import free_port
    from services.common.mail import make_message
    from services.common.settings import Settings
    from services.support.service import SupportService

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        os.environ["TURNKEY_INBOUND_SMTP"] = f"127.0.0.1:{port}"
        settings = Settings.from_env("support")
        settings = type(settings)(**{**settings.__dict__, "data_dir": Path(tmp), "port": free_port()})
        svc = SupportService(settings)
        await svc.start()
        try:
            sent_ids: list[str] = []
            t0 = time.perf_counter()
            smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
            await smtp.connect()
            for i in range(count):
                headers = {}
                if sent_ids and i % 3 == 0:
                    headers["In-Reply-To"] = random.choice(sent_ids)
                msg = make_message(
                    sender=f"client{i % 50}@bench.example",
                    to="support@turnkey.test",
                    subject=f"Request {i}",
                    text="Please help. " * 20,
                    headers=headers,
                )
                sent_ids.append(msg["Message-ID"])
                await smtp.send_message(msg)
            await smtp.quit()
            t1 = time.perf_counter()
            tickets_n = await svc.store.count("tickets", {})
            comments_n = await svc.store.count("ticket_comments", {})
            print(
                f"inbound mail: {count} messages in {t1 - t0:.2f} s ({count / (t1 - t0):.0f} msg/s, one SMTP "
                f"session, SQLite): {tickets_n} tickets, {comments_n} comments"
            )
        finally:
            del os.environ["TURNKEY_INBOUND_SMTP"]
            await svc.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--mails", type=int, default=500)
    args = ap.parse_args()
    bench_sla(args.tickets)
    asyncio.run(bench_mail(args.mails))


if __name__ == "__main__":
    main()
