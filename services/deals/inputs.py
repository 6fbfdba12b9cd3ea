"""Deals' GraphQL inputs, filters and mutation payloads."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal

import strawberry

from services.common.customfield_types import CustomFieldFilter
from services.common.graphql import UserError, payload
from services.common.values import equal

from .sales_types import SetDealForecastInput  # noqa: F401  (re-exported)
from .types import Deal, DealStatus, Product


@strawberry.input
class Change:
    """What a change of a record names: the record, and the version the client read (else CONFLICT)."""

    id: strawberry.ID
    expected_version: int


@strawberry.input
class CreateProductInput:
    sku: str
    name: str
    list_price: decimal.Decimal
    currency: str
    description: str | None = None
    unit: str | None = None


@strawberry.input
class UpdateProductInput(Change):
    name: str | None = None
    description: str | None = None
    unit: str | None = None
    list_price: decimal.Decimal | None = None
    currency: str | None = None
    active: bool | None = None


ProductPayload = payload("ProductPayload", product=Product)


@strawberry.input
class DealFilter:
    status: DealStatus | None = None
    company_id: strawberry.ID | None = None
    owner: str | None = None
    stage_id: strawberry.ID | None = None
    custom_fields: list[CustomFieldFilter] | None = strawberry.field(default=None, description="All must hold.")

    def clauses(self) -> list[dict]:
        """One equality clause per field that is set (each field is named as the deal's; custom fields
        are the query's, services/common/customfield_types.py)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "custom_fields"}
        return equal({**fields, "status": self.status and self.status.value}.items())


@strawberry.input
class CreateDealInput:
    title: str
    company_id: strawberry.ID
    contact_id: strawberry.ID | None = None
    amount: decimal.Decimal | None = strawberry.field(default=None, description='Decimal amount, e.g. "250000.00".')
    currency: str | None = None
    pipeline_id: strawberry.ID | None = None
    stage_id: strawberry.ID | None = strawberry.field(
        default=None, description="Defaults to the pipeline's first stage."
    )
    owner: str | None = None
    expected_close_date: dt.date | None = None
    override_reason: str | None = strawberry.field(
        default=None, description="Admins and configured sales managers pass the offer guard with a reason (audited)."
    )
    opened_at: dt.datetime | None = strawberry.field(
        default=None, description="Admins importing history: when the deal opened."
    )


@strawberry.input
class MoveDealStageInput(Change):
    stage_id: strawberry.ID
    lost_reason: str | None = strawberry.field(
        default=None, description="Required when closing as lost: a reason of `lostReasons` (its id or name)."
    )
    closed_at: dt.datetime | None = strawberry.field(
        default=None, description="Admins importing history: when the deal closed."
    )


@strawberry.type
class DealPayload:
    deal: Deal | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
    warnings: list[str] = strawberry.field(
        default_factory=list, description="Account health warnings at the time of the change."
    )
