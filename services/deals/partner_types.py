"""GraphQL types and inputs of the partner programme, deal registrations, targets, the tier review,
partner reports and standard configurations (bundles). The rules are in partners.py."""

from __future__ import annotations

import datetime as dt
import decimal

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, PARTNER, SALES, STAFF, allow
from services.common.graphql import Money, payload

from . import partners as R
from .types import Company, DealStatus

RegistrationStatus = strawberry.enum(R.RegistrationStatus, description="UNDER_REVIEW is every new registration.")
TierStanding = strawberry.enum(R.TierStanding)

PARTNER_MANAGERS = {ADMIN, SALES}  # the vendor's partner managers are admins or sales staff
PROGRAMME_READERS = STAFF | {PARTNER}


def _m(minor, cur) -> Money | None:
    return Money.from_minor(minor, cur)


def _date(v: str | None) -> dt.date | None:
    return dt.date.fromisoformat(v[:10]) if v else None


def _ts(v: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(v.replace("Z", "+00:00")) if v else None


# ---- programme --------------------------------------------------------------------------------
@strawberry.type(description="A partner tier: its price list (price lists with this `partnerTier`), discount limit "
                 "and the thresholds of the tier review.")  # fmt: skip
class PartnerTierDef:
    id: str = strawberry.field(description='The tier key, e.g. "gold"; price lists name it as their partnerTier.')
    name: str
    rank: int = strawberry.field(description="Higher is better (registered 0, silver 1, gold 2).")
    max_discount_percent: decimal.Decimal
    currency: str
    min_deals: int
    min_certified: int
    min_revenue_minor: strawberry.Private[int]

    @strawberry.field(description="Revenue per year a partner of this tier is expected to reach.",
                      extensions=allow(PROGRAMME_READERS))  # fmt: skip
    def min_revenue(self) -> Money | None:
        return _m(self.min_revenue_minor, self.currency)

    @staticmethod
    def of(d: dict) -> PartnerTierDef:
        return PartnerTierDef(
            id=d["id"],
            name=d.get("name") or d["id"],
            rank=int(d.get("rank") or 0),
            max_discount_percent=decimal.Decimal(str(d.get("max_discount_pct") or "0")),
            currency=d.get("currency") or "EUR",
            min_deals=int(d.get("min_deals") or 0),
            min_certified=int(d.get("min_certified") or 0),
            min_revenue_minor=int(d.get("min_revenue_minor") or 0),
        )


@strawberry.type
class PartnerUser:
    sub: str = strawberry.field(description="The login (token `sub`) of the partner user.")
    name: str | None
    portal_role: str = strawberry.field(description="manager, sales, support or viewer.")
    certified: bool


@strawberry.type
class TierChange:
    from_tier: str | None
    to_tier: str | None
    by: str
    at: dt.datetime
    reason: str | None


@strawberry.type(description="A partner company's place in the programme. A partner reads its own only.")
class PartnerProgramme:
    company_id: strawberry.ID
    tier: str | None
    agreement_start: dt.date | None
    agreement_end: dt.date | None
    regions: list[str]
    industries: list[str]
    support_enabled: bool = strawberry.field(description="The partner answers its end clients' tickets.")
    version: int
    doc: strawberry.Private[dict]

    @staticmethod
    def of(d: dict) -> PartnerProgramme:
        return PartnerProgramme(
            company_id=d["id"],
            tier=d.get("tier"),
            agreement_start=_date(d.get("agreement_start")),
            agreement_end=_date(d.get("agreement_end")),
            regions=list(d.get("regions") or []),
            industries=list(d.get("industries") or []),
            support_enabled=bool(d.get("support_enabled")),
            version=int(d.get("version") or 1),
            doc=d,
        )

    @strawberry.field(extensions=allow(PROGRAMME_READERS))
    async def company(self, info: Info) -> Company | None:
        if info.context.principal.company == str(self.company_id):  # a partner's own company
            return Company(id=self.company_id)
        return await info.context.stub("ref_companies", self.company_id, Company)

    @strawberry.field(description="The tier's discount limit and thresholds.", extensions=allow(PROGRAMME_READERS))
    async def tier_details(self, info: Info) -> PartnerTierDef | None:
        if not self.tier:
            return None
        d = await info.context.store.get("tier_defs", self.tier)  # the programme row was scoped already
        return PartnerTierDef.of(d) if d else None

    @strawberry.field(extensions=allow(PROGRAMME_READERS))
    def users(self) -> list[PartnerUser] | None:
        return [
            PartnerUser(sub=u["sub"], name=u.get("name"), portal_role=u["portal_role"], certified=bool(u["certified"]))
            for u in self.doc.get("users") or []
        ]

    @strawberry.field(description="Tier changes, newest first (staff only).", extensions=allow(STAFF))
    def tier_history(self) -> list[TierChange] | None:
        return [
            TierChange(
                from_tier=h.get("from"), to_tier=h.get("to"), by=h["by"], at=_ts(h["at"]), reason=h.get("reason")
            )
            for h in reversed(self.doc.get("tier_history") or [])
        ]


@strawberry.input
class PartnerUserInput:
    sub: str
    portal_role: str
    name: str | None = None
    certified: bool = False


@strawberry.input
class SavePartnerProgrammeInput:
    company_id: strawberry.ID
    tier: str | None = None
    agreement_start: dt.date | None = None
    agreement_end: dt.date | None = None
    regions: list[str] | None = None
    industries: list[str] | None = None
    users: list[PartnerUserInput] | None = None
    support_enabled: bool | None = None
    reason: str | None = strawberry.field(default=None, description="Why the tier changes (audited).")


@strawberry.input
class SaveTierDefInput:
    id: str
    name: str
    rank: int = 0
    max_discount_percent: decimal.Decimal = decimal.Decimal(0)
    currency: str = "EUR"
    min_revenue: decimal.Decimal = decimal.Decimal(0)
    min_deals: int = 0
    min_certified: int = 0


PartnerProgrammePayload = payload("PartnerProgrammePayload", programme=PartnerProgramme)
PartnerTierDefPayload = payload("PartnerTierDefPayload", tier=PartnerTierDef)


# ---- registrations ----------------------------------------------------------------------------
@strawberry.type(description="Why a registration is in the review queue (staff only).")
class ConflictEvidence:
    kind: str = strawberry.field(description="staff_deal, partner_registration or outside_territory.")
    matched_on: list[str] = strawberry.field(
        description="What matched: name, domain, email, phone, registration, vat (outside_territory: region, industry)."
    )
    company_id: strawberry.ID | None
    deal_ids: list[strawberry.ID]
    owner: str | None
    registration_id: strawberry.ID | None
    partner_id: strawberry.ID | None
    status: str | None
    rule_texts: strawberry.Private[list[str]]

    @strawberry.field(
        description='The rules that matched, in words: "same name", "similar name (92%)", "same domain", '
        '"outside territory: …" (staff only).',
        extensions=allow(STAFF),
    )
    def rules(self) -> list[str] | None:
        return list(self.rule_texts)


@strawberry.type(description="A partner's registration of an opportunity.")
class DealRegistration:
    id: strawberry.ID
    partner_id: strawberry.ID
    client_name: str
    client_website: str | None
    client_email: str | None
    client_phone: str | None
    client_country: str | None
    client_region: str | None
    client_industry: str | None
    client_registration_number: str | None
    client_vat_number: str | None
    company_id: strawberry.ID | None = strawberry.field(description="The prospect the partner registered, if any.")
    project: str
    expected_close: dt.date | None
    status: RegistrationStatus
    reason: str | None = strawberry.field(description="Why it was rejected (or a note on approval).")
    submitted_at: dt.datetime
    decided_at: dt.datetime | None
    expires_at: dt.datetime | None = strawberry.field(description="End of the protection period (approved).")
    won_deal_id: strawberry.ID | None
    version: int
    value_minor: strawberry.Private[int]
    currency: strawberry.Private[str]

    @staticmethod
    def of(d: dict) -> DealRegistration:
        return DealRegistration(
            id=d["id"],
            partner_id=d["partner_id"],
            client_name=d["client_name"],
            client_website=d.get("client_website"),
            client_email=d.get("client_email"),
            client_phone=d.get("client_phone"),
            client_country=d.get("client_country"),
            client_region=d.get("client_region"),
            client_industry=d.get("client_industry"),
            client_registration_number=d.get("client_registration_number"),
            client_vat_number=d.get("client_vat_number"),
            company_id=d.get("company_id"),
            project=d["project"],
            expected_close=_date(d.get("expected_close")),
            status=R.RegistrationStatus(d["status"]),
            reason=d.get("reason"),
            submitted_at=_ts(d["submitted_at"]),
            decided_at=_ts(d.get("decided_at")),
            expires_at=_ts(d.get("expires_at")),
            won_deal_id=d.get("won_deal_id"),
            version=int(d["version"]),
            value_minor=int(d["value_minor"]),
            currency=d["currency"],
        )

    @strawberry.field(extensions=allow(PROGRAMME_READERS))
    def estimated_value(self) -> Money | None:
        return _m(self.value_minor, self.currency)

    @strawberry.field(
        description="The partner holding (or asking for) the client; staff only.", extensions=allow(STAFF)
    )
    async def partner(self, info: Info) -> Company | None:
        return await info.context.stub("ref_companies", self.partner_id, Company)

    @strawberry.field(
        description="The conflicts found on submission (staff only; never shown to partners).",
        extensions=allow(STAFF),
    )
    async def conflicts(self, info: Info) -> list[ConflictEvidence] | None:
        review = await info.context.get("registration_reviews", str(self.id))
        return [
            ConflictEvidence(
                kind=e["kind"],
                matched_on=list(e["matched_on"]),
                company_id=e.get("company_id"),
                deal_ids=list(e.get("deal_ids") or []),
                owner=e.get("owner"),
                registration_id=e.get("registration_id"),
                partner_id=e.get("partner_id"),
                status=e.get("status"),
                rule_texts=list(e.get("rules") or []),
            )
            for e in (review or {}).get("evidence") or []
        ]


@strawberry.input
class SubmitRegistrationInput:
    client_name: str
    project: str
    estimated_value: decimal.Decimal
    currency: str
    client_website: str | None = None
    client_email: str | None = None
    client_phone: str | None = strawberry.field(
        default=None, description="With its country code, or read in clientCountry (a match key)."
    )
    client_country: str | None = strawberry.field(default=None, description="ISO country code, e.g. NO.")
    client_region: str | None = strawberry.field(default=None, description="Checked against your territory.")
    client_industry: str | None = strawberry.field(default=None, description="Checked against your territory.")
    client_registration_number: str | None = strawberry.field(default=None, description="A match key.")
    client_vat_number: str | None = strawberry.field(default=None, description="A match key.")
    company_id: strawberry.ID | None = None
    expected_close: dt.date | None = None


@strawberry.input
class DecideRegistrationInput:
    id: strawberry.ID
    approve: bool
    reason: str | None = None
    expected_version: int | None = None


@strawberry.input
class RegistrationFilter:
    status: RegistrationStatus | None = None
    partner_id: strawberry.ID | None = None
    conflict: bool | None = strawberry.field(
        default=None, description="Staff: only those with (or without) a conflict."
    )


DealRegistrationPayload = payload("DealRegistrationPayload", registration=DealRegistration)


# ---- targets, tier review, reports ------------------------------------------------------------
@strawberry.type(description="A partner's targets for a period and its progress.")
class PartnerTarget:
    partner_id: strawberry.ID
    period: str
    currency: str
    deals: int | None
    certified_staff: int | None
    won_deals: int
    certified: int
    revenue_percent: decimal.Decimal | None
    deals_percent: decimal.Decimal | None
    certified_percent: decimal.Decimal | None
    revenue_minor: strawberry.Private[int | None]
    won_minor: strawberry.Private[int]
    accepted_minor: strawberry.Private[int]

    @strawberry.field(extensions=allow(PROGRAMME_READERS))
    def revenue(self) -> Money | None:
        return _m(self.revenue_minor, self.currency)

    @strawberry.field(description="Won deals' amounts in the period.", extensions=allow(PROGRAMME_READERS))
    def won_revenue(self) -> Money | None:
        return _m(self.won_minor, self.currency)

    @strawberry.field(
        description="Accepted estimates of deals still open (committed, not yet won).",
        extensions=allow(PROGRAMME_READERS),
    )
    def accepted_estimates(self) -> Money | None:
        return _m(self.accepted_minor, self.currency)


@strawberry.input
class SetTargetInput:
    partner_id: strawberry.ID
    period: str
    currency: str = "EUR"
    revenue: decimal.Decimal | None = None
    deals: int | None = None
    certified_staff: int | None = None


PartnerTargetPayload = payload("PartnerTargetPayload", target=PartnerTarget)


@strawberry.type
class TierReviewRow:
    partner_id: strawberry.ID
    tier: str | None
    standing: TierStanding
    qualifies_for: str | None
    won_deals: int
    certified: int
    currency: str
    won_minor: strawberry.Private[int]

    @strawberry.field(extensions=allow(PARTNER_MANAGERS))
    def won_revenue(self) -> Money | None:
        return _m(self.won_minor, self.currency)

    @strawberry.field(extensions=allow(PARTNER_MANAGERS))
    async def partner(self, info: Info) -> Company | None:
        return await info.context.stub("ref_companies", self.partner_id, Company)


@strawberry.type
class MonthRevenue:
    month: str
    amount: Money


@strawberry.type
class RegistrationCount:
    status: RegistrationStatus
    count: int


@strawberry.type(description="A partner's pipeline, win rate, revenue by month and registrations.")
class PartnerReport:
    partner_id: strawberry.ID
    period: str
    currency: str
    open_deals: int
    won_deals: int
    lost_deals: int
    win_rate: decimal.Decimal | None = strawberry.field(description="Won / (won + lost) in the period, %.")
    registrations: list[RegistrationCount]
    open_minor: strawberry.Private[int]
    by_month: strawberry.Private[dict]

    @strawberry.field(description="Open deals' amounts.", extensions=allow(PROGRAMME_READERS))
    def pipeline(self) -> Money | None:
        return _m(self.open_minor, self.currency)

    @strawberry.field(extensions=allow(PROGRAMME_READERS))
    def revenue_by_month(self) -> list[MonthRevenue] | None:
        return [MonthRevenue(month=m, amount=_m(v, self.currency)) for m, v in self.by_month.items()]

    @staticmethod
    def of(partner_id: str, period: str, r: dict, currency: str) -> PartnerReport:
        return PartnerReport(
            partner_id=partner_id,
            period=period,
            currency=currency,
            open_deals=r["open_deals"],
            won_deals=r["won_deals"],
            lost_deals=r["lost_deals"],
            win_rate=r["win_rate"],
            registrations=[
                RegistrationCount(status=R.RegistrationStatus(s), count=n)
                for s, n in sorted(r["registrations"].items())
            ],
            open_minor=r["open_minor"],
            by_month=r["revenue_by_month"],
        )


@strawberry.type
class BoughtItem:
    deal_id: strawberry.ID
    title: str
    status: DealStatus
    amount: Money | None
    products: list[str] = strawberry.field(description="Catalogue items of the accepted estimate.")


@strawberry.type(description="An end client reached through a partner: who sold, who delivers, what it bought.")
class ChainRow:
    partner_id: strawberry.ID
    client_id: strawberry.ID
    sold_by: str = strawberry.field(
        description="The partner user who registered the client (its `sub`; else the partner's id)."
    )
    delivered_by: str | None = strawberry.field(
        description="Our staff member who owns the delivery (the deals' owner)."
    )
    bought: list[BoughtItem]

    @strawberry.field(extensions=allow(PARTNER_MANAGERS))
    async def partner(self, info: Info) -> Company | None:
        return await info.context.stub("ref_companies", self.partner_id, Company)

    @strawberry.field(
        description="The end client: its name, and (from support) its open tickets.", extensions=allow(PARTNER_MANAGERS)
    )
    async def client(self, info: Info) -> Company | None:
        return await info.context.stub("ref_companies", self.client_id, Company)


# ---- bundles ----------------------------------------------------------------------------------
@strawberry.type
class BundleItem:
    product_id: strawberry.ID
    sku: str | None
    name: str | None
    stage: str
    quantity: decimal.Decimal


@strawberry.type
class BundleWork:
    stage: str
    discipline: str
    hours: decimal.Decimal


@strawberry.type(description='A standard configuration, e.g. "small office fit-out, concept to permits".')
class Bundle:
    id: strawberry.ID
    name: str
    description: str | None
    active: bool
    version: int
    items: list[BundleItem]
    work: list[BundleWork]

    @staticmethod
    def of(d: dict) -> Bundle:
        return Bundle(
            id=d["id"],
            name=d["name"],
            description=d.get("description"),
            active=bool(d.get("active", True)),
            version=int(d["version"]),
            items=[
                BundleItem(
                    product_id=i["product_id"],
                    sku=i.get("sku"),
                    name=i.get("name"),
                    stage=i["stage"],
                    quantity=decimal.Decimal(i["quantity"]),
                )
                for i in d.get("items") or []
            ],
            work=[
                BundleWork(stage=w["stage"], discipline=w["discipline"], hours=decimal.Decimal(w["hours"]))
                for w in d.get("work") or []
            ],
        )


@strawberry.input
class BundleItemInput:
    product_id: strawberry.ID
    stage: str
    quantity: decimal.Decimal = decimal.Decimal(1)


@strawberry.input
class BundleWorkInput:
    stage: str
    discipline: str
    hours: decimal.Decimal


@strawberry.input
class SaveBundleInput:
    name: str
    id: strawberry.ID | None = None
    description: str | None = None
    active: bool = True
    items: list[BundleItemInput] = strawberry.field(default_factory=list)
    work: list[BundleWorkInput] = strawberry.field(default_factory=list)


@strawberry.input
class EstimateFromBundleInput:
    deal_id: strawberry.ID
    bundle_id: strawberry.ID
    discount_percent: decimal.Decimal | None = None
    price_list_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff may name the list; a partner gets its tier's list."
    )


BundlePayload = payload("BundlePayload", bundle=Bundle)
