"""Merging duplicate companies or contacts into one survivor (docs/data.md), contacts' side.

The write order, so that a crash at any point leaves a state a repeated merge completes:
1. the survivor gets the chosen values, with `contacts.<entity>.merged` (survivor and merged ids)
   and the audit record in the same write (outbox): every service re-points its references on
   that event — contacts too, for its own leads, activities, timeline, reminders and people;
2. each merged id gets an alias row (`merged_ids`: id → survivor), then its record is deleted.
Old ids keep resolving through the aliases (`resolve`), for queries by id and `_entities`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.common.envelope import Envelope
from services.common.errors import ErrorCode, InputError, NotFoundError
from services.common.person_data import MERGED_COMPANY, MERGED_CONTACT, Ref, repoint

from . import duplicates, events

if TYPE_CHECKING:
    from services.common.context import Context
    from services.common.store import Store

ALIASES = "merged_ids"
MAX_HOPS = 10

# contacts' own references, re-pointed by its consumer of the merged events
COMPANY_REFS = [  # people and registered companies publish their new snapshot: replicas follow
    Ref("contacts", "company_id", events.contact_changed),
    Ref("contacts", "partner_id", events.contact_changed),
    Ref("companies", "partner_id", events.company_changed),
    Ref("leads", "company_id"),
    Ref("leads", "partner_id"),
    Ref("activities", "company_id"),
    Ref("activities", "partner_id"),
    Ref("interactions", "company_id"),
    Ref("reminders", "company_id"),
    Ref("ref_deals", "company_id"),
]
CONTACT_REFS = [
    Ref("leads", "contact_id"),
    Ref("activities", "contact_id"),
    Ref("interactions", "contact_id"),
    Ref("reminders", "contact_id"),
    Ref("ref_deals", "contact_id"),
]

KINDS = {
    # entity: (collection, kind for the keys, fields, merged event, snapshot events)
    "Company": ("companies", "company", duplicates.COMPANY_FIELDS, MERGED_COMPANY, events.company_changed),
    "Contact": ("contacts", "contact", duplicates.CONTACT_FIELDS, MERGED_CONTACT, events.contact_changed),
}


async def survivor_id(store: Store, coll: str, id: str) -> str | None:
    """The id a merged `id` now lives under (itself when it was never merged)."""
    current = str(id)
    for _ in range(MAX_HOPS):
        alias = await store.get(ALIASES, f"{coll}:{current}")
        if alias is None:
            return current
        current = alias["survivor"]
    return current


async def resolve(c: Context, coll: str, id, convert):
    """`Context.one`, but a merged id answers with its survivor (scope applied to the survivor)."""
    if id is None:
        return None
    found = await c.one(coll, id, convert)
    if found is not None:
        return found
    target = await survivor_id(c.store, coll, str(id))
    if target and target != str(id):
        return await c.one(coll, target, convert)
    return None


def _derived(kind: str, doc: dict) -> dict:
    """The stored keys a record's values imply (folded names, e-mail, duplicates' keys)."""
    out = duplicates.stored_keys(kind, doc)
    if kind == "company":
        out["name_key"] = (doc.get("name") or "").casefold()
    else:
        out["first_name_key"] = (doc.get("first_name") or "").casefold()
        out["last_name_key"] = (doc.get("last_name") or "").casefold()
        out["email_key"] = doc["email"].casefold() if doc.get("email") else None
    return out


async def merge(c: Context, entity: str, survivor: str, merged: list[str], choices: dict[str, str]) -> dict:
    """Merge `merged` into `survivor`: every record must be one the caller may see (else the
    merge is refused exactly as for a missing record), 2–10 in all."""
    coll, kind, fields, merged_event, published = KINDS[entity]
    ids = duplicates.check_merge(survivor, merged)
    head = await c.referenced(coll, survivor, entity.lower(), "survivorId", code=ErrorCode.NOT_FOUND)
    others = [await c.referenced(coll, i, entity.lower(), "mergedIds", code=ErrorCode.NOT_FOUND) for i in ids]
    values = duplicates.survivor_values(head, others, fields, choices)
    if kind == "contact" and values.get("company_id") and await c.get("companies", values["company_id"]) is None:
        raise InputError(ErrorCode.UNKNOWN_REFERENCE, "the chosen company does not exist", ["input", "choices"])
    if kind == "company" and values.get("partner_id") in ids:
        values["partner_id"] = None  # a company is not its own partner

    data = {"survivor_id": head["id"], "merged_ids": ids, "entity": entity}

    def apply(d: dict) -> dict:
        new = {**d, **values}
        return {**new, **_derived(kind, new), "merged_from": sorted({*(d.get("merged_from") or []), *ids})}

    def with_events(old: dict, new: dict) -> list[Envelope]:
        return [
            *published(old, new),
            Envelope(merged_event, new["id"], data),
            c.audit("merged", entity, new["id"], {"merged_ids": ids, "chosen": sorted(choices)}),
        ]

    doc = await c.store.mutate(coll, head["id"], c.guarded(coll, apply), events=with_events)
    for old in ids:
        await c.store.mutate(
            ALIASES, f"{coll}:{old}", lambda _d, o=old: {"survivor": head["id"], "coll": coll, "old": o}, create=True
        )
        try:
            await c.store.delete(coll, old)
        except NotFoundError:
            pass
    return doc


# ---- consumer: contacts' own references ---------------------------------------------------------------
async def on_merged(store: Store, e: Envelope) -> None:
    refs = COMPANY_REFS if e.type == MERGED_COMPANY else CONTACT_REFS
    await repoint(store, refs, list(e.data.get("merged_ids") or []), str(e.data["survivor_id"]))
