"""Knowledge base and self-service: articles (draft/published, internal/public, categories,
versions), accent- and case-insensitive search, tickets opened from an article, and deflection
(customer searches that ended without a ticket).

Search reads the visible articles (a knowledge base is hundreds of articles, not millions) and
ranks them in Python with `domain.article_score`: the Store's filter subset has no text search
that works the same on SQLite and FerretDB."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, CUSTOMER, PARTNER, STAFF, SUPPORT, allow
from services.common.errors import ErrorCode, InputError
from services.common.graphql import FromDoc, payload, payload_errors
from services.common.ids import new_id, now_iso
from services.common.values import clean_text, parse_ts

from . import domain

KB_READERS = STAFF | {CUSTOMER, PARTNER}
MAX_ARTICLES = 500
MAX_BODY = 100_000


@strawberry.type(description="A version of an article as it was saved.")
class KbVersion:
    number: int
    title: str
    body: str
    saved_at: dt.datetime
    saved_by: str


@strawberry.type(description="A knowledge-base article. Customers and partners see published public ones.")
class KbArticle(FromDoc):
    id: strawberry.ID
    title: str
    body: str
    category: str | None
    tags: list[str]
    visibility: str = strawberry.field(description="public or internal")
    status: str = strawberry.field(description="draft or published")
    number: int = strawberry.field(description="The current version number")
    updated_at: dt.datetime
    version: int
    doc: strawberry.Private[dict]

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"doc": doc, "tags": doc.get("tags") or []}

    @strawberry.field(description="Earlier versions, newest first (staff).", extensions=allow(STAFF))
    def versions(self) -> list[KbVersion] | None:
        return [
            KbVersion(
                number=v["number"], title=v["title"], body=v["body"], saved_at=parse_ts(v["at"]), saved_by=v["by"]
            )
            for v in reversed(self.doc.get("versions") or [])
        ]


@strawberry.type
class KbSearchResult:
    search_id: strawberry.ID | None = strawberry.field(
        description="Pass it to openTicket (searchId) when the search did not help: deflection counts it."
    )
    articles: list[KbArticle]


@strawberry.type(description="Customer searches of the knowledge base and how many ended without a ticket.")
class KbDeflection:
    searches: int
    with_ticket: int
    deflected: int
    rate: float | None = strawberry.field(description="deflected / searches")


@strawberry.input
class SaveKbArticleInput:
    title: str
    body: str
    category: str | None = None
    tags: list[str] = strawberry.field(default_factory=list)
    visibility: str = "internal"
    id: strawberry.ID | None = None
    expected_version: int | None = None


@strawberry.input
class PublishKbArticleInput:
    id: strawberry.ID
    expected_version: int
    published: bool = True


KbArticlePayload = payload("KbArticlePayload", article=KbArticle)


@strawberry.type
class KbQuery:
    @strawberry.field(extensions=allow(KB_READERS, scoped={CUSTOMER, PARTNER}))
    async def kb_article(self, info: Info, id: strawberry.ID) -> KbArticle | None:
        return await info.context.one("kb_articles", id, KbArticle.from_doc)

    @strawberry.field(
        description="Search the knowledge base (accent- and case-insensitive, every word must match a word "
        "prefix). A customer's search is recorded for deflection.",
        extensions=allow(KB_READERS, scoped={CUSTOMER, PARTNER}),
    )
    async def search_kb(
        self, info: Info, query: str, category: str | None = None, first: int = 10
    ) -> KbSearchResult | None:
        c = info.context
        q = clean_text(query, "query", required=True, max_len=200)
        if not 1 <= first <= 50:
            raise InputError(ErrorCode.INVALID, "first is 1 to 50", ["first"])
        flt = {"category": category} if category else {}
        docs = (await c.store.find("kb_articles", c.scoped("kb_articles", flt), first=MAX_ARTICLES)).items
        ranked = sorted(
            ((s, d) for d in docs if (s := domain.article_score(d, q)) > 0), key=lambda x: (-x[0], x[1]["title"])
        )
        found = [KbArticle.from_doc(d) for _, d in ranked[:first]]
        search_id = None
        if c.principal.role == CUSTOMER:
            search_id = new_id()
            await c.store.insert(
                "kb_searches",
                {
                    "id": search_id,
                    "query": q,
                    "by": c.principal.sub,
                    "company_id": c.principal.company,
                    "results": len(found),
                    "ticket_id": None,
                },
            )
        return KbSearchResult(search_id=search_id, articles=found)

    @strawberry.field(description="Articles for staff (drafts and internal ones too).", extensions=allow(STAFF))
    async def kb_articles(
        self, info: Info, category: str | None = None, status: str | None = None
    ) -> list[KbArticle] | None:
        flt = {k: v for k, v in (("category", category), ("status", status)) if v}
        docs = (await info.context.store.find("kb_articles", flt, sort=[("title", 1)], first=MAX_ARTICLES)).items
        return [KbArticle.from_doc(d) for d in docs]

    @strawberry.field(description="Deflection of customer searches since a date.", extensions=allow(STAFF))
    async def kb_deflection(self, info: Info, since: dt.datetime | None = None) -> KbDeflection | None:
        store = info.context.store
        flt = {"created_at": {"$gte": since.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")}} if since else {}
        searches = await store.count("kb_searches", flt)
        with_ticket = await store.count(
            "kb_searches", {"$and": [flt, {"ticket_id": {"$ne": None}}]} if flt else {"ticket_id": {"$ne": None}}
        )
        deflected = searches - with_ticket
        return KbDeflection(
            searches=searches,
            with_ticket=with_ticket,
            deflected=deflected,
            rate=round(deflected / searches, 4) if searches else None,
        )


@strawberry.type
class KbMutation:
    @strawberry.mutation(
        description="Create an article (a draft) or save a new version of it.", extensions=allow(ADMIN, SUPPORT)
    )
    @payload_errors(KbArticlePayload)
    async def save_kb_article(self, info: Info, input: SaveKbArticleInput) -> KbArticlePayload | None:
        c = info.context
        if input.visibility not in ("public", "internal"):
            raise InputError(ErrorCode.INVALID, "visibility is public or internal", ["input", "visibility"])
        title = clean_text(input.title, "title", required=True)
        body = clean_text(input.body, "body", required=True, max_len=MAX_BODY)
        now = now_iso()
        fields = {
            "title": title,
            "body": body,
            "category": clean_text(input.category, "category"),
            "tags": [t for t in (clean_text(x, "tags") for x in input.tags) if t][:20],
            "visibility": input.visibility,
        }
        if input.id is None:
            doc = {
                "id": new_id(),
                **fields,
                "status": "draft",
                "number": 1,
                "versions": [{"number": 1, "title": title, "body": body, "at": now, "by": c.principal.sub}],
            }
            saved = await c.create("kb_articles", "KbArticle", doc)
        else:
            if input.expected_version is None:
                raise InputError(ErrorCode.INVALID, "expectedVersion is required", ["input", "expectedVersion"])

            def new_version(d: dict) -> dict:
                n = d["number"] + 1
                v = {"number": n, "title": title, "body": body, "at": now, "by": c.principal.sub}
                return {**d, **fields, "number": n, "versions": [*d.get("versions", []), v][-50:]}

            saved = await c.update(
                "kb_articles", "KbArticle", input.id, new_version, expected_version=input.expected_version
            )
        return KbArticlePayload(article=KbArticle.from_doc(saved))

    @strawberry.mutation(description="Publish or unpublish an article.", extensions=allow(ADMIN, SUPPORT))
    @payload_errors(KbArticlePayload)
    async def publish_kb_article(self, info: Info, input: PublishKbArticleInput) -> KbArticlePayload | None:
        status = "published" if input.published else "draft"
        saved = await info.context.update(
            "kb_articles",
            "KbArticle",
            input.id,
            lambda d: {**d, "status": status},
            expected_version=input.expected_version,
        )
        return KbArticlePayload(article=KbArticle.from_doc(saved))


async def converted(store, search_id, article_id, ticket: dict, principal) -> None:
    """A ticket opened after a search (or from an article) marks that search as not deflected:
    only the searcher's own search, once."""
    if search_id:
        search = await store.get("kb_searches", str(search_id))
        if search and search.get("by") == principal.sub and not search.get("ticket_id"):
            await store.update("kb_searches", search["id"], {"ticket_id": ticket["id"], "article_id": article_id})
