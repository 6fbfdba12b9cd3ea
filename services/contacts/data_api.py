"""Clean data, contacts' API (docs/data.md): findDuplicates, search, mergeCompanies/mergeContacts,
exportPersonData, erasePerson. The rules are in duplicates.py, search.py, merge.py and privacy.py."""

from __future__ import annotations

import re

import strawberry
from strawberry.types import Info

from services.common import duprules
from services.common.authz import ADMIN, PARTNER, SALES, STAFF, allow
from services.common.context import Context
from services.common.errors import ErrorCode, InputError
from services.common.graphql import payload_errors

from . import duplicates, merge, privacy, search
from .data_types import (
    DuplicateMatch,
    ErasePersonInput,
    ErasePersonPayload,
    MergeCompaniesPayload,
    MergeContactsPayload,
    MergeInput,
    PersonData,
    RecordKind,
    SearchHit,
)
from .policy import ACCOUNT_EDITORS, BOOKS
from .types import Company, Contact

COLL = {RecordKind.COMPANY: "companies", RecordKind.CONTACT: "contacts"}
CANDIDATES = 200  # per probe
SCAN = 200  # records compared when no record is named


def _keys(kind: RecordKind, doc: dict) -> duprules.Keys:
    return duprules.company_keys(doc) if kind is RecordKind.COMPANY else duprules.contact_keys(doc)


async def possible_duplicates(c: Context, kind: RecordKind, doc: dict) -> list[DuplicateMatch]:
    """The records the caller can see that may be the same as `doc` (found by e-mail, phone,
    domain and the blocking key of the name, each through an index), scored, best first."""
    coll = COLL[kind]
    stored = {**doc, **duplicates.stored_keys(kind.value, doc)}
    probes = [("dup_block_key", stored.get("dup_block_key")), ("domain_key", stored.get("domain_key"))]
    if kind is RecordKind.CONTACT:
        probes += [("email_key", (doc.get("email") or "").casefold() or None), ("phone_key", stored.get("phone_key"))]
    found: dict[str, dict] = {}
    for field, value in probes:
        if not value:
            continue
        page = await c.store.find(coll, c.scoped(coll, {field: value}), first=CANDIDATES)
        found.update({d["id"]: d for d in page.items if d["id"] != doc.get("id")})
    target = _keys(kind, doc)
    ranked = duprules.ranked(target, [(d, _keys(kind, d)) for d in found.values()])
    return [
        DuplicateMatch(id=d["id"], duplicate_of=doc.get("id") or "", kind=kind, score=s, reasons=why, doc=d)
        for d, s, why in ranked
    ]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _choices(inp: MergeInput, fields: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for ch in inp.choices or []:
        f = _snake(ch.field.strip())
        f = {"company": "company_id", "partner": "partner_id"}.get(f, f)
        if f not in fields:
            raise InputError(ErrorCode.INVALID, f"{ch.field} cannot be chosen in a merge", ["input", "choices"])
        out[f] = str(ch.from_id)
    return out


@strawberry.type
class DataQuery:
    @strawberry.field(
        description="Possible duplicates: of one record (`id`), or among the first 200 records you can see by name. "
        "Scored 0-100 with the reasons (similar name, same e-mail, phone or domain), best first.",
        extensions=allow(STAFF, scoped={SALES}),
    )
    async def find_duplicates(
        self, info: Info, kind: RecordKind, id: strawberry.ID | None = None, first: int | None = 50
    ) -> list[DuplicateMatch] | None:
        c: Context = info.context
        size = 50 if first is None else first
        if size < 1 or size > 100:
            raise InputError(ErrorCode.INVALID, "first must be between 1 and 100", ["first"])
        coll = COLL[kind]
        if id is not None:
            doc = await c.get(coll, str(id))
            return (await possible_duplicates(c, kind, doc))[:size] if doc else []
        sort = [("name_key", 1)] if kind is RecordKind.COMPANY else [("last_name_key", 1), ("first_name_key", 1)]
        page = await c.store.find(coll, c.scoped(coll, {}), sort=sort, first=SCAN)
        seen: set[tuple[str, str]] = set()
        out: list[DuplicateMatch] = []
        for doc in page.items:
            for m in await possible_duplicates(c, kind, doc):
                pair = tuple(sorted((str(m.id), str(doc["id"]))))
                if pair not in seen:
                    seen.add(pair)
                    out.append(m)
        out.sort(key=lambda m: (-m.score, str(m.duplicate_of), str(m.id)))
        return out[:size]

    @strawberry.field(
        description="Companies and people by name (prefix; accents and case ignored), e-mail, phone (international "
        "form) or domain; best matches first, at most 50.",
        extensions=allow(STAFF, PARTNER, scoped=BOOKS),
    )
    async def search(self, info: Info, text: str, first: int | None = 20) -> list[SearchHit] | None:
        hits = await search.search(info.context, text, first)
        kinds = {"companies": RecordKind.COMPANY, "contacts": RecordKind.CONTACT}
        return [SearchHit(kind=kinds[coll], id=d["id"], score=s, matched=why, doc=d) for coll, d, s, why in hits]

    @strawberry.field(
        description="Everything every service holds on a person, as JSON per service (GDPR art. 15). Audited.",
        extensions=allow(ADMIN),
    )
    async def export_person_data(self, info: Info, contact_id: strawberry.ID) -> PersonData | None:
        c: Context = info.context
        if await c.get("contacts", str(contact_id)) is None:
            return None
        return PersonData(id=contact_id)


@strawberry.type
class DataMutation:
    @strawberry.mutation(
        description="Merge 2-10 companies into the survivor; every service re-points its references; the merged "
        "ids keep resolving to the survivor. Audited.",
        extensions=allow(ACCOUNT_EDITORS, scoped={SALES}),
    )
    @payload_errors(MergeCompaniesPayload)
    async def merge_companies(self, info: Info, input: MergeInput) -> MergeCompaniesPayload | None:
        choices = _choices(input, duplicates.COMPANY_FIELDS)
        ids = [str(i) for i in input.merged_ids]
        doc = await merge.merge(info.context, "Company", str(input.survivor_id), ids, choices)
        return MergeCompaniesPayload(company=Company.from_doc(doc))

    @strawberry.mutation(
        description="Merge 2-10 people into the survivor; deals, tickets, campaign memberships, activities and the "
        "timeline follow; the merged ids keep resolving to the survivor. Audited.",
        extensions=allow(STAFF, scoped={SALES}),
    )
    @payload_errors(MergeContactsPayload)
    async def merge_contacts(self, info: Info, input: MergeInput) -> MergeContactsPayload | None:
        choices = _choices(input, duplicates.CONTACT_FIELDS)
        ids = [str(i) for i in input.merged_ids]
        doc = await merge.merge(info.context, "Contact", str(input.survivor_id), ids, choices)
        return MergeContactsPayload(contact=Contact.from_doc(doc))

    @strawberry.mutation(
        description="Anonymise a person in every service (GDPR art. 17): names, e-mails, phones and free text go, "
        "figures and history stay. The audit log records that it happened, not the values.",
        extensions=allow(ADMIN),
    )
    @payload_errors(ErasePersonPayload)
    async def erase_person(self, info: Info, input: ErasePersonInput) -> ErasePersonPayload | None:
        doc = await privacy.erase(info.context, str(input.contact_id))
        return ErasePersonPayload(contact=Contact.from_doc(doc))
