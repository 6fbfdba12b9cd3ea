"""Telemarketing in GraphQL: call lists built from a segment, each caller's queue, logged calls and
results (rules: calls.py)."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, MARKETING, SALES, allow
from services.common.envelope import Envelope
from services.common.errors import DuplicateKeyError, ErrorCode, InputError
from services.common.graphql import Connection, FromDoc, paginate, payload, payload_errors
from services.common.ids import new_id, now_iso, utcnow
from services.common.values import all_of, clean_text, ts_input

from . import audience, calls
from .consent import ConsentChannel, address_key
from .types import Contact

CallOutcome = strawberry.enum(calls.Outcome, name="CallOutcome")
CallItemStatus = strawberry.enum(calls.ItemStatus, name="CallItemStatus")
CALLERS = (ADMIN, MARKETING, SALES)
CALL_LOGGED = "marketing.call.logged"
LEAD_REQUESTED = "marketing.lead.requested"


@strawberry.type
class OutcomeCount:
    outcome: CallOutcome
    count: int


@strawberry.type
class CallerResult:
    caller: str
    calls: int
    outcomes: list[OutcomeCount]


def _outcomes(rows: list[dict]) -> list[OutcomeCount]:
    return [OutcomeCount(outcome=calls.Outcome(r["key"]["outcome"]), count=r["count"]) for r in rows]


@strawberry.type(description="One contact to call on a call list.")
class CallItem(FromDoc):
    id: strawberry.ID
    list_id: strawberry.ID
    contact_id: strawberry.ID
    caller: str
    priority: int
    callback_at: dt.datetime | None
    status: CallItemStatus
    attempts: int
    last_outcome: CallOutcome | None
    notes: str | None
    version: int

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"attempts": int(doc.get("attempts") or 0), "priority": int(doc.get("priority") or 0)}

    @strawberry.field(extensions=allow(CALLERS))
    async def contact(self, info: Info) -> Contact | None:
        return await info.context.stub("ref_contacts", self.contact_id, Contact)

    @strawberry.field(description="The list's script.", extensions=allow(CALLERS))
    async def script(self, info: Info) -> str | None:
        lst = await info.context.get("call_lists", str(self.list_id))
        return lst.get("script") if lst else None


@strawberry.type(description="A telemarketing call list built from a segment.")
class CallList(FromDoc):
    id: strawberry.ID
    name: str
    segment_id: strawberry.ID
    campaign_id: strawberry.ID | None
    script: str | None
    callers: list[str]
    skipped_do_not_call: int = strawberry.field(
        description="Segment members left off the list: they withdrew phone consent."
    )
    version: int
    created_at: dt.datetime

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"skipped_do_not_call": int(doc.get("skipped_do_not_call") or 0)}  # lists made before the rule

    @strawberry.field(extensions=allow(CALLERS))
    async def items(
        self, info: Info, first: int | None = None, after: str | None = None, status: CallItemStatus | None = None
    ) -> Connection[CallItem] | None:
        flt = all_of({"list_id": str(self.id)}, {"status": status.value} if status else None)
        return await info.context.page("call_items", flt, calls.QUEUE_SORT, first, after, CallItem.from_doc)

    @strawberry.field(description="Logged calls per outcome.", extensions=allow(CALLERS))
    async def results(self, info: Info) -> list[OutcomeCount] | None:
        c = info.context
        return _outcomes(
            await c.store.group("calls", ["outcome"], flt=c.scoped("calls", {"call_list_id": str(self.id)}))
        )

    @strawberry.field(description="Logged calls per caller and outcome.", extensions=allow(CALLERS))
    async def results_by_caller(self, info: Info) -> list[CallerResult] | None:
        c = info.context
        rows = await c.store.group(
            "calls", ["caller", "outcome"], flt=c.scoped("calls", {"call_list_id": str(self.id)})
        )
        out: dict[str, list[dict]] = {}
        for r in rows:
            out.setdefault(r["key"]["caller"], []).append(r)
        return [
            CallerResult(caller=k, calls=sum(r["count"] for r in v), outcomes=_outcomes(v))
            for k, v in sorted(out.items())
        ]


@strawberry.input
class CreateCallListInput:
    name: str
    segment_id: strawberry.ID
    callers: list[str] = strawberry.field(
        description="User ids (token `sub`) of the callers; contacts are dealt round-robin."
    )
    campaign_id: strawberry.ID | None = None
    script: str | None = None


@strawberry.input
class LogCallInput:
    item_id: strawberry.ID
    outcome: CallOutcome
    notes: str | None = None
    callback_at: dt.datetime | None = None


CallListPayload = payload("CallListPayload", call_list=CallList)
CallItemPayload = payload("CallItemPayload", item=CallItem)


@strawberry.type
class CallQueries:
    @strawberry.field(extensions=allow(CALLERS))
    async def call_list(self, info: Info, id: strawberry.ID) -> CallList | None:
        return await info.context.one("call_lists", id, CallList.from_doc)

    @strawberry.field(extensions=allow(CALLERS))
    async def call_lists(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[CallList] | None:
        return await info.context.page("call_lists", {}, [("created_at", -1)], first, after, CallList.from_doc)

    @strawberry.field(
        description="My next calls: due now (no callback time, or its time has come), best priority first.",
        extensions=allow(CALLERS),
    )
    async def next_calls(
        self, info: Info, first: int | None = None, after: str | None = None, list_id: strawberry.ID | None = None
    ) -> Connection[CallItem] | None:
        c = info.context
        flt = calls.queue_filter(c.principal.sub, now_iso(), str(list_id) if list_id else None)
        return await paginate(
            c.store, "call_items", c.scoped("call_items", flt), calls.QUEUE_SORT, first, after, CallItem.from_doc
        )


@strawberry.type
class CallMutations:
    @strawberry.mutation(extensions=allow(ADMIN, MARKETING))
    @payload_errors(CallListPayload)
    async def create_call_list(self, info: Info, input: CreateCallListInput) -> CallListPayload | None:
        c = info.context
        await c.referenced("segments", input.segment_id, "segment", "segmentId")
        if input.campaign_id:
            await c.referenced("campaigns", input.campaign_id, "campaign", "campaignId")
        callers = list(dict.fromkeys(clean_text(x, "callers", required=True, max_len=200) for x in input.callers))
        if len(callers) > 100:
            raise InputError(ErrorCode.INVALID, "at most 100 callers", ["input", "callers"])
        flt = await audience.segment_member_filter(c.store, str(input.segment_id), utcnow())
        flt = c.scoped("ref_contacts", flt)
        if await c.store.count("ref_contacts", flt) > calls.MAX_ITEMS:
            raise InputError(
                ErrorCode.INVALID, f"a call list holds at most {calls.MAX_ITEMS} contacts", ["input", "segmentId"]
            )
        people = await c.store.find_all("ref_contacts", flt, sort=[("id", 1)])
        keys = {p["id"]: address_key(ConsentChannel.PHONE, contact_id=p["id"]) for p in people}
        phone = await c.store.get_many("consents", list(keys.values()))
        barred = {p["id"] for p in people if calls.do_not_call(phone.get(keys[p["id"]]))}
        people = [p for p in people if p["id"] not in barred]
        pairs = calls.assign([p["id"] for p in people], callers)
        lid = new_id()
        body = {
            "id": lid,
            "name": clean_text(input.name, "name", required=True),
            "segment_id": str(input.segment_id),
            "campaign_id": str(input.campaign_id) if input.campaign_id else None,
            "script": clean_text(input.script, "script", max_len=20000) if input.script else None,
            "callers": callers,
            "skipped_do_not_call": len(barred),
        }
        doc = await c.create("call_lists", "CallList", body)
        by_id = {p["id"]: p for p in people}
        for cid, caller in pairs:
            item = {
                "id": f"{lid}:{cid}",
                "list_id": lid,
                "contact_id": cid,
                "company_id": by_id[cid].get("company_id"),
                "caller": caller,
                "priority": calls.priority(by_id[cid]),
                "callback_at": None,
                "status": calls.ItemStatus.OPEN.value,
                "attempts": 0,
            }
            try:
                await c.store.insert("call_items", item)
            except DuplicateKeyError:
                pass
        return CallListPayload(call_list=CallList.from_doc(doc))

    @strawberry.mutation(
        description="Log a call's outcome. INTERESTED asks contacts for a lead with the notes "
        "(marketing.lead.requested).",
        extensions=allow(CALLERS),
    )
    @payload_errors(CallItemPayload)
    async def log_call(self, info: Info, input: LogCallInput) -> CallItemPayload | None:
        c = info.context
        item = await c.referenced("call_items", input.item_id, "call", "itemId", code=ErrorCode.NOT_FOUND)
        if item["caller"] != c.principal.sub and c.principal.role not in (ADMIN, MARKETING):
            raise InputError(ErrorCode.NOT_ALLOWED, "this call is assigned to another caller", ["input", "itemId"])
        call_list = await c.store.get("call_lists", item["list_id"])
        profile = await c.store.get("ref_contacts", item["contact_id"]) or {}
        notes = clean_text(input.notes, "notes", max_len=5000)
        outcome = calls.Outcome(input.outcome.value)
        callback_at = ts_input(input.callback_at, "callbackAt")
        now = utcnow()
        call_id = new_id()

        def publish(old: dict, new: dict) -> list[Envelope]:
            data = calls.call_logged(call_id, call_list, new, c.principal.sub, outcome, notes)
            out = [Envelope(CALL_LOGGED, call_id, data)]
            if outcome is calls.Outcome.INTERESTED:
                out.append(
                    Envelope(LEAD_REQUESTED, f"call-{call_id}", calls.lead_from_call(call_list, new, profile, notes))
                )
            return out

        doc = await c.update(
            "call_items",
            "CallItem",
            item["id"],
            lambda d: calls.after_call(d, outcome, callback_at=callback_at, now=now, notes=notes),
            expected_version=None,
            events=publish,
        )
        await c.store.insert(
            "calls",
            {**calls.call_logged(call_id, call_list, doc, c.principal.sub, outcome, notes), "at": now_iso()},
        )
        if outcome is calls.Outcome.INTERESTED and call_list.get("campaign_id") and profile:
            from .public import _respond

            await _respond(c.service, call_list["campaign_id"], profile, f"interested (call {call_id})")
        return CallItemPayload(item=CallItem.from_doc(doc))
