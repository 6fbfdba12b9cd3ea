"""Marketing's part of merging, erasing and exporting companies and people (docs/data.md): the
references it re-points on `contacts.*.merged` (a membership is one record per campaign and
contact, so the memberships of a merged person are folded into the survivor's), what it blanks on
`contacts.contact.erased` (statuses, responses' times, attribution and spend stay; the profile's
name, address and custom-field values, response texts, call notes and delivery addresses go), and its field of the
federated `PersonData` export. Registered with one line in service.py."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from services.common.authz import ADMIN, allow
from services.common.errors import DuplicateKeyError, NotFoundError
from services.common.person_data import Blank, Ref, gather, subscriptions

from . import domain

COMPANY_REFS = [Ref("members", "company_id"), Ref("ref_contacts", "company_id"), Ref("call_items", "company_id")]
CONTACT_REFS = [
    Ref("members", "contact_id"),
    Ref("call_items", "contact_id"),
    Ref("consents", "contact_id"),
    Ref("deliveries", "contact_id"),
    Ref("segment_entries", "contact_id"),
    Ref("form_submissions", "contact_id"),
]
BLANKS = [
    Blank("ref_contacts", "id", fields=("name",), drop=("email", "custom")),
    Blank("members", "contact_id", fields=("response",)),
    Blank("call_items", "contact_id", fields=("notes", "outcome_note", "name"), drop=("phone", "email")),
    Blank("deliveries", "contact_id", drop=("email", "to")),
    Blank("consents", "contact_id", drop=("email",)),
    Blank("form_submissions", "contact_id", fields=("message",), drop=("email", "phone", "name", "fields")),
]
EXPORTED = [
    ("members", "contact_id"),
    ("consents", "contact_id"),
    ("call_items", "contact_id"),
    ("deliveries", "contact_id"),
    ("form_submissions", "contact_id"),
]


async def fold_memberships(store, entity: str, old_ids: list[str], new_id: str) -> None:
    """Each membership of a merged person becomes the survivor's (id campaign:survivor); where the
    survivor is a member of that campaign already, the survivor's record stays, taking the merged
    one's response if it has none."""
    if entity != "Contact":
        return
    for row in await store.find_all("members", {"contact_id": {"$in": old_ids}}):
        target = domain.member_id(row["campaign_id"], new_id)
        mine = await store.get("members", target)
        keep = {k: v for k, v in row.items() if k not in ("id", "version", "created_at", "updated_at")}
        try:
            if mine is None:
                await store.insert("members", {**keep, "id": target, "contact_id": new_id})
            elif row.get("status") == domain.MemberStatus.RESPONDED.value and mine.get("status") != row.get("status"):
                await store.update("members", target, {**keep, "contact_id": new_id})
        except DuplicateKeyError:
            pass  # a concurrent delivery folded it already
        try:
            await store.delete("members", row["id"])
        except NotFoundError:
            pass


def person_subscriptions(service) -> list:
    return subscriptions(
        service,
        company_refs=COMPANY_REFS,
        contact_refs=CONTACT_REFS,
        blanks=BLANKS,
        replicas={"Contact": "ref_contacts"},
        before_merge=fold_memberships,
    )


@strawberry.federation.type(keys=["id"], description="Everything the CRM holds on one person.")
class PersonData:
    id: strawberry.ID = strawberry.field(description="The contact's id.")

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> PersonData:
        return cls(id=id)

    @strawberry.field(
        description="What marketing holds on the person: profile, memberships, consents, calls, deliveries.",
        extensions=allow(ADMIN),
    )
    async def marketing(self, info: Info) -> JSON | None:
        c = info.context
        rows = await gather(c.store, EXPORTED, str(self.id))
        profile = await c.store.get("ref_contacts", str(self.id))
        await c.store.emit([c.audit("exported", "Contact", str(self.id))])
        return {"profile": profile, **rows}
