"""Custom-field definitions (contacts owns them for every entity: company, contact, lead, deal,
ticket) and the values of contacts' own records (docs/customfields.md). The mechanism is
services/common/customfields.py; deals and support keep a replica of the definitions from
`contacts.customfield.created/updated` and own the values of their deals and tickets.
Mixed into contacts' Query and Mutation."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from services.common import customfield_types
from services.common import customfields as cf
from services.common.authz import ADMIN, PARTNER, SALES, STAFF, allow
from services.common.context import Context
from services.common.customfield_types import CustomFieldInput, CustomFieldValue, definitions
from services.common.envelope import Envelope
from services.common.errors import ErrorCode, InputError
from services.common.graphql import FromDoc, payload, payload_errors

from . import events
from .types import Company, Contact

DEFS = "custom_field_defs"
DEFINED = "contacts.customfield.created"
CHANGED = "contacts.customfield.updated"
# the record collections of contacts' entities with custom fields
RECORDS = {
    "company": ("companies", "Company", events.company_changed),
    "contact": ("contacts", "Contact", events.contact_changed),
}
SNAPSHOT = (
    "id",
    "version",
    "key",
    "entity",
    "label",
    "kind",
    "required",
    "default",
    "help",
    "options",
    "currency",
    "active",
    "position",
)


@strawberry.enum(description="The entities custom fields are defined for.")
class CustomFieldEntity(Enum):
    COMPANY = "company"
    CONTACT = "contact"
    LEAD = "lead"
    DEAL = "deal"
    TICKET = "ticket"


@strawberry.enum(description="The type of a custom field's values.")
class CustomFieldKind(Enum):
    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    BOOLEAN = "boolean"
    SELECT = "select"
    MULTISELECT = "multiselect"


@strawberry.type(description="An option of a select field in its definition.")
class CustomFieldDefOption:
    value: str
    label: str
    retired: bool


@strawberry.type(description="An admin-defined field of an entity.")
class CustomFieldDefinition(FromDoc):
    id: strawberry.ID
    key: str
    entity: CustomFieldEntity
    label: str
    kind: CustomFieldKind
    required: bool
    help: str | None
    currency: str | None
    active: bool = strawberry.field(description="False: retired (values kept on the records, not shown).")
    options: list[CustomFieldDefOption]
    default: str | None = strawberry.field(description="The default as text.")
    version: int

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {
            "options": [CustomFieldDefOption(**o) for o in doc.get("options") or []],
            "default": cf.text_of(doc, doc.get("default")),
        }


@strawberry.input
class CustomFieldOptionInput:
    value: str
    label: str | None = None


@strawberry.input
class DefineCustomFieldInput:
    entity: CustomFieldEntity
    key: str = strawberry.field(description="Stable key: a lower-case letter, then letters, digits or _.")
    label: str
    kind: CustomFieldKind
    required: bool = False
    default: str | None = None
    help: str | None = None
    options: list[CustomFieldOptionInput] | None = None
    currency: str | None = strawberry.field(default=None, description="Money fields: ISO 4217 code.")


@strawberry.input
class UpdateCustomFieldInput:
    entity: CustomFieldEntity
    key: str
    label: str | None = None
    help: str | None = None
    required: bool | None = None
    default: str | None = strawberry.field(default=None, description='"" clears the default.')
    add_options: list[CustomFieldOptionInput] | None = None
    remove_options: list[str] | None = strawberry.field(
        default=None, description="Retired: records keep the value; it can no longer be chosen."
    )
    active: bool | None = strawberry.field(default=None, description="false retires the field, true restores it.")


@strawberry.input
class SetCustomFieldsInput:
    entity: CustomFieldEntity = strawberry.field(description="COMPANY or CONTACT (deals and tickets: their services).")
    id: strawberry.ID
    values: list[CustomFieldInput]
    expected_version: int | None = None


CustomFieldDefinitionPayload = payload("CustomFieldDefinitionPayload", definition=CustomFieldDefinition)
SetCustomFieldsPayload = payload("SetCustomFieldsPayload", company=Company, contact=Contact)


def _snapshot(doc: dict) -> dict:
    return {k: doc.get(k) for k in SNAPSHOT}


def defined(doc: dict) -> list[Envelope]:
    return [Envelope(DEFINED, doc["id"], _snapshot(doc))]


def changed(old: dict, new: dict) -> list[Envelope]:
    return [Envelope(CHANGED, new["id"], _snapshot(new))]


async def record_values(info: Info, coll: str, entity: str, record_id: str) -> list[CustomFieldValue] | None:
    return await customfield_types.record_values(info.context, coll, DEFS, entity, record_id)


async def active_keys(c: Context, entity: str) -> set[str]:
    return {d["key"] for d in await definitions(c, DEFS, entity) if d.get("active", True)}


@strawberry.type
class CustomFieldQuery:
    @strawberry.field(
        description="Custom-field definitions, retired ones too (`active: false`).",
        extensions=allow(STAFF, PARTNER),
    )
    async def custom_field_definitions(
        self, info: Info, entity: CustomFieldEntity | None = None
    ) -> list[CustomFieldDefinition] | None:
        c: Context = info.context
        rows = await c.store.find_all(DEFS, {"entity": entity.value} if entity else {})
        rows.sort(key=lambda d: (d["entity"], d.get("position", 0), d["key"]))
        return [CustomFieldDefinition.from_doc(d) for d in rows]


@strawberry.type
class CustomFieldMutation:
    @strawberry.mutation(description="Define a custom field of an entity.", extensions=allow(ADMIN))
    @payload_errors(CustomFieldDefinitionPayload)
    async def define_custom_field(
        self, info: Info, input: DefineCustomFieldInput
    ) -> CustomFieldDefinitionPayload | None:
        c: Context = info.context
        body = cf.check_definition(
            key=input.key,
            entity=input.entity.value,
            label=input.label,
            kind=input.kind.value,
            required=input.required,
            default=input.default,
            help=input.help,
            options=[(o.value, o.label) for o in input.options] if input.options is not None else None,
            currency=input.currency,
        )
        count = await c.store.count(DEFS, {"entity": body["entity"]})
        if count >= cf.MAX_FIELDS:
            raise InputError(ErrorCode.INVALID, f"at most {cf.MAX_FIELDS} fields per entity", ["input", "key"])
        body = {"id": f"{body['entity']}.{body['key']}", **body, "position": count}
        if await c.store.get(DEFS, body["id"]) is not None:
            raise InputError(
                ErrorCode.DUPLICATE, f"{body['entity']} already has a field {body['key']}", ["input", "key"]
            )
        doc = await c.create(DEFS, "CustomField", body, events=defined({**body, "version": 1}))
        return CustomFieldDefinitionPayload(definition=CustomFieldDefinition.from_doc(doc))

    @strawberry.mutation(
        description="Change a custom field: label, help, required, default, options added or retired, retire or "
        "restore it. Stored values are never rewritten (docs/customfields.md).",
        extensions=allow(ADMIN),
    )
    @payload_errors(CustomFieldDefinitionPayload)
    async def update_custom_field(
        self, info: Info, input: UpdateCustomFieldInput
    ) -> CustomFieldDefinitionPayload | None:
        c: Context = info.context
        def_id = f"{input.entity.value}.{input.key}"

        def change(d: dict) -> dict:
            new = dict(d)
            if input.label is not None:
                new["label"] = cf.check_definition(key="x", entity="x", label=input.label, kind="text")["label"]
            if input.help is not None:
                new["help"] = cf.check_definition(key="x", entity="x", label="x", kind="text", help=input.help)["help"]
            if input.required is not None:
                new["required"] = input.required
            if input.active is not None:
                new["active"] = input.active
            if input.add_options:
                if new["kind"] not in cf.SELECTS:
                    raise InputError(ErrorCode.INVALID, "only select fields have options", ["input", "addOptions"])
                added = cf.check_options([(o.value, o.label) for o in input.add_options], "addOptions")
                options = list(new["options"])
                for o in added:
                    same = [i for i, x in enumerate(options) if x["value"].casefold() == o["value"].casefold()]
                    if same and not options[same[0]]["retired"]:
                        raise InputError(ErrorCode.INVALID, f"option {o['value']!r} exists", ["input", "addOptions"])
                    if same:  # a retired option comes back
                        options[same[0]] = {**options[same[0]], "label": o["label"], "retired": False}
                    else:
                        options.append(o)
                new["options"] = options
            for value in input.remove_options or []:
                new = cf.retire_option(new, value)
            if input.default is not None:
                new["default"] = cf.parse(new, input.default, field="default") if input.default.strip() else None
            return new

        doc = await c.update(DEFS, "CustomField", def_id, change, expected_version=None, events=changed)
        return CustomFieldDefinitionPayload(definition=CustomFieldDefinition.from_doc(doc))

    @strawberry.mutation(
        description="Set custom-field values of a company or contact (validated; audited with the record).",
        extensions=allow(STAFF, scoped={SALES}),
    )
    @payload_errors(SetCustomFieldsPayload)
    async def set_custom_fields(self, info: Info, input: SetCustomFieldsInput) -> SetCustomFieldsPayload | None:
        c: Context = info.context
        entity = input.entity.value
        if entity not in RECORDS:
            raise InputError(ErrorCode.INVALID, f"{entity} values are set in their own service", ["input", "entity"])
        coll, name, published = RECORDS[entity]
        doc = await customfield_types.set_values(
            c, coll, name, DEFS, entity, input.id, input.values, input.expected_version, published
        )
        if entity == "company":
            return SetCustomFieldsPayload(company=Company.from_doc(doc))
        return SetCustomFieldsPayload(contact=Contact.from_doc(doc))
