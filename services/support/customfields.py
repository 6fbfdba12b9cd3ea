"""Custom fields of tickets (docs/customfields.md): the definitions are contacts', kept here as a
replica (`ref_custom_fields`) from `contacts.customfield.created/updated`; the values are
support's own, stored in the ticket under `custom` (services/common/customfields.py)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from services.common import customfield_types
from services.common import customfields as cf
from services.common.authz import ADMIN, SUPPORT, allow
from services.common.customfield_types import CustomFieldInput
from services.common.graphql import payload, payload_errors
from services.common.replica import replica

from .types import Ticket

DEFS = "ref_custom_fields"


def subscription(service):
    return replica(service, "customfields", "contacts.customfield", DEFS, cf.DEFINITION_FIELDS)


@strawberry.input
class SetTicketCustomFieldsInput:
    id: strawberry.ID
    values: list[CustomFieldInput]
    expected_version: int | None = None


TicketCustomFieldsPayload = payload("TicketCustomFieldsPayload", ticket=Ticket)


@strawberry.type
class TicketCustomFieldMutation:
    @strawberry.mutation(
        description="Set custom-field values of a ticket (validated; audited).", extensions=allow(ADMIN, SUPPORT)
    )
    @payload_errors(TicketCustomFieldsPayload)
    async def set_ticket_custom_fields(
        self, info: Info, input: SetTicketCustomFieldsInput
    ) -> TicketCustomFieldsPayload | None:
        doc = await customfield_types.set_values(
            info.context, "tickets", "Ticket", DEFS, "ticket", input.id, input.values, input.expected_version
        )
        return TicketCustomFieldsPayload(ticket=Ticket.from_doc(doc))
