"""Web-to-lead form definitions in GraphQL (rules: forms.py; the public endpoint: public.py)."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, MARKETING, STAFF, allow
from services.common.errors import DuplicateKeyError, ErrorCode, InputError
from services.common.graphql import Connection, FromDoc, payload, payload_errors

from . import forms

FormFieldMapping = strawberry.enum(forms.MapsTo, name="FormFieldMapping")


@strawberry.type
class FormField:
    name: str
    maps_to: FormFieldMapping
    label: str
    required: bool
    max_length: int


@strawberry.type
class FormValue:
    name: str
    value: str


@strawberry.type
class Utm:
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None


@strawberry.type
class FormSubmission(FromDoc):
    id: strawberry.ID
    at: dt.datetime
    values: list[FormValue]
    utm: Utm
    referrer: str | None
    consent: bool
    contact_id: strawberry.ID | None
    lead_id: str

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {
            "values": [FormValue(name=k, value=v) for k, v in (doc.get("values") or {}).items()],
            "utm": Utm(
                **{k: (doc.get("utm") or {}).get(k) for k in ("source", "medium", "campaign", "term", "content")}
            ),
        }


@strawberry.type(description="A web-to-lead form: served at POST /forms/<key> without a token.")
class WebForm(FromDoc):
    id: strawberry.ID
    key: str
    name: str
    campaign_id: strawberry.ID | None
    thank_you_url: str | None
    consent_text: str | None
    min_fill_seconds: int
    double_opt_in: bool
    active: bool
    version: int
    created_at: dt.datetime
    field_docs: strawberry.Private[list]

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {
            "field_docs": doc.get("fields") or [],
            "double_opt_in": bool(doc.get("double_opt_in", True)),
            "active": bool(doc.get("active", True)),
        }

    @strawberry.field(extensions=allow(STAFF))
    def fields(self) -> list[FormField] | None:
        return [
            FormField(
                name=f["name"],
                maps_to=forms.MapsTo(f["maps_to"]),
                label=f["label"],
                required=f["required"],
                max_length=f["max_length"],
            )
            for f in self.field_docs
        ]

    @strawberry.field(description="HTML to paste into a web page (docs/marketing.md).", extensions=allow(STAFF))
    def embed_snippet(self, info: Info) -> str | None:
        doc = {"key": self.key, "fields": self.field_docs, "consent_text": self.consent_text}
        return forms.embed_snippet(doc, info.context.settings.public_url)

    @strawberry.field(extensions=allow(STAFF))
    async def submissions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[FormSubmission] | None:
        return await info.context.page(
            "form_submissions", {"form_id": str(self.id)}, [("at", -1)], first, after, FormSubmission.from_doc
        )


@strawberry.input
class FormFieldInput:
    name: str
    maps_to: FormFieldMapping = forms.MapsTo.CUSTOM
    label: str | None = None
    required: bool = False
    max_length: int | None = None


@strawberry.input
class CreateWebFormInput:
    key: str = strawberry.field(description="The URL key: POST /forms/<key>.")
    name: str
    fields: list[FormFieldInput]
    campaign_id: strawberry.ID | None = None
    consent_text: str | None = None
    thank_you_url: str | None = None
    min_fill_seconds: int = 3
    double_opt_in: bool = True


@strawberry.input
class SetWebFormActiveInput:
    id: strawberry.ID
    expected_version: int
    active: bool


WebFormPayload = payload("WebFormPayload", form=WebForm)


@strawberry.type
class FormQueries:
    @strawberry.field(extensions=allow(STAFF))
    async def web_form(self, info: Info, id: strawberry.ID) -> WebForm | None:
        return await info.context.one("forms", id, WebForm.from_doc)

    @strawberry.field(extensions=allow(STAFF))
    async def web_forms(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[WebForm] | None:
        return await info.context.page("forms", {}, [("key", 1)], first, after, WebForm.from_doc)


@strawberry.type
class FormMutations:
    @strawberry.mutation(extensions=allow(ADMIN, MARKETING))
    @payload_errors(WebFormPayload)
    async def create_web_form(self, info: Info, input: CreateWebFormInput) -> WebFormPayload | None:
        c = info.context
        if input.campaign_id:
            await c.referenced("campaigns", input.campaign_id, "campaign", "campaignId")
        body = forms.check_form(
            key=input.key,
            name=input.name,
            fields=[
                {
                    "name": f.name,
                    "maps_to": f.maps_to.value,
                    "label": f.label,
                    "required": f.required,
                    "max_length": f.max_length,
                }
                for f in input.fields
            ],
            thank_you_url=input.thank_you_url,
            consent_text=input.consent_text,
            min_fill_seconds=input.min_fill_seconds,
        )
        body.update(
            id=body["key"],
            campaign_id=str(input.campaign_id) if input.campaign_id else None,
            double_opt_in=input.double_opt_in,
            active=True,
        )
        try:
            doc = await c.create("forms", "WebForm", body)
        except DuplicateKeyError:
            raise InputError(ErrorCode.DUPLICATE, f"a form with key {body['key']} exists", ["input", "key"]) from None
        return WebFormPayload(form=WebForm.from_doc(doc))

    @strawberry.mutation(extensions=allow(ADMIN, MARKETING))
    @payload_errors(WebFormPayload)
    async def set_web_form_active(self, info: Info, input: SetWebFormActiveInput) -> WebFormPayload | None:
        doc = await info.context.update(
            "forms",
            "WebForm",
            input.id,
            lambda d: {**d, "active": input.active},
            expected_version=input.expected_version,
        )
        return WebFormPayload(form=WebForm.from_doc(doc))
