"""Deals' part of merging, erasing and exporting companies and people (docs/data.md): the
references it re-points on `contacts.*.merged`, what it blanks on `contacts.contact.erased`
(deals keep their figures, stages and dates: only the person's replica holds personal values),
and its field of the federated `PersonData` export. Registered with one line in service.py."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from services.common.authz import ADMIN, allow
from services.common.person_data import Blank, Ref, gather, subscriptions

COMPANY_REFS = [
    Ref("deals", "company_id"),
    Ref("deals", "partner_id"),
    Ref("estimates", "company_id"),
    Ref("milestones", "company_id"),
]
CONTACT_REFS = [Ref("deals", "contact_id"), Ref("estimates", "contact_id")]
BLANKS = [Blank("ref_contacts", "id", fields=("name",))]
EXPORTED = [("deals", "contact_id"), ("estimates", "contact_id")]


def person_subscriptions(service) -> list:
    return subscriptions(
        service,
        company_refs=COMPANY_REFS,
        contact_refs=CONTACT_REFS,
        blanks=BLANKS,
        replicas={"Company": "ref_companies", "Contact": "ref_contacts"},
    )


@strawberry.federation.type(keys=["id"], description="Everything the CRM holds on one person.")
class PersonData:
    id: strawberry.ID = strawberry.field(description="The contact's id.")

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> PersonData:
        return cls(id=id)

    @strawberry.field(
        description="What deals holds on the person: deals and estimates naming them.", extensions=allow(ADMIN)
    )
    async def deals(self, info: Info) -> JSON | None:
        c = info.context
        rows = await gather(c.store, EXPORTED, str(self.id))
        await c.store.emit([c.audit("exported", "Contact", str(self.id))])
        return rows
