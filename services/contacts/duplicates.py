"""Duplicates and merge: the plain rules (no strawberry, no store), unit-tested in
tests/unit/test_duplicates.py. docs/data.md explains the scores.

The match rules themselves (normalisation, blocking key, scoring) are shared with deals' conflict
detection of partners' registrations and live in services/common/duprules.py. This module adds
what only contacts needs: the keys stored with a company or contact, and the merge."""

from __future__ import annotations

from services.common.duprules import block, company_keys, contact_keys, fold
from services.common.errors import ErrorCode, InputError

MIN_MERGE, MAX_MERGE = 2, 10

# the fields a merge may take from any of the records, per entity
COMPANY_FIELDS = ("name", "kind", "website", "industry", "city", "country", "owner", "partner_id")
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "job_title", "lifecycle", "owner", "company_id")


def stored_keys(kind: str, doc: dict) -> dict:
    """The normalised fields stored with a record, so candidates are found by index."""
    k = company_keys(doc) if kind == "company" else contact_keys(doc)
    out = {"dup_name_key": k.name, "dup_block_key": block(k.name)}
    if kind == "company":
        out.update(domain_key=k.domain, name_search_key=fold(doc.get("name")))
    else:
        out.update(
            phone_key=k.phone,
            domain_key=k.domain,
            first_search_key=fold(doc.get("first_name")),
            last_search_key=fold(doc.get("last_name")),
            # "first last" and "last first": a two-word search is one index range, not a filter
            full_search_key=fold(f"{doc.get('first_name') or ''} {doc.get('last_name') or ''}"),
            rfull_search_key=fold(f"{doc.get('last_name') or ''} {doc.get('first_name') or ''}"),
        )
    return out


# ---- merge ---------------------------------------------------------------------------------------
def check_merge(survivor_id: str, merged_ids: list[str]) -> list[str]:
    """The distinct ids merged into the survivor (2–10 records in all, the survivor not among them)."""
    ids = list(dict.fromkeys(str(i) for i in merged_ids if str(i) != str(survivor_id)))
    total = len(ids) + 1
    if total < MIN_MERGE or total > MAX_MERGE:
        raise InputError(
            ErrorCode.INVALID, f"merge {MIN_MERGE} to {MAX_MERGE} records (got {total})", ["input", "mergedIds"]
        )
    return ids


def survivor_values(
    survivor: dict, others: list[dict], fields: tuple[str, ...], choices: dict[str, str] | None = None
) -> dict:
    """The surviving value of each field: the record a choice names (`{field: record id}`), else
    the survivor's own value, else the first non-empty value among the others (in the order
    given). A choice of an unknown field or of a record not in the merge is refused."""
    records = {survivor["id"]: survivor, **{o["id"]: o for o in others}}
    out: dict = {}
    for f, rid in (choices or {}).items():
        if f not in fields:
            raise InputError(ErrorCode.INVALID, f"{f} cannot be chosen in a merge", ["input", "choices"])
        if rid not in records:
            raise InputError(ErrorCode.INVALID, f"record {rid} is not part of this merge", ["input", "choices"])
    for f in fields:
        if choices and f in choices:
            out[f] = records[choices[f]].get(f)
            continue
        value = survivor.get(f)
        if value in (None, ""):
            value = next((o.get(f) for o in others if o.get(f) not in (None, "")), value)
        out[f] = value
    return out
