"""The hand-over of a book, support's part (docs/day.md, contacts' handover.py): for each
`contacts.book.transfer_requested` batch with `include_tickets`, the OPEN tickets of those
companies get `account_owner = to_owner` (where it was `from_owner` or not set yet). Each changed
ticket publishes `support.ticket.owner_changed` (snapshot plus `transfer_job`) in its own write,
which contacts counts once per ticket. Resolved tickets keep theirs (history). Registered with one
line in service.py."""

from __future__ import annotations

from services.common.envelope import Envelope
from services.common.service import Service, Subscription

from . import events

TRANSFER_REQUESTED = "contacts.book.transfer_requested"
OWNER_CHANGED = "support.ticket.owner_changed"
CLOSED = ("resolved", "closed")


async def on_transfer(service: Service, e: Envelope) -> None:
    d = e.data
    if not d.get("include_tickets") or not d.get("company_ids"):
        return
    store = service.store
    frm, to, job = d["from_owner"], d["to_owner"], d["job_id"]
    rows = await store.find_all("tickets", {"company_id": {"$in": list(d["company_ids"])}})
    for ticket in rows:
        if ticket.get("status") in CLOSED or ticket.get("account_owner") not in (None, frm):
            continue

        def move(doc: dict) -> dict | None:
            if doc.get("status") in CLOSED or doc.get("account_owner") not in (None, frm):
                return None
            return {**doc, "account_owner": to, "transferred_by": job}

        def published(old: dict, new: dict) -> list[Envelope]:
            snap = {**events.ticket_snapshot(new), "account_owner": to, "transfer_job": job, "owner_before": frm}
            return [Envelope(OWNER_CHANGED, new["id"], snap)]

        await store.mutate("tickets", ticket["id"], move, events=published)


def subscription(service: Service) -> Subscription:
    return Subscription("handover", [TRANSFER_REQUESTED], lambda e: on_transfer(service, e))
