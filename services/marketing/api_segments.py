"""Segments in GraphQL: types, inputs, queries and mutations (rules: segments.py; the store side:
audience.py)."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, MARKETING, STAFF, allow
from services.common.customfield_types import definitions
from services.common.errors import DuplicateKeyError, ErrorCode, InputError
from services.common.graphql import Connection, FromDoc, UserError, payload, payload_errors
from services.common.ids import new_id, utcnow
from services.common.values import clean_text, parse_ts, ts_input

from . import audience, segments
from .profiles import CUSTOM_FIELD_DEFS
from .types import Contact

SegmentField = strawberry.enum(
    segments.Field, name="SegmentField", description="What a segment condition looks at (docs/marketing.md)."
)
SegmentOp = strawberry.enum(
    segments.Op,
    name="SegmentOp",
    description="A condition's operator. CUSTOM_FIELD conditions take the operators of the field's kind: "
    "text and select EQUALS, NOT_EQUALS, IN, NOT_IN; multi-select IN (any of), NOT_IN (none of); number, "
    "money and date EQUALS, NOT_EQUALS, GT, GTE, LT, LTE, BETWEEN (two values, bounds included); boolean "
    "IS_TRUE, IS_FALSE; every kind IS_SET, IS_NOT_SET (docs/marketing.md).",
)
SegmentMatch = strawberry.enum(segments.Match, name="SegmentMatch")


@strawberry.enum
class SegmentEntryMode(Enum):
    INCLUDE = "include"
    EXCLUDE = "exclude"
    REMOVE = "remove"


@strawberry.type
class SegmentCondition:
    field: SegmentField
    op: SegmentOp
    values: list[str]
    at: dt.datetime | None
    days: int | None
    key: strawberry.Private[str | None] = None

    @strawberry.field(
        description="CUSTOM_FIELD conditions: the key of the contact custom field.", extensions=allow(STAFF)
    )
    def custom_field(self) -> str | None:
        return self.key


def contact_ref(doc: dict) -> Contact:
    return Contact(id=doc["id"])


@strawberry.type(description="A contact in a segment.")
class SegmentMember:
    contact: Contact


def member_ref(doc: dict) -> SegmentMember:
    return SegmentMember(contact=contact_ref(doc))


@strawberry.type(
    description="A set of contacts: dynamic rules over marketing's replicas, static entries, combinations."
)
class Segment(FromDoc):
    id: strawberry.ID
    name: str
    description: str | None
    version: int
    created_at: dt.datetime
    definition: strawberry.Private[dict]

    @strawberry.field(extensions=allow(STAFF))
    def match(self) -> SegmentMatch | None:
        return segments.Match(self.definition.get("match", "all"))

    @strawberry.field(extensions=allow(STAFF))
    def conditions(self) -> list[SegmentCondition] | None:
        return [
            SegmentCondition(
                field=segments.Field(c["field"]),
                op=segments.Op(c["op"]),
                values=c.get("values") or [],
                at=parse_ts(c.get("at")),
                days=c.get("days"),
                key=c.get("key"),
            )
            for c in self.definition.get("conditions") or []
        ]

    @strawberry.field(extensions=allow(STAFF))
    def include_segment_ids(self) -> list[strawberry.ID] | None:
        return self.definition.get("include_segments") or []

    @strawberry.field(extensions=allow(STAFF))
    def exclude_segment_ids(self) -> list[strawberry.ID] | None:
        return self.definition.get("exclude_segments") or []

    @strawberry.field(description="Members now (computed from the replicas on read).", extensions=allow(STAFF))
    async def member_count(self, info: Info) -> int | None:
        c = info.context
        flt = await audience.member_filter(c.store, self.definition, str(self.id), utcnow())
        return await c.store.count("ref_contacts", c.scoped("ref_contacts", flt))

    @strawberry.field(extensions=allow(STAFF))
    async def members(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[SegmentMember] | None:
        c = info.context
        flt = await audience.member_filter(c.store, self.definition, str(self.id), utcnow())
        return await c.page("ref_contacts", flt, [("name", 1)], first, after, member_ref)


@strawberry.type
class SegmentPreview:
    count: int
    sample: list[Contact]


@strawberry.input
class SegmentConditionInput:
    field: SegmentField
    op: SegmentOp
    values: list[str] = strawberry.field(default_factory=list)
    at: dt.datetime | None = None
    days: int | None = strawberry.field(
        default=None, description="BEFORE/AFTER: this many days before now (stays relative)."
    )
    custom_field: str | None = strawberry.field(
        default=None,
        description="CUSTOM_FIELD: the key of a contact custom field; `values` in the field's text form "
        "(numbers, amounts, dates YYYY-MM-DD, option values).",
    )


@strawberry.input
class SegmentDefinitionInput:
    match: SegmentMatch = segments.Match.ALL
    conditions: list[SegmentConditionInput] = strawberry.field(default_factory=list)
    include_segment_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    exclude_segment_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input
class CreateSegmentInput:
    name: str
    description: str | None = None
    definition: SegmentDefinitionInput = strawberry.field(default_factory=SegmentDefinitionInput)
    contact_ids: list[strawberry.ID] = strawberry.field(default_factory=list, description="Static entries (a list).")


@strawberry.input
class UpdateSegmentInput:
    id: strawberry.ID
    expected_version: int
    name: str | None = None
    description: str | None = None
    definition: SegmentDefinitionInput | None = None


@strawberry.input
class SegmentEntriesInput:
    segment_id: strawberry.ID
    contact_ids: list[strawberry.ID]
    mode: SegmentEntryMode


SegmentPayload = payload("SegmentPayload", segment=Segment)


@strawberry.type
class SegmentEntriesPayload:
    segment: Segment | None = None
    changed: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)


async def definition_of(c, d: SegmentDefinitionInput) -> dict:
    """The input as a checked definition; CUSTOM_FIELD conditions are checked against marketing's
    replica of contacts' definitions (loaded only when a condition names one)."""
    conds = []
    for i, x in enumerate(d.conditions):
        conds.append(
            segments.condition(
                x.field.value, x.op.value, x.values, ts_input(x.at, f"conditions.{i}.at"), x.days, x.custom_field
            )
        )
    defn = {
        "match": d.match.value,
        "conditions": conds,
        "include_segments": [str(s) for s in d.include_segment_ids],
        "exclude_segments": [str(s) for s in d.exclude_segment_ids],
    }
    custom = {}
    if segments.custom_keys(defn):
        custom = {f["key"]: f for f in await definitions(c, CUSTOM_FIELD_DEFS, "contact")}
    return segments.check_definition(defn, custom)


def entry_ids(contact_ids: list) -> list[str]:
    ids = list(dict.fromkeys(str(i) for i in contact_ids))
    if len(ids) > 1000:
        raise InputError(ErrorCode.INVALID, "at most 1000 contacts per call", ["input", "contactIds"])
    return ids


async def _known_contacts(c, ids: list[str]) -> None:
    known = {i for i, d in (await c.store.get_many("ref_contacts", ids)).items() if c.visible("ref_contacts", d)}
    missing = [i for i in ids if i not in known]
    if missing:
        raise InputError(
            ErrorCode.UNKNOWN_REFERENCE, f"unknown contacts: {', '.join(missing[:10])}", ["input", "contactIds"]
        )


async def _set_entries(c, segment_id: str, ids: list[str], mode: str) -> int:
    changed = 0
    if mode != "remove":
        total = await c.store.count("segment_entries", {"segment_id": segment_id})
        if total + len(ids) > segments.MAX_STATIC:
            raise InputError(
                ErrorCode.INVALID, f"at most {segments.MAX_STATIC} static entries", ["input", "contactIds"]
            )
    for cid in ids:
        eid = f"{segment_id}:{cid}"
        if mode == "remove":
            if await c.store.get("segment_entries", eid):
                await c.store.delete("segment_entries", eid)
                changed += 1
            continue

        def fn(d, mode=mode, cid=cid):
            if d and d.get("mode") == mode:
                return None
            return {"segment_id": segment_id, "contact_id": cid, "mode": mode}

        before = await c.store.get("segment_entries", eid)
        await c.store.mutate("segment_entries", eid, fn, create=True)
        changed += int(not before or before.get("mode") != mode)
    return changed


@strawberry.type
class SegmentQueries:
    @strawberry.field(extensions=allow(STAFF))
    async def segment(self, info: Info, id: strawberry.ID) -> Segment | None:
        return await info.context.one("segments", id, Segment.from_doc)

    @strawberry.field(extensions=allow(STAFF))
    async def segments(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Segment] | None:
        return await info.context.page("segments", {}, [("name", 1)], first, after, Segment.from_doc)

    @strawberry.field(
        description="How many contacts a definition selects now, before saving it.", extensions=allow(STAFF)
    )
    async def segment_preview(
        self, info: Info, definition: SegmentDefinitionInput, sample: int = 10
    ) -> SegmentPreview | None:
        c = info.context
        try:
            defn = await definition_of(c, definition)
            flt = await audience.member_filter(c.store, defn, None, utcnow())
        except InputError as exc:
            from services.common.errors import PublicError

            raise PublicError(exc.message) from None
        flt = c.scoped("ref_contacts", flt)
        page = await c.store.find("ref_contacts", flt, sort=[("name", 1)], first=max(0, min(sample, 50)))
        return SegmentPreview(
            count=await c.store.count("ref_contacts", flt), sample=[contact_ref(d) for d in page.items]
        )


@strawberry.type
class SegmentMutations:
    @strawberry.mutation(extensions=allow(ADMIN, MARKETING))
    @payload_errors(SegmentPayload)
    async def create_segment(self, info: Info, input: CreateSegmentInput) -> SegmentPayload | None:
        c = info.context
        sid = new_id()
        defn = await definition_of(c, input.definition)
        await audience.resolve(c.store, defn, sid)  # references exist, no cycle
        ids = entry_ids(input.contact_ids)
        await _known_contacts(c, ids)
        body = {
            "id": sid,
            "name": clean_text(input.name, "name", required=True),
            "description": clean_text(input.description, "description", max_len=2000),
            "definition": defn,
        }
        doc = await c.create("segments", "Segment", body)
        await _set_entries(c, sid, ids, "include")
        return SegmentPayload(segment=Segment.from_doc(doc))

    @strawberry.mutation(extensions=allow(ADMIN, MARKETING))
    @payload_errors(SegmentPayload)
    async def update_segment(self, info: Info, input: UpdateSegmentInput) -> SegmentPayload | None:
        c = info.context
        current = await c.referenced("segments", input.id, "segment", "id", code=ErrorCode.NOT_FOUND)
        changes: dict = {}
        if input.name is not None:
            changes["name"] = clean_text(input.name, "name", required=True)
        if input.description is not None:
            changes["description"] = clean_text(input.description, "description", max_len=2000)
        if input.definition is not None:
            changes["definition"] = await definition_of(c, input.definition)
            await audience.resolve(c.store, changes["definition"], current["id"])
        doc = await c.update(
            "segments", "Segment", input.id, lambda d: {**d, **changes}, expected_version=input.expected_version
        )
        return SegmentPayload(segment=Segment.from_doc(doc))

    @strawberry.mutation(
        description="Add contacts to a segment (INCLUDE), keep them out (EXCLUDE) or drop their static entry (REMOVE).",
        extensions=allow(ADMIN, MARKETING),
    )
    @payload_errors(SegmentEntriesPayload)
    async def set_segment_entries(self, info: Info, input: SegmentEntriesInput) -> SegmentEntriesPayload | None:
        c = info.context
        seg = await c.referenced("segments", input.segment_id, "segment", "segmentId")
        ids = entry_ids(input.contact_ids)
        if input.mode.value != "remove":
            await _known_contacts(c, ids)
        try:
            changed = await _set_entries(c, seg["id"], ids, input.mode.value)
        except DuplicateKeyError:  # a concurrent identical call
            changed = 0
        return SegmentEntriesPayload(segment=Segment.from_doc(seg), changed=changed)
