"""Deals' mutations: input -> domain -> store (with its events and audit records, in one write).
Errors reach the payload through `payload_errors`."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, PARTNER, SALES, allow
from services.common.envelope import Envelope
from services.common.errors import DuplicateKeyError, ErrorCode, InputError
from services.common.graphql import payload_errors
from services.common.ids import new_id, now_iso
from services.common.money import parse_money
from services.common.registration import partner_registration
from services.common.values import clean_text, date_input, ts_input

from . import domain, events, planning
from .customfields import DealCustomFieldMutation
from .inputs import (
    CreateDealInput,
    CreateProductInput,
    DealPayload,
    MoveDealStageInput,
    ProductPayload,
    SetDealForecastInput,
    UpdateProductInput,
)
from .partner_api import PartnerMutation
from .sales_api import SalesMutation, offer_guard, override_events
from .types import Deal, Product


async def managed_lost_reason(c, given: str | None) -> str | None:
    """The name of the active lost reason `given` names (by id or name, case-insensitive), else None."""
    text = clean_text(given, "lostReason", max_len=100)
    if not text:
        return None
    by_id = await c.store.get("lost_reasons", text)
    if by_id and by_id.get("active"):
        return by_id["name"]
    found = await c.store.find("lost_reasons", {"name_key": text.casefold(), "active": True}, first=1)
    return found.items[0]["name"] if found.items else None


@strawberry.type
class Mutation(DealCustomFieldMutation, SalesMutation, PartnerMutation):
    @strawberry.mutation(
        description="Open a deal. The payload's warnings tell staff about the client's unresolved "
        "problems. Partners register deals for companies they registered.",
        extensions=allow(ADMIN, SALES, PARTNER, scoped={SALES, PARTNER}),
    )
    @payload_errors(DealPayload)
    async def create_deal(self, info: Info, input: CreateDealInput) -> DealPayload | None:
        c = info.context
        p = c.principal
        title = clean_text(input.title, "title", required=True)
        amount_minor, currency = parse_money(input.amount, input.currency, "amount")
        company_id = str(input.company_id)
        company = await c.referenced("ref_companies", company_id, "company", "companyId")
        contact_id = str(input.contact_id) if input.contact_id else None
        if contact_id:
            ref = await c.referenced("ref_contacts", contact_id, "contact", "contactId")
            if ref.get("company_id") != company_id:
                raise InputError(ErrorCode.INVALID, "the contact does not work at this company", ["input", "contactId"])
        pid = str(input.pipeline_id or domain.DEFAULT_PIPELINE)
        pipeline = await c.referenced("pipelines", pid, "pipeline", "pipelineId")
        stage = domain.starting_stage(pipeline, str(input.stage_id) if input.stage_id else None)
        owner = clean_text(input.owner, "owner")
        partner_id = None
        if p.role == PARTNER:
            # the partner's own company, unscoped: its owner is the partner's manager at the vendor
            partner = await c.store.get("ref_companies", p.company) if p.company else None
            reg = partner_registration(
                p.company,
                p.sub,
                requested_owner=owner,
                account_owner=company.get("owner"),
                partner_manager=(partner or {}).get("owner"),
            )
            partner_id, owner = reg["partner_id"], reg["owner"]
        overridden, reasons, health = await offer_guard(c, company_id, input.override_reason)
        opened_at = ts_input(input.opened_at, "openedAt") if p.role == ADMIN else None
        body = {
            "id": new_id(),
            "title": title,
            "company_id": company_id,
            "contact_id": contact_id,
            "amount_minor": amount_minor,
            "currency": currency,
            "pipeline_id": pid,
            "stage_id": stage["id"],
            "status": domain.DealStatus.OPEN.value,
            "owner": owner or p.sub,
            "partner_id": partner_id,
            "expected_close_date": date_input(input.expected_close_date, "expectedCloseDate"),
            "opened_at": opened_at or now_iso(),
            "override_reason": input.override_reason if overridden else None,
        }
        body = planning.derive(body, pipeline)
        evs = [events.deal_created(body, stage)]
        if overridden:
            evs += override_events(
                c, entity="Deal", entity_id=body["id"], doc=body, reason=input.override_reason, reasons=reasons
            )
        doc = await c.create("deals", "Deal", body, events=evs)
        # account health is staff knowledge: a partner must not learn about the client's tickets
        warnings = list(health.warnings) if p.is_staff else []
        return DealPayload(deal=Deal.from_doc(doc), warnings=warnings)

    @strawberry.mutation(
        description="Move a deal to another stage; a won/lost stage closes the deal.",
        extensions=allow(ADMIN, SALES, scoped={SALES}),
    )
    @payload_errors(DealPayload)
    async def move_deal_stage(self, info: Info, input: MoveDealStageInput) -> DealPayload | None:
        c = info.context
        current = await c.referenced("deals", input.id, "deal", "id", code=ErrorCode.NOT_FOUND)
        pipeline = await c.get("pipelines", current["pipeline_id"])
        stage = domain.target_stage(pipeline, str(input.stage_id))
        reason = (
            await managed_lost_reason(c, input.lost_reason) if stage["kind"] == domain.StageKind.LOST.value else None
        )
        closed_at = ts_input(input.closed_at, "closedAt") if c.principal.role == ADMIN else None
        now = closed_at or now_iso()

        def change(d: dict) -> dict:
            if stage["kind"] == domain.StageKind.LOST.value and reason is None:
                raise InputError(
                    ErrorCode.INVALID,
                    "closing a deal as lost needs a reason from the lost reasons list",
                    ["input", "lostReason"],
                )
            moved = domain.move_to_stage(d, stage, lost_reason=reason, now=now)
            if moved["status"] != domain.DealStatus.OPEN.value:
                moved["closed_at"] = now
            return planning.derive(moved, pipeline)

        def moved(old: dict, new: dict) -> list:
            return events.deal_moved(old, new, stage)

        doc = await c.update("deals", "Deal", input.id, change, expected_version=input.expected_version, events=moved)
        return DealPayload(deal=Deal.from_doc(doc))

    @strawberry.mutation(
        description="The forecast of a deal: a probability override (kept across stage moves until cleared; "
        "docs/deals.md), its forecast category and expected close date.",
        extensions=allow(ADMIN, SALES, scoped={SALES}),
    )
    @payload_errors(DealPayload)
    async def set_deal_forecast(self, info: Info, input: SetDealForecastInput) -> DealPayload | None:
        c = info.context
        current = await c.referenced("deals", input.id, "deal", "id", code=ErrorCode.NOT_FOUND)
        pipeline = await c.get("pipelines", current["pipeline_id"])
        changes: dict = {}
        if input.clear_probability_override:
            changes["probability_override"] = None
        elif input.probability_override is not None:
            changes["probability_override"] = planning.check_probability(input.probability_override)
        if input.forecast_category is not None:
            changes["forecast_category_chosen"] = input.forecast_category.value
        if input.expected_close_date is not None:
            changes["expected_close_date"] = date_input(input.expected_close_date, "expectedCloseDate")

        def change(d: dict) -> dict:
            return planning.derive({**d, **changes}, pipeline)

        def evs(old: dict, new: dict) -> list:
            stage = domain.find_stage(pipeline, new["stage_id"]) or {"name": None, "probability": None}
            return [Envelope(events.DEAL_UPDATED, new["id"], events.deal_snapshot(new, stage))]

        doc = await c.update("deals", "Deal", input.id, change, expected_version=input.expected_version, events=evs)
        return DealPayload(deal=Deal.from_doc(doc))

    @strawberry.mutation(description="Add a product or service to the catalogue.", extensions=allow(ADMIN, SALES))
    @payload_errors(ProductPayload)
    async def create_product(self, info: Info, input: CreateProductInput) -> ProductPayload | None:
        body = {"id": new_id(), "active": True, **domain.product_fields(input, creating=True)}
        body["sku_key"] = body["sku"]
        try:
            doc = await info.context.create("products", "Product", body)
        except DuplicateKeyError:
            raise InputError(ErrorCode.DUPLICATE, f"SKU {input.sku} exists already", ["input", "sku"]) from None
        return ProductPayload(product=Product.from_doc(doc))

    @strawberry.mutation(
        description="Change a product, its price, or retire it (`active: false`).", extensions=allow(ADMIN, SALES)
    )
    @payload_errors(ProductPayload)
    async def update_product(self, info: Info, input: UpdateProductInput) -> ProductPayload | None:
        c = info.context
        changes = domain.product_fields(input, creating=False)

        def change(d: dict) -> dict:
            return {**d, **changes}

        doc = await c.update("products", "Product", input.id, change, expected_version=input.expected_version)
        return ProductPayload(product=Product.from_doc(doc))
