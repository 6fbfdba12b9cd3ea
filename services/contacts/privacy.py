"""A person's data exported or erased (GDPR articles 15 and 17; docs/data.md), contacts' side.

Erasure: the contact keeps its id, company, lifecycle, owner and dates (the company's statistics
and every other record's links stay), its name becomes "Erased person", its e-mail, phone, job
title, custom-field values and personal dates go; the free text of its timeline rows and activities is replaced; the
audit log keeps the fact ("erased", who, when) and loses the values of the person's earlier
entries. `contacts.contact.erased` then makes deals, marketing and support do the same with what
they hold, and the snapshot event updates their replicas.

Export: contacts answers `exportPersonData` with its part (`PersonData.contacts`); deals,
marketing and support add theirs to the same `PersonData` entity through federation (each
service answers for its own store, the gateway assembles one JSON document)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.common.envelope import Envelope
from services.common.errors import NotFoundError
from services.common.person_data import ERASED, ERASED_CONTACT, Blank, anonymise, gather

from . import duplicates, events

if TYPE_CHECKING:
    from services.common.context import Context
    from services.common.store import Store

ERASED_FIRST, ERASED_LAST = "Erased", "person"
PERSON_FIELDS = ("first_name", "last_name", "email", "phone", "job_title")

# what else contacts holds on a person, and what of it is blanked
BLANKS = [
    Blank("interactions", "contact_id", fields=("title", "detail")),
    Blank("activities", "contact_id", fields=("title", "notes", "outcome")),
    Blank(
        "leads",
        "contact_id",
        fields=("first_name", "last_name", "notes", "referrer"),
        drop=("email", "email_key", "phone"),
    ),
    Blank("reminders", "contact_id", fields=("title", "note", "label")),
]
EXPORTED = [
    ("interactions", "contact_id"),
    ("activities", "contact_id"),
    ("leads", "contact_id"),
    ("reminders", "contact_id"),
]


def erased_contact(doc: dict) -> dict:
    """The contact with its personal values gone; ids, dates, lifecycle and owner stay (plain rule)."""
    new = {
        **doc,
        "first_name": ERASED_FIRST,
        "last_name": ERASED_LAST,
        "first_name_key": ERASED_FIRST.casefold(),
        "last_name_key": ERASED_LAST.casefold(),
        "email": None,
        "email_key": None,
        "phone": None,
        "phone_key": None,
        "job_title": None,
        "custom": {},  # admin-defined fields about the person (and the snapshot no longer carries them)
        "interested_in": doc.get("interested_in") or [],
        "merged_from": doc.get("merged_from") or [],
        "erased": True,
    }
    return {**new, **duplicates.stored_keys("contact", new)}


async def erase(c: Context, contact_id: str) -> dict:
    doc = await c.referenced("contacts", contact_id, "contact", "contactId")

    def with_events(old: dict, new: dict) -> list[Envelope]:
        return [
            events.contact_updated(new),
            Envelope(ERASED_CONTACT, new["id"], {"id": new["id"], "company_id": new.get("company_id")}),
            c.audit("erased", "Contact", new["id"]),  # that it happened, never the values
        ]

    # the record at once; the rest (timeline, day, audit values) by contacts' own consumer of the
    # erased event, like every other service: on FerretDB those are scans, too slow for a request
    return await c.store.mutate("contacts", doc["id"], c.guarded("contacts", erased_contact), events=with_events)


async def erase_local(store: Store, contact_id: str) -> None:
    """What contacts keeps besides the record: timeline, day, audit values (idempotent; the
    consumer of `contacts.contact.erased` runs it again, so rows that arrived meanwhile go too)."""
    await anonymise(store, BLANKS, contact_id)
    # the audit values of the person's record and of every record that named them (a ticket, a
    # membership, a timeline entry): found by the contact id in the recorded changes
    naming = {"$or": [{"changes.contact_id.to": contact_id}, {"changes.contact_id.from": contact_id}]}
    entities = {contact_id} | {r["entity_id"] for r in await store.find_all("audit_log", naming)}
    for row in await store.find_all("audit_log", {"entity_id": {"$in": sorted(entities)}}):
        if row.get("action") == "erased" or row.get("changes") == {"erased": True}:
            continue
        try:
            await store.update("audit_log", row["id"], {"changes": {"erased": True}})
        except NotFoundError:
            pass
    for row in await store.find_all("reminders", {"contact_id": contact_id, "yearly": True}):
        try:
            await store.delete("reminders", row["id"])  # birthdays and anniversaries are the person's
        except NotFoundError:
            pass


async def on_erased(store: Store, e: Envelope) -> None:
    await erase_local(store, str(e.data["id"]))


async def export(c: Context, contact_id: str) -> dict:
    """Contacts' part of the export: the record, its company's name, and the rows naming the person."""
    doc = await c.referenced("contacts", contact_id, "contact", "contactId")
    company = await c.store.get("companies", doc["company_id"]) if doc.get("company_id") else None
    person = {k: v for k, v in doc.items() if not k.endswith("_key") and not k.startswith("dup_")}
    rows = await gather(c.store, EXPORTED, doc["id"])
    audit = await c.store.find_all("audit_log", {"entity_id": doc["id"]}, sort=[("at", 1)])
    await c.store.emit([c.audit("exported", "Contact", doc["id"])])
    return {
        "contact": person,
        "company": {"id": company["id"], "name": company.get("name")} if company else None,
        **rows,
        "audit_log": audit,
    }


__all__ = ["ERASED", "erase", "export", "on_erased"]
