"""Deals' GraphQL object types and enums, and its extensions of contacts' entities (Company,
Contact). Conversions from stored documents and from the plain values of `domain`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal

import strawberry
from strawberry.types import Info

from services.common.authz import PARTNER, SALES, STAFF, allow
from services.common.customfield_types import CustomFieldValue, record_values
from services.common.graphql import Connection, EntityRef, FromDoc, Money

from . import domain
from .policy import DEAL_READERS
from .sales_types import BaselineCell, Estimate, ForecastCategory, PaymentMilestone

DealStatus = strawberry.enum(domain.DealStatus)
StageKind = strawberry.enum(domain.StageKind)
HealthLevel = strawberry.enum(
    domain.HealthLevel, description="How worried a salesperson should be before making a new offer."
)

DEAL_SORT = [("created_at", -1)]


@strawberry.type
class Stage:
    id: strawberry.ID
    name: str
    probability: int = strawberry.field(description="Win probability in percent.")
    kind: StageKind
    position: int

    @staticmethod
    def from_doc(s: dict, position: int) -> Stage:
        return Stage(
            id=s["id"], name=s["name"], probability=s["probability"], kind=StageKind(s["kind"]), position=position
        )


@strawberry.type
class Pipeline:
    id: strawberry.ID
    name: str
    stages: list[Stage]
    version: int = strawberry.field(description="Pass it as expectedVersion to updatePipeline.")

    @staticmethod
    def from_doc(d: dict) -> Pipeline:
        stages = [Stage.from_doc(s, i) for i, s in enumerate(d["stages"])]
        return Pipeline(id=d["id"], name=d["name"], stages=stages, version=d.get("version", 1))


@strawberry.type(description="Unresolved problems of a client: support's tickets and overdue payments.")
class AccountHealth:
    level: HealthLevel
    open_tickets: int
    open_critical_tickets: int
    warnings: list[str] = strawberry.field(description='Human-readable, e.g. "2 open critical tickets".')
    overdue_payments: int = 0
    overdue_amounts: list[Money] = strawberry.field(default_factory=list, description="Money overdue, per currency.")
    max_days_overdue: int = 0

    @staticmethod
    def from_health(h: domain.Health) -> AccountHealth:
        return AccountHealth(
            **{
                **dataclasses.asdict(h),
                "warnings": list(h.warnings),
                "overdue_amounts": [Money.from_minor(m, c) for c, m in h.overdue_amounts],
            }
        )


def deals_of(key: str, description: str | None = None):
    """The `deals` field of a company or a contact (`key` names which): its deals, newest first."""

    async def deals(
        self, info: Info, first: int | None = None, after: str | None = None, status: DealStatus | None = None
    ) -> Connection[Deal] | None:
        flt = {"status": status.value} if status else None  # the pages of a request's entities in one query
        return await info.context.page_of("deals", key, str(self.id), flt, DEAL_SORT, first, after, Deal.from_doc)

    return strawberry.field(
        resolver=deals, description=description, extensions=allow(DEAL_READERS, scoped={SALES, PARTNER})
    )


@strawberry.federation.type(keys=["id"])
class Company(EntityRef):
    deals = deals_of("company_id", "Deals with this company, newest first.")

    @strawberry.field(description="Open tickets and what they mean for a new offer.", extensions=allow(STAFF))
    async def health(self, info: Info) -> AccountHealth | None:
        from .sales_api import health_of

        return AccountHealth.from_health(await health_of(info.context, str(self.id)))


@strawberry.federation.type(keys=["id"])
class Contact(EntityRef):
    deals = deals_of("contact_id")


def reference(entity: type[EntityRef], key: str):
    """A field with the stub of the `entity` (owned by contacts) that the deal's `key` names."""

    replica = {"Company": "ref_companies", "Contact": "ref_contacts"}[entity.__name__]

    async def resolve(self, info: Info) -> EntityRef | None:
        return await info.context.stub(replica, getattr(self, key), entity)

    return strawberry.field(resolver=resolve, graphql_type=entity | None, extensions=allow(DEAL_READERS))


@strawberry.federation.type(keys=["id"])
class Deal(FromDoc):
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
    probability: int | None = strawberry.field(
        description="Effective win probability in percent: 100 won, 0 lost, else the override if set, else the stage's."
    )
    probability_override: int | None = strawberry.field(
        description="A person's probability; stage moves never overwrite it (docs/deals.md)."
    )
    forecast_category: ForecastCategory | None
    accepted_estimate_id: strawberry.ID | None
    amount_minor: strawberry.Private[int | None]
    currency: strawberry.Private[str | None]
    weighted_minor: strawberry.Private[int | None]
    baseline_doc: strawberry.Private[dict | None]

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"baseline_doc": doc.get("baseline")}

    @strawberry.field(
        description="Versions of the deal's estimate, newest first.",
        extensions=allow(DEAL_READERS, scoped={SALES, PARTNER}),
    )
    async def estimates(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Estimate] | None:
        return await info.context.page(
            "estimates", {"deal_id": str(self.id)}, [("revision", -1)], first, after, Estimate.from_doc
        )

    @strawberry.field(description="The payment schedule, by due date.", extensions=allow(STAFF))
    async def payment_schedule(self, info: Info) -> list[PaymentMilestone] | None:
        c = info.context
        docs = await c.store.find_all(
            "milestones", c.scoped("milestones", {"deal_id": str(self.id)}), sort=[("due_date", 1)]
        )
        return [PaymentMilestone.from_doc(d) for d in docs]

    @strawberry.field(
        description="The project baseline from the accepted estimate: hours and money per stage × discipline.",
        extensions=allow(STAFF),
    )
    def baseline(self) -> list[BaselineCell] | None:
        if not self.baseline_doc:
            return None
        cur = self.currency or ""
        return [
            BaselineCell(
                stage=x["stage"],
                discipline=x["discipline"],
                hours=decimal.Decimal(x["hours"]),
                amount=Money.from_minor(x["amount_minor"], cur),
            )
            for x in self.baseline_doc["cells"]
        ]

    @strawberry.field(extensions=allow(DEAL_READERS))
    def amount(self) -> Money | None:
        return Money.from_minor(self.amount_minor, self.currency)

    @strawberry.field(description="Amount × effective probability.", extensions=allow(DEAL_READERS))
    async def weighted_amount(self, info: Info) -> Money | None:
        if self.weighted_minor is not None:
            return Money.from_minor(self.weighted_minor if self.amount_minor is not None else None, self.currency)
        pipeline = await info.context.get("pipelines", str(self.pipeline_id))
        stage = domain.find_stage(pipeline, str(self.stage_id))
        return Money.from_minor(domain.weighted_amount(self.amount_minor, stage), self.currency)

    @strawberry.field(extensions=allow(DEAL_READERS))
    async def stage(self, info: Info) -> Stage | None:
        pipeline = await info.context.one("pipelines", self.pipeline_id, Pipeline.from_doc)
        return next((s for s in pipeline.stages if s.id == self.stage_id), None) if pipeline else None

    @strawberry.field(extensions=allow(DEAL_READERS))
    async def pipeline(self, info: Info) -> Pipeline | None:
        return await info.context.one("pipelines", self.pipeline_id, Pipeline.from_doc)

    company = reference(Company, "company_id")
    contact = reference(Contact, "contact_id")

    @strawberry.field(description="Custom fields (docs/customfields.md).", extensions=allow(DEAL_READERS))
    async def custom_fields(self, info: Info) -> list[CustomFieldValue] | None:
        return await record_values(info.context, "deals", "ref_custom_fields", "deal", self.id)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Deal | None:
        return await info.context.one("deals", id, cls.from_doc)


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

    @staticmethod
    def from_forecast(f: domain.Forecast, currency: str) -> Forecast:
        return Forecast(
            currency=currency,
            lines=[
                ForecastLine(
                    stage=Stage.from_doc(line.stage, line.position),
                    deal_count=line.deal_count,
                    amount=Money.from_minor(line.amount_minor, currency),
                    weighted_amount=Money.from_minor(line.weighted_minor, currency),
                )
                for line in f.lines
            ],
            total=Money.from_minor(f.total_minor, currency),
            weighted_total=Money.from_minor(f.weighted_minor, currency),
        )


@strawberry.type(description="A product or service of the catalogue, with its list price.")
class Product(FromDoc):
    id: strawberry.ID
    sku: str
    name: str
    description: str | None
    unit: str | None = strawberry.field(description='e.g. "m²", "hour", "project".')
    active: bool
    version: int
    price_minor: strawberry.Private[int | None]
    currency: strawberry.Private[str | None]

    @strawberry.field(description="List price per unit.", extensions=allow(DEAL_READERS))
    def list_price(self) -> Money | None:
        return Money.from_minor(self.price_minor, self.currency)
