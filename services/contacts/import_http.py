"""The HTTP routes of imports, beside `/graphql` on the contacts service (docs/import.md):

- `POST /imports/files?name=<file name>`: the CSV file as the raw request body (`Content-Type:
  text/csv`). Bearer token required (admin, sales, marketing). The body is read as a stream and
  refused with 413 past TURNKEY_IMPORT_MAX_BYTES (default 50 MB) before it is all read; it is
  parsed and stored (services/contacts/import_job.py), and the answer is
  `{"id", "name", "columns", "rows"}` (201) or `{"errors": [...]}` (400/401/403/413).
- `GET /imports/jobs/<id>/errors.csv`: the failed rows of a job (line, column, code, message), for
  whoever may see the job.

Both verify the token exactly as `/graphql` does (services/common/auth.py); they are listed in
`public_routes` only because that is how a service adds routes: neither answers without a token."""

from __future__ import annotations

import csv
import io
import os
import tempfile

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.common.auth import AuthError, Principal
from services.common.authz import matches
from services.common.errors import InputError

from . import import_job, imports, policy
from .import_api import IMPORTERS

SPOOL = 4 * 1024 * 1024  # in memory up to this, then a temporary file


def max_bytes() -> int:
    return int(os.environ.get("TURNKEY_IMPORT_MAX_BYTES", str(50 * 1024 * 1024)))


def _error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status, headers=headers)


async def _principal(request: Request) -> Principal | JSONResponse:
    service = request.app.state.service
    try:
        p = await service.verifier.verify(request.headers.get("authorization"))
    except AuthError as exc:
        return _error(401, "UNAUTHENTICATED", str(exc))
    if p.role not in IMPORTERS:
        return _error(403, "FORBIDDEN", "imports are for admin, sales and marketing users")
    return p


async def upload(request: Request) -> Response:
    p = await _principal(request)
    if isinstance(p, Response):
        return p
    limit = max_bytes()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _error(413, "PAYLOAD_TOO_LARGE", f"the file exceeds {limit} bytes")
    name = " ".join((request.query_params.get("name") or "import.csv").split())[:200] or "import.csv"
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL) as spool:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return _error(413, "PAYLOAD_TOO_LARGE", f"the file exceeds {limit} bytes")
            spool.write(chunk)
        if size == 0:
            return _error(400, "BAD_USER_INPUT", "the body is empty: send the CSV file as the request body")
        spool.seek(0)
        text = imports.decode(spool.read())
    service = request.app.state.service
    try:
        header, rows = imports.read_csv(text)
        doc = await import_job.save_file(service.store, p.sub, name, header, rows)
    except InputError as exc:
        return _error(400, "BAD_USER_INPUT", exc.message)
    except csv.Error as exc:  # a malformed file
        return _error(400, "BAD_USER_INPUT", f"not a CSV file: {exc}")
    return JSONResponse({"id": doc["id"], "name": doc["name"], "columns": doc["columns"], "rows": doc["rows"]}, 201)


async def error_report(request: Request) -> Response:
    p = await _principal(request)
    if isinstance(p, Response):
        return p
    service = request.app.state.service
    job = await service.store.get(import_job.JOBS, request.path_params["id"])
    if job is None or not matches(job, policy.row_scope(service.settings, p, import_job.JOBS)):
        return _error(404, "NOT_FOUND", "no such import job")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["line", "column", "code", "message"])
    for e in await service.store.find_all(import_job.ERRORS, {"job_id": job["id"]}, sort=[("line", 1)]):
        w.writerow([e["line"], e.get("column") or "", e["code"], e["message"]])
    headers = {"Content-Disposition": f'attachment; filename="import-{job["id"]}-errors.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


def routes() -> list[Route]:
    return [
        Route("/imports/files", upload, methods=["POST"]),
        Route("/imports/jobs/{id}/errors.csv", error_report, methods=["GET"]),
    ]
