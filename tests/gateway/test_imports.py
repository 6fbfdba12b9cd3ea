"""Imports through the real gateway, on both legs (docs/import.md): a 10,000-row contacts file
(2,000 rows on the servers leg: see ROWS) imported twice (the second run creates nothing and
updates the changed rows), a dry run's counts, the error report with line numbers, companies
linked once per name, an import stopped half-way (its service stopped) that resumes to the same end
state, cancel, and who may upload and see what. They run last in each leg (conftest.HEAVY_LAST)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import uuid

import httpx
import pytest

from services.contacts import import_job
from tests.gateway.conftest import audit_rows, eventually

MAPPING = """mutation($i: SaveImportMappingInput!) { saveImportMapping(input: $i) {
  mapping { id name entity matchOn columns { column field } } errors { code message field } } }"""
START = """mutation($i: StartImportInput!) { startImport(input: $i) {
  job { id state total dryRun } errors { code message field } } }"""
JOB = """query($id: ID!) { importJob(id: $id) { id state total done created updated skipped failed dryRun
  errorReport errors(first: 100) { totalCount edges { node { line column code message } } } } }"""
CANCEL = "mutation($i: CancelImportInput!) { cancelImport(input: $i) { job { id state } errors { code message } } }"
COLUMNS = [
    {"column": "First name", "field": "first_name"},
    {"column": "Last name", "field": "last_name"},
    {"column": "E-mail", "field": "email"},
    {"column": "Phone", "field": "phone"},
    {"column": "Title", "field": "job_title"},
    {"column": "Company", "field": "company_name"},
]
HEADER = [c["column"] for c in COLUMNS]
# Rows of the import-twice test per leg. On the servers leg the file has 2,000 rows (two chunks):
# FerretDB 1.24 (the CI's MongoDB-wire server) runs every update as a scan of its collection and
# serves one SQL statement at a time, and each imported contact's event is applied by five consumers,
# so 10,000 rows there take over 15 minutes of the CI's 90 (docs/ferretdb.md); the 10,000-row file
# runs on the embedded leg, and bench/ measures imports at scale on both stores.
ROWS = {
    "embedded": int(os.environ.get("TURNKEY_TEST_IMPORT_ROWS", "10000")),
    "servers": int(os.environ.get("TURNKEY_TEST_IMPORT_ROWS_SERVERS", "2000")),
}


@pytest.fixture(autouse=True)
async def drained(crm):
    """An import floods the bus (every record's event reaches three other services): let the stack
    settle after each test, so the next test file starts on a quiet stack (store-call counts and
    short settles of later tests)."""
    yield
    await crm.settle(1800)


def base(crm) -> str:
    """The contacts service's address (the import routes sit beside its /graphql)."""
    return crm.service_url("contacts").removesuffix("/graphql")


def uid() -> str:
    return uuid.uuid4().hex[:8]


def contacts_csv(t: str, n: int, *, changed: set[int] = frozenset(), bad: set[int] = frozenset()) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(HEADER)
    for i in range(n):
        email = f"not-an-address-{i}" if i in bad else f"Person.{i}@Firm{i % 50}-{t}.example"
        title = "Director" if i in changed else "Engineer"
        phone = f"+49 30 {1000000 + i}"
        w.writerow([f"Pat{i}", f"Imported{i}", email, phone, title, f"Firm {i % 50} {t}"])
    return out.getvalue()


async def upload(crm, token: str | None, text: str | bytes, name: str = "contacts.csv") -> httpx.Response:
    headers = {"content-type": "text/csv"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    body = text.encode() if isinstance(text, str) else text
    async with httpx.AsyncClient(timeout=120) as http:
        return await http.post(f"{base(crm)}/imports/files", params={"name": name}, content=body, headers=headers)


async def call(client, query: str, variables: dict, key: str) -> dict:
    data = await client.ok(query, variables)
    payload = data[key]
    assert not payload.get("errors"), payload["errors"]
    return payload


async def mapping(client, t: str, **extra) -> str:
    inp = {"name": f"People {t}", "entity": "CONTACT", "columns": COLUMNS, "matchOn": ["EMAIL"], **extra}
    return (await call(client, MAPPING, {"i": inp}, "saveImportMapping"))["mapping"]["id"]


async def finished(client, job_id: str, timeout: float = 2400) -> dict:
    async def check():
        j = (await client.ok(JOB, {"id": job_id}))["importJob"]
        assert j["state"] != "running", j
        return j

    return await eventually(check, timeout=timeout, interval=0.5)


async def run(client, file_id: str, mapping_id: str, dry: bool = False) -> dict:
    job = (
        await call(client, START, {"i": {"fileId": file_id, "mappingId": mapping_id, "dryRun": dry}}, "startImport")
    )["job"]
    return await finished(client, job["id"])


@pytest.mark.timeout(1800)  # a hang guard, not a timing: 3 passes over the file
async def test_10000_rows_twice_creates_nothing_the_second_time(crm, gw):
    t = uid()
    admin = crm.mint("admin", "test.admin")
    n = ROWS[crm.leg]
    bad = {7, n // 3, n - 1}
    first = await upload(crm, admin, contacts_csv(t, n, bad=bad))
    assert first.status_code == 201, first.text
    f1 = first.json()
    assert f1["rows"] == n and f1["columns"] == HEADER
    mid = await mapping(gw, t)

    dry = await run(gw, f1["id"], mid, dry=True)
    assert (dry["state"], dry["dryRun"], dry["done"]) == ("done", True, n)
    assert (dry["created"], dry["updated"], dry["skipped"], dry["failed"]) == (n - 3, 0, 0, 3)
    store = crm.services["contacts"].store
    assert (
        await store.count(
            "contacts", {"email_key": {"$gte": "person.", "$lt": "person/"}, "last_name_key": "imported1"}
        )
        == 0
    )

    j1 = await run(gw, f1["id"], mid)
    assert (j1["state"], j1["total"], j1["done"]) == ("done", n, n)
    assert (j1["created"], j1["updated"], j1["skipped"], j1["failed"]) == (n - 3, 0, 0, 3)
    # errors with their line numbers (the header is line 1), in the job and in the CSV report
    lines = sorted(e["node"]["line"] for e in j1["errors"]["edges"])
    assert lines == [i + 2 for i in sorted(bad)] and j1["errors"]["totalCount"] == 3
    assert {e["node"]["column"] for e in j1["errors"]["edges"]} == {"E-mail"}
    async with httpx.AsyncClient() as http:
        report = await http.get(base(crm) + j1["errorReport"], headers={"authorization": f"Bearer {admin}"})
        assert report.status_code == 200
        rows = list(csv.reader(io.StringIO(report.text)))
        assert rows[0] == ["line", "column", "code", "message"] and [int(r[0]) for r in rows[1:]] == lines
        other = await http.get(
            base(crm) + j1["errorReport"], headers={"authorization": f"Bearer {crm.mint('sales', 'someone.else')}"}
        )
        assert other.status_code == 404
        anon = await http.get(base(crm) + j1["errorReport"])
        assert anon.status_code == 401

    # the contacts, linked to 50 companies created once per name (not one per row)
    assert await store.count("contacts", {"import_mark.job": j1["id"]}) == n - 3
    companies = await store.find_all("companies", {"name_key": {"$gte": "firm ", "$lt": "firm!"}})
    mine = [c for c in companies if c["name_key"].endswith(t)]
    assert len(mine) == 50
    some = await gw.ok(
        "query($f: ContactFilter) { contacts(first: 5, filter: $f) { totalCount edges { node { email phone company { name } } } } }",
        {"f": {"email": f"person.12@firm12-{t}.example"}},
    )
    node = some["contacts"]["edges"][0]["node"]
    assert some["contacts"]["totalCount"] == 1 and node["company"]["name"] == f"Firm 12 {t}"
    assert node["email"] == f"Person.12@firm12-{t}.example"  # stored as given; matched case-folded

    # the same people again, 100 with a new title and the e-mails in another case: 0 created
    changed = set(range(0, n, n // 100))
    second = contacts_csv(t, n, changed=changed, bad=bad).replace("@Firm", "@FIRM")
    f2 = (await upload(crm, admin, second, "again.csv")).json()
    j2 = await run(gw, f2["id"], mid)  # (the dry run was proven on the first file: one pass less on FerretDB)
    assert (j2["created"], j2["updated"], j2["skipped"], j2["failed"]) == (0, 100, n - 103, 3)
    assert await store.count("contacts", {"import_mark.job": j2["id"]}) == 100
    assert await store.count("contacts", {"job_title": "Director", "import_mark.job": j2["id"]}) == 100
    companies = await store.find_all("companies", {"name_key": {"$gte": "firm ", "$lt": "firm!"}})
    assert len([c for c in companies if c["name_key"].endswith(t)]) == 50
    # one audit record per import
    audit = await gw.ok(
        'query($id: ID!) { auditLog(first: 5, filter: {entity: "Import", entityId: $id}) { totalCount edges { node { changes } } } }',
        {"id": j2["id"]},
    )

    async def audited():
        rows = await audit_rows(gw, j2["id"], "Import")
        assert len(rows) == 1, rows
        return rows[0]

    audit = await eventually(audited, timeout=120)
    assert audit["changes"]["updated"]["to"] == 100


@pytest.mark.timeout(900)
async def test_import_stopped_half_way_resumes_to_the_same_end_state(crm, gw):
    t = uid()
    admin = crm.mint("admin", "test.admin")
    n = 2000 if crm.leg == "embedded" else 1000  # (FerretDB: see ROWS)
    saved = import_job.CHUNK
    import_job.CHUNK = 50
    try:
        f = (await upload(crm, admin, contacts_csv(t, n, bad={5}))).json()
    finally:
        import_job.CHUNK = saved
    mid = await mapping(gw, t)
    job = (await call(gw, START, {"i": {"fileId": f["id"], "mappingId": mid}}, "startImport"))["job"]
    store = crm.services["contacts"].store
    while True:
        doc = await store.get("import_jobs", job["id"])
        if doc["done"] >= 400:
            break
        await asyncio.sleep(0.01)
    await crm.stop_service("contacts")  # the job's task dies with the service, mid-chunk
    assert doc["done"] < n, "the job finished before it could be stopped"
    await crm.start_service("contacts")  # it resumes from its checkpoint on start
    j = await finished(gw, job["id"])
    assert (j["state"], j["done"]) == ("done", n)
    assert (j["created"], j["updated"], j["skipped"], j["failed"]) == (n - 1, 0, 0, 1)
    store = crm.services["contacts"].store
    mine = await store.find_all("contacts", {"import_mark.job": job["id"]})
    assert len(mine) == n - 1 and len({d["email_key"] for d in mine}) == n - 1  # no row applied twice
    assert {d["version"] for d in mine} == {1}  # created once, never rewritten
    # the same end state as an uninterrupted import: a second run matches every row
    again = await run(gw, f["id"], mid)
    assert (again["created"], again["updated"], again["skipped"], again["failed"]) == (0, 0, n - 1, 1)


@pytest.mark.timeout(600)
async def test_cancel_stops_a_running_import(crm, gw):
    t = uid()
    admin = crm.mint("admin", "test.admin")
    saved = import_job.CHUNK
    import_job.CHUNK = 20
    try:
        f = (await upload(crm, admin, contacts_csv(t, 3000))).json()
    finally:
        import_job.CHUNK = saved
    mid = await mapping(gw, t)
    job = (await call(gw, START, {"i": {"fileId": f["id"], "mappingId": mid}}, "startImport"))["job"]
    cancelled = await call(gw, CANCEL, {"i": {"id": job["id"]}}, "cancelImport")
    assert cancelled["job"]["state"] == "cancelled"
    j = await finished(gw, job["id"])
    await asyncio.sleep(1)
    j2 = (await gw.ok(JOB, {"id": job["id"]}))["importJob"]
    assert j2["state"] == "cancelled" and j2["done"] == j["done"] < 3000


@pytest.mark.timeout(600)
async def test_upload_limits_and_who_may_import(crm, gw, as_role, monkeypatch):
    t = uid()
    admin = crm.mint("admin", "test.admin")
    assert (await upload(crm, None, "a,b\n1,2\n")).status_code == 401
    assert (await upload(crm, "not-a-token", "a,b\n1,2\n")).status_code == 401
    partner_company = next(v for k, v in crm.ids.items() if k.endswith("_client"))
    for role, kw in (("partner", {"company": partner_company}), ("customer", {"company": "c1"}), ("support", {})):
        r = await upload(crm, crm.mint(role, f"{role}.{t}", **kw), "Last name\nDoe\n")
        assert r.status_code == 403, (role, r.text)
    monkeypatch.setenv("TURNKEY_IMPORT_MAX_BYTES", "1000")
    big = await upload(crm, admin, "Last name\n" + "Doe\n" * 1000)
    assert big.status_code == 413 and big.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    monkeypatch.delenv("TURNKEY_IMPORT_MAX_BYTES")
    for bad in ("", "a,a\n1,2\n"):
        r = await upload(crm, admin, bad)
        assert r.status_code == 400, r.text
    # a mapping naming a column the file lacks, an unknown field: typed errors
    f = (await upload(crm, admin, "Last name\nDoe\n")).json()
    mid = await mapping(gw, t)
    data = await gw.ok(START, {"i": {"fileId": f["id"], "mappingId": mid}})
    assert [e["code"] for e in data["startImport"]["errors"]] == ["INVALID"]
    data = await gw.ok(
        MAPPING, {"i": {"name": "x", "entity": "CONTACT", "columns": [{"column": "A", "field": "shoe"}]}}
    )
    assert data["saveImportMapping"]["errors"][0]["code"] == "INVALID"
    # partners and customers: no import fields at all
    for role, kw in (("partner", {"company": partner_company}), ("customer", {"company": "c1"})):
        client = as_role(role, f"{role}.{t}", **kw)
        body = await client.body(START, {"i": {"fileId": f["id"], "mappingId": mid}})
        assert body["data"]["startImport"] is None
        assert "FORBIDDEN" in [(e.get("extensions") or {}).get("code") for e in body["errors"]]
        body = await client.body("query { importJobs(first: 5) { totalCount } }")
        assert body["data"]["importJobs"] is None
    # a salesperson sees its own files and jobs, not another's; an admin sees all
    sales_token = crm.mint("sales", f"sales.{t}")
    sf = (await upload(crm, sales_token, "Last name,E-mail\nDoe,doe." + t + "@x.example\n")).json()
    sales = as_role("sales", f"sales.{t}")
    other = as_role("sales", f"other.{t}")
    cols = [{"column": "Last name", "field": "last_name"}, {"column": "E-mail", "field": "email"}]
    small = await call(
        sales, MAPPING, {"i": {"name": f"Small {t}", "entity": "CONTACT", "columns": cols}}, "saveImportMapping"
    )
    sm = small["mapping"]["id"]
    job = (await call(sales, START, {"i": {"fileId": sf["id"], "mappingId": sm}}, "startImport"))["job"]
    data = await other.ok(JOB, {"id": job["id"]})
    assert data["importJob"] is None
    data = await other.ok(START, {"i": {"fileId": sf["id"], "mappingId": sm}})
    assert data["startImport"]["errors"][0]["code"] == "UNKNOWN_REFERENCE"
    assert (await other.ok("query($id: ID!) { importFile(id: $id) { id } }", {"id": sf["id"]}))["importFile"] is None
    assert (await gw.ok(JOB, {"id": job["id"]}))["importJob"]["id"] == job["id"]
    assert (await finished(sales, job["id"]))["created"] == 1
