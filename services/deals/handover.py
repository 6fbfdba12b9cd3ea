"""The hand-over of a book, deals' part (docs/day.md, contacts' handover.py): for each
`contacts.book.transfer_requested` batch with `include_deals`, the OPEN deals of those companies
owned by `from_owner` move to `to_owner`. Each moved deal publishes `deals.deal.owner_changed`
(the deal snapshot plus `transfer_job`) in its own write, which contacts counts once per deal.
Closed deals keep their owner (history). Registered with one line in service.py."""

from __future__ import annotations

from services.common.envelope import Envelope
from services.common.service import Service, Subscription

from . import domain, events

TRANSFER_REQUESTED = "contacts.book.transfer_requested"
OWNER_CHANGED = "deals.deal.owner_changed"


async def on_transfer(service: Service, e: Envelope) -> None:
    d = e.data
    if not d.get("include_deals") or not d.get("company_ids"):
        return
    store = service.store
    frm, to, job = d["from_owner"], d["to_owner"], d["job_id"]
    rows = await store.find_all(
        "deals", {"company_id": {"$in": list(d["company_ids"])}, "owner": frm, "status": domain.DealStatus.OPEN.value}
    )
    pipelines: dict[str, dict | None] = {}
    for deal in rows:
        pid = deal["pipeline_id"]
        if pid not in pipelines:
            pipelines[pid] = await store.get("pipelines", pid)

        def move(doc: dict) -> dict | None:
            if doc.get("owner") != frm or doc.get("status") != domain.DealStatus.OPEN.value:
                return None  # moved already, or closed meanwhile
            return {**doc, "owner": to, "owner_before": frm, "transferred_by": job}

        def published(old: dict, new: dict) -> list[Envelope]:
            stage = domain.find_stage(pipelines[new["pipeline_id"]], new["stage_id"]) or {
                "name": None,
                "probability": 0,
            }
            snap = {**events.deal_snapshot(new, stage), "transfer_job": job, "owner_before": frm}
            return [Envelope(OWNER_CHANGED, new["id"], snap)]

        await store.mutate("deals", deal["id"], move, events=published)


def subscription(service: Service) -> Subscription:
    return Subscription("handover", [TRANSFER_REQUESTED], lambda e: on_transfer(service, e))
