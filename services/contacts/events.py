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
    return {k: doc.get(k) for k in ("id", "version", "name", "kind", "owner", "country", "partner_id")}


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
    return [Envelope(CONTACT_LIFECYCLE_CHANGED, new["id"], {**contact_snapshot(new), "from": old["lifecycle"]})]


def _changed(rule):
    """A `store.mutate` function from a domain rule that returns the changes (None: no change)."""

    def apply(doc: dict) -> dict | None:
        changes = rule(doc)
        return {**doc, **changes} if changes else None

    return apply


async def on_deal_won(store: Store, e: Envelope) -> None:
    """A won deal makes its company a client and its contact a client (lifecycle)."""
    d = e.data
    if d.get("company_id"):
        try:
            await store.mutate(
                "companies",
                d["company_id"],
                _changed(domain.company_won),
                event_id=e.id,
                events=lambda old, new: (
                    [
                        company_updated(new),
                        audit_event("contacts", None, "updated", "Company", new["id"], diff(old, new)),
                    ]
                    if old["kind"] != new["kind"]
                    else []
                ),
            )
        except (NotFoundError, AlreadyApplied):
            pass
    if d.get("contact_id"):
        try:
            await store.mutate(
                "contacts",
                d["contact_id"],
                _changed(domain.contact_won),
                event_id=e.id,
                events=lambda old, new: (
                    [
                        contact_updated(new),
                        *lifecycle_changed(old, new),
                        audit_event("contacts", None, "updated", "Contact", new["id"], diff(old, new)),
                    ]
                    if old["lifecycle"] != new["lifecycle"]
                    else []
                ),
            )
        except (NotFoundError, AlreadyApplied):
            pass
