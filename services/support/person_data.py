"""Support's part of merging, erasing and exporting companies and people (docs/data.md): the
references it re-points on `contacts.*.merged`, what it blanks on `contacts.contact.erased`
(tickets keep priority, status, SLA times and dates; the subject, description, resolution and
the comments of the person's tickets are free text and go), and its field of the federated
`PersonData` export. Registered with one line in service.py."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from services.common.authz import ADMIN, allow
from services.common.errors import NotFoundError
from services.common.person_data import Blank, Ref, anonymise, blanked, gather, subscriptions

COMPANY_REFS = [Ref("tickets", "company_id"), Ref("ticket_comments", "company_id")]
CONTACT_REFS = [Ref("tickets", "contact_id"), Ref("ticket_comments", "contact_id"), Ref("surveys", "contact_id")]
TICKET_TEXT = ("subject", "description", "resolution")
BLANKS = [
    Blank("ref_contacts", "id", fields=("name",), drop=("email",)),
    Blank("tickets", "contact_id", fields=TICKET_TEXT, drop=("from_email", "reply_to", "email")),
    Blank("surveys", "contact_id", fields=("comment",), drop=("email", "to")),
]
COMMENT = Blank("ticket_comments", "ticket_id", fields=("body",), drop=("author_email", "from_email"))
EXPORTED = [("tickets", "contact_id"), ("surveys", "contact_id")]


async def _erase_comments(store, person_id: str) -> None:
    """The comments of the person's tickets (free text about them, whoever wrote it)."""
    for ticket in await store.find_all("tickets", {"contact_id": person_id}):
        for row in await store.find_all("ticket_comments", {"ticket_id": ticket["id"]}):
            try:
                await store.mutate("ticket_comments", row["id"], lambda d: blanked(d, COMMENT))
            except NotFoundError:
                pass


def person_subscriptions(service) -> list:
    subs = subscriptions(
        service,
        company_refs=COMPANY_REFS,
        contact_refs=CONTACT_REFS,
        blanks=BLANKS,
        replicas={"Company": "ref_companies", "Contact": "ref_contacts"},
    )

    async def erased(e) -> None:
        person = str(e.data["id"])
        await _erase_comments(service.store, person)
        await anonymise(service.store, BLANKS, person)

    subs[1].handler = erased
    return subs


@strawberry.federation.type(keys=["id"], description="Everything the CRM holds on one person.")
class PersonData:
    id: strawberry.ID = strawberry.field(description="The contact's id.")

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> PersonData:
        return cls(id=id)

    @strawberry.field(
        description="What support holds on the person: tickets, their comments, surveys.", extensions=allow(ADMIN)
    )
    async def support(self, info: Info) -> JSON | None:
        c = info.context
        rows = await gather(c.store, EXPORTED, str(self.id))
        comments = []
        for ticket in rows.get("tickets", []):
            comments += await c.store.find_all("ticket_comments", {"ticket_id": ticket["id"]}, sort=[("created_at", 1)])
        await c.store.emit([c.audit("exported", "Contact", str(self.id))])
        return {**rows, "ticket_comments": comments}
