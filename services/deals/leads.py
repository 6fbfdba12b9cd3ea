"""Deals opened by a lead's conversion in contacts (docs/day.md): `contacts.lead.converted` with a
`deal` part becomes a deal whose id contacts derived from the lead, so a redelivered or repeated
conversion opens one deal. Registered with one line in service.py."""

from __future__ import annotations

from services.common.audit import audit_event
from services.common.envelope import Envelope
from services.common.errors import DuplicateKeyError
from services.common.service import Service, Subscription

from . import domain, events

LEAD_CONVERTED = "contacts.lead.converted"


async def on_lead_converted(service: Service, e: Envelope) -> None:
    d = e.data
    spec = d.get("deal")
    if not spec or not d.get("deal_id") or not d.get("company_id"):
        return
    store = service.store
    if await store.get("deals", d["deal_id"]) is not None:
        return
    pipeline = await store.get("pipelines", domain.DEFAULT_PIPELINE)
    if pipeline is None:
        raise RuntimeError("default pipeline missing")  # redelivered after setup
    stage = domain.starting_stage(pipeline, None)
    body = {
        "id": d["deal_id"],
        "title": spec["title"],
        "company_id": d["company_id"],
        "contact_id": d.get("contact_id"),
        "amount_minor": int(spec.get("amount_minor") or 0),
        "currency": spec.get("currency"),
        "pipeline_id": domain.DEFAULT_PIPELINE,
        "stage_id": stage["id"],
        "status": domain.DealStatus.OPEN.value,
        "owner": spec.get("owner"),
        "partner_id": d.get("partner_id"),
        "lead_id": d.get("lead_id") or e.subject,
        "expected_close_date": None,
    }
    audit = audit_event("deals", None, "created", "Deal", body["id"], {"lead_id": {"from": None, "to": e.subject}})
    try:
        await store.insert("deals", body, events=[events.deal_created(body, stage), audit])
    except DuplicateKeyError:
        pass


def subscription(service: Service) -> Subscription:
    return Subscription("lead-converted", [LEAD_CONVERTED], lambda e: on_lead_converted(service, e))
