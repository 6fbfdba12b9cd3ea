"""Contacts' published events (docs/events.md) and the consumer of won deals.

The snapshots are the published contract: deals, marketing and support keep replicas of companies
and contacts from them. Consumers ignore unknown fields, so fields may be added, never removed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.common.audit import audit_event, diff
from services.common.envelope import Envelope
from services.common.errors import AlreadyApplied, NotFoundError

from . import domain

if TYPE_CHECKING:
    from services.common.store import Store

COMPANY_CREATED = "contacts.company.created"
COMPANY_UPDATED = "contacts.company.updated"
CONTACT_CREATED = "contacts.contact.created"
CONTACT_UPDATED = "contacts.contact.updated"
CONTACT_LIFECYCLE_CHANGED = "contacts.contact.lifecycle_changed"
DEAL_WON = "deals.deal.won"  # consumed


def company_snapshot(doc: dict) -> dict:
    keys = ("id", "version", "name", "kind", "owner", "country", "partner_id", "tier", "industry", "city")
    return {k: doc.get(k) for k in keys}


def contact_snapshot(doc: dict) -> dict:
    return {
        "id": doc["id"],
        "version": doc["version"],
        "name": f"{doc['first_name']} {doc['last_name']}".strip(),
        "email": doc.get("email"),
        "company_id": doc.get("company_id"),
        "lifecycle": doc["lifecycle"],
        "owner": doc.get("owner"),
        "partner_id": doc.get("partner_id"),
        # the stored custom-field values (`{key: value}`, docs/customfields.md): marketing's
        # segments filter on them. Always present, {} when none, so a replica can tell "no values"
        # from an older event that did not carry them
        "custom": dict(doc.get("custom") or {}),
    }


def company_created(company: dict) -> Envelope:
    return Envelope(COMPANY_CREATED, company["id"], company_snapshot(company))


def company_updated(company: dict) -> Envelope:
    return Envelope(COMPANY_UPDATED, company["id"], company_snapshot(company))


def contact_created(contact: dict) -> Envelope:
    return Envelope(CONTACT_CREATED, contact["id"], contact_snapshot(contact))


def contact_updated(contact: dict) -> Envelope:
    return Envelope(CONTACT_UPDATED, contact["id"], contact_snapshot(contact))


def lifecycle_changed(old: dict, new: dict) -> list[Envelope]:
    """`contacts.contact.lifecycle_changed` if the write changed the lifecycle, else nothing."""
    if old["lifecycle"] == new["lifecycle"]:
        return []
    snap = {k: v for k, v in contact_snapshot(new).items() if k != "custom"}  # the timeline needs no values
    return [Envelope(CONTACT_LIFECYCLE_CHANGED, new["id"], {**snap, "from": old["lifecycle"]})]


# the events of a change (`Context.update` adds its audit record)
def company_changed(old: dict, new: dict) -> list[Envelope]:
    return [company_updated(new)]


def contact_changed(old: dict, new: dict) -> list[Envelope]:
    return [contact_updated(new), *lifecycle_changed(old, new)]


# ---- consumed: a won deal -------------------------------------------------------------------------
# what a won deal changes: (the deal's field, collection, entity, domain rule, the change's events)
WON = [
    ("company_id", "companies", "Company", domain.company_won, company_changed),
    ("contact_id", "contacts", "Contact", domain.contact_won, contact_changed),
]


async def _apply(store: Store, e: Envelope, coll: str, record_id: str, entity: str, rule, published) -> None:
    """Apply a domain rule that returns the changes of a record (None: no change), once per event,
    with the change's events and its audit record (made by the system) in the same write."""

    def changed(doc: dict) -> dict | None:
        changes = rule(doc)
        return {**doc, **changes} if changes else None

    def events(old: dict, new: dict) -> list[Envelope]:
        return [*published(old, new), audit_event("contacts", None, "updated", entity, new["id"], diff(old, new))]

    try:
        await store.mutate(coll, record_id, changed, event_id=e.id, events=events)
    except (NotFoundError, AlreadyApplied):
        pass  # the record is gone, or this event was applied already


async def on_deal_won(store: Store, e: Envelope) -> None:
    """A won deal makes its company a client and its contact a client (lifecycle)."""
    for key, coll, entity, rule, published in WON:
        if e.data.get(key):
            await _apply(store, e, coll, e.data[key], entity, rule, published)
