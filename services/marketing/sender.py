"""The e-mail send job (docs/marketing.md): a claim-with-lease loop every replica runs.

A send (`sends`) starts PREPARING: a replica expands its audience into one `deliveries` record per
recipient (deterministic ids, so a restarted or concurrent expansion makes the same records),
deciding there who is skipped and why (consent, no address, duplicate address). Then RUNNING:
each queued delivery is **claimed** by a conditional write (status QUEUED → SENDING with a lease
and a claim token; two replicas cannot both win it), sent through SMTP with a Message-ID derived
from the send and the contact, and **recorded** (SENT, BOUNCED, or QUEUED again with a later
`next_at` after a temporary failure; FAILED when the retries are spent).

The one unavoidable window: a process that dies after the SMTP server accepted the message and
before SENT is written leaves the delivery SENDING. When its lease expires it becomes UNKNOWN and
is **not** resent automatically (at most one copy); `requeueUnknownDeliveries` resends those on
purpose, with the same Message-ID so a receiving system can recognise the copy. A graceful stop
finishes the message in flight before stopping, so only a crash can leave one."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
import uuid
from typing import TYPE_CHECKING

from services.common.errors import ConflictError, DuplicateKeyError, NotFoundError
from services.common.ids import iso, now_iso, utcnow
from services.common.mail import Mailer, MailError, make_message
from services.common.signing import sign

from . import audience, domain, mailing
from .consent import ConsentChannel, SkipReason, address_key, skip_reason
from .mailing import DeliveryStatus as D
from .mailing import SendState

if TYPE_CHECKING:
    from .service import MarketingService

log = logging.getLogger(__name__)
PAGE = 200


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        return default


def delivery_id(send_id: str, *, email: str | None = None, contact_id: str | None = None) -> str:
    """One delivery per address of a send (so an address shared by two contacts gets one copy);
    recipients without an address get one per contact."""
    return f"{send_id}:e:{email}" if email else f"{send_id}:c:{contact_id}"


class Sender:
    def __init__(self, service: MarketingService):
        self.service = service
        self.rate = _env_float("MARKETING_SEND_RATE", 20.0)  # messages per second per replica
        self.lease = _env_float("MARKETING_SEND_LEASE_SECONDS", 120.0)
        self.max_attempts = int(_env_float("MARKETING_SEND_ATTEMPTS", 4))
        self.concurrency = int(_env_float("MARKETING_SEND_CONCURRENCY", 1))  # SMTP transactions in flight
        self._pace_lock = asyncio.Lock()
        self.interval = service.settings.scheduler_interval
        self.worker = uuid.uuid4().hex[:12]
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._last_send = 0.0
        self.sent = 0

    @property
    def store(self):
        return self.service.store

    # ---- loop ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name="marketing-sender")

    async def stop(self, timeout: float = 10.0) -> None:
        """Graceful: the message in flight is finished and recorded, then the loop ends."""
        if self._task is None:
            return
        self._stopping = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                worked = await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("marketing sender: %r", exc)
                worked = 0
            if not worked and not self._stopping:
                await asyncio.sleep(self.interval)

    async def tick(self, now: str | None = None) -> int:
        """One round: expand preparing sends, expire dead leases, send what is due. Returns how
        much was done (0: idle)."""
        now = now or now_iso()
        done = 0
        for s in await self.store.find_all("sends", {"state": SendState.PREPARING.value}):
            done += await self.prepare(s)
        done += await self.expire_leases(now)
        for s in await self.store.find_all("sends", {"state": SendState.CANCELLED.value, "open": True}):
            done += await self.cancel_rest(s)
        for s in await self.store.find_all("sends", {"state": SendState.RUNNING.value}):
            if self._stopping:
                break
            done += await self.run_send(s, now)
        return done

    # ---- preparing -------------------------------------------------------------------------
    async def prepare(self, send: dict) -> int:
        store = self.store
        if send.get("segment_id"):
            flt = await audience.segment_member_filter(store, send["segment_id"], utcnow())
            ids = [d["id"] for d in await store.find_all("ref_contacts", flt, sort=[("id", 1)])]
        else:
            rows = await store.find_all("members", {"campaign_id": send["campaign_id"]}, sort=[("contact_id", 1)])
            ids = [r["contact_id"] for r in rows]
        n = 0
        for i in range(0, len(ids), PAGE):
            chunk = ids[i : i + PAGE]
            people = await store.get_many("ref_contacts", chunk)
            emails = {cid: (people.get(cid) or {}).get("email") for cid in chunk}
            keys = {cid: address_key(ConsentChannel.EMAIL, email=e) for cid, e in emails.items() if e}
            consents = await store.get_many("consents", list(set(keys.values())))
            for cid in chunk:
                person = people.get(cid) or {"id": cid}
                email = emails.get(cid)
                reason = skip_reason(email, consents.get(keys.get(cid, "")))
                n += await self._add_delivery(send, person, email, reason)
        try:
            await store.mutate(
                "sends",
                send["id"],
                lambda d: (
                    {**d, "state": SendState.RUNNING.value, "prepared_at": now_iso(), "open": True}
                    if d["state"] == SendState.PREPARING.value
                    else None
                ),
            )
        except NotFoundError:
            pass
        return n + 1

    async def _add_delivery(self, send: dict, person: dict, email: str | None, reason: SkipReason | None) -> int:
        cid = person["id"]
        base = {
            "send_id": send["id"],
            "campaign_id": send["campaign_id"],
            "contact_id": cid,
            "company_id": person.get("company_id"),
            "email": email,
            "attempts": 0,
            "next_at": send["created_at"],
        }
        if reason is None:
            doc = {**base, "id": delivery_id(send["id"], email=email), "status": D.QUEUED.value, "reason": None}
        else:
            doc = {
                **base,
                "id": delivery_id(send["id"], contact_id=cid),
                "status": D.SKIPPED.value,
                "reason": reason.value,
            }
        try:
            await self.store.insert("deliveries", doc)
            if reason is None:  # a recipient is a member of the campaign (targeted)
                await self._targeted(send["campaign_id"], person)
            return 1
        except DuplicateKeyError:
            pass
        if reason is None:
            existing = await self.store.get("deliveries", doc["id"])
            if existing and existing.get("contact_id") != cid:  # another contact has this address
                dup = {
                    **base,
                    "id": delivery_id(send["id"], contact_id=cid),
                    "status": D.SKIPPED.value,
                    "reason": SkipReason.DUPLICATE_EMAIL.value,
                }
                try:
                    await self.store.insert("deliveries", dup)
                    return 1
                except DuplicateKeyError:
                    pass
        return 0

    async def _targeted(self, campaign_id: str, person: dict) -> None:
        try:
            await self.store.insert("members", domain.targeted(campaign_id, person))
        except DuplicateKeyError:
            pass  # a member already (or responded)

    # ---- running ---------------------------------------------------------------------------
    async def expire_leases(self, now: str) -> int:
        """SENDING past its lease: the sender died mid-send. UNKNOWN, not resent (module doc)."""
        stale = await self.store.find(
            "deliveries", {"status": D.SENDING.value, "lease_until": {"$lt": now}}, first=PAGE
        )
        n = 0
        for d in stale.items:

            def fn(doc, claim=d.get("claim")):
                if doc["status"] != D.SENDING.value or doc.get("claim") != claim:
                    return None
                return {**doc, "status": D.UNKNOWN.value, "error": "sender stopped during the SMTP transaction"}

            await self.store.mutate("deliveries", d["id"], fn)
            n += 1
        return n

    async def cancel_rest(self, send: dict) -> int:
        page = await self.store.find("deliveries", {"send_id": send["id"], "status": D.QUEUED.value}, first=PAGE)
        for d in page.items:
            await self.store.mutate(
                "deliveries",
                d["id"],
                lambda doc: {**doc, "status": D.CANCELLED.value} if doc["status"] == D.QUEUED.value else None,
            )
        if not page.has_next:
            await self.store.mutate(
                "sends", send["id"], lambda doc: {**doc, "open": False} if doc.get("open") else None
            )
        return len(page.items)

    async def run_send(self, send: dict, now: str) -> int:
        store = self.store
        if not self.service.settings.smtp_url:
            return 0  # no SMTP server configured: the send waits (docs/marketing.md)
        due = await store.find(
            "deliveries",
            {"send_id": send["id"], "status": D.QUEUED.value, "next_at": {"$lte": now}},
            sort=[("next_at", 1)],
            first=50,
        )
        if not due.items:
            left = await store.count(
                "deliveries", {"send_id": send["id"], "status": {"$in": [D.QUEUED.value, D.SENDING.value]}}
            )
            if left == 0:
                await store.mutate(
                    "sends",
                    send["id"],
                    lambda d: (
                        {**d, "state": SendState.DONE.value, "finished_at": now_iso(), "open": False}
                        if d["state"] == SendState.RUNNING.value
                        else None
                    ),
                )
                return 1
            return 0
        campaign = await store.get("campaigns", send["campaign_id"]) or {"name": ""}
        gate = asyncio.Semaphore(max(1, self.concurrency))

        async def one(d: dict) -> int:
            async with gate:
                if self._stopping:
                    return 0
                current = await store.get("sends", send["id"])
                if not current or current["state"] != SendState.RUNNING.value:
                    return 0  # paused or cancelled meanwhile
                claimed = await self.claim(d)
                if claimed is None:
                    return 0  # another replica has it
                await self.deliver(current, campaign, claimed)
                return 1

        return sum(await asyncio.gather(*(one(d) for d in due.items)))

    async def claim(self, d: dict) -> dict | None:
        token = f"{self.worker}.{uuid.uuid4().hex[:8]}"
        lease_until = iso(utcnow() + dt.timedelta(seconds=self.lease))

        def fn(doc):
            if doc["status"] != D.QUEUED.value:
                return None
            return {
                **doc,
                "status": D.SENDING.value,
                "claim": token,
                "lease_until": lease_until,
                "attempts": int(doc.get("attempts") or 0) + 1,
            }

        try:
            doc = await self.store.mutate("deliveries", d["id"], fn)
        except (ConflictError, NotFoundError):
            return None
        return doc if doc.get("claim") == token and doc["status"] == D.SENDING.value else None

    async def _pace(self) -> None:
        if self.rate <= 0:
            return
        async with self._pace_lock:
            gap = 1.0 / self.rate - (time.monotonic() - self._last_send)
            if gap > 0:
                await asyncio.sleep(gap)
            self._last_send = time.monotonic()

    def build(self, send: dict, campaign: dict, d: dict, person: dict, company: dict | None):
        settings = self.service.settings
        base = settings.public_url
        unsub = f"{base}/m/u/{sign(settings, 'unsubscribe', {'e': d['email'], 'c': d['contact_id'], 's': send['id']})}"
        ctx = mailing.merge_context({**person, "email": d["email"]}, company, campaign, unsub)
        subject = mailing.render(send["subject"], ctx, field="subject")
        text = mailing.render(send["text"], ctx, field="text")
        html = mailing.render(send["html"], ctx, html=True, field="html") if send.get("html") else None
        if html is not None and send.get("track_clicks"):
            html = mailing.track_links(
                html, lambda url: f"{base}/m/c/{sign(settings, 'click', {'d': d['id'], 'u': url})}"
            )
        if html is not None and send.get("track_opens"):
            html = mailing.add_pixel(html, f"{base}/m/o/{sign(settings, 'open', {'d': d['id']})}")
        return make_message(
            sender=settings.mail_from,
            to=d["email"],
            subject=subject,
            text=text,
            html=html,
            headers=mailing.unsubscribe_headers(unsub),
            message_id=mailing.message_id(send["id"], d["contact_id"], mailing.sender_domain(settings.mail_from)),
        )

    async def deliver(self, send: dict, campaign: dict, d: dict) -> None:
        store = self.store
        person = await store.get("ref_contacts", d["contact_id"]) or {}
        company = await store.get("ref_companies", person["company_id"]) if person.get("company_id") else None
        error, status = None, D.SENT.value
        try:
            msg = self.build(send, campaign, d, person, company)
            await self._pace()
            await Mailer(self.service.settings.smtp_url).send(msg)
            self.sent += 1
        except MailError as exc:
            error = str(exc)[:500]
            status = D.BOUNCED.value if exc.permanent else D.QUEUED.value
        except Exception as exc:  # a template that fails on this recipient's data, a bad address...
            error, status = f"{type(exc).__name__}: {exc}"[:500], D.FAILED.value
        now = now_iso()

        def fn(doc):
            if doc.get("claim") != d["claim"] or doc["status"] != D.SENDING.value:
                return None  # expired and taken over meanwhile
            out = {**doc, "status": status, "error": error, "lease_until": None}
            if status == D.SENT.value:
                out["sent_at"] = now
            elif status == D.QUEUED.value:
                if int(doc.get("attempts") or 0) >= self.max_attempts:
                    out["status"] = D.FAILED.value
                else:
                    out["next_at"] = iso(utcnow() + dt.timedelta(seconds=mailing.retry_delay(doc["attempts"])))
            return out

        await store.mutate("deliveries", d["id"], fn)
