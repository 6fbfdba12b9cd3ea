"""Import jobs (docs/import.md): an uploaded file's rows applied as matching upserts, in the background
of whichever contacts replica holds the job's lease; resumable, idempotent per row, cancellable.

Storage:
- `import_files`: the uploaded file, parsed once at upload: one `file` document (name, columns, row
  count, owner) and its rows in `chunk` documents of CHUNK rows with their line numbers. The file
  document is written last, so a half-stored upload is never visible.
- `import_jobs`: the job (mapping snapshot, state, progress counters, the next chunk, its lease).
- `import_errors`: one document per failed row (id = job + line), for the report.

Per chunk: the rows are validated (imports.row_fields), the records they match are read with one
`$in` query per match key (within the principal's row scope), and each row is applied in its own
write: a match is updated with the changed fields, else a record is created with an id derived
from the job and the line (imports.record_id). Every written record carries `import_mark` (the job
and, per line of that job that wrote it, the outcome) in the same write. Then the job's progress is
written, conditional on the version
this holder read. A crash half-way through a chunk leaves the job at that chunk; the next run
applies it again: a row whose record already carries its mark counts the outcome recorded there
and writes nothing, a created row's insert meets its own id. So a resumed job ends with the same
records and the same counts as an uninterrupted one, and never applies a row twice."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import datetime as dt
import io
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from services.common import customfields, matchkeys
from services.common.audit import audit_event
from services.common.auth import Principal
from services.common.authz import narrow
from services.common.errors import ConflictError, DuplicateKeyError, ErrorCode, InputError, NotFoundError
from services.common.ids import iso, new_id, now_iso

from . import events, imports, policy

if TYPE_CHECKING:
    from services.common.store import Store

log = logging.getLogger(__name__)
JOBS, FILES, ERRORS, MAPPINGS = "import_jobs", "import_files", "import_errors", "import_mappings"
CUSTOM_DEFS = "custom_field_defs"  # services/contacts/customfield_api.py
# rows per stored chunk and per checkpoint: one `$in` read per match key per chunk (a scan on FerretDB)
CHUNK = 1000
LEASE_SECONDS = 60.0  # renewed per chunk: longer than a chunk of CHUNK rows takes on FerretDB
MAX_ROWS = 1_000_000
COLLECTION = {"company": "companies", "contact": "contacts"}
INDEXES = {
    JOBS: [[("owner", 1), ("created_at", -1)], [("state", 1)]],
    FILES: [[("file_id", 1), ("n", 1)]],
    ERRORS: [[("job_id", 1), ("line", 1)]],
    MAPPINGS: [[("entity", 1), ("name", 1)]],
    "companies": [[("domain_key", 1)], [("registration_key", 1)], [("vat_key", 1)], [("external_key", 1)]],
    "contacts": [[("phone_key", 1)], [("external_key", 1)]],
}


# ---- files ------------------------------------------------------------------------------------------
def encode_row(cells: list[str]) -> str:
    """A row as one CSV line: FerretDB stores no arrays inside arrays."""
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue()


def decode_row(line: str) -> list[str]:
    return next(csv.reader(io.StringIO(line, newline="")), [])


async def save_file(store: Store, owner: str, name: str, header: list[str], rows) -> dict:
    """Store a parsed file: its chunks, then its header document. InputError past MAX_ROWS."""
    file_id = new_id()
    n, chunk_no, lines, cells = 0, 0, [], []

    async def flush() -> None:
        nonlocal chunk_no, lines, cells
        doc = {"id": f"{file_id}:{chunk_no:06d}", "kind": "chunk", "file_id": file_id, "n": chunk_no}
        await store.insert(FILES, {**doc, "lines": lines, "rows": [encode_row(c) for c in cells], "owner": owner})
        chunk_no, lines, cells = chunk_no + 1, [], []

    for line, row in rows:
        n += 1
        if n > MAX_ROWS:
            raise InputError(ErrorCode.INVALID, f"at most {MAX_ROWS} rows per file", ["file"])
        lines.append(line)
        cells.append(row)
        if len(cells) == CHUNK:
            await flush()
    if cells:
        await flush()
    doc = {"id": file_id, "kind": "file", "name": name, "columns": header, "rows": n, "chunks": chunk_no}
    return await store.insert(FILES, {**doc, "owner": owner})


# ---- starting, cancelling ---------------------------------------------------------------------------
async def create(store: Store, principal: Principal, file: dict, mapping: dict, dry_run: bool) -> dict:
    job = {
        "id": new_id(),
        "kind": "job",
        "file_id": file["id"],
        "file_name": file["name"],
        "mapping_id": mapping["id"],
        "mapping": {k: mapping.get(k) for k in ("entity", "columns", "match_on", "company_link", "create_companies")},
        "entity": mapping["entity"],
        "dry_run": dry_run,
        "state": "running",
        "total": file["rows"],
        "chunks": file["chunks"],
        "chunk": 0,
        "done": 0,
        "created": 0,
        "updated": 0,
        "skipped": 0,
        "failed": 0,
        "owner": principal.sub,
        "requested_by": principal.describe(),
        "finished_at": None,
    }
    return await store.insert(JOBS, job)


async def cancel(store: Store, job_id: str) -> dict:
    def fn(d: dict) -> dict | None:
        if d["state"] != "running":
            return None
        return {**d, "state": "cancelled", "finished_at": now_iso(), "lease_holder": None, "lease_until": None}

    return await store.mutate(JOBS, job_id, fn)


# ---- the runner -------------------------------------------------------------------------------------
async def _lease(store: Store, job_id: str, holder: str) -> dict | None:
    """Take or renew the job's lease (a version-conditional write); None if another live holder
    has it or the job is no longer running."""
    now = dt.datetime.now(dt.UTC)
    got: dict = {}

    def fn(d: dict) -> dict | None:
        if d["state"] != "running":
            return None
        if d.get("lease_holder") not in (None, holder) and (d.get("lease_until") or "") > iso(now):
            return None
        got["ok"] = True
        return {**d, "lease_holder": holder, "lease_until": iso(now + dt.timedelta(seconds=LEASE_SECONDS))}

    doc = await store.mutate(JOBS, job_id, fn)
    return doc if got else None


def marked(mark: dict | None, job_id: str, line: int, outcome: str) -> dict:
    """A record's import mark after `line` of `job_id` wrote it (the lines of that job kept)."""
    lines = dict((mark or {}).get("lines") or {}) if (mark or {}).get("job") == job_id else {}
    return {"job": job_id, "lines": {**lines, str(line): outcome}}


class Runner:
    """One job's run on this replica: reads chunk after chunk and applies it."""

    def __init__(self, service: Any, job_id: str, holder: str):
        self.service, self.store, self.job_id, self.holder = service, service.store, job_id, holder
        # a dry run's records that "would be created", so later rows of the file match them
        self.virtual: dict[tuple[str, str], dict] = {}
        self.virtual_companies: dict[tuple[str, str], dict] = {}
        self.defs: list[dict] = []
        self.pending: list[dict] = []  # the chunk's new records, inserted with their events by _flush
        self.pending_ids: dict[str, int] = {}
        self.reemit: list = []  # created events of rows a crashed run had already inserted
        self.columns: dict[str, str] = {}

    async def run(self) -> None:
        while True:
            job = await _lease(self.store, self.job_id, self.holder)
            if job is None:
                return
            if job["chunk"] >= job["chunks"]:
                await self._finish(job)
                return
            if job["dry_run"] and job["chunk"] == 0:
                self.virtual.clear()
                self.virtual_companies.clear()
            chunk = await self.store.get(FILES, f"{job['file_id']}:{job['chunk']:06d}")
            header = (await self.store.get(FILES, job["file_id"]) or {}).get("columns") or []
            rows = [decode_row(r) for r in chunk["rows"]] if chunk else []
            counts = await self.apply(job, header, chunk["lines"], rows) if chunk else Counter()

            def progress(d: dict, n=len(chunk["rows"]) if chunk else 0, counts=counts) -> dict:
                out = {**d, "chunk": int(d["chunk"]) + 1, "done": int(d["done"]) + n}
                for k in ("created", "updated", "skipped", "failed"):
                    out[k] = int(d[k]) + counts.get(k, 0)
                return out

            # conditional on the version this holder read: a replica that lost the lease, or a
            # cancelled job, writes nothing (ConflictError ends this run; run_guarded re-reads)
            await self.store.mutate(JOBS, self.job_id, progress, expected_version=job["version"])

    def scope(self, job: dict, coll: str) -> dict:
        p = job["requested_by"]
        principal = Principal(sub=p["sub"], role=p["role"], company=p.get("company"), contact=p.get("contact"))
        return policy.row_scope(self.service.settings, principal, coll)

    async def apply(self, job: dict, header: list[str], lines: list[int], cells: list[list[str]]) -> Counter:
        mapping = imports.Mapping.from_doc(job["mapping"])
        self.columns = mapping.columns
        self.defs = await self.store.find_all(CUSTOM_DEFS, {"entity": mapping.entity})
        counts: Counter = Counter()
        rows: list[imports.Row] = []
        for line, row in zip(lines, cells, strict=True):
            try:
                rows.append(imports.row_fields(mapping, header, line, row))
            except InputError as exc:
                await self._error(job, line, exc)
                counts["failed"] += 1
        coll = COLLECTION[mapping.entity]
        scope = self.scope(job, coll)
        index = await self._prefetch(coll, scope, mapping.match_on, rows, self.virtual)
        companies = await self._companies(job, rows) if mapping.entity == "contact" else {}
        self.pending, self.pending_ids, self.reemit = [], {}, []
        for r in rows:
            try:
                outcome = await self._row(job, mapping, coll, index, companies, r)
            except InputError as exc:
                await self._error(job, r.line, exc)
                outcome = "failed"
            counts[outcome] += 1
        await self._flush(job, coll)
        return counts

    async def _flush(self, job: dict, coll: str) -> None:
        """The chunk's new records in one bulk insert; after a crash some may exist already (their
        ids are the rows'): those are inserted one by one, the existing skipped. Then their
        `created` events, all in one outbox document keyed by the job and chunk
        (`Store.emit(key=)`), so the relay clears one document per chunk rather than one per
        record. The event ids derive from the record ids, so the events a crashed run had
        emitted and that a resumed run emits again are applied once by every consumer."""
        pending, self.pending, self.pending_ids = self.pending, [], {}
        reemit, self.reemit = self.reemit, []
        if pending:
            try:
                await self.store.insert_many(coll, [(body, []) for body in pending])
            except DuplicateKeyError:
                for body in pending:
                    with contextlib.suppress(DuplicateKeyError):
                        await self.store.insert(coll, body)
        evs = [self._created_event(coll, body) for body in pending] + reemit
        await self.store.emit(evs, key=f"import-{job['id']}-{int(job['chunk']):06d}")

    async def _prefetch(self, coll: str, scope: dict, keys: list[str], rows, virtual: dict) -> dict:
        index: dict[tuple[str, str], dict] = dict(virtual)
        for k in keys:
            field = matchkeys.KEY_FIELDS[k]
            values = sorted({r.keys[k] for r in rows if k in r.keys})
            for i in range(0, len(values), 500):
                docs = await self.store.find_all(coll, narrow(scope, {field: {"$in": values[i : i + 500]}}))
                for d in sorted(docs, key=lambda d: d["created_at"]):  # the oldest record wins
                    index.setdefault((k, d[field]), d)
        return index

    async def _companies(self, job: dict, rows: list[imports.Row]) -> dict:
        scope = self.scope(job, "companies")
        out: dict[tuple[str, str], dict] = dict(self.virtual_companies)
        for link, field in (("id", "id"), ("domain", "domain_key"), ("name", "name_key")):
            values = {r.company[link] for r in rows if link in r.company}
            if link == "name":
                values = {matchkeys.name_key(v) for v in values}
            values = sorted(v for v in values if v)
            for i in range(0, len(values), 500):
                docs = await self.store.find_all("companies", narrow(scope, {field: {"$in": values[i : i + 500]}}))
                for d in sorted(docs, key=lambda d: d["created_at"]):
                    out.setdefault((link, d[field]), d)
        return out

    async def _company_of(self, job: dict, mapping: imports.Mapping, companies: dict, r: imports.Row) -> str | None:
        """The company a contact row names (by id, domain or name, in the mapping's order), created
        once per name when it does not exist and the mapping allows it."""
        if not r.company:
            return None
        for link in mapping.company_link:
            v = r.company.get(link)
            if v is None:
                continue
            key = matchkeys.name_key(v) if link == "name" else v
            found = companies.get((link, key))
            if found is not None:
                return found["id"]
        if "id" in r.company and "name" not in r.company:
            raise InputError(ErrorCode.UNKNOWN_REFERENCE, f"company {r.company['id']} does not exist", ["company_id"])
        name = r.company.get("name")
        if not name or not mapping.create_companies:
            what = name or r.company.get("domain") or r.company.get("id")
            raise InputError(ErrorCode.UNKNOWN_REFERENCE, f"company {what} does not exist", ["company_name"])
        key = matchkeys.name_key(name)
        body = {
            "id": imports.company_id_for(job["id"], key),
            "name": name,
            "name_key": key,
            "kind": "prospect",
            "owner": job["owner"],
            "import_mark": {"job": job["id"], "lines": {str(r.line): "created"}},
        }
        if "domain" in r.company:
            body["domain_key"] = r.company["domain"]
        if job["dry_run"]:
            self.virtual_companies[("name", key)] = companies[("name", key)] = body
            return body["id"]
        try:
            doc = await self.store.insert("companies", body, events=[events.company_created({**body, "version": 1})])
        except DuplicateKeyError:
            doc = await self.store.get("companies", body["id"]) or body
        companies[("name", key)] = doc
        if "domain_key" in body:
            companies[("domain", body["domain_key"])] = doc
        return doc["id"]

    async def _row(self, job: dict, mapping: imports.Mapping, coll: str, index: dict, companies: dict, r) -> str:
        fields = dict(r.fields)
        if mapping.entity == "contact":
            company_id = await self._company_of(job, mapping, companies, r)
            if company_id:
                fields["company_id"] = company_id
        match = next((index[(k, r.keys[k])] for k in mapping.match_on if (k, r.keys.get(k)) in index), None)
        if match is not None:
            done = match.get("import_mark") or {}
            if done.get("job") == job["id"] and str(r.line) in (done.get("lines") or {}):
                outcome = done["lines"][str(r.line)]  # applied before a restart: counted, not written again
                if outcome == "created" and match["id"] == imports.record_id(job["id"], r.line):
                    self.reemit.append(self._created_event(coll, match))  # its event may not have gone out
                return outcome
            if r.custom:
                fields["custom"] = await self._custom(mapping.entity, r, match.get("custom") or {})
                if fields["custom"] == (match.get("custom") or {}):
                    del fields["custom"]
            change = imports.changes(match, fields)
            if not change:
                return "skipped"
            if job["dry_run"]:
                return "updated"
            if match["id"] in self.pending_ids:  # created by an earlier row of this chunk, not yet written
                body = {**self.pending[self.pending_ids[match["id"]]], **change}
                body["import_mark"] = marked(body.get("import_mark"), job["id"], r.line, "updated")
                self.pending[self.pending_ids[match["id"]]] = body
                self._index(index, mapping, {**body, "created_at": ""})
                return "updated"
            published = events.company_changed if coll == "companies" else events.contact_changed

            def fn(d: dict) -> dict:
                return {**d, **change, "import_mark": marked(d.get("import_mark"), job["id"], r.line, "updated")}

            new = await self.store.mutate(coll, match["id"], fn, events=published)
            self._index(index, mapping, new)
            return "updated"
        need = imports.missing_for_create(mapping.entity, fields)
        if need:
            col = next((c for c, f in mapping.columns.items() if f == need), need)
            raise InputError(ErrorCode.INVALID, f"{col} is required for a new {mapping.entity}", [col])
        if r.custom or self._has_defs(mapping.entity):
            fields["custom"] = await self._custom(mapping.entity, r, None)
        body = self._new(job, mapping.entity, fields, r.line)
        if job["dry_run"]:
            self._index(index, mapping, body)
            for k, v in r.keys.items():
                self.virtual[(k, v)] = body
            return "created"
        self.pending_ids[body["id"]] = len(self.pending)
        self.pending.append(body)  # inserted with the chunk (_flush)
        self._index(index, mapping, {**body, "created_at": ""})
        return "created"

    @staticmethod
    def _created_event(coll: str, body: dict):
        """The `created` event of an imported record, its id derived from the record's."""
        created = events.company_created if coll == "companies" else events.contact_created
        public = {k: v for k, v in body.items() if not k.startswith("_")}
        return dataclasses.replace(created({**public, "version": 1}), id=f"{body['id']}.created")

    def _has_defs(self, entity: str) -> bool:
        return any(d.get("active", True) and (d.get("default") is not None or d.get("required")) for d in self.defs)

    async def _custom(self, entity: str, r: imports.Row, current: dict | None) -> dict:
        """The record's custom values with the row's (services/common/customfields.py); an error
        names the row's column."""
        try:
            return customfields.apply(self.defs, current, r.custom, creating=current is None)
        except InputError as exc:
            key = (exc.field or [""])[-1]
            column = next((c for c, f in self.columns.items() if f == f"custom.{key}"), key)
            raise InputError(exc.code, exc.message, [column]) from None

    @staticmethod
    def _index(index: dict, mapping: imports.Mapping, doc: dict) -> None:
        for k in mapping.match_on:
            v = doc.get(matchkeys.KEY_FIELDS[k])
            if v:
                index[(k, v)] = doc

    @staticmethod
    def _new(job: dict, entity: str, fields: dict, line: int) -> dict:
        base: dict = {"id": imports.record_id(job["id"], line), "owner": job["owner"]}
        if entity == "company":
            base["kind"] = "prospect"
        else:
            base.update(first_name="", first_name_key="", lifecycle="lead", email=None, email_key=None)
        return {**base, **fields, "import_mark": {"job": job["id"], "lines": {str(line): "created"}}}

    async def _error(self, job: dict, line: int, exc: InputError) -> None:
        doc = {
            "id": f"{job['id']}:{line:09d}",
            "job_id": job["id"],
            "line": line,
            "column": (exc.field or [None])[-1],
            "code": exc.code.value,
            "message": exc.message,
        }
        with contextlib.suppress(DuplicateKeyError):
            await self.store.insert(ERRORS, doc)

    async def _finish(self, job: dict) -> None:
        """Done: one audit record for the whole import, with its counts."""
        counts = {k: {"from": None, "to": job[k]} for k in ("total", "created", "updated", "skipped", "failed")}
        counts["file"] = {"from": None, "to": job["file_name"]}
        audit = audit_event("contacts", None, "created", "Import", job["id"], counts)
        audit.data["actor"] = job["requested_by"]

        def fn(d: dict) -> dict | None:
            if d["state"] != "running":
                return None
            return {**d, "state": "done", "finished_at": now_iso(), "lease_holder": None, "lease_until": None}

        await self.store.mutate(JOBS, job["id"], fn, events=[] if job["dry_run"] else [audit])


async def run_guarded(service: Any, job_id: str, holder: str) -> None:
    """Run the job until it is no longer running, waiting out another holder's lease."""
    runner = Runner(service, job_id, holder)
    while True:
        try:
            await runner.run()
        except asyncio.CancelledError:
            await _release(service.store, job_id, holder)
            raise
        except (ConflictError, NotFoundError) as exc:
            log.info("import %s: %s; re-reading", job_id, exc)
        except Exception:
            log.exception("import %s failed; retrying", job_id)
            await asyncio.sleep(1)
        job = await service.store.get(JOBS, job_id)
        if job is None or job["state"] != "running":
            return
        if job.get("lease_holder") not in (None, holder):
            await asyncio.sleep(LEASE_SECONDS / 3)


async def _release(store: Store, job_id: str, holder: str) -> None:
    """A replica shutting down gives its lease back, so another (or its own restart) resumes the
    job at once instead of after LEASE_SECONDS; a crashed replica's lease simply expires."""

    def fn(d: dict) -> dict | None:
        return {**d, "lease_holder": None, "lease_until": None} if d.get("lease_holder") == holder else None

    with contextlib.suppress(Exception):
        await asyncio.shield(store.mutate(JOBS, job_id, fn))


def spawn(service: Any, job_id: str) -> None:
    task = service.jobs.get(job_id)
    if task is None or task.done():
        service.jobs[job_id] = asyncio.create_task(run_guarded(service, job_id, service.holder))


async def resume_all(service: Any) -> None:
    """At start: every running import job (one a stopped replica left half-way) resumes here; the
    lease keeps two replicas from running one job at once."""
    for job in await service.store.find_all(JOBS, {"kind": "job", "state": "running"}):
        spawn(service, job["id"])
