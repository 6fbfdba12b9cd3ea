"""The hand-over of a book (`transferBook`, docs/day.md): a job document with its progress, run in
batches of companies by whichever replica holds the job's lease; resumable and idempotent.

Per batch: the companies (owner `from` → `to`), their contacts, open leads and (optionally) open
activities move here, each record marked `transferred_by = job id` in its own write and counted
once as an item row of `transfer_jobs` (row id = job + service + record); then the job's progress is written
with the `contacts.book.transfer_requested` event of the batch in the same write (outbox), so a
batch is requested once it is done here. Deals (services/deals/handover.py) and support
(services/support/handover.py) move open deals / open tickets' account owner and publish one
`*.owner_changed` event per item moved, which this service counts the same way.

A crash half-way leaves the job `running`; the next start of the service (or `transferBook` with
the same arguments) resumes from the last written progress; records already moved are skipped
(their owner is no longer `from`), so nothing moves twice. Past records (held activities, closed
deals, timeline rows) keep their owner: history names the old owner."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from typing import TYPE_CHECKING, Any

from services.common.audit import audit_event
from services.common.envelope import Envelope
from services.common.errors import DuplicateKeyError, ErrorCode, InputError, NotFoundError
from services.common.ids import iso, now_iso
from services.common.values import clean_text

from . import day, day_events, events

if TYPE_CHECKING:
    from services.common.context import Context
    from services.common.store import Store

log = logging.getLogger(__name__)
TRANSFER_REQUESTED = "contacts.book.transfer_requested"
OWNER_CHANGED = ["deals.deal.owner_changed", "support.ticket.owner_changed"]  # consumed: items moved elsewhere
BATCH = 50
LEASE_SECONDS = 5.0


def job_key(frm: str, to: str, ids: list[str] | None, flags: tuple[bool, bool, bool]) -> str:
    text = "|".join([frm, to, ",".join(sorted(ids)) if ids is not None else "*", repr(flags)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


async def start(c: Context, inp) -> dict:
    """Find the unfinished job with these arguments (resume it) or create one; run it in the
    background on this replica. Returns the job document."""
    frm = clean_text(inp.from_owner, "fromOwner", required=True)
    to = clean_text(inp.to_owner, "toOwner", required=True)
    if frm == to:
        raise InputError(ErrorCode.INVALID, "from and to are the same user", ["input", "toOwner"])
    ids = sorted({str(i) for i in inp.company_ids}) if inp.company_ids is not None else None
    if ids is not None and len(ids) > 10_000:
        raise InputError(ErrorCode.INVALID, "at most 10 000 companies", ["input", "companyIds"])
    flags = (inp.include_deals, inp.include_activities, inp.include_tickets)
    key = job_key(frm, to, ids, flags)
    store = c.store
    running = await store.find("transfer_jobs", {"key": key, "state": "running"}, first=1)
    if running.items:
        job = running.items[0]
    else:
        scope = ids if ids is not None else [d["id"] for d in await store.find_all("companies", {"owner": frm})]
        n = await store.count("transfer_jobs", {"key": key})
        job = {
            "id": f"{key}-{n}",
            "key": key,
            "from_owner": frm,
            "to_owner": to,
            "company_ids": scope,
            "total": len(scope),
            "kind": "job",
            "done": 0,
            "batch": 0,
            "state": "running",
            "include_deals": inp.include_deals,
            "include_activities": inp.include_activities,
            "include_tickets": inp.include_tickets,
            "requested_by": c.principal.describe(),
            "finished_at": None,
        }
        await day_events.lazy_indexes(store, "transfer_jobs")
        try:
            job = await store.insert("transfer_jobs", job)
        except DuplicateKeyError:
            job = await store.get("transfer_jobs", job["id"]) or job
    c.service.spawn_transfer(job["id"])
    return job


async def _lease(store: Store, job_id: str, holder: str) -> dict | None:
    """Take or renew the job's lease (a version-conditional write): None if another live holder
    has it or the job is finished."""
    now = dt.datetime.now(dt.UTC)
    got: dict = {}

    def fn(d: dict) -> dict | None:
        if d["state"] != "running":
            return None
        if d.get("lease_holder") not in (None, holder) and (d.get("lease_until") or "") > iso(now):
            return None
        got["ok"] = True
        return {**d, "lease_holder": holder, "lease_until": iso(now + dt.timedelta(seconds=LEASE_SECONDS))}

    doc = await store.mutate("transfer_jobs", job_id, fn)
    return doc if got else None


async def _item(store: Store, job: dict, service: str, entity: str, item_id: str) -> None:
    try:
        await store.insert(
            "transfer_jobs",
            {
                "id": f"{job['id']}:{service}:{item_id}",
                "kind": "item",
                "job_id": job["id"],
                "service": service,
                "entity": entity,
            },
        )
    except DuplicateKeyError:
        pass


async def _move(store: Store, job: dict, coll: str, entity: str, doc_id: str, published, extra=None) -> None:
    """Move one record from → to (only if `from` still owns it), marked with the job; count it."""
    frm, to = job["from_owner"], job["to_owner"]

    def fn(d: dict) -> dict | None:
        if d.get("owner") != frm or (extra and not extra(d)):
            return None
        return {**d, "owner": to, "transferred_by": job["id"], "owner_before": frm}

    try:
        doc = await store.mutate(coll, doc_id, fn, events=lambda old, new: published(old, new))
    except NotFoundError:
        return
    if doc.get("transferred_by") == job["id"] and doc.get("owner") == to:
        await _item(store, job, "contacts", entity, doc_id)


async def run(store: Store, job_id: str, holder: str) -> None:
    while True:
        job = await _lease(store, job_id, holder)
        if job is None:
            return
        ids: list[str] = job["company_ids"]
        start = int(job["done"])
        if start >= len(ids):
            await _finish(store, job)
            return
        batch = ids[start : start + BATCH]
        await _batch(store, job, batch)
        request = Envelope(
            TRANSFER_REQUESTED,
            f"{job['id']}.{job['batch']}",
            {
                "job_id": job["id"],
                "batch": job["batch"],
                "from_owner": job["from_owner"],
                "to_owner": job["to_owner"],
                "company_ids": batch,
                "include_deals": job["include_deals"],
                "include_tickets": job["include_tickets"],
            },
        )

        def progress(d: dict, n=len(batch)) -> dict:
            return {**d, "done": int(d["done"]) + n, "batch": int(d["batch"]) + 1}

        # conditional on the version this holder read: a replica that lost the lease writes nothing
        await store.mutate("transfer_jobs", job_id, progress, expected_version=job["version"], events=[request])


async def _batch(store: Store, job: dict, batch: list[str]) -> None:
    """Move one batch. The records are independent single-document writes, so each kind is moved
    concurrently: on a MongoDB-wire server a move is several round trips, and one after another
    they made a 1,000-company book take minutes."""
    await asyncio.gather(
        *(_move(store, job, "companies", "companies", cid, lambda o, n: [events.company_updated(n)]) for cid in batch)
    )
    contacts = await store.find_all("contacts", {"company_id": {"$in": batch}, "owner": job["from_owner"]})
    await asyncio.gather(
        *(_move(store, job, "contacts", "contacts", d["id"], events.contact_changed) for d in contacts)
    )
    leads = await store.find_all(
        "leads", {"company_id": {"$in": batch}, "owner": job["from_owner"], "status": {"$in": list(day.OPEN_LEAD)}}
    )
    await asyncio.gather(*(_move(store, job, "leads", "leads", d["id"], day_events.lead_changed) for d in leads))
    if job["include_activities"]:
        acts = await store.find_all(
            "activities", {"company_id": {"$in": batch}, "owner": job["from_owner"], "status": "planned"}
        )
        await asyncio.gather(
            *(
                _move(
                    store,
                    job,
                    "activities",
                    "activities",
                    d["id"],
                    lambda o, n: [day_events.activity_changed(n)],
                    extra=lambda x: x.get("status") == "planned",
                )
                for d in acts
            )
        )


async def _finish(store: Store, job: dict) -> None:
    """Done: one audit record for the whole operation, with its item count."""
    mine = await store.count("transfer_jobs", {"kind": "item", "job_id": job["id"], "service": "contacts"})
    changes = {
        "from_owner": {"from": None, "to": job["from_owner"]},
        "to_owner": {"from": None, "to": job["to_owner"]},
        "companies": {"from": None, "to": job["total"]},
        "items": {"from": None, "to": mine},
    }
    actor = job.get("requested_by")
    audit = audit_event("contacts", None, "updated", "BookTransfer", job["id"], changes)
    if actor:
        audit.data["actor"] = actor

    def fn(d: dict) -> dict | None:
        if d["state"] != "running":
            return None
        return {**d, "state": "done", "finished_at": now_iso(), "lease_holder": None, "lease_until": None}

    await store.mutate("transfer_jobs", job["id"], fn, events=[audit])


async def on_owner_changed(store: Store, e: Envelope) -> None:
    """An item moved by deals or support for a job: counted once (row id = job + service + item)."""
    job_id = e.data.get("transfer_job")
    if not job_id:
        return
    service, entity = e.type.split(".")[0], e.type.split(".")[1] + "s"
    await _item(store, {"id": job_id}, service, entity, e.subject)


async def moved(store: Store, job_id: str) -> dict[str, int]:
    groups = await store.group("transfer_jobs", ["service", "entity"], flt={"kind": "item", "job_id": job_id})
    return {f"{g['key']['service']}.{g['key']['entity']}": g["count"] for g in groups}


async def resume_all(store: Store, spawn: Any) -> None:
    for job in await store.find_all("transfer_jobs", {"state": "running"}):
        spawn(job["id"])


async def run_guarded(store: Store, job_id: str, holder: str) -> None:
    """`run` until done, waiting out another holder's lease (a crashed replica's expires)."""
    for _ in range(1000):
        try:
            await run(store, job_id, holder)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a conflict with another replica, a store hiccup: retry after a pause
            log.warning("transfer %s: %s; retrying", job_id, exc)
        job = await store.get("transfer_jobs", job_id)
        if job is None or job["state"] != "running":
            return
        await asyncio.sleep(LEASE_SECONDS / 2)
