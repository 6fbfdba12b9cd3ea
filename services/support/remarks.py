"""Design deliverables (drawing sets, models) issued in revisions, and remarks: a remark is a ticket
raised against one revision (`revision_id`) and resolved in a later one (`resolved_in_revision_id`).
Per deliverable: the open remarks by revision and which revision resolved each. Customers see
their own company's deliverables and remarks (row scopes in policy.py)."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, CUSTOMER, PARTNER, SALES, SUPPORT, allow
from services.common.errors import ErrorCode, InputError
from services.common.graphql import FromDoc, payload, payload_errors
from services.common.ids import new_id
from services.common.values import clean_text, date_input

from .policy import TICKET_READERS

MAX_REVISIONS = 200
KINDS = ("drawing_set", "model", "document")


@strawberry.type(description="An issued revision of a deliverable (A, B, C...).")
class Revision(FromDoc):
    id: strawberry.ID
    deliverable_id: strawberry.ID
    label: str
    issued_on: dt.date
    notes: str | None
    version: int


@strawberry.type(
    description="Remarks raised on one revision: open ones, and resolved ones with the revision that resolved them."
)
class RevisionRemarks:
    revision: Revision
    open: list[strawberry.ID]
    resolved: list[ResolvedRemark]


@strawberry.type
class ResolvedRemark:
    ticket_id: strawberry.ID
    resolved_in_revision_id: strawberry.ID | None
    resolved_in_label: str | None


@strawberry.type(description="A deliverable of a design project: a drawing set or a model, issued in revisions.")
class Deliverable(FromDoc):
    id: strawberry.ID
    company_id: strawberry.ID
    title: str
    code: str | None
    kind: str
    version: int

    @strawberry.field(
        description="Revisions, in issue order.", extensions=allow(TICKET_READERS, scoped={CUSTOMER, PARTNER})
    )
    async def revisions(self, info: Info) -> list[Revision] | None:
        c = info.context
        docs = (
            await c.store.find(
                "revisions",
                c.scoped("revisions", {"deliverable_id": str(self.id)}),
                sort=[("issued_on", 1), ("label", 1)],
                first=MAX_REVISIONS,
            )
        ).items
        return [Revision.from_doc(d) for d in docs]

    @strawberry.field(
        description="Per revision: the remarks still open and the resolved ones with the revision that resolved each.",
        extensions=allow(TICKET_READERS, scoped={CUSTOMER, PARTNER}),
    )
    async def remarks(self, info: Info) -> list[RevisionRemarks] | None:
        c = info.context
        revs = (
            await c.store.find(
                "revisions",
                c.scoped("revisions", {"deliverable_id": str(self.id)}),
                sort=[("issued_on", 1), ("label", 1)],
                first=MAX_REVISIONS,
            )
        ).items
        labels = {r["id"]: r["label"] for r in revs}
        tickets = (
            await c.store.find(
                "tickets", c.scoped("tickets", {"deliverable_id": str(self.id)}), sort=[("created_at", 1)], first=500
            )
        ).items
        out = []
        for r in revs:
            raised = [t for t in tickets if t.get("revision_id") == r["id"]]
            out.append(
                RevisionRemarks(
                    revision=Revision.from_doc(r),
                    open=[t["id"] for t in raised if t["status"] in ("open", "in_progress", "waiting")],
                    resolved=[
                        ResolvedRemark(
                            ticket_id=t["id"],
                            resolved_in_revision_id=t.get("resolved_in_revision_id"),
                            resolved_in_label=labels.get(t.get("resolved_in_revision_id")),
                        )
                        for t in raised
                        if t["status"] in ("resolved", "closed")
                    ],
                )
            )
        return out


@strawberry.input
class CreateDeliverableInput:
    company_id: strawberry.ID
    title: str
    kind: str = "drawing_set"
    code: str | None = None


@strawberry.input
class IssueRevisionInput:
    deliverable_id: strawberry.ID
    label: str
    issued_on: dt.date
    notes: str | None = None


DeliverablePayload = payload("DeliverablePayload", deliverable=Deliverable)
RevisionPayload = payload("RevisionPayload", revision=Revision)


@strawberry.type
class RemarksQuery:
    @strawberry.field(extensions=allow(TICKET_READERS, scoped={CUSTOMER, PARTNER}))
    async def deliverable(self, info: Info, id: strawberry.ID) -> Deliverable | None:
        return await info.context.one("deliverables", id, Deliverable.from_doc)

    @strawberry.field(
        description="Deliverables of a company (a customer: its own).",
        extensions=allow(TICKET_READERS, scoped={CUSTOMER, PARTNER}),
    )
    async def deliverables(self, info: Info, company_id: strawberry.ID | None = None) -> list[Deliverable] | None:
        c = info.context
        flt = {"company_id": str(company_id)} if company_id else {}
        docs = (await c.store.find("deliverables", c.scoped("deliverables", flt), sort=[("title", 1)], first=500)).items
        return [Deliverable.from_doc(d) for d in docs]


@strawberry.type
class RemarksMutation:
    @strawberry.mutation(extensions=allow(ADMIN, SUPPORT, SALES))
    @payload_errors(DeliverablePayload)
    async def create_deliverable(self, info: Info, input: CreateDeliverableInput) -> DeliverablePayload | None:
        c = info.context
        await c.referenced("ref_companies", input.company_id, "company", "companyId")
        if input.kind not in KINDS:
            raise InputError(ErrorCode.INVALID, f"kind is one of {', '.join(KINDS)}", ["input", "kind"])
        doc = {
            "id": new_id(),
            "company_id": str(input.company_id),
            "title": clean_text(input.title, "title", required=True),
            "code": clean_text(input.code, "code"),
            "kind": input.kind,
        }
        return DeliverablePayload(deliverable=Deliverable.from_doc(await c.create("deliverables", "Deliverable", doc)))

    @strawberry.mutation(
        description="Issue a revision of a deliverable (labels are unique per deliverable).",
        extensions=allow(ADMIN, SUPPORT, SALES),
    )
    @payload_errors(RevisionPayload)
    async def issue_revision(self, info: Info, input: IssueRevisionInput) -> RevisionPayload | None:
        c = info.context
        d = await c.referenced("deliverables", input.deliverable_id, "deliverable", "deliverableId")
        label = clean_text(input.label, "label", required=True, max_len=20)
        if await c.store.count("revisions", {"deliverable_id": d["id"], "label": label}):
            raise InputError(ErrorCode.DUPLICATE, f"revision {label} exists already", ["input", "label"])
        doc = {
            "id": new_id(),
            "deliverable_id": d["id"],
            "company_id": d["company_id"],
            "label": label,
            "issued_on": date_input(input.issued_on, "issuedOn"),
            "notes": clean_text(input.notes, "notes", max_len=5000),
        }
        return RevisionPayload(revision=Revision.from_doc(await c.create("revisions", "Revision", doc)))


async def remark_fields(c, input, company_id: str) -> dict:
    """The deliverable/revision (and KB article) fields of a new ticket, checked against what the
    principal may see; a revision of another company's deliverable is refused."""
    out: dict = {}
    if input.revision_id:
        rev = await c.referenced("revisions", input.revision_id, "revision", "revisionId")
        if rev["company_id"] != company_id:
            raise InputError(ErrorCode.INVALID, "the revision belongs to another client", ["input", "revisionId"])
        if input.deliverable_id and str(input.deliverable_id) != rev["deliverable_id"]:
            raise InputError(ErrorCode.INVALID, "the revision is of another deliverable", ["input", "deliverableId"])
        out.update(deliverable_id=rev["deliverable_id"], revision_id=rev["id"])
    elif input.deliverable_id:
        d = await c.referenced("deliverables", input.deliverable_id, "deliverable", "deliverableId")
        if d["company_id"] != company_id:
            raise InputError(ErrorCode.INVALID, "the deliverable belongs to another client", ["input", "deliverableId"])
        out["deliverable_id"] = d["id"]
    if input.article_id:
        article = await c.referenced("kb_articles", input.article_id, "article", "articleId")
        out["article_id"] = article["id"]
    return out


async def resolving_revision(c, ticket: dict, revision_id) -> str | None:
    """The revision a remark is resolved in: of the same deliverable, issued with or after the one it was raised on."""
    if not revision_id:
        return None
    rev = await c.referenced("revisions", revision_id, "revision", "resolvedInRevisionId")
    if rev["deliverable_id"] != ticket.get("deliverable_id"):
        raise InputError(ErrorCode.INVALID, "the revision is of another deliverable", ["input", "resolvedInRevisionId"])
    raised_on = await c.store.get("revisions", ticket.get("revision_id") or "")
    if raised_on and rev["issued_on"] < raised_on["issued_on"]:
        raise InputError(
            ErrorCode.INVALID, "the revision was issued before the remark's", ["input", "resolvedInRevisionId"]
        )
    return rev["id"]
