"""Custom fields of deals (docs/customfields.md): the definitions are contacts', kept here as a
replica (`ref_custom_fields`) from `contacts.customfield.created/updated`; the values are deals'
own, stored in the deal under `custom` (services/common/customfields.py)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from services.common import customfield_types
from services.common import customfields as cf
from services.common.authz import ADMIN, SALES, allow
from services.common.customfield_types import CustomFieldInput
from services.common.graphql import payload, payload_errors
from services.common.replica import replica

from .types import Deal

DEFS = "ref_custom_fields"


def subscription(service):
    return replica(service, "customfields", "contacts.customfield", DEFS, cf.DEFINITION_FIELDS)


@strawberry.input
class SetDealCustomFieldsInput:
    id: strawberry.ID
    values: list[CustomFieldInput]
    expected_version: int | None = None


DealCustomFieldsPayload = payload("DealCustomFieldsPayload", deal=Deal)


@strawberry.type
class DealCustomFieldMutation:
    @strawberry.mutation(
        description="Set custom-field values of a deal (validated; audited).",
        extensions=allow(ADMIN, SALES, scoped={SALES}),
    )
    @payload_errors(DealCustomFieldsPayload)
    async def set_deal_custom_fields(
        self, info: Info, input: SetDealCustomFieldsInput
    ) -> DealCustomFieldsPayload | None:
        doc = await customfield_types.set_values(
            info.context, "deals", "Deal", DEFS, "deal", input.id, input.values, input.expected_version
        )
        return DealCustomFieldsPayload(deal=Deal.from_doc(doc))
