"""GraphQL types of clean data (docs/data.md): duplicates, merges, search hits, a person's data."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from services.common.authz import ADMIN, PARTNER, STAFF, allow
from services.common.graphql import payload

from .types import Company, Contact


@strawberry.enum(description="Which records to look at.")
class RecordKind(Enum):
    COMPANY = "company"
    CONTACT = "contact"


@strawberry.type(description="A record that may be the same as another one, with the reasons.")
class DuplicateMatch:
    id: strawberry.ID = strawberry.field(description="The possible duplicate.")
    duplicate_of: strawberry.ID = strawberry.field(description="The record it was compared with.")
    kind: RecordKind
    score: int = strawberry.field(description="0-100; 60 and more is listed.")
    reasons: list[str]
    doc: strawberry.Private[dict]

    @strawberry.field(description="The duplicate, when it is a company.", extensions=allow(STAFF, PARTNER))
    def company(self) -> Company | None:
        return Company.from_doc(self.doc) if self.kind is RecordKind.COMPANY else None

    @strawberry.field(description="The duplicate, when it is a contact.", extensions=allow(STAFF, PARTNER))
    def contact(self) -> Contact | None:
        return Contact.from_doc(self.doc) if self.kind is RecordKind.CONTACT else None


@strawberry.type(description="One search result, best first.")
class SearchHit:
    kind: RecordKind
    id: strawberry.ID
    score: int
    matched: str = strawberry.field(description="What matched: name, last name, e-mail, phone, domain...")
    doc: strawberry.Private[dict]

    @strawberry.field(extensions=allow(STAFF, PARTNER))
    def company(self) -> Company | None:
        return Company.from_doc(self.doc) if self.kind is RecordKind.COMPANY else None

    @strawberry.field(extensions=allow(STAFF, PARTNER))
    def contact(self) -> Contact | None:
        return Contact.from_doc(self.doc) if self.kind is RecordKind.CONTACT else None


@strawberry.input(description="Take this field's value from that record.")
class FieldChoice:
    field: str = strawberry.field(description="e.g. email, phone, name, firstName, website.")
    from_id: strawberry.ID


@strawberry.input
class MergeInput:
    survivor_id: strawberry.ID = strawberry.field(description="The record that stays; its id keeps working.")
    merged_ids: list[strawberry.ID] = strawberry.field(description="The records merged into it (1-9).")
    choices: list[FieldChoice] | None = strawberry.field(
        default=None,
        description="Field-by-field choice of the surviving value; unnamed fields keep the survivor's value, "
        "or the first non-empty value of the merged records when the survivor has none.",
    )


@strawberry.input
class ErasePersonInput:
    contact_id: strawberry.ID


@strawberry.federation.type(keys=["id"], description="Everything the CRM holds on one person.")
class PersonData:
    id: strawberry.ID = strawberry.field(description="The contact's id.")
    data: strawberry.Private[dict | None] = None

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> PersonData:
        return cls(id=id)

    @strawberry.field(
        description="What contacts holds on the person: the record, timeline, activities, leads, audit.",
        extensions=allow(ADMIN),
    )
    async def contacts(self, info: Info) -> JSON | None:
        if self.data is not None:
            return self.data
        from .privacy import export

        return await export(info.context, str(self.id))


MergeCompaniesPayload = payload("MergeCompaniesPayload", company=Company)
MergeContactsPayload = payload("MergeContactsPayload", contact=Contact)
ErasePersonPayload = payload("ErasePersonPayload", contact=Contact)
