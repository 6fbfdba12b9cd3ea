"""Deals: pipelines with ordered stages and probabilities, deals moving through them, a weighted
forecast, and account health (a read model of support's tickets) so that a salesperson sees
"2 open critical tickets" before a new offer goes out.

Companies and contacts are owned by the contacts service; deals keeps replicas of the fields it
needs (`ref_companies`, `ref_contacts`) from contacts' events, to validate references without
calling another service."""
from __future__ import annotations

import datetime as dt
import decimal
from enum import Enum

import strawberry
from strawberry.types import Info

from services.common.auth import Principal
from services.common.authz import ADMIN, ALL_ROWS, EVERYONE, NO_ROWS, PARTNER, SALES, STAFF, allow
from services.common.envelope import Envelope
from services.common.errors import DuplicateKeyError
from services.common.graphql import (
    Connection,
    ErrorCode,
    InputError,
    Money,
    PublicError,
    UserError,
    clean_text,
    paginate,
    parse_money,
    user_errors,
)
from services.common.ids import new_id, now_iso
from services.common.replica import apply_snapshot
from services.common.service import Service, Subscription, build_schema, diff
from services.common.types import parse_ts

DEFAULT_PIPELINE = "turnkey-design-project"
DEFAULT_STAGES = [
    ("qualified", "Lead qualified", 10, "open"),
    ("brief", "Site survey & brief", 20, "open"),
    ("concept", "Concept design", 35, "open"),
    ("estimate", "Cost estimate & proposal", 50, "open"),
    ("negotiation", "Negotiation", 70, "open"),
    ("won", "Contract signed", 100, "won"),
    ("lost", "Lost", 0, "lost"),
]
CRITICAL = "critical"
DEAL_READERS = STAFF | {PARTNER}


@strawberry.enum
class DealStatus(Enum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


@strawberry.enum
class StageKind(Enum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


@strawberry.enum(description="How worried a salesperson should be before making a new offer.")
class HealthLevel(Enum):
    OK = "ok"
    ATTENTION = "attention"
    CRITICAL = "critical"


@strawberry.type
class Stage:
    id: strawberry.ID
    name: str
    probability: int = strawberry.field(description="Win probability in percent.")
    kind: StageKind
    position: int


@strawberry.type
class Pipeline:
    id: strawberry.ID
    name: str
    stages: list[Stage]

    @staticmethod
    def from_doc(d: dict) -> "Pipeline":
        return Pipeline(id=d["id"], name=d["name"], stages=[
            Stage(id=s["id"], name=s["name"], probability=s["probability"], kind=StageKind(s["kind"]), position=i)
            for i, s in enumerate(d["stages"])])


def _stage(pipeline: dict, stage_id: str) -> dict | None:
    return next((s for s in pipeline["stages"] if s["id"] == stage_id), None)


@strawberry.federation.type(keys=["id"])
class Deal:
    id: strawberry.ID
    title: str
    status: DealStatus
    owner: str | None
    expected_close_date: dt.date | None
    won_at: dt.datetime | None
    lost_reason: str | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    company_id: strawberry.ID
    contact_id: strawberry.ID | None
    pipeline_id: strawberry.ID
    stage_id: strawberry.ID
    partner_id: strawberry.ID | None = strawberry.field(description="The partner that registered the deal, if any.")
    amount_minor: strawberry.Private[int | None]
    currency: strawberry.Private[str | None]

    @strawberry.field(extensions=allow(DEAL_READERS))
    def amount(self) -> Money | None:
        return Money.from_minor(self.amount_minor, self.currency)

    @strawberry.field(description="Amount × stage probability.", extensions=allow(DEAL_READERS))
    async def weighted_amount(self, info: Info) -> Money | None:
        st = await self.stage(info)
        if self.amount_minor is None or st is None:
            return None
        return Money.from_minor(self.amount_minor * st.probability // 100, self.currency)

    @strawberry.field(extensions=allow(DEAL_READERS))
    async def stage(self, info: Info) -> Stage | None:
        p = await info.context.by_id("pipelines").load(str(self.pipeline_id))
        if not p:
            return None
        return next((s for s in Pipeline.from_doc(p).stages if s.id == self.stage_id), None)

    @strawberry.field(extensions=allow(DEAL_READERS))
    async def pipeline(self, info: Info) -> Pipeline | None:
        p = await info.context.by_id("pipelines").load(str(self.pipeline_id))
        return Pipeline.from_doc(p) if p else None

    @strawberry.field(extensions=allow(DEAL_READERS))
    def company(self) -> "Company | None":
        return Company(id=self.company_id)

    @strawberry.field(extensions=allow(DEAL_READERS))
    def contact(self) -> "Contact | None":
        return Contact(id=self.contact_id) if self.contact_id else None

    @staticmethod
    def from_doc(d: dict) -> "Deal":
        return Deal(
            id=d["id"], title=d["title"], status=DealStatus(d["status"]), owner=d.get("owner"),
            expected_close_date=dt.date.fromisoformat(d["expected_close_date"]) if d.get("expected_close_date") else None,
            won_at=parse_ts(d.get("won_at")), lost_reason=d.get("lost_reason"), version=d["version"],
            created_at=parse_ts(d["created_at"]), updated_at=parse_ts(d["updated_at"]),
            company_id=d["company_id"], contact_id=d.get("contact_id"), pipeline_id=d["pipeline_id"],
            stage_id=d["stage_id"], partner_id=d.get("partner_id"), amount_minor=d.get("amount_minor"),
            currency=d.get("currency"),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> "Deal | None":
        doc = await info.context.get("deals", str(id))
        return cls.from_doc(doc) if doc else None




@strawberry.type(description="Unresolved problems of a client, from support's tickets.")
class AccountHealth:
    level: HealthLevel
    open_tickets: int
    open_critical_tickets: int
    warnings: list[str] = strawberry.field(description="Human-readable, e.g. \"2 open critical tickets\".")


def health_of(doc: dict | None) -> AccountHealth:
    tickets = (doc or {}).get("tickets") or {}
    open_ = [t for t in tickets.values() if t["status"] == "open"]
    critical = [t for t in open_ if t["priority"] == CRITICAL]
    high = [t for t in open_ if t["priority"] == "high"]
    warnings = []
    if critical:
        warnings.append(f"{len(critical)} open critical ticket{'s' if len(critical) != 1 else ''}")
    if high:
        warnings.append(f"{len(high)} open high-priority ticket{'s' if len(high) != 1 else ''}")
    level = HealthLevel.CRITICAL if critical else HealthLevel.ATTENTION if (high or len(open_) >= 3) else HealthLevel.OK
    if level is HealthLevel.ATTENTION and not high:
        warnings.append(f"{len(open_)} open tickets")
    return AccountHealth(level=level, open_tickets=len(open_), open_critical_tickets=len(critical), warnings=warnings)


def _deal_filter(key: str, value: str, status: DealStatus | None) -> dict:
    flt: dict = {key: value}
    if status:
        flt = {"$and": [flt, {"status": status.value}]}
    return flt


DEAL_SORT = [("created_at", -1)]


@strawberry.federation.type(keys=["id"])
class Company:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "Company":
        return cls(id=id)

    @strawberry.field(description="Deals with this company, newest first.", extensions=allow(DEAL_READERS, scoped={SALES, PARTNER}))
    async def deals(self, info: Info, first: int | None = None, after: str | None = None,
                    status: DealStatus | None = None) -> Connection[Deal] | None:
        c = info.context
        return await paginate(c.store, "deals", c.scoped("deals", _deal_filter("company_id", str(self.id), status)),
                              DEAL_SORT, first, after, Deal.from_doc)

    @strawberry.field(description="Open tickets and what they mean for a new offer.", extensions=allow(STAFF))
    async def health(self, info: Info) -> AccountHealth | None:
        doc = await info.context.by_id("account_health").load(str(self.id))
        return health_of(doc)


@strawberry.federation.type(keys=["id"])
class Contact:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "Contact":
        return cls(id=id)

    @strawberry.field(extensions=allow(DEAL_READERS, scoped={SALES, PARTNER}))
    async def deals(self, info: Info, first: int | None = None, after: str | None = None,
                    status: DealStatus | None = None) -> Connection[Deal] | None:
        c = info.context
        return await paginate(c.store, "deals", c.scoped("deals", _deal_filter("contact_id", str(self.id), status)),
                              DEAL_SORT, first, after, Deal.from_doc)


@strawberry.type
class ForecastLine:
    stage: Stage
    deal_count: int
    amount: Money
    weighted_amount: Money


@strawberry.type
class Forecast:
    currency: str
    lines: list[ForecastLine]
    total: Money
    weighted_total: Money


@strawberry.type(description="A product or service of the catalogue, with its list price.")
class Product:
    id: strawberry.ID
    sku: str
    name: str
    description: str | None
    unit: str | None = strawberry.field(description="e.g. \"m²\", \"hour\", \"project\".")
    active: bool
    version: int
    price_minor: strawberry.Private[int | None]
    currency: strawberry.Private[str | None]

    @strawberry.field(description="List price per unit.", extensions=allow(DEAL_READERS))
    def list_price(self) -> Money | None:
        return Money.from_minor(self.price_minor, self.currency)

    @staticmethod
    def from_doc(d: dict) -> "Product":
        return Product(id=d["id"], sku=d["sku"], name=d["name"], description=d.get("description"), unit=d.get("unit"),
                       active=d["active"], version=d["version"], price_minor=d.get("price_minor"),
                       currency=d.get("currency"))


@strawberry.input
class CreateProductInput:
    sku: str
    name: str
    list_price: decimal.Decimal
    currency: str
    description: str | None = None
    unit: str | None = None


@strawberry.input
class UpdateProductInput:
    id: strawberry.ID
    expected_version: int
    name: str | None = None
    description: str | None = None
    unit: str | None = None
    list_price: decimal.Decimal | None = None
    currency: str | None = None
    active: bool | None = None


@strawberry.type
class ProductPayload:
    product: Product | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _product_fields(inp, *, creating: bool) -> dict:
    out: dict = {}
    if creating:
        sku = clean_text(inp.sku, "sku", required=True, max_len=64)
        out["sku"] = sku.upper()
    if creating or inp.name is not None:
        out["name"] = clean_text(inp.name, "name", required=True)
    for f, n in (("description", 5000), ("unit", 32)):
        v = getattr(inp, f)
        if v is not None:
            out[f] = clean_text(v, f, max_len=n) or None
    if creating or inp.list_price is not None:
        out["price_minor"], out["currency"] = parse_money(inp.list_price, inp.currency, "listPrice")
    if not creating and getattr(inp, "active", None) is not None:
        out["active"] = inp.active
    return out


@strawberry.input
class DealFilter:
    status: DealStatus | None = None
    company_id: strawberry.ID | None = None
    owner: str | None = None
    stage_id: strawberry.ID | None = None


@strawberry.input
class CreateDealInput:
    title: str
    company_id: strawberry.ID
    contact_id: strawberry.ID | None = None
    amount: decimal.Decimal | None = strawberry.field(default=None, description="Decimal amount, e.g. \"250000.00\".")
    currency: str | None = None
    pipeline_id: strawberry.ID | None = None
    stage_id: strawberry.ID | None = strawberry.field(default=None, description="Defaults to the pipeline's first stage.")
    owner: str | None = None
    expected_close_date: dt.date | None = None


@strawberry.input
class MoveDealStageInput:
    id: strawberry.ID
    expected_version: int
    stage_id: strawberry.ID
    lost_reason: str | None = None


@strawberry.type
class DealPayload:
    deal: Deal | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
    warnings: list[str] = strawberry.field(default_factory=list, description="Account health warnings at the time of the change.")


def deal_snapshot(d: dict, stage: dict) -> dict:
    return {"id": d["id"], "version": d["version"], "title": d["title"], "company_id": d["company_id"],
            "contact_id": d.get("contact_id"), "amount_minor": d.get("amount_minor"), "currency": d.get("currency"),
            "pipeline_id": d["pipeline_id"], "stage_id": d["stage_id"], "stage_name": stage["name"],
            "probability": stage["probability"], "status": d["status"], "owner": d.get("owner"),
            "won_at": d.get("won_at"), "lost_reason": d.get("lost_reason"), "partner_id": d.get("partner_id")}


@strawberry.type
class Query:
    @strawberry.field(extensions=allow(DEAL_READERS))
    async def pipelines(self, info: Info) -> list[Pipeline] | None:
        c = info.context
        return [Pipeline.from_doc(d) for d in await c.store.find_all("pipelines", c.scope("pipelines"), sort=[("name", 1)])]

    @strawberry.field(description="The catalogue: products and services with their list prices.",
                      extensions=allow(DEAL_READERS, scoped={PARTNER}))
    async def products(self, info: Info, first: int | None = None, after: str | None = None,
                       active_only: bool = True) -> Connection[Product] | None:
        c = info.context
        return await paginate(c.store, "products", c.scoped("products", {"active": True} if active_only else {}),
                              [("sku", 1)], first, after, Product.from_doc)

    @strawberry.field(extensions=allow(DEAL_READERS, scoped={SALES, PARTNER}))
    async def deal(self, info: Info, id: strawberry.ID) -> Deal | None:
        doc = await info.context.get("deals", str(id))
        return Deal.from_doc(doc) if doc else None

    @strawberry.field(extensions=allow(DEAL_READERS, scoped={SALES, PARTNER}))
    async def deals(self, info: Info, first: int | None = None, after: str | None = None,
                    filter: DealFilter | None = None) -> Connection[Deal] | None:
        clauses = []
        if filter:
            for key, val in (("status", filter.status and filter.status.value), ("company_id", filter.company_id),
                             ("owner", filter.owner), ("stage_id", filter.stage_id)):
                if val:
                    clauses.append({key: str(val)})
        c = info.context
        return await paginate(c.store, "deals", c.scoped("deals", {"$and": clauses} if clauses else {}), DEAL_SORT,
                              first, after, Deal.from_doc)

    @strawberry.field(description="Open deals of one pipeline by stage: amount and probability-weighted amount.",
                      extensions=allow(ADMIN, SALES, scoped={SALES}))
    async def forecast(self, info: Info, currency: str, pipeline_id: strawberry.ID | None = None) -> Forecast | None:
        c = info.context
        store = c.store
        pid = str(pipeline_id or DEFAULT_PIPELINE)
        p = await store.get("pipelines", pid)
        if p is None:
            raise PublicError(f"pipeline {pid} does not exist")
        cur = currency.strip().upper()
        rows = await store.group("deals", ["stage_id"], sums=["amount_minor"],
                                 flt=c.scoped("deals", {"$and": [{"status": "open"}, {"currency": cur}, {"pipeline_id": pid}]}))
        by_stage = {r["key"]["stage_id"]: r for r in rows}
        lines, total, weighted = [], 0, 0
        for st in Pipeline.from_doc(p).stages:
            r = by_stage.get(st.id)
            if not r:
                continue
            amt = int(r["sum"]["amount_minor"])
            w = amt * st.probability // 100
            total, weighted = total + amt, weighted + w
            lines.append(ForecastLine(stage=st, deal_count=r["count"], amount=Money.from_minor(amt, cur),
                                      weighted_amount=Money.from_minor(w, cur)))
        return Forecast(currency=cur, lines=lines, total=Money.from_minor(total, cur),
                        weighted_total=Money.from_minor(weighted, cur))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Open a deal. The payload's warnings tell staff about the client's unresolved "
                                     "problems. Partners register deals for companies they registered.",
                         extensions=allow(ADMIN, SALES, PARTNER, scoped={SALES, PARTNER}))
    async def create_deal(self, info: Info, input: CreateDealInput) -> DealPayload | None:
        c = info.context
        store = c.store
        p = c.principal
        try:
            title = clean_text(input.title, "title", required=True)
            amount_minor, currency = parse_money(input.amount, input.currency, "amount")
            company_id = str(input.company_id)
            company = await c.referenced("ref_companies", company_id, "company", "companyId")
            contact_id = str(input.contact_id) if input.contact_id else None
            if contact_id:
                ref = await c.referenced("ref_contacts", contact_id, "contact", "contactId")
                if ref.get("company_id") != company_id:
                    raise InputError(ErrorCode.INVALID, "the contact does not work at this company", ["input", "contactId"])
            pid = str(input.pipeline_id or DEFAULT_PIPELINE)
            pipeline = await c.referenced("pipelines", pid, "pipeline", "pipelineId")
            stage = _stage(pipeline, str(input.stage_id)) if input.stage_id else pipeline["stages"][0]
            if stage is None or stage["kind"] != "open":
                raise InputError(ErrorCode.INVALID, "a new deal starts in an open stage of its pipeline", ["input", "stageId"])
            owner = clean_text(input.owner, "owner")
            partner_id = None
            if p.role == PARTNER:
                if owner is not None:
                    raise InputError(ErrorCode.NOT_ALLOWED, "the owner of a registered deal is assigned by the vendor",
                                     ["input", "owner"])
                partner_id, owner = p.company, company.get("owner") or p.sub
            body = {"id": new_id(), "title": title, "company_id": company_id, "contact_id": contact_id,
                    "amount_minor": amount_minor, "currency": currency, "pipeline_id": pid, "stage_id": stage["id"],
                    "status": "open", "owner": owner or p.sub, "partner_id": partner_id,
                    "expected_close_date": input.expected_close_date.isoformat() if input.expected_close_date else None}
            doc = await store.insert("deals", body, events=[
                Envelope("deals.deal.created", body["id"], deal_snapshot({**body, "version": 1}, stage)),
                c.audit("created", "Deal", body["id"], diff(None, body))])
            # account health is staff knowledge: a partner must not learn about the client's tickets
            warnings = health_of(await store.get("account_health", company_id)).warnings if p.is_staff else []
            return DealPayload(deal=Deal.from_doc(doc), warnings=warnings)
        except Exception as exc:
            return DealPayload(errors=user_errors(exc))

    @strawberry.mutation(description="Move a deal to another stage; a won/lost stage closes the deal.",
                         extensions=allow(ADMIN, SALES, scoped={SALES}))
    async def move_deal_stage(self, info: Info, input: MoveDealStageInput) -> DealPayload | None:
        c = info.context
        store = c.store
        try:
            current = await c.referenced("deals", input.id, "deal", "id", code=ErrorCode.NOT_FOUND)
            pipeline = await store.get("pipelines", current["pipeline_id"])
            stage = _stage(pipeline, str(input.stage_id)) if pipeline else None
            if stage is None:
                raise InputError(ErrorCode.UNKNOWN_REFERENCE, f"stage {input.stage_id} is not in the deal's pipeline",
                                 ["input", "stageId"])
            reason = clean_text(input.lost_reason, "lostReason", max_len=500)

            def change(d: dict) -> dict:
                if d["status"] != "open":
                    raise InputError(ErrorCode.INVALID, f"the deal is {d['status']} already", ["input", "id"])
                if d["stage_id"] == stage["id"]:
                    raise InputError(ErrorCode.INVALID, "the deal is in this stage already", ["input", "stageId"])
                new = {**d, "stage_id": stage["id"], "status": stage["kind"]}
                if stage["kind"] == "won":
                    new["won_at"] = now_iso()
                if stage["kind"] == "lost":
                    new["lost_reason"] = reason
                return new

            def events(old, new):
                snap = deal_snapshot(new, stage)
                evs = [Envelope("deals.deal.stage_changed", new["id"], {**snap, "from_stage_id": old["stage_id"]}),
                       c.audit("updated", "Deal", new["id"], diff(old, new))]
                if new["status"] == "won":
                    evs.append(Envelope("deals.deal.won", new["id"], snap))
                elif new["status"] == "lost":
                    evs.append(Envelope("deals.deal.lost", new["id"], snap))
                return evs

            doc = await store.mutate("deals", str(input.id), c.guarded("deals", change),
                                     expected_version=input.expected_version, events=events)
            return DealPayload(deal=Deal.from_doc(doc))
        except Exception as exc:
            return DealPayload(errors=user_errors(exc))

    @strawberry.mutation(description="Add a product or service to the catalogue.", extensions=allow(ADMIN, SALES))
    async def create_product(self, info: Info, input: CreateProductInput) -> ProductPayload | None:
        c = info.context
        try:
            body = {"id": new_id(), "active": True, **_product_fields(input, creating=True)}
            body["sku_key"] = body["sku"]
            doc = await c.store.insert("products", body, events=[c.audit("created", "Product", body["id"], diff(None, body))])
            return ProductPayload(product=Product.from_doc(doc))
        except DuplicateKeyError:
            return ProductPayload(errors=[UserError(code=ErrorCode.DUPLICATE, message=f"SKU {input.sku} exists already",
                                                    field=["input", "sku"])])
        except Exception as exc:
            return ProductPayload(errors=user_errors(exc))

    @strawberry.mutation(description="Change a product, its price, or retire it (`active: false`).",
                         extensions=allow(ADMIN, SALES))
    async def update_product(self, info: Info, input: UpdateProductInput) -> ProductPayload | None:
        c = info.context
        try:
            changes = _product_fields(input, creating=False)
            doc = await c.store.mutate("products", str(input.id), c.guarded("products", lambda d: {**d, **changes}),
                                       expected_version=input.expected_version,
                                       events=lambda old, new: [c.audit("updated", "Product", new["id"], diff(old, new))])
            return ProductPayload(product=Product.from_doc(doc))
        except Exception as exc:
            return ProductPayload(errors=user_errors(exc))


class DealsService(Service):
    name = "deals"

    def schema(self):
        return build_schema(Query, Mutation, types=[Company, Contact, Deal], settings=self.settings)

    def row_scope(self, p: Principal, coll: str) -> dict:
        own_book = p.role == SALES and self.settings.sales_own_book
        if coll in ("deals", "ref_companies", "ref_contacts"):
            if p.role in STAFF:
                return {"owner": p.sub} if own_book else ALL_ROWS
            if p.role == PARTNER:  # what it registered
                return {"partner_id": p.company}
        if coll == "pipelines" and p.role in DEAL_READERS:
            return ALL_ROWS
        if coll == "products":
            if p.role in STAFF:
                return ALL_ROWS
            if p.role == PARTNER:
                return {"active": True}  # the published catalogue
        if coll == "account_health" and p.role in STAFF:
            return ALL_ROWS
        return NO_ROWS

    async def setup(self) -> None:
        s = self.store
        await s.ensure_index("deals", [("company_id", 1), ("created_at", -1)])
        await s.ensure_index("deals", [("contact_id", 1), ("created_at", -1)])
        await s.ensure_index("deals", [("status", 1), ("currency", 1)])
        await s.ensure_index("deals", [("partner_id", 1), ("created_at", -1)])
        await s.ensure_index("deals", [("owner", 1), ("created_at", -1)])
        await s.ensure_index("products", [("sku_key", 1)], unique=True)
        if await s.get("pipelines", DEFAULT_PIPELINE) is None:
            try:
                await s.insert("pipelines", {"id": DEFAULT_PIPELINE, "name": "Turnkey design project", "stages": [
                    {"id": i, "name": n, "probability": p, "kind": k} for i, n, p, k in DEFAULT_STAGES]})
            except DuplicateKeyError:
                pass

    def subscriptions(self) -> list[Subscription]:
        return [
            Subscription("companies", ["contacts.company.created", "contacts.company.updated"],
                         lambda e: apply_snapshot(self.store, "ref_companies", e, ["name", "kind", "owner", "partner_id"])),
            Subscription("contacts", ["contacts.contact.created", "contacts.contact.updated"],
                         lambda e: apply_snapshot(self.store, "ref_contacts", e, ["name", "company_id", "owner", "partner_id"])),
            Subscription("health", ["support.ticket.*"], self.on_ticket),
        ]

    async def on_ticket(self, e: Envelope) -> None:
        d = e.data
        if not d.get("company_id") or "status" not in d:
            return
        status = "resolved" if d["status"] in ("resolved", "closed") else "open"

        def fn(doc):
            tickets = dict((doc or {}).get("tickets") or {})
            known = tickets.get(e.subject)
            if known and known["at"] > e.occurred_at:
                return None  # an older event arriving late
            tickets[e.subject] = {"priority": d.get("priority"), "status": status, "at": e.occurred_at}
            return {"tickets": tickets}

        await self.store.mutate("account_health", d["company_id"], fn, create=True, event_id=e.id)
