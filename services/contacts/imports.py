"""Import of companies and contacts from CSV: the plain rules (no store, no GraphQL), unit-tested in
tests/unit/test_imports.py. docs/import.md describes the flow.

- `read_csv`: a CSV text → header + rows with their line numbers (csv module: quoted fields,
  embedded newlines, `;` or `,` or tab guessed by csv.Sniffer).
- `check_mapping`: a column mapping (CSV column → record field) and its match keys, validated.
- `row_fields`: one CSV row through a mapping → the record's stored fields and match keys, or an
  InputError naming the column.
- `changes`: what an import row changes on a matched record (empty cells change nothing).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from services.common import matchkeys
from services.common.errors import ErrorCode, InputError
from services.common.values import clean_text

from . import domain

ENTITIES = ("company", "contact")
# the record fields a column may fill, per entity ("custom.<key>" fills a custom field)
FIELDS = {
    "company": (
        "name",
        "kind",
        "website",
        "domain",
        "industry",
        "city",
        "country",
        "phone",
        "owner",
        "registration_number",
        "vat_number",
        "external_id",
    ),
    "contact": (
        "first_name",
        "last_name",
        "email",
        "phone",
        "job_title",
        "lifecycle",
        "owner",
        "country",
        "external_id",
        "company_id",
        "company_name",
        "company_domain",
    ),
}
# the match keys a mapping may use, per entity, in the order tried by default
MATCH_KEYS = {
    "company": ("external_id", "registration", "vat", "domain", "name"),
    "contact": ("external_id", "email", "phone"),
}
DEFAULT_MATCH = {
    "company": ["external_id", "registration", "vat", "domain", "name"],
    "contact": ["external_id", "email"],
}
COMPANY_LINKS = ("id", "domain", "name")
MAX_COLUMNS = 200
MAX_CELL = 10_000


@dataclass
class Mapping:
    entity: str
    columns: dict[str, str]  # CSV column → field
    match_on: list[str]
    company_link: list[str] = field(default_factory=lambda: list(COMPANY_LINKS))
    create_companies: bool = True
    default_country: str | None = None

    @classmethod
    def from_doc(cls, doc: dict) -> Mapping:
        return cls(
            entity=doc["entity"],
            columns={c["column"]: c["field"] for c in doc["columns"]},
            match_on=list(doc["match_on"]),
            company_link=list(doc.get("company_link") or COMPANY_LINKS),
            create_companies=bool(doc.get("create_companies", True)),
            default_country=doc.get("default_country"),
        )


def check_mapping(
    entity: str,
    columns: list[tuple[str, str]],
    match_on: list[str] | None,
    company_link: list[str] | None,
    custom_keys: set[str] | frozenset[str] = frozenset(),
) -> dict:
    """The stored form of a mapping, or an InputError: known fields only, each filled by one column,
    the name field mapped (company `name`; contact `last_name`), match keys of the entity."""
    if entity not in ENTITIES:
        raise InputError(ErrorCode.INVALID, f"entity must be one of {', '.join(ENTITIES)}", ["input", "entity"])
    if not columns:
        raise InputError(ErrorCode.INVALID, "map at least one column", ["input", "columns"])
    if len(columns) > MAX_COLUMNS:
        raise InputError(ErrorCode.INVALID, f"at most {MAX_COLUMNS} columns", ["input", "columns"])
    seen_fields: set[str] = set()
    seen_columns: set[str] = set()
    out = []
    for col, fld in columns:
        col = clean_text(col, "column", required=True)
        if fld.startswith("custom."):
            if fld[7:] not in custom_keys:
                raise InputError(ErrorCode.INVALID, f"no custom field {fld[7:]!r} for {entity}", ["input", "columns"])
        elif fld not in FIELDS[entity]:
            known = ", ".join(FIELDS[entity])
            raise InputError(
                ErrorCode.INVALID, f"unknown {entity} field {fld!r} (known: {known})", ["input", "columns"]
            )
        if fld in seen_fields or col in seen_columns:
            raise InputError(ErrorCode.INVALID, f"{fld} or column {col!r} mapped twice", ["input", "columns"])
        seen_fields.add(fld)
        seen_columns.add(col)
        out.append({"column": col, "field": fld})
    need = "name" if entity == "company" else "last_name"
    if need not in seen_fields:
        raise InputError(ErrorCode.INVALID, f"map a column to {need}", ["input", "columns"])
    keys = list(match_on) if match_on is not None else list(DEFAULT_MATCH[entity])
    for k in keys:
        if k not in MATCH_KEYS[entity]:
            allowed = ", ".join(MATCH_KEYS[entity])
            raise InputError(ErrorCode.INVALID, f"{entity}s match on {allowed}, not {k!r}", ["input", "matchOn"])
    if len(set(keys)) != len(keys):
        raise InputError(ErrorCode.INVALID, "a match key is listed twice", ["input", "matchOn"])
    links = list(company_link) if company_link is not None else list(COMPANY_LINKS)
    for k in links:
        if k not in COMPANY_LINKS:
            raise InputError(
                ErrorCode.INVALID, f"companies link by {', '.join(COMPANY_LINKS)}", ["input", "companyLink"]
            )
    return {"entity": entity, "columns": out, "match_on": keys, "company_link": links}


# ---- reading the file ------------------------------------------------------------------------------
def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else Windows-1252 (what spreadsheets export)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_csv(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header (column names, unique and non-empty) and an iterator of (line number, cells) of
    the data rows; blank rows are left out. Raises InputError for a file with no usable header."""
    sample = text[:64_000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise InputError(ErrorCode.INVALID, "the file has no header row", ["file"]) from None
    header = [" ".join(h.split()) for h in header]
    if not any(header):
        raise InputError(ErrorCode.INVALID, "the file has no header row", ["file"])
    if "" in header or len(set(header)) != len(header):
        raise InputError(ErrorCode.INVALID, "every column needs a distinct, non-empty name", ["file"])
    if len(header) > MAX_COLUMNS:
        raise InputError(ErrorCode.INVALID, f"at most {MAX_COLUMNS} columns", ["file"])

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num + 1
        for cells in reader:
            if any(c.strip() for c in cells):
                yield line, cells
            line = reader.line_num + 1

    return header, rows()


# ---- one row ------------------------------------------------------------------------------------------
@dataclass
class Row:
    line: int
    fields: dict  # the record's stored fields this row sets (keys included)
    keys: dict[str, str]  # match key → normalised value
    custom: dict[str, str]  # custom field key → raw cell text (validated by the caller)
    company: dict[str, str]  # contacts: link key (id, domain, name) → value; name kept as given in `company_name`


def _cell(cells: list[str], header: list[str], col: str) -> str | None:
    i = header.index(col) if col in header else -1
    if i < 0 or i >= len(cells):
        return None
    v = cells[i]
    if len(v) > MAX_CELL:
        raise InputError(ErrorCode.INVALID, f"column {col!r} is longer than {MAX_CELL} characters", [col])
    v = v.strip()
    return v or None


def row_fields(mapping: Mapping, header: list[str], line: int, cells: list[str]) -> Row:
    """The fields and match keys of one CSV row, or an InputError whose field is the column."""
    vals: dict[str, str] = {}
    custom: dict[str, str] = {}
    for col, fld in mapping.columns.items():
        v = _cell(cells, header, col)
        if v is None:
            continue
        try:
            v = clean_text(v, col, max_len=2000 if fld.startswith("custom.") else 200)
        except InputError as exc:
            raise InputError(exc.code, exc.message, [col]) from None
        if fld.startswith("custom."):
            custom[fld[7:]] = v
        else:
            vals[fld] = v
    column = {f: c for c, f in mapping.columns.items()}

    def bad(fld: str, message: str) -> InputError:
        return InputError(ErrorCode.INVALID, message, [column.get(fld, fld)])

    out: dict = {}
    keys: dict[str, str] = {}
    company: dict[str, str] = {}
    country = vals.get("country") or mapping.default_country
    if mapping.entity == "company":
        if "name" in vals:
            out["name"], out["name_key"] = vals["name"], matchkeys.name_key(vals["name"])
        if "kind" in vals:
            try:
                out["kind"] = domain.CompanyKind(vals["kind"].casefold()).value
            except ValueError:
                raise bad("kind", f"kind must be client, prospect or partner, not {vals['kind']!r}") from None
        for f in ("website", "industry", "city", "country", "owner", "registration_number", "vat_number"):
            if f in vals:
                out[f] = vals[f]
        site = vals.get("domain") or vals.get("website")
        if site:
            d = matchkeys.domain_key(site)
            if d is None:
                raise bad("domain" if "domain" in vals else "website", f"{site!r} is not a web address or domain")
            out["domain_key"] = keys["domain"] = d
        if out.get("registration_number"):
            out["registration_key"] = keys["registration"] = matchkeys.registration_key(out["registration_number"])
        if out.get("vat_number"):
            out["vat_key"] = keys["vat"] = matchkeys.registration_key(out["vat_number"])
        if out.get("name_key"):
            keys["name"] = out["name_key"]
    else:
        for f in ("first_name", "last_name"):
            if f in vals:
                out[f], out[f"{f}_key"] = vals[f], vals[f].casefold()
        if "email" in vals:
            try:
                out["email"] = domain.email(vals["email"])
            except InputError as exc:
                raise bad("email", exc.message) from None
            out["email_key"] = keys["email"] = matchkeys.email_key(out["email"])
        if "lifecycle" in vals:
            try:
                out["lifecycle"] = domain.Lifecycle(vals["lifecycle"].casefold()).value
            except ValueError:
                raise bad(
                    "lifecycle", f"lifecycle must be lead, prospect or client, not {vals['lifecycle']!r}"
                ) from None
        for f in ("job_title", "owner"):
            if f in vals:
                out[f] = vals[f]
        for f, k in (("company_id", "id"), ("company_domain", "domain"), ("company_name", "name")):
            if f in vals and k in mapping.company_link:
                company[k] = vals[f]
        if "domain" in company:
            d = matchkeys.domain_key(company["domain"])
            if d is None:
                raise bad("company_domain", f"{company['domain']!r} is not a web address or domain")
            company["domain"] = d
    if "phone" in vals:
        p = matchkeys.phone_key(vals["phone"], country)
        if p is None:
            hint = "" if country else " (give it with its country code, e.g. +49…)"
            raise bad("phone", f"{vals['phone']!r} is not a valid phone number{hint}")
        out["phone"], out["phone_key"] = vals["phone"], p
        keys["phone"] = p
    if "external_id" in vals:
        out["external_id"] = vals["external_id"]
        out["external_key"] = keys["external_id"] = matchkeys.external_key(vals["external_id"])
    keys = {k: keys[k] for k in mapping.match_on if keys.get(k)}
    return Row(line, out, keys, custom, company)


def missing_for_create(entity: str, fields: dict) -> str | None:
    """The field a new record needs that the row does not give, if any."""
    need = "name" if entity == "company" else "last_name"
    return need if not fields.get(need) else None


def changes(doc: dict, fields: dict) -> dict:
    """The fields of `fields` whose value differs from the record's (empty cells were left out of
    `fields`, so they change nothing)."""
    return {k: v for k, v in fields.items() if doc.get(k) != v}


def record_id(job_id: str, line: int) -> str:
    """The id of the record a job's row creates: the same on every run of that row, so a row applied
    before a crash and applied again after it inserts nothing twice."""
    return f"{job_id}-{line}"


def company_id_for(job_id: str, name_key: str) -> str:
    """The id of the company a job creates for a contact's company name (one per name and job)."""
    return f"{job_id}-c{hashlib.sha256(name_key.encode()).hexdigest()[:16]}"
