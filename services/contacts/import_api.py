"""GraphQL of imports (docs/import.md): saved column mappings, files uploaded through
`POST /imports/files` (services/contacts/import_http.py), jobs (dry run or run) with their progress,
errors and cancel. Mixed into contacts' Query and Mutation."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, MARKETING, SALES, allow
from services.common.context import Context
from services.common.errors import ErrorCode, InputError
from services.common.graphql import Connection, FromDoc, payload, payload_errors
from services.common.ids import new_id
from services.common.values import clean_text

from . import import_job, imports

IMPORTERS = frozenset({ADMIN, SALES, MARKETING})
OWN = frozenset({SALES, MARKETING})  # their own files and jobs (admins see every one)


@strawberry.enum(description="What an import creates or updates.")
class ImportEntity(Enum):
    COMPANY = "company"
    CONTACT = "contact"


@strawberry.enum(description="An identifier rows are matched on (normalised: docs/import.md).")
class MatchKey(Enum):
    EXTERNAL_ID = "external_id"
    EMAIL = "email"
    PHONE = "phone"
    DOMAIN = "domain"
    REGISTRATION = "registration"
    VAT = "vat"
    NAME = "name"


@strawberry.enum(description="How an imported contact names its company.")
class CompanyLink(Enum):
    ID = "id"
    DOMAIN = "domain"
    NAME = "name"


@strawberry.type(description="A CSV column and the record field it fills (`custom.<key>`: a custom field).")
class ColumnMap:
    column: str
    field: str


@strawberry.type(description="A saved, reusable column mapping.")
class ImportMapping(FromDoc):
    id: strawberry.ID
    name: str
    entity: ImportEntity
    columns: list[ColumnMap]
    match_on: list[MatchKey] = strawberry.field(description="Tried in this order; the first that matches wins.")
    company_link: list[CompanyLink]
    create_companies: bool = strawberry.field(
        description="Contacts: create a company (once per name) that does not exist yet."
    )
    owner: str

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {
            "columns": [ColumnMap(column=c["column"], field=c["field"]) for c in doc["columns"]],
            "match_on": [MatchKey(k) for k in doc["match_on"]],
            "company_link": [CompanyLink(k) for k in doc.get("company_link") or imports.COMPANY_LINKS],
        }


@strawberry.type(description="An uploaded file (POST /imports/files), parsed and kept for its jobs.")
class ImportFile(FromDoc):
    id: strawberry.ID
    name: str
    columns: list[str]
    rows: int
    created_at: dt.datetime


@strawberry.type(description="A row that could not be imported.")
class ImportRowError(FromDoc):
    line: int = strawberry.field(description="Line in the file (the header is line 1).")
    column: str | None
    code: str
    message: str


@strawberry.type(description="A dry run or a run of an import, with its progress.")
class ImportJob(FromDoc):
    id: strawberry.ID
    file_id: strawberry.ID
    file_name: str
    mapping_id: strawberry.ID
    entity: ImportEntity
    dry_run: bool = strawberry.field(description="Counts what a run would do; writes nothing.")
    state: str = strawberry.field(description="running, done or cancelled.")
    total: int = strawberry.field(description="Rows in the file.")
    done: int = strawberry.field(description="Rows handled.")
    created: int
    updated: int
    skipped: int = strawberry.field(description="Rows that matched a record and changed nothing.")
    failed: int
    owner: str
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @strawberry.field(
        description="Path of the CSV error report (GET with the same bearer token).", extensions=allow(IMPORTERS)
    )
    def error_report(self) -> str | None:
        return f"/imports/jobs/{self.id}/errors.csv"

    @strawberry.field(description="The rows that failed, by line.", extensions=allow(IMPORTERS))
    async def errors(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ImportRowError] | None:
        c: Context = info.context
        return await c.page(
            import_job.ERRORS, {"job_id": str(self.id)}, [("line", 1)], first, after, ImportRowError.from_doc
        )


@strawberry.input
class ColumnMapInput:
    column: str
    field: str = strawberry.field(description="A field of the entity, or `custom.<key>` for a custom field.")


@strawberry.input
class SaveImportMappingInput:
    name: str
    entity: ImportEntity
    columns: list[ColumnMapInput]
    match_on: list[MatchKey] | None = strawberry.field(default=None, description="Default: docs/import.md.")
    company_link: list[CompanyLink] | None = None
    create_companies: bool = True
    id: strawberry.ID | None = strawberry.field(default=None, description="To change a saved mapping.")


@strawberry.input
class StartImportInput:
    file_id: strawberry.ID
    mapping_id: strawberry.ID
    dry_run: bool = strawberry.field(default=False, description="Count only: would create, update, skip, fail.")


@strawberry.input
class CancelImportInput:
    id: strawberry.ID


ImportMappingPayload = payload("ImportMappingPayload", mapping=ImportMapping)
ImportJobPayload = payload("ImportJobPayload", job=ImportJob)


async def custom_keys(c: Context, entity: str) -> set[str]:
    """The keys of the active custom fields of `entity` a mapping may fill."""
    from .customfield_api import active_keys

    return await active_keys(c, entity)


@strawberry.type
class ImportQuery:
    @strawberry.field(description="Saved import mappings.", extensions=allow(IMPORTERS))
    async def import_mappings(self, info: Info, entity: ImportEntity | None = None) -> list[ImportMapping] | None:
        c: Context = info.context
        flt = {"entity": entity.value} if entity else {}
        rows = await c.store.find_all(import_job.MAPPINGS, c.scoped(import_job.MAPPINGS, flt))
        return [ImportMapping.from_doc(d) for d in sorted(rows, key=lambda d: d["name"])]

    @strawberry.field(description="An uploaded file.", extensions=allow(IMPORTERS, scoped=OWN))
    async def import_file(self, info: Info, id: strawberry.ID) -> ImportFile | None:
        doc = await info.context.get(import_job.FILES, str(id))
        return ImportFile.from_doc(doc) if doc and doc.get("kind") == "file" else None

    @strawberry.field(description="An import job and its progress.", extensions=allow(IMPORTERS, scoped=OWN))
    async def import_job(self, info: Info, id: strawberry.ID) -> ImportJob | None:
        return await info.context.one(import_job.JOBS, id, ImportJob.from_doc)

    @strawberry.field(description="Import jobs, newest first.", extensions=allow(IMPORTERS, scoped=OWN))
    async def import_jobs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ImportJob] | None:
        return await info.context.page(
            import_job.JOBS, {"kind": "job"}, [("created_at", -1)], first, after, ImportJob.from_doc
        )


@strawberry.type
class ImportMutation:
    @strawberry.mutation(description="Save a column mapping for later imports.", extensions=allow(IMPORTERS))
    @payload_errors(ImportMappingPayload)
    async def save_import_mapping(self, info: Info, input: SaveImportMappingInput) -> ImportMappingPayload | None:
        c: Context = info.context
        entity = input.entity.value
        body = imports.check_mapping(
            entity,
            [(m.column, m.field) for m in input.columns],
            [k.value for k in input.match_on] if input.match_on is not None else None,
            [k.value for k in input.company_link] if input.company_link is not None else None,
            await custom_keys(c, entity),
        )
        body["name"] = clean_text(input.name, "name", required=True)
        body["create_companies"] = input.create_companies
        if input.id:
            old = await c.referenced(import_job.MAPPINGS, input.id, "mapping", "id", code=ErrorCode.NOT_FOUND)
            doc = await c.update(
                import_job.MAPPINGS, "ImportMapping", old["id"], lambda d: {**d, **body}, expected_version=None
            )
        else:
            doc = await c.create(
                import_job.MAPPINGS, "ImportMapping", {"id": new_id(), **body, "owner": c.principal.sub}
            )
        return ImportMappingPayload(mapping=ImportMapping.from_doc(doc))

    @strawberry.mutation(
        description="Start a dry run or a run of an uploaded file with a saved mapping; runs in the background.",
        extensions=allow(IMPORTERS, scoped=OWN),
    )
    @payload_errors(ImportJobPayload)
    async def start_import(self, info: Info, input: StartImportInput) -> ImportJobPayload | None:
        c: Context = info.context
        file = await c.get(import_job.FILES, str(input.file_id))
        if file is None or file.get("kind") != "file":
            raise InputError(ErrorCode.UNKNOWN_REFERENCE, f"file {input.file_id} does not exist", ["input", "fileId"])
        mapping = await c.referenced(import_job.MAPPINGS, input.mapping_id, "mapping", "mappingId")
        missing = [m["column"] for m in mapping["columns"] if m["column"] not in file["columns"]]
        if missing:
            message = f"the file has no column {', '.join(repr(m) for m in missing)}"
            raise InputError(ErrorCode.INVALID, message, ["input", "mappingId"])
        job = await import_job.create(c.store, c.principal, file, mapping, input.dry_run)
        import_job.spawn(c.service, job["id"])
        return ImportJobPayload(job=ImportJob.from_doc(job))

    @strawberry.mutation(
        description="Stop a running import after the rows being written; what was written stays.",
        extensions=allow(IMPORTERS, scoped=OWN),
    )
    @payload_errors(ImportJobPayload)
    async def cancel_import(self, info: Info, input: CancelImportInput) -> ImportJobPayload | None:
        c: Context = info.context
        job = await c.referenced(import_job.JOBS, input.id, "import", "id", code=ErrorCode.NOT_FOUND)
        doc = await import_job.cancel(c.store, job["id"])
        return ImportJobPayload(job=ImportJob.from_doc(doc))
