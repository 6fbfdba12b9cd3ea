"""Duplicates and merge: the plain rules (no strawberry, no store), unit-tested in
tests/unit/test_duplicates.py. docs/data.md explains the scores.

Normalisation: e-mail, phone and domain keys are the import's (`matchkeys.py`, one spelling per
identifier for both); names are folded — Unicode NFKD with the
combining marks removed (stdlib `unicodedata`: accents only, no transliteration library needed),
case-folded, punctuation to spaces, whitespace collapsed; e-mail addresses case-folded; phones
parsed by `phonenumbers` (Google's libphonenumber) to E.164; domains from the e-mail address or
the website, without `www.`; company names without legal-form words (GmbH, Ltd, AB...)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

from services.common.errors import ErrorCode, InputError

from . import matchkeys

MIN_MERGE, MAX_MERGE = 2, 10
THRESHOLD = 60  # a pair scoring at least this is a possible duplicate
# common free-mail domains say nothing about the company
FREE_MAIL = frozenset(
    {"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "gmx.de"}
)
LEGAL_FORMS = frozenset(
    [
        "gmbh",
        "ag",
        "ab",
        "as",
        "asa",
        "oy",
        "oyj",
        "ltd",
        "limited",
        "llc",
        "inc",
        "corp",
        "co",
        "plc",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "kg",
        "ohg",
        "ug",
        "se",
        "aps",
        "sp",
        "zoo",
    ]
)
_PUNCT = re.compile(r"[^\w]+", re.UNICODE)

# the fields a merge may take from any of the records, per entity
COMPANY_FIELDS = ("name", "kind", "website", "industry", "city", "country", "owner", "partner_id")
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "job_title", "lifecycle", "owner", "company_id")


# ---- normalisation --------------------------------------------------------------------------------
def fold(text: str | None) -> str:
    """Accent-, case- and punctuation-insensitive form of a name: 'Müller-Lüdenscheidt, Ö.' →
    'muller ludenscheidt o'."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_PUNCT.sub(" ", plain.casefold()).replace("_", " ").split())


def company_name_key(name: str | None) -> str:
    """Folded company name without legal-form words ('Nordhaven Bau GmbH' → 'nordhaven bau')."""
    words = [w for w in fold(name).split() if w not in LEGAL_FORMS]
    return " ".join(words) or fold(name)


def phone_key(phone: str | None, region: str | None = None) -> str | None:
    """E.164 form of a phone number (the import's match key, matchkeys.py)."""
    return matchkeys.phone_key(phone, region)


def email_key(email: str | None) -> str | None:
    return matchkeys.email_key(email)


def domain_key(value: str | None) -> str | None:
    """The domain of an e-mail address or a website (matchkeys.py: 'https://www.Nordhaven.se/x' →
    'nordhaven.se'); free-mail domains are no company's."""
    d = matchkeys.domain_key(value)
    return None if d is None or d in FREE_MAIL else d


# ---- keys of a record -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Keys:
    name: str
    email: str | None = None
    phone: str | None = None
    domain: str | None = None


def company_keys(doc: dict) -> Keys:
    return Keys(name=company_name_key(doc.get("name")), domain=domain_key(doc.get("website")))


def contact_keys(doc: dict) -> Keys:
    name = fold(f"{doc.get('first_name') or ''} {doc.get('last_name') or ''}")
    mail = email_key(doc.get("email"))
    return Keys(name=name, email=mail, phone=phone_key(doc.get("phone"), doc.get("country")), domain=domain_key(mail))


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


def block(name: str) -> str:
    """The blocking key of fuzzy name matching: the first three letters of the longest word (a
    typo in the first letters of every word is missed; e-mail, phone and domain still match)."""
    words = sorted(name.split(), key=lambda w: (-len(w), w))
    return words[0][:3] if words else ""


# ---- scoring ---------------------------------------------------------------------------------------
def score(a: Keys, b: Keys) -> tuple[int, list[str]]:
    """How likely two records are the same (0–100) and why. Exact e-mail or phone is near-certain,
    a shared domain supports a similar name; names are compared with rapidfuzz's token-sort ratio
    (word order and accents do not matter)."""
    reasons: list[str] = []
    points = 0
    ratio = fuzz.token_sort_ratio(a.name, b.name) if a.name and b.name else 0
    if ratio >= 100:
        reasons.append("same name")
        points = max(points, 70)
    elif ratio >= 85:
        reasons.append(f"similar name ({int(ratio)}%)")
        points = max(points, int(ratio) - 25)
    if a.email and a.email == b.email:
        reasons.append("same e-mail")
        points = max(points, 95)
    if a.phone and a.phone == b.phone:
        reasons.append("same phone")
        points = max(points, 90)
    if a.domain and a.domain == b.domain:
        reasons.append("same domain")
        points = min(100, points + 25) if ratio >= 85 else max(points, 40)
    if len(reasons) > 1:
        points = min(100, points + 5 * (len(reasons) - 1))
    return points, reasons


def ranked(
    target: Keys, candidates: list[tuple[dict, Keys]], threshold: int = THRESHOLD
) -> list[tuple[dict, int, list]]:
    """The candidates scoring at least `threshold` against `target`, best first."""
    out = []
    for doc, keys in candidates:
        s, why = score(target, keys)
        if s >= threshold:
            out.append((doc, s, why))
    out.sort(key=lambda t: (-t[1], t[0]["id"]))
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
