"""The import runner on an embedded (SQLite) store: rows of one file sharing a key are one record,
and a chunk applied again after a crash (its checkpoint not written) changes and counts nothing twice."""

from __future__ import annotations

import types

from services.common.auth import Principal
from services.common.settings import Settings
from services.common.store.sqlite import SqliteStore
from services.contacts import import_job, imports

CSV = """Last name,E-mail,Title,Company
Berg,anna@acme.example,Engineer,Acme
Berg,ANNA@acme.example,Director,Acme
Lund,lund@acme.example,,ACME
Nobody,not-an-address,,
Solo,,,Other Firm
"""


async def _job(store, text: str, dry: bool = False) -> dict:
    cols = [("Last name", "last_name"), ("E-mail", "email"), ("Title", "job_title"), ("Company", "company_name")]
    mapping = {"id": "m", **imports.check_mapping("contact", cols, ["email"], None), "create_companies": True}
    header, rows = imports.read_csv(text)
    file = await import_job.save_file(store, "a", "x.csv", header, rows)
    return await import_job.create(store, Principal(sub="a", role="admin"), file, mapping, dry)


async def _run(store, job_id: str) -> dict:
    svc = types.SimpleNamespace(store=store, settings=Settings.from_env("contacts"), jobs={}, holder="h")
    await import_job.run_guarded(svc, job_id, "h")
    return await store.get(import_job.JOBS, job_id)


async def test_duplicates_in_a_file_a_rerun_after_a_crash_and_a_second_import(tmp_path):
    store = SqliteStore(tmp_path / "c.sqlite3")
    await store.connect()
    try:
        dry = await _run(store, (await _job(store, CSV, dry=True))["id"])
        assert (dry["created"], dry["updated"], dry["skipped"], dry["failed"]) == (3, 1, 0, 1)
        assert await store.count("contacts", {}) == 0  # a dry run writes nothing
        job = await _job(store, CSV)
        done = await _run(store, job["id"])
        counts = (done["created"], done["updated"], done["skipped"], done["failed"])
        assert counts == (3, 1, 0, 1)
        people = await store.find_all("contacts", {})
        assert len(people) == 3  # Berg once (two rows, one e-mail), Lund, Solo (no key: created)
        berg = next(p for p in people if p["last_name"] == "Berg")
        assert berg["job_title"] == "Director"
        companies = await store.find_all("companies", {})
        assert sorted(c["name_key"] for c in companies) == ["acme", "other firm"]  # Acme once for two spellings
        acme = next(c["id"] for c in companies if c["name_key"] == "acme")
        assert {p["company_id"] for p in people if p["last_name"] in ("Berg", "Lund")} == {acme}
        # the crash: the checkpoint of the chunk is lost, the job runs it again
        await store.update(
            import_job.JOBS,
            job["id"],
            {"state": "running", "chunk": 0, "done": 0, "created": 0, "updated": 0, "skipped": 0, "failed": 0},
        )
        again = await _run(store, job["id"])
        assert (again["created"], again["updated"], again["skipped"], again["failed"]) == counts
        assert await store.count("contacts", {}) == 3 and await store.count("companies", {}) == 2
        assert await store.count(import_job.ERRORS, {"job_id": job["id"]}) == 1
        # the same file again: nothing created
        second = await _run(store, (await _job(store, CSV))["id"])
        # Solo has no key: created again; Berg's two rows set the title twice; Lund unchanged
        assert (second["created"], second["updated"], second["skipped"], second["failed"]) == (1, 2, 1, 1)
        assert await store.count("contacts", {}) == 4  # Solo has no match key: a file without keys creates again
    finally:
        await store.close()
